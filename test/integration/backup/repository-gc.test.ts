import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Repository, restoreSnapshotToFile, type RepositoryOptions } from '../../../hub/src/backup/repository/index.ts';
import { backup, diskImage, locateChunk, logText, sha256, tempDir } from './repository-helpers.ts';

const HOUR = 60 * 60_000;
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

// A chunk's age is its pack's age: tests that age chunks one by one write one chunk per pack.
async function freshRepo(options: RepositoryOptions = { packSize: 1 }): Promise<{ root: string; repo: Repository }> {
  const root = await tempDir();
  dirs.push(root);
  return { root, repo: await Repository.init(root, {}, options) };
}

async function age(repo: Repository, root: string, digest: string, ms: number): Promise<void> {
  await repo.flush();
  const t = new Date(Date.now() - ms);
  await fs.utimes((await locateChunk(root, digest))!.pack, t, t);
}

/** The chunk is listed by a pack index on disk and its pack file is there. */
async function exists(root: string, digest: string): Promise<boolean> {
  const loc = await locateChunk(root, digest);
  return loc !== null && (await fs.stat(loc.pack).then(() => true, () => false));
}

describe('garbage collection', () => {
  it('keeps referenced, young and pending chunks and deletes only unreferenced ones past grace', async () => {
    const { root, repo } = await freshRepo();
    const m = await backup(repo, 'kept', diskImage(4));
    const referenced = (m.kind === 'disk' ? m.chunks : []).filter((d): d is string => d !== null);
    const orphanOld = randomBytes(5000);
    const orphanYoung = randomBytes(5000);
    const claimedOld = logText(7000);
    for (const b of [orphanOld, orphanYoung, claimedOld]) await repo.putChunk(sha256(b), b);
    for (const d of [...referenced, sha256(orphanOld), sha256(claimedOld)]) await age(repo, root, d, 3 * HOUR);

    // a backup in progress learns that claimedOld already exists and will reference it
    const pendingBackup = await repo.beginBackup();
    expect(await repo.hasChunks([sha256(claimedOld)], { backupId: pendingBackup.id })).toEqual([true]);

    // the marker started "now": with now = real now the marker keeps everything written since
    const result = await repo.gc({ graceMs: HOUR, now: Date.now() });
    expect(result).toMatchObject({ deletedChunks: 1, keptByPending: 1, keptByGrace: 1, snapshotsMarked: 1 });
    expect(await exists(root, sha256(orphanOld))).toBe(false);
    expect(await exists(root, sha256(orphanYoung))).toBe(true);
    expect(await exists(root, sha256(claimedOld))).toBe(true);
    for (const d of referenced) expect(await exists(root, d)).toBe(true);
    expect(await repo.hasChunks([sha256(orphanOld)])).toEqual([false]);

    // once the backup has ended, and time has passed, its unreferenced chunks go too
    await repo.endBackup(pendingBackup.id);
    const later = await repo.gc({ graceMs: HOUR, now: Date.now() + 2 * HOUR });
    expect(later.deletedChunks).toBe(2);
    expect(await exists(root, sha256(claimedOld))).toBe(false);
    expect((await repo.verifySnapshot('kept')).ok).toBe(true);
    expect(repo.stats().chunkCount).toBe(new Set(referenced).size);
  });

  it('keeps a pending backup protected across a hub restart', async () => {
    const { root, repo } = await freshRepo();
    const old = logText(9000);
    await repo.putChunk(sha256(old), old);
    await age(repo, root, sha256(old), 5 * HOUR);
    const b = await repo.beginBackup({ id: 'job-17' });
    await repo.hasChunks([sha256(old)], { backupId: b.id });

    const reopened = await Repository.open(root);
    expect(reopened.pendingBackups()).toEqual([{ id: 'job-17', startedAt: b.startedAt }]);
    expect((await reopened.gc({ graceMs: HOUR, now: Date.now() + 10 * HOUR })).deletedChunks).toBe(0);
    expect(await exists(root, sha256(old))).toBe(true);
    await reopened.endBackup('job-17');
    expect((await reopened.gc({ graceMs: HOUR, now: Date.now() + 10 * HOUR })).deletedChunks).toBe(1);
    expect(await fs.readdir(`${root}/pending`)).toEqual([]);
  });

  it('restores every remaining snapshot on its own after another is deleted and gc ran', async () => {
    const { root, repo } = await freshRepo({});
    const v1 = diskImage(24);
    const v2 = Buffer.from(v1);
    randomBytes(4096).copy(v2, 4 * 65536 + 8192); // scattered 4 KiB writes into two random blocks
    randomBytes(4096).copy(v2, 16 * 65536);
    const v3 = Buffer.from(v2);
    randomBytes(65536 * 2).copy(v3, 65536 * 8);
    await backup(repo, 'full', v1);
    const afterFull = repo.stats().storedBytes;
    await backup(repo, 'inc1', v2);
    // an incremental stores only the two changed 64 KiB chunks (raw, as random)
    expect(repo.stats().storedBytes - afterFull).toBe(2 * (65536 + 1));
    await backup(repo, 'inc2', v3);
    const dump = Buffer.concat([logText(400_000), randomBytes(300_000)]);
    await backup(repo, 'dump', dump, 'stream');

    await repo.deleteSnapshot('full');
    await repo.deleteSnapshot('inc1');
    const r = await repo.gc({ graceMs: 0, now: Date.now() + HOUR });
    expect(r.deletedChunks).toBeGreaterThan(0);
    expect(new Set(repo.listSnapshots().map((s) => s.id))).toEqual(new Set(['inc2', 'dump']));

    for (const [id, want] of [['inc2', v3], ['dump', dump]] as const) {
      const out = `${root}.${id}`;
      dirs.push(out);
      await restoreSnapshotToFile(repo, id, out);
      expect(sha256(await fs.readFile(out))).toBe(sha256(want));
      expect((await repo.verifySnapshot(id)).ok).toBe(true);
    }
    // and from a fresh process view of the same folder
    const reopened = await Repository.open(root);
    expect(reopened.stats()).toEqual(repo.stats());
  });

  it('keeps the chunks of a manifest written while the GC runs', async () => {
    const { root, repo } = await freshRepo();
    const fillers = Array.from({ length: 200 }, () => randomBytes(2000));
    for (const b of fillers) {
      await repo.putChunk(sha256(b), b);
      await age(repo, root, sha256(b), 2 * HOUR);
    }
    const late = logText(5000);
    await repo.putChunk(sha256(late), late);
    await age(repo, root, sha256(late), 2 * HOUR);
    const gc = repo.gc({ graceMs: HOUR, now: Date.now() });
    await repo.writeSnapshot({ format: 1, id: 'late', kind: 'stream', createdAt: new Date().toISOString(), size: late.length, chunks: [{ d: sha256(late), n: late.length }] });
    await gc;
    expect((await repo.verifySnapshot('late')).ok).toBe(true);
  });
});
