import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDiskSource } from '../../../node-agent/src/disks/open.ts';
import { Qcow2NbdSource } from '../../../node-agent/src/disks/qcow2-nbd.ts';
import { RawDiskSource } from '../../../node-agent/src/disks/raw.ts';
import { bitmaps, qemuImg, qemuIo, requireQemu } from '../../helpers/qemu.ts';

const MIB = 1024 * 1024;

describe('Qcow2NbdSource (DiskSource over qemu-nbd)', () => {
  let dir: string;
  let allowed: string[];

  beforeAll(async () => {
    requireQemu();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-qcow2-src-'));
    allowed = [`${dir}/ok/*`];
    await fs.mkdir(path.join(dir, 'ok'));
  });
  afterAll(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  async function image(name: string, mib: number): Promise<string> {
    const img = path.join(dir, 'ok', name);
    qemuImg('create', '-q', '-f', 'qcow2', img, `${mib}M`);
    return img;
  }

  it('describes the guest size, lists allocated extents and reads the guest bytes', async () => {
    const img = await image('a.qcow2', 16);
    qemuIo(img, 'write -P 0x42 2M 1M');
    const s = await Qcow2NbdSource.open(img, allowed);
    try {
      expect(s.describe()).toMatchObject({ size: 16 * MIB, format: 'qcow2', kind: 'file' });
      expect(await s.allocatedExtents()).toEqual([{ offset: 2 * MIB, length: MIB }]);
      expect((await s.read(2 * MIB, 4096)).equals(Buffer.alloc(4096, 0x42))).toBe(true);
      expect((await s.read(0, 4096)).equals(Buffer.alloc(4096))).toBe(true);
      // Without a chain nothing is tracked and the image keeps no bitmap.
      expect(await s.changedExtents(null)).toMatchObject({ tracked: false });
      expect(s.changeToken()).toBeNull();
    } finally {
      await s.release();
    }
    expect(bitmaps(img)).toEqual([]);
  });

  it('rotates bitmaps per chain: changed extents since the parent token, stale bitmaps removed, other chains untouched', async () => {
    const img = await image('b.qcow2', 16);
    qemuImg('bitmap', '--add', img, 'ferry-other-7');
    const s1 = await Qcow2NbdSource.open(img, allowed, { chain: 'c1', token: null });
    const t1 = s1.changeToken();
    await s1.release();
    expect(t1).toBe('ferry-c1-1');
    qemuIo(img, 'write -P 1 5M 4k');

    const s2 = await Qcow2NbdSource.open(img, allowed, { chain: 'c1', token: t1 });
    try {
      expect(s2.changeToken()).toBe('ferry-c1-2');
      // The bitmaps Ferry adds track 4 KiB pages (BITMAP_GRANULARITY), not qemu's default of a 64 KiB cluster.
      expect(await s2.changedExtents(t1)).toEqual({ extents: [{ offset: 5 * MIB, length: 4096 }], tracked: true });
    } finally {
      await s2.release();
    }
    // A run that failed before its snapshot was committed: the next attempt gets the same parent token.
    const s3 = await Qcow2NbdSource.open(img, allowed, { chain: 'c1', token: t1 });
    try {
      expect(await s3.changedExtents(t1)).toMatchObject({ tracked: true, extents: [{ offset: 5 * MIB, length: 4096 }] });
    } finally {
      await s3.release();
    }
    expect(bitmaps(img).map((b) => b.name).sort()).toEqual(['ferry-c1-1', 'ferry-c1-3', 'ferry-other-7']);
    // An unknown token: untracked, with the reason.
    const s4 = await Qcow2NbdSource.open(img, allowed, { chain: 'c1', token: 'ferry-c1-99' });
    try {
      const c = await s4.changedExtents('ferry-c1-99');
      expect(c.tracked).toBe(false);
      expect(c.note).toMatch(/not in the image/);
    } finally {
      await s4.release();
    }
    expect(bitmaps(img).map((b) => b.name).sort()).toEqual(['ferry-c1-4', 'ferry-other-7']);
  });

  it('refuses an image whose backing file lies outside the allowed paths', async () => {
    await fs.mkdir(path.join(dir, 'secret'));
    const base = path.join(dir, 'secret', 'base.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', base, '4M');
    const img = path.join(dir, 'ok', 'overlay.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', img);
    await expect(Qcow2NbdSource.open(img, allowed)).rejects.toMatchObject({ code: 'path_not_allowed' });
    await expect(openDiskSource(img, allowed)).rejects.toMatchObject({ code: 'path_not_allowed' });
  });

  it('probes the format of a bare path: qcow2 magic opens through NBD, anything else raw', async () => {
    const q = await image('p.qcow2', 4);
    const r = path.join(dir, 'ok', 'p.raw');
    await fs.writeFile(r, Buffer.alloc(MIB, 1));
    const a = await openDiskSource(q, allowed);
    const b = await openDiskSource(r, allowed);
    try {
      expect(a).toBeInstanceOf(Qcow2NbdSource);
      expect(a.describe().size).toBe(4 * MIB);
      expect(b).toBeInstanceOf(RawDiskSource);
    } finally {
      await a.release();
      await b.release();
    }
    await expect(openDiskSource(q, allowed, { format: 'vmdk' })).rejects.toMatchObject({ code: 'disk_not_supported' });
  });
});
