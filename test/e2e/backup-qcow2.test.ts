import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/test-hub.ts';
import { bitmaps, qemuImg, qemuIo, requireQemu } from '../helpers/qemu.ts';
import { client, type Json } from '../integration/backup/api-client.ts';
import { makeImage, rng, sha256File } from '../integration/backup/disk-image.ts';
import { damageChunk } from '../integration/backup/repository-helpers.ts';

const CHUNK = 64 * 1024;
const MIB = 1024 * 1024;

/**
 * qcow2 images with changed-block tracking (persistent dirty bitmaps served by qemu-nbd),
 * through the REST API and the built-in agent. Every restore is compared with what
 * `qemu-img convert -O raw` makes of the image at that point.
 */
describe('qcow2 backups with dirty bitmaps through the REST API', () => {
  let h: TestHub;
  let api: ReturnType<typeof client>;
  let root: string;
  let disks: string;
  let restores: string;
  let agentId: string;

  beforeAll(async () => {
    requireQemu();
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-qcow2-e2e-'));
    disks = path.join(root, 'disks');
    restores = path.join(root, 'restore');
    await fs.mkdir(disks);
    await fs.mkdir(restores);
    await fs.mkdir(path.join(root, 'libvirt'));
    await fs.writeFile(
      path.join(root, 'libvirt', 'db01.xml'),
      `<domain type='kvm'><name>db01</name><uuid>5d1c0a2e-7777-4888-9999-aaaabbbbcccc</uuid><memory unit='KiB'>1048576</memory><vcpu>1</vcpu>
       <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${path.join(disks, 'db01.qcow2')}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`,
    );
    // The built-in agent inherits the hub's environment; this test file runs in its own process.
    process.env.FERRY_AGENT_LIBVIRT_DIR = path.join(root, 'libvirt');
    h = await startTestHub({ listen: true, builtin: true, env: { FERRY_AGENT_DISK_PATHS: `${disks}/*.qcow2`, FERRY_AGENT_RESTORE_PATHS: restores } });
    api = client(h);
    agentId = await api.builtinAgent();
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
    delete process.env.FERRY_AGENT_LIBVIRT_DIR;
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  /** A qcow2 image of `mib` MiB with the realistic mix of disk-image.ts (zeros stay unallocated). */
  async function makeQcow2(name: string, mib: number, seed: number): Promise<string> {
    const raw = path.join(root, `${name}.raw`);
    await makeImage(raw, mib, seed);
    const img = path.join(disks, `${name}.qcow2`);
    qemuImg('convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, img);
    await fs.rm(raw);
    return img;
  }

  /** SHA-256 of the guest-visible bytes, as qemu-img convert -O raw renders them. */
  async function guestSha(img: string): Promise<string> {
    const out = path.join(root, `convert-${Date.now()}.raw`);
    qemuImg('convert', '-q', '-U', '-f', 'qcow2', '-O', 'raw', img, out);
    try {
      return await sha256File(out);
    } finally {
      await fs.rm(out);
    }
  }

  /** Offsets of the 4 KiB blocks the last scatter() wrote. */
  let lastOffsets: number[] = [];

  /** Writes `count` 4 KiB blocks of one byte each at seeded random offsets; returns the chunk indexes touched. */
  function scatter(img: string, mib: number, count: number, seed: number): Set<number> {
    const next = rng(seed);
    const blocks = (mib * MIB) / 4096;
    const offsets = new Set<number>();
    while (offsets.size < count) offsets.add(Math.floor(next() * blocks) * 4096);
    qemuIo(img, ...[...offsets].map((o) => `write -P 0x${(0x10 + (o % 200)).toString(16)} ${o} 4k`));
    lastOffsets = [...offsets];
    return new Set([...offsets].map((o) => Math.floor(o / CHUNK)));
  }

  /**
   * What a tracked incremental reads after 4 KiB writes at `offsets` into chunks without patches:
   * the written blocks of a chunk changed in at most a quarter (its patches), else the whole chunk.
   */
  function trackedRead(offsets: number[]): number {
    const perChunk = new Map<number, number>();
    for (const o of offsets) perChunk.set(Math.floor(o / CHUNK), (perChunk.get(Math.floor(o / CHUNK)) ?? 0) + 4096);
    return [...perChunk.values()].reduce((n, b) => n + (b * 4 <= CHUNK ? b : CHUNK), 0);
  }

  async function restoreSha(backupId: string, name: string): Promise<string> {
    const target = path.join(restores, name);
    const j = await api.restore(backupId, { agent_id: agentId, path: target });
    expect(j.status, JSON.stringify(j.error)).toBe('completed');
    return sha256File(target);
  }

  const agentOf = (job: Json) => (job.result as { agent: Record<string, unknown> }).agent;

  it('reads only the changed extents for an incremental, rotates the bitmaps, and every point restores byte-identical', async () => {
    const mib = 64;
    const img = await makeQcow2('vm1', mib, 7);
    const sha0 = await guestSha(img);

    const full = await api.backup({ source: { agent_id: agentId, path: img }, type: 'full' });
    expect(full.backup.status, JSON.stringify(full.backup.error)).toBe('completed');
    expect(full.backup).toMatchObject({ format: 'qcow2', type: 'full', drift_detected: false, size_bytes: mib * MIB });
    const a0 = agentOf(full.job);
    expect(a0.change_token).toMatch(/^ferry-[0-9a-f]{12}-1$/);
    expect(a0.tracked).toBe(false);
    // The full read the guest data through NBD, skipping what qcow2 reports as zeros.
    expect(Number(a0.bytes_read)).toBeLessThan(mib * MIB);
    expect(bitmaps(img).map((b) => b.name)).toEqual([a0.change_token]);

    const dirtyBlocks = Math.floor((mib * MIB) / 4096 / 100); // 1 % of the 4 KiB blocks
    const dirty = scatter(img, mib, dirtyBlocks, 11);
    const sha1 = await guestSha(img);
    expect(sha1).not.toBe(sha0);

    const inc = await api.backup({ source: { agent_id: agentId, path: img }, type: 'incremental' });
    expect(inc.backup.status, JSON.stringify(inc.backup.error)).toBe('completed');
    expect(inc.backup).toMatchObject({ type: 'incremental', parent_id: full.backup.id, drift_detected: false });
    const a1 = agentOf(inc.job);
    expect(a1.tracked).toBe(true);
    expect(a1.change_token).toMatch(/-2$/);
    // Exactly the 4 KiB pages written (the bitmap's granularity), as patches of the parent's
    // chunks, plus the 1 % audit sample: not the 64 KiB chunks around them.
    expect(Number(a1.bytes_read) - Number(a1.audit_bytes_read)).toBe(trackedRead(lastOffsets));
    expect(Number(a1.bytes_read) - Number(a1.audit_bytes_read)).toBeLessThan(2 * dirtyBlocks * 4096);
    expect(Number(a1.patches)).toBeGreaterThan(dirty.size / 2);
    expect(Number(a1.audited_chunks)).toBeGreaterThan(0);
    // Stored: about the bytes written, not the chunks around them.
    expect(Number(inc.backup.uploaded_bytes)).toBeLessThan(2 * dirtyBlocks * 4096);
    expect(Number(a1.audit_bytes_read)).toBeLessThanOrEqual(Math.ceil((mib * MIB) / CHUNK / 100) * CHUNK);
    expect(inc.backup.bytes_read).toBe(a1.bytes_read);
    expect(Number(a1.uploaded_chunks)).toBeLessThanOrEqual(dirtyBlocks);
    // The parent's bitmap stays until a later backup confirms this snapshot; the new one records from now.
    expect(bitmaps(img).map((b) => b.name).sort()).toEqual([a0.change_token, a1.change_token].sort());

    // Nothing changed: only the audit reads, and the now-superseded bitmap 1 goes.
    const idle = await api.backup({ source: { agent_id: agentId, path: img }, type: 'incremental' });
    const a2 = agentOf(idle.job);
    expect(a2.tracked).toBe(true);
    expect(a2.bytes_read).toBe(a2.audit_bytes_read);
    expect(bitmaps(img).map((b) => b.name).sort()).toEqual([a1.change_token, a2.change_token].sort());

    expect(await restoreSha(String(full.backup.id), 'vm1-full.raw')).toBe(sha0);
    expect(await restoreSha(String(inc.backup.id), 'vm1-inc.raw')).toBe(sha1);
    expect(await restoreSha(String(idle.backup.id), 'vm1-idle.raw')).toBe(sha1);
  });

  it('carries patches down a chain, lets newer ones win, folds a chunk with too many changes back into one, and every point restores and verifies', async () => {
    const mib = 8;
    const img = await makeQcow2('vm5', mib, 17);
    const points: { id: string; sha: string; agent: Record<string, unknown> }[] = [];
    const backup = async (type: 'full' | 'incremental', extra: Record<string, unknown> = {}) => {
      const r = await api.backup({ source: { agent_id: agentId, path: img }, type, ...extra });
      expect(r.backup.status, JSON.stringify(r.backup.error)).toBe('completed');
      points.push({ id: String(r.backup.id), sha: await guestSha(img), agent: agentOf(r.job) });
      return agentOf(r.job);
    };
    const c = (chunk: number, at: number) => chunk * CHUNK + at;
    await backup('full');

    // Chunk 3: one page; chunk 5: a page of zeros; chunk 7 and the image's last chunk: a page each.
    const last = (mib * MIB) / CHUNK - 1;
    qemuIo(img, `write -P 0x11 ${c(3, 8192)} 4k`, `write -z ${c(5, 0)} 4k`, `write -P 0x12 ${c(7, 61440)} 4k`, `write -P 0x13 ${c(last, 61440)} 4k`);
    const a1 = await backup('incremental', { audit_sample_percent: 100 });
    expect(a1).toMatchObject({ tracked: true, drift_detected: false, patches: 4, patch_bytes: 4 * 4096 });
    expect(Number(a1.bytes_read) - Number(a1.audit_bytes_read)).toBe(4 * 4096);

    // Chunk 3 again: the same page rewritten (the newer patch wins) and a second one.
    qemuIo(img, `write -P 0x21 ${c(3, 8192)} 4k`, `write -P 0x22 ${c(3, 40960)} 4k`);
    const a2 = await backup('incremental', { audit_sample_percent: 100 });
    expect(a2).toMatchObject({ tracked: true, drift_detected: false, patches: 2 });

    // Five pages of chunk 3 (more than a quarter): the whole chunk is read and its patches go.
    qemuIo(img, ...[0, 4096, 16384, 24576, 49152].map((at) => `write -P 0x31 ${c(3, at)} 4k`));
    const a3 = await backup('incremental', { audit_sample_percent: 100 });
    expect(a3).toMatchObject({ tracked: true, patches: 0 });
    expect(Number(a3.bytes_read) - Number(a3.audit_bytes_read)).toBe(CHUNK);

    // Nothing changed: every chunk and patch carried.
    const a4 = await backup('incremental');
    expect(a4).toMatchObject({ tracked: true, patches: 0 });
    expect(a4.bytes_read).toBe(a4.audit_bytes_read);

    // Untracked (bitmap disabled): every chunk read whole; a patched parent still comes out right.
    const token = String(a4.change_token);
    qemuImg('bitmap', '--disable', img, token);
    qemuIo(img, `write -P 0x41 ${c(7, 0)} 4k`);
    const a5 = await backup('incremental');
    expect(a5.tracked).toBe(false);

    for (const [n, p] of points.entries()) {
      expect(await restoreSha(p.id, `vm5-${n}.raw`), `restore of point ${n}`).toBe(p.sha);
      const v = await api.call('POST', `/api/v1/backups/${p.id}/verify`);
      expect(v.status, JSON.stringify(v.body)).toBe(202);
      expect(await api.job(String(v.body.job_id))).toMatchObject({ status: 'completed', result: { ok: true } });
    }

    // A damaged patch chunk fails verify of the snapshot that holds it, and its restore refuses.
    const patch22 = createHash('sha256').update(Buffer.alloc(4096, 0x22)).digest('hex');
    const repo = await api.call('GET', `/api/v1/repositories/${String((await api.call('GET', `/api/v1/backups/${points[2]!.id}`)).body.repository_id)}`);
    await damageChunk(String(repo.body.path), patch22);
    const bad = await api.call('POST', `/api/v1/backups/${points[2]!.id}/verify`);
    const j = await api.job(String(bad.body.job_id));
    expect(j.status).toBe('failed');
    expect((j.error as { message: string }).message).toContain(patch22);
    const r = await api.restore(points[2]!.id, { agent_id: agentId, path: path.join(restores, 'vm5-damaged.raw') });
    expect(r.status).toBe('failed');
  });

  it('detects drift when data changed behind the bitmap, re-reads the disk, and the restore is still byte-identical', async () => {
    const mib = 32;
    const img = await makeQcow2('vm2', mib, 21);
    const full = await api.backup({ source: { agent_id: agentId, path: img }, type: 'full' });
    expect(full.backup.status, JSON.stringify(full.backup.error)).toBe('completed');
    const token = String(agentOf(full.job).change_token);

    // Writes the bitmap never sees: disabled around them, enabled again so it looks healthy.
    qemuImg('bitmap', '--disable', img, token);
    scatter(img, mib, 40, 5);
    qemuImg('bitmap', '--enable', img, token);
    const tracked = scatter(img, mib, 3, 6);
    const sha = await guestSha(img);

    const inc = await api.backup({ source: { agent_id: agentId, path: img }, type: 'incremental', audit_sample_percent: 100 });
    expect(inc.backup.status, JSON.stringify(inc.backup.error)).toBe('completed');
    expect(inc.backup.drift_detected).toBe(true);
    const a = agentOf(inc.job);
    expect(a).toMatchObject({ drift_detected: true, tracked: false });
    expect(Number(a.audited_chunks)).toBeGreaterThan(0);
    // The forced re-read covered far more than the chunks the bitmap knew about.
    expect(Number(a.bytes_read) - Number(a.audit_bytes_read)).toBeGreaterThan(tracked.size * CHUNK);
    const logs = await api.call('GET', `/api/v1/jobs/${String(inc.job.id)}/logs`);
    expect(JSON.stringify(logs.body)).toMatch(/drift/i);
    expect(await restoreSha(String(inc.backup.id), 'vm2-drift.raw')).toBe(sha);
  });

  it('does not trust a bitmap that was left disabled: reads and hashes everything, still correct', async () => {
    const mib = 16;
    const img = await makeQcow2('vm3', mib, 33);
    const full = await api.backup({ source: { agent_id: agentId, path: img }, type: 'full' });
    const token = String(agentOf(full.job).change_token);
    qemuImg('bitmap', '--disable', img, token);
    scatter(img, mib, 20, 8);
    const sha = await guestSha(img);
    const inc = await api.backup({ source: { agent_id: agentId, path: img }, type: 'incremental' });
    expect(inc.backup.status, JSON.stringify(inc.backup.error)).toBe('completed');
    const a = agentOf(inc.job);
    expect(a.tracked).toBe(false);
    expect(String(a.tracking_note)).toMatch(/disabled/);
    expect(await restoreSha(String(inc.backup.id), 'vm3-inc.raw')).toBe(sha);
    // A fresh, enabled bitmap replaced the disabled one.
    expect(bitmaps(img)).toEqual([expect.objectContaining({ name: a.change_token, flags: expect.arrayContaining(['auto']) })]);
  });

  it('backs up a libvirt VM whose disk is qcow2 by vm_id, full then incremental from the bitmap', async () => {
    const img = await makeQcow2('db01', 16, 55);
    const vms = await api.call('GET', '/api/v1/vms?refresh=true');
    const vm = (vms.body.data as { id: string; name: string }[]).find((v) => v.name === 'db01');
    expect(vm).toBeDefined();
    const full = await api.backup({ vm_id: vm!.id, type: 'full' });
    expect(full.backup).toMatchObject({ status: 'completed', source_type: 'vm_disk', format: 'qcow2', disk: 'vda' });
    const dirty = scatter(img, 16, 10, 9);
    const sha = await guestSha(img);
    const inc = await api.backup({ vm_id: vm!.id, type: 'incremental' });
    expect(inc.backup).toMatchObject({ status: 'completed', type: 'incremental', parent_id: full.backup.id });
    const a = agentOf(inc.job);
    expect(a.tracked).toBe(true);
    expect(dirty.size).toBeGreaterThan(0);
    expect(Number(a.bytes_read) - Number(a.audit_bytes_read)).toBe(trackedRead(lastOffsets));
    expect(await restoreSha(String(inc.backup.id), 'db01.raw')).toBe(sha);
  });

  it('the CLI tools agree: the restored raw image compares equal to the qcow2 with qemu-img compare', async () => {
    const img = await makeQcow2('vm4', 8, 44);
    const full = await api.backup({ source: { agent_id: agentId, path: img }, type: 'full' });
    const target = path.join(restores, 'vm4.raw');
    const j = await api.restore(String(full.backup.id), { agent_id: agentId, path: target });
    expect(j.status).toBe('completed');
    expect(() => execFileSync('qemu-img', ['compare', '-U', '-f', 'raw', '-F', 'qcow2', target, img], { stdio: 'ignore' })).not.toThrow();
  });
});
