import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Qcow2NbdSource } from '../../../node-agent/src/disks/qcow2-nbd.ts';
import { parseQcow2Map, PIECE } from '../../../node-agent/src/disks/qcow2-map.ts';
import { Qcow2Reader } from '../../../node-agent/src/disks/qcow2-reader.ts';
import type { NbdClient } from '../../../node-agent/src/disks/nbd-client.ts';
import { qemuImg, qemuIo, requireQemu } from '../../helpers/qemu.ts';

const MIB = 1024 * 1024;

/**
 * Direct reads of qcow2 clusters from the image file (qcow2-map.ts, qcow2-reader.ts): every
 * layout qemu can produce must read exactly what `qemu-img convert -O raw` makes of the image.
 */
describe('qcow2 direct reads (image map) against qemu-img convert', () => {
  let dir: string;
  let allowed: string[];

  beforeAll(async () => {
    requireQemu();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-qcow2-direct-'));
    allowed = [`${dir}/*`];
  });
  afterAll(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  async function guestBytes(img: string): Promise<Buffer> {
    const raw = `${img}.raw`;
    qemuImg('convert', '-O', 'raw', img, raw);
    const b = await fs.readFile(raw);
    await fs.rm(raw);
    return b;
  }

  /** Reads the whole image through the source in odd-sized, unaligned pieces and whole, and compares. */
  async function expectSameBytes(img: string): Promise<Qcow2Reader['stats']> {
    const want = await guestBytes(img);
    const s = await Qcow2NbdSource.open(img, allowed);
    try {
      expect(s.describe().size).toBe(want.length);
      expect((await s.read(0, want.length)).equals(want)).toBe(true);
      const step = 3 * 65536 + 4097;
      for (let at = 1234; at < want.length; at += step) {
        const n = Math.min(step, want.length - at);
        const got = await s.readInto(Buffer.alloc(step + 10, 0xee), at, n);
        expect(got.length).toBe(n);
        if (!got.equals(want.subarray(at, at + n))) throw new Error(`bytes differ at ${at}`);
      }
      return { ...s.reader.stats };
    } finally {
      await s.release();
    }
  }

  it('plain, zero-flagged (preallocated) and unallocated clusters: read from the file, zeros filled in', async () => {
    const img = path.join(dir, 'plain.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', img, '8M');
    // Data, then zero-flagged clusters over written ones (their old bytes stay on the host), a partial cluster.
    qemuIo(img, 'write -P 0x11 0 2M', 'write -z 64k 128k', 'write -P 0x22 3M 5000', 'write -P 0x33 6M 64k');
    const stats = await expectSameBytes(img);
    expect(stats.direct).toBeGreaterThan(0);
    expect(stats.zero).toBeGreaterThan(0);
    expect(stats.nbd).toBe(0);
  });

  it('compressed clusters and clusters of a backing file go through qemu-nbd, the rest directly', async () => {
    const src = path.join(dir, 'c.raw');
    await fs.writeFile(src, Buffer.concat([Buffer.alloc(MIB, 'abc'), randomBytes(MIB), Buffer.alloc(MIB)]));
    const compressed = path.join(dir, 'c.qcow2');
    qemuImg('convert', '-q', '-c', '-f', 'raw', '-O', 'qcow2', src, compressed);
    qemuIo(compressed, 'write -P 0x44 2M 64k'); // one plain cluster among compressed ones
    const c = await expectSameBytes(compressed);
    expect(c.nbd).toBeGreaterThan(0);
    expect(c.direct).toBeGreaterThan(0);

    const base = path.join(dir, 'base.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', base, '4M');
    qemuIo(base, 'write -P 0x55 0 2M');
    const top = path.join(dir, 'top.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', top);
    qemuIo(top, 'write -P 0x66 512k 64k', 'write -z 1M 64k', 'write -P 0x77 3M 4k');
    const t = await expectSameBytes(top);
    expect(t.nbd).toBeGreaterThan(0);
    expect(t.direct).toBeGreaterThan(0);
  });

  it('subclusters (extended_l2) and a 4 KiB cluster size', async () => {
    const sub = path.join(dir, 'sub.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on', sub, '4M');
    qemuIo(sub, 'write -P 0x88 4k 4k', 'write -P 0x99 40k 8k', 'write -z 44k 4k', 'write -P 0xaa 1M 100k');
    expect((await expectSameBytes(sub)).direct).toBeGreaterThan(0);
    const small = path.join(dir, 'small.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=4096', small, '4M');
    qemuIo(small, 'write -P 0xbb 0 300k', 'write -P 0xcc 2M 12k', 'write -P 0xdd 100k 8k');
    expect((await expectSameBytes(small)).direct).toBeGreaterThan(0);
  });

  it('an external data file: everything through qemu-nbd', async () => {
    const img = path.join(dir, 'ext.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-o', `data_file=${path.join(dir, 'ext.data')}`, img, '4M');
    qemuIo(img, 'write -P 0xee 1M 1M');
    const stats = await expectSameBytes(img);
    expect(stats).toMatchObject({ direct: 0, zero: 0 });
  });

  it('FERRY_AGENT_QCOW2_DIRECT_READS=off reads everything through qemu-nbd', async () => {
    const img = path.join(dir, 'off.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', img, '4M');
    qemuIo(img, 'write -P 0x12 0 1M');
    process.env.FERRY_AGENT_QCOW2_DIRECT_READS = 'off';
    try {
      expect(await expectSameBytes(img)).toMatchObject({ direct: 0, zero: 0 });
    } finally {
      delete process.env.FERRY_AGENT_QCOW2_DIRECT_READS;
    }
  });

  it('a map that does not match the file fails the read (cross-checked through qemu-nbd)', async () => {
    const img = path.join(dir, 'bad.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', img, '4M');
    qemuIo(img, 'write -P 0x01 0 64k', 'write -P 0x02 64k 64k');
    const s = await Qcow2NbdSource.open(img, allowed);
    const fh = await fs.open(img, 'r');
    try {
      const honestMap = parseQcow2Map(qemuImg('map', '--output=json', img), 4 * MIB);
      const first = honestMap[0]!;
      expect(first).toMatchObject({ offset: 0, kind: PIECE.host });
      expect(first.length).toBeGreaterThanOrEqual(2 * 65536);
      // Swap the host offsets of the two clusters: a plausible map that names the wrong bytes.
      const badMap = [
        { offset: 0, length: 65536, kind: PIECE.host, host: first.host + 65536 },
        { offset: 65536, length: 65536, kind: PIECE.host, host: first.host },
        ...(first.length > 2 * 65536 ? [{ offset: 2 * 65536, length: first.length - 2 * 65536, kind: PIECE.host, host: first.host + 2 * 65536 }] : []),
        ...honestMap.slice(1),
      ];
      const nbd = (s as unknown as { nbd: NbdClient }).nbd;
      const reader = new Qcow2Reader(nbd, fh, badMap, 1);
      await expect(reader.readInto(Buffer.alloc(65536), 0, 65536)).rejects.toMatchObject({ code: 'qcow2_map_mismatch' });
      // The honest map reads the same bytes as qemu-nbd.
      const honest = new Qcow2Reader(nbd, fh, honestMap, 1);
      const buf = Buffer.alloc(2 * 65536);
      await honest.readInto(buf, 0, buf.length);
      expect(buf.equals(Buffer.concat([Buffer.alloc(65536, 1), Buffer.alloc(65536, 2)]))).toBe(true);
      expect(honest.stats.verified).toBe(buf.length);
    } finally {
      await fh.close();
      await s.release();
    }
  });
});
