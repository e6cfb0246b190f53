import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/test-hub.ts';
import { client } from '../integration/backup/api-client.ts';
import { chunkDigests, makeImage, mutate, sha256File } from '../integration/backup/disk-image.ts';

const CHUNK = 64 * 1024;

/**
 * Flips one byte in the middle of a stored chunk. Format 2 (docs/repository-format.md) keeps
 * chunks in pack files as entries of digest (32 bytes), stored length (u32 LE), stored form.
 */
async function damageChunk(repoRoot: string, digest: string): Promise<void> {
  const raw = Buffer.from(digest, 'hex');
  const folders = await fs.readdir(path.join(repoRoot, 'packs'));
  for (const f of folders) {
    for (const name of await fs.readdir(path.join(repoRoot, 'packs', f))) {
      if (name.endsWith('.idx')) continue;
      const file = path.join(repoRoot, 'packs', f, name);
      const bytes = await fs.readFile(file);
      const at = bytes.indexOf(raw);
      if (at < 0) continue;
      const n = bytes.readUInt32LE(at + 32);
      const mid = at + 36 + (n >> 1);
      bytes.writeUInt8(bytes.readUInt8(mid) ^ 0xff, mid);
      await fs.writeFile(file, bytes);
      return;
    }
  }
  throw new Error(`chunk ${digest} is in no pack under ${repoRoot}`);
}

/** Indexes of the chunks that writes of `length` bytes at `offsets` touched. */
function chunksOf(offsets: number[], length: number): Set<number> {
  const out = new Set<number>();
  for (const o of offsets) for (let c = Math.floor(o / CHUNK); c <= Math.floor((o + length - 1) / CHUNK); c++) out.add(c);
  return out;
}

describe('backups through the REST API with the built-in agent', () => {
  let h: TestHub;
  let api: ReturnType<typeof client>;
  let root: string;
  let disks: string;
  let restores: string;
  let agentId: string;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-backup-e2e-'));
    disks = path.join(root, 'disks');
    restores = path.join(root, 'restore');
    await fs.mkdir(disks);
    await fs.mkdir(restores);
    h = await startTestHub({ listen: true, builtin: true, env: { FERRY_AGENT_DISK_PATHS: `${disks}/*.img`, FERRY_AGENT_RESTORE_PATHS: restores } });
    api = client(h);
    agentId = await api.builtinAgent();
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('backs up full and incremental, restores every point byte-identical, and uploads about what changed', async () => {
    const img = path.join(disks, 'vm1.img');
    await makeImage(img, 48, 7);
    const hashes: string[] = [await sha256File(img)];
    const digests: (string | null)[][] = [await chunkDigests(img, CHUNK)];

    const full = await api.backup({ source: { agent_id: agentId, path: img }, type: 'full' });
    expect(full.job.status).toBe('completed');
    expect(full.backup).toMatchObject({ status: 'completed', type: 'full', size_bytes: 48 * 1024 * 1024 });
    const distinct = new Set(digests[0]!.filter((d) => d !== null));
    expect(full.backup.uploaded_chunks).toBe(distinct.size);

    const touched: Set<number>[] = [];
    touched.push(chunksOf(await mutate(img, 11, 1, 'scattered'), 4096));
    hashes.push(await sha256File(img));
    digests.push(await chunkDigests(img, CHUNK));
    const inc1 = await api.backup({ source: { agent_id: agentId, path: img }, type: 'incremental' });
    expect(inc1.backup).toMatchObject({ status: 'completed', type: 'incremental', parent_id: full.backup.id });

    touched.push(chunksOf(await mutate(img, 12, 1, 'clustered'), 256 * 1024));
    hashes.push(await sha256File(img));
    digests.push(await chunkDigests(img, CHUNK));
    const inc2 = await api.backup({ source: { agent_id: agentId, path: img }, type: 'incremental' });
    expect(inc2.backup).toMatchObject({ status: 'completed', type: 'incremental', parent_id: inc1.backup.id });

    // What changed, counted independently: chunks whose digest differs from every stored one.
    for (const [i, inc] of [inc1, inc2].entries()) {
      const before = new Set(digests.slice(0, i + 1).flat());
      const fresh = new Set(digests[i + 1]!.filter((d) => d !== null && !before.has(d)));
      expect(inc.backup.uploaded_chunks).toBe(fresh.size);
      expect(inc.backup.uploaded_bytes).toBe(fresh.size * CHUNK);
      // About as many bytes as changed: at most the 64 KiB chunks the writes touched.
      expect(Number(inc.backup.uploaded_bytes)).toBeLessThanOrEqual(touched[i]!.size * CHUNK);
    }

    const chain = await api.call('GET', `/api/v1/backups/chain?agent_id=${agentId}&path=${encodeURIComponent(img)}`);
    expect(chain.status).toBe(200);
    const ids = (chain.body.backups as { id: string; type: string; bytes_added: number }[]).map((b) => [b.id, b.type]);
    expect(ids).toEqual([
      [full.backup.id, 'full'],
      [inc1.backup.id, 'incremental'],
      [inc2.backup.id, 'incremental'],
    ]);

    for (const [i, b] of [full, inc1, inc2].entries()) {
      const target = path.join(restores, `point${i}.img`);
      const j = await api.restore(String(b.backup.id), { agent_id: agentId, path: target });
      expect(j.status).toBe('completed');
      expect(await sha256File(target)).toBe(hashes[i]);
      await fs.rm(target);
    }

    const storage = await api.call('GET', `/api/v1/repositories/${String(full.backup.repository_id)}/storage`);
    expect(storage.body).toMatchObject({ snapshot_count: 3, logical_bytes: 3 * 48 * 1024 * 1024 });
    expect(Number(storage.body.dedup_ratio)).toBeGreaterThan(2);
  }, 180_000);

  it('refuses a backup outside FERRY_AGENT_DISK_PATHS and a restore outside FERRY_AGENT_RESTORE_PATHS with 403', async () => {
    const outside = path.join(root, 'secret.img');
    await fs.writeFile(outside, Buffer.alloc(CHUNK, 1));
    const b = await api.call('POST', '/api/v1/backups', { source: { agent_id: agentId, path: outside }, type: 'full' });
    expect(b.status).toBe(403);
    expect((b.body.error as { code: string }).code).toBe('path_not_allowed');
    const dotdot = await api.call('POST', '/api/v1/backups', { source: { agent_id: agentId, path: `${disks}/../secret.img` }, type: 'full' });
    expect(dotdot.status).toBe(403);

    const img = path.join(disks, 'small.img');
    await makeImage(img, 2, 3);
    const ok = await api.backup({ source: { agent_id: agentId, path: img }, type: 'full' });
    expect(ok.backup.status).toBe('completed');
    const r = await api.call('POST', `/api/v1/backups/${String(ok.backup.id)}/restore`, { target: { agent_id: agentId, path: path.join(root, 'elsewhere.img') } });
    expect(r.status).toBe(403);
    expect((r.body.error as { code: string }).code).toBe('path_not_allowed');
    await expect(fs.stat(path.join(root, 'elsewhere.img'))).rejects.toThrow();
  }, 60_000);

  it('fails verify naming the snapshot when a stored chunk is damaged', async () => {
    const img = path.join(disks, 'damage.img');
    await makeImage(img, 2, 99, { random: 1 });
    const b = await api.backup({ source: { agent_id: agentId, path: img }, type: 'full' });
    const ok = await api.call('POST', `/api/v1/backups/${String(b.backup.id)}/verify`);
    expect(ok.status).toBe(202);
    expect(await api.job(String(ok.body.job_id))).toMatchObject({ status: 'completed', result: { ok: true, snapshot_id: b.backup.snapshot_id } });

    const digest = (await chunkDigests(img, CHUNK))[5]!;
    const repo = await api.call('GET', `/api/v1/repositories/${String(b.backup.repository_id)}`);
    await damageChunk(String(repo.body.path), digest);

    const bad = await api.call('POST', `/api/v1/backups/${String(b.backup.id)}/verify`);
    const j = await api.job(String(bad.body.job_id));
    expect(j.status).toBe('failed');
    expect((j.error as { code: string }).code).toBe('verify_failed');
    expect((j.error as { message: string }).message).toContain(String(b.backup.snapshot_id));
    expect((j.error as { message: string }).message).toContain(digest);
    // A restore of the damaged snapshot refuses instead of writing bad bytes.
    const target = path.join(restores, 'damaged.img');
    const r = await api.restore(String(b.backup.id), { agent_id: agentId, path: target });
    expect(r.status).toBe('failed');
    // The hub sends the pack's bytes as they are; the agent decodes, re-hashes and refuses.
    expect((r.error as { code: string }).code).toBe('chunk_digest_mismatch');
  }, 60_000);

  it('finishes a backup after the agent is killed mid-way without uploading stored chunks again', async () => {
    const img = path.join(disks, 'kill.img');
    await makeImage(img, 192, 5, { random: 1 });
    const unique = new Set((await chunkDigests(img, CHUNK)).filter((d) => d !== null)).size * CHUNK;
    const r = await api.call('POST', '/api/v1/backups', { source: { agent_id: agentId, path: img }, type: 'full' });
    expect(r.status).toBe(202);
    const jobId = String(r.body.job_id);
    const pid = h.hub.agents.builtin.pid;
    for (;;) {
      const j = await api.call('GET', `/api/v1/jobs/${jobId}`);
      const up = Number((j.body.progress as { counters?: { bytes_uploaded?: number } }).counters?.bytes_uploaded ?? 0);
      if (up >= 32 * 1024 * 1024) break;
      expect(j.body.status).toBe('running');
      await new Promise((res) => setTimeout(res, 20));
    }
    process.kill(pid!, 'SIGKILL');
    const j = await api.job(jobId, 120_000);
    expect(j.status).toBe('completed');
    const b = (await api.call('GET', `/api/v1/backups/${String(r.body.id)}`)).body;
    expect(Number(b.attempts)).toBeGreaterThanOrEqual(2);
    // Everything uploaded over both attempts: the image's distinct chunks once, plus at most
    // what was in flight when the agent died (never the 32+ MiB stored before the kill again).
    expect(Number(b.uploaded_bytes)).toBeGreaterThanOrEqual(unique);
    expect(Number(b.uploaded_bytes)).toBeLessThanOrEqual(unique + 8 * 1024 * 1024);
    const target = path.join(restores, 'kill.img');
    expect((await api.restore(String(b.id), { agent_id: agentId, path: target })).status).toBe('completed');
    expect(await sha256File(target)).toBe(await sha256File(img));
    await fs.rm(target);
    await fs.rm(img);
  }, 180_000);

  it('keeps exactly the snapshots a policy retains after prune and GC, and each still restores', async () => {
    const img = path.join(disks, 'policy.img');
    await makeImage(img, 4, 21, { random: 1 });
    const pol = await api.call('POST', '/api/v1/backup-policies', {
      name: 'nightly',
      schedule: '0 3 * * *',
      timezone: 'Europe/Berlin',
      targets: [{ agent_id: agentId, path: img }],
      retention: { keep_last: 2 },
    });
    expect(pol.status).toBe(201);
    expect(pol.body.next_run_at).toMatch(/T0[12]:00:00/); // 03:00 in Berlin is 01:00 or 02:00 UTC
    const hashes: string[] = [];
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) {
      if (i > 0) await mutate(img, 100 + i, 10, 'clustered');
      hashes.push(await sha256File(img));
      const run = await api.call('POST', `/api/v1/backup-policies/${String(pol.body.id)}/run`);
      expect(run.status).toBe(202);
      expect((await api.job(String(run.body.job_id))).status).toBe('completed');
      runs.push(String(run.body.job_id));
    }
    const jobs = await api.call('GET', `/api/v1/backup-jobs?kind=backup_policy_run&policy_id=${String(pol.body.id)}`);
    expect((jobs.body.data as { id: string }[]).map((j) => j.id).sort()).toEqual([...runs].sort());

    const chain = await api.call('GET', `/api/v1/backups/chain?agent_id=${agentId}&path=${encodeURIComponent(img)}`);
    const kept = chain.body.backups as { id: string; repository_id: string }[];
    expect(kept).toHaveLength(2);
    const repoId = kept[0]!.repository_id;
    const gc = await api.call('POST', `/api/v1/repositories/${repoId}/gc`, { grace_seconds: 0 });
    expect(gc.status).toBe(202);
    const gcJob = await api.job(String(gc.body.job_id));
    expect(gcJob.status).toBe('completed');
    expect(Number((gcJob.result as { deletedChunks: number }).deletedChunks)).toBeGreaterThan(0);

    for (const [i, b] of kept.entries()) {
      const target = path.join(restores, `policy${i}.img`);
      expect((await api.restore(b.id, { agent_id: agentId, path: target })).status).toBe('completed');
      expect(await sha256File(target)).toBe(hashes[i + 1]);
      await fs.rm(target);
    }
  }, 120_000);
});

