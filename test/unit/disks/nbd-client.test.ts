import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NBD_STATE, NbdClient } from '../../../node-agent/src/disks/nbd-client.ts';
import { startQemuNbd, type NbdServer } from '../../../node-agent/src/disks/qemu-tools.ts';
import { qemuImg, qemuIo, requireQemu } from '../../helpers/qemu.ts';

const MIB = 1024 * 1024;

describe('NBD client against a real qemu-nbd', () => {
  let dir: string;
  let img: string;
  let raw: Buffer;
  let server: NbdServer;
  let nbd: NbdClient;

  beforeAll(async () => {
    requireQemu();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-nbd-'));
    img = path.join(dir, 'a.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', img, '64M');
    qemuIo(img, 'write -P 0x11 0 1M', 'write -P 0x22 7M 3M');
    qemuImg('bitmap', '--add', img, 'b1');
    qemuIo(img, 'write -P 0xab 5M 4k', 'write -P 0xcd 20M 100k');
    qemuImg('convert', '-O', 'raw', img, path.join(dir, 'a.raw'));
    raw = await fs.readFile(path.join(dir, 'a.raw'));
    server = await startQemuNbd(img, { bitmap: 'b1' });
    nbd = await NbdClient.connect(server.socketPath, { metaContexts: ['base:allocation', 'qemu:dirty-bitmap:b1', 'qemu:dirty-bitmap:nope'] });
  });

  afterAll(async () => {
    await nbd?.close();
    await server?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('negotiates the export size and the meta contexts the server offers', () => {
    expect(nbd.size).toBe(64 * MIB);
    expect(nbd.contextId('base:allocation')).toBeTypeOf('number');
    expect(nbd.contextId('qemu:dirty-bitmap:b1')).toBeTypeOf('number');
    expect(nbd.contextId('qemu:dirty-bitmap:nope')).toBeUndefined();
  });

  it('reads the guest-visible bytes, holes as zeros, identical to qemu-img convert', async () => {
    for (const [off, len] of [
      [0, MIB],
      [5 * MIB - 2048, 8192],
      [30 * MIB, MIB],
      [0, 64 * MIB],
    ] as const) {
      const got = await nbd.read(off, len);
      expect(got.length).toBe(len);
      expect(got.equals(raw.subarray(off, off + len))).toBe(true);
    }
  });

  it('reads into a caller buffer: holes overwrite what the buffer held', async () => {
    const target = Buffer.alloc(3 * MIB, 0xee);
    await nbd.readInto(target, 40 * MIB); // unallocated: a hole chunk
    expect(target.equals(Buffer.alloc(3 * MIB))).toBe(true);
    const mixed = Buffer.alloc(2 * MIB + 5000, 0xee);
    await nbd.readInto(mixed, 6 * MIB - 5000); // a hole, then data
    expect(mixed.equals(raw.subarray(6 * MIB - 5000, 8 * MIB))).toBe(true);
  });

  it('keeps many reads in flight and matches each reply to its request', async () => {
    const offsets = Array.from({ length: 200 }, (_, i) => ((i * 7919) % 1000) * 65536);
    const got = await Promise.all(offsets.map((o) => nbd.read(o, 65536)));
    got.forEach((b, i) => expect(b.equals(raw.subarray(offsets[i]!, offsets[i]! + 65536))).toBe(true));
  });

  it('lists allocation: written ranges are data, the rest reads as zeros', async () => {
    const ext = await nbd.extents('base:allocation');
    expect(ext[0]!.offset).toBe(0);
    expect(ext.reduce((n, e) => n + e.length, 0)).toBe(64 * MIB);
    const data = ext.filter((e) => (e.flags & NBD_STATE.zero) === 0);
    const covers = (o: number) => data.some((e) => e.offset <= o && o < e.offset + e.length);
    for (const o of [0, 7 * MIB, 9 * MIB, 5 * MIB, 20 * MIB]) expect(covers(o)).toBe(true);
    for (const o of [2 * MIB, 40 * MIB, 63 * MIB]) expect(covers(o)).toBe(false);
  });

  it('lists the dirty bitmap: only what was written after the bitmap was added', async () => {
    const dirty = (await nbd.extents('qemu:dirty-bitmap:b1')).filter((e) => e.flags & 1);
    expect(dirty).toEqual([
      { offset: 5 * MIB, length: 65536, flags: 1 },
      { offset: 20 * MIB, length: 2 * 65536, flags: 1 },
    ]);
  });

  it('rejects a read outside the export and an unknown context', async () => {
    await expect(nbd.read(64 * MIB - 10, 20)).rejects.toThrow(/outside/);
    await expect(nbd.extents('qemu:dirty-bitmap:nope')).rejects.toThrow(/not negotiated/);
  });

  it('writes through a writable export, and the enabled bitmap records the write', async () => {
    const img2 = path.join(dir, 'w.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', img2, '8M');
    qemuImg('bitmap', '--add', img2, 'w1');
    const srv = await startQemuNbd(img2, { writable: true });
    try {
      const c = await NbdClient.connect(srv.socketPath, { metaContexts: ['qemu:dirty-bitmap:w1'] });
      await c.write(3 * MIB + 100, Buffer.alloc(5000, 0x5a));
      await c.flush();
      expect((await c.read(3 * MIB, 8192)).subarray(100, 5100).equals(Buffer.alloc(5000, 0x5a))).toBe(true);
      await c.close();
    } finally {
      await srv.stop();
    }
    const srv2 = await startQemuNbd(img2, { bitmap: 'w1' });
    try {
      const c = await NbdClient.connect(srv2.socketPath, { metaContexts: ['qemu:dirty-bitmap:w1'] });
      expect((await c.extents('qemu:dirty-bitmap:w1')).filter((e) => e.flags & 1)).toEqual([{ offset: 3 * MIB, length: 65536, flags: 1 }]);
      await c.close();
    } finally {
      await srv2.stop();
    }
  });

  it('refuses a connection to a socket nobody serves with an NBD error', async () => {
    await expect(NbdClient.connect(path.join(dir, 'none.sock'), { timeoutMs: 2000 })).rejects.toMatchObject({ code: 'nbd_error' });
  });
});
