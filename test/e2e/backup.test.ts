import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/test-hub.ts';
import { client } from '../integration/backup/api-client.ts';
import { chunkDigests, makeImage, mutate, sha256File } from '../integration/backup/disk-image.ts';

const CHUNK = 64 * 1024;

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
});
