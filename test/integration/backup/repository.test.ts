import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isRepositoryError, Repository, RepositoryError, restoreSnapshot, restoreSnapshotToFile, type RepositoryOptions } from '../../../hub/src/backup/repository/index.ts';
import { backup, damageChunk, diskImage, locateChunk, logText, readStoredChunk, sha256, tempDir } from './repository-helpers.ts';

const dirs: string[] = [];
async function freshRepo(params = {}, options: RepositoryOptions = {}): Promise<{ root: string; repo: Repository }> {
  const root = await tempDir();
  dirs.push(root);
  return { root, repo: await Repository.init(root, params, options) };
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

describe('repository on a local disk', () => {
  it('round-trips chunks, compressing text and storing random data raw', async () => {
    const { root, repo } = await freshRepo();
    const text = logText(65536);
    const random = randomBytes(65536);
    const tiny = Buffer.from('x');
    for (const b of [text, random, tiny]) expect(await repo.putChunk(sha256(b), b)).toMatchObject({ stored: true });
    for (const b of [text, random, tiny]) expect((await repo.getChunk(sha256(b))).equals(b)).toBe(true);
    await repo.flush();
    const textFile = await readStoredChunk(root, sha256(text));
    const randomFile = await readStoredChunk(root, sha256(random));
    expect(textFile[0]).toBe(1); // zstd
    expect(textFile.length).toBeLessThan(text.length / 3);
    expect(randomFile[0]).toBe(0); // raw
    expect(randomFile.length).toBe(random.length + 1);
    expect(await repo.hasChunks([sha256(text), sha256(Buffer.from('absent'))])).toEqual([true, false]);
  });

  it('refuses a chunk whose data does not hash to its digest', async () => {
    const { repo } = await freshRepo();
    const data = Buffer.from('some data');
    const wrong = sha256(Buffer.from('other data'));
    const err = await repo.putChunk(wrong, data).catch((e: unknown) => e);
    expect(isRepositoryError(err, 'chunk_digest_mismatch')).toBe(true);
    expect((err as RepositoryError).digest).toBe(wrong);
    expect(await repo.hasChunks([wrong])).toEqual([false]);
    expect(repo.stats().chunkCount).toBe(0);
    await expect(repo.hasChunks(['not-a-digest'])).rejects.toMatchObject({ code: 'digest_invalid' });
  });

  it('stores the same chunk once, also when written concurrently, and keeps counters across reopen', async () => {
    const { root, repo } = await freshRepo();
    const data = logText(100_000);
    const results = await Promise.all([1, 2, 3].map(() => repo.putChunk(sha256(data), data)));
    expect(results.filter((r) => r.stored)).toHaveLength(1);
    expect((await repo.putChunk(sha256(data), data)).stored).toBe(false);
    const image = diskImage(16);
    await backup(repo, 's1', image);
    await backup(repo, 's2', image);
    const s = repo.stats();
    // 16 blocks: 4 random, 4 zero (not stored), 4 text, 4 repeats of block 0 → 8 distinct + the first chunk
    expect(s.chunkCount).toBe(9);
    expect(s.snapshotCount).toBe(2);
    expect(s.logicalBytes).toBe(2 * image.length);
    expect(s.dedupRatio).toBeGreaterThan(4);
    const reopened = await Repository.open(root);
    expect(reopened.stats()).toEqual(s);
    expect(reopened.listSnapshots().map((x) => x.id)).toEqual(['s1', 's2']);
  });

  it('reports a damaged and a missing chunk in verify, and getChunk throws chunk_corrupt naming the digest', async () => {
    // One chunk per pack, so one pack can go missing while the others are damaged in place.
    const { root, repo } = await freshRepo({}, { packSize: 1 });
    const m = await backup(repo, 'snap', diskImage(12));
    expect(await repo.verifySnapshot('snap')).toMatchObject({ ok: true, missing: [], damaged: [] });
    const digests = [...new Set((m.kind === "disk" ? m.chunks : []).filter((d): d is string => d !== null))];
    // digests: random block 0 (stored raw), text block 2 (zstd), random block 4
    const [damaged, damagedZstd, missing] = [digests[0]!, digests[1]!, digests[2]!];
    expect((await readStoredChunk(root, damagedZstd))[0]).toBe(1);
    for (const d of [damaged, damagedZstd]) await damageChunk(root, d);
    const lost = (await locateChunk(root, missing))!.pack;
    await fs.rm(lost);
    await fs.rm(`${lost}.idx`);
    const v = await repo.verifySnapshot('snap');
    expect(v).toMatchObject({ ok: false, damaged: [damaged, damagedZstd].sort(), missing: [missing] });
    await expect(repo.getChunk(damagedZstd)).rejects.toMatchObject({ code: 'chunk_corrupt', digest: damagedZstd });
    const err = await repo.getChunk(damaged).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'chunk_corrupt', digest: damaged });
    // a restore stops before yielding the bad chunk's bytes
    await expect(restoreSnapshotToFile(repo, 'snap', path.join(root, '..', `${path.basename(root)}.out`))).rejects.toMatchObject({ code: 'chunk_corrupt' });
    await fs.rm(path.join(root, '..', `${path.basename(root)}.out`), { force: true });
  });

  it('refuses a manifest that references chunks not stored, or reuses an id', async () => {
    const { repo } = await freshRepo();
    const d = sha256(Buffer.from('never uploaded'));
    const m = { format: 1 as const, id: 'x', kind: 'stream' as const, createdAt: new Date().toISOString(), size: 14, chunks: [{ d, n: 14 }] };
    await expect(repo.writeSnapshot(m)).rejects.toMatchObject({ code: 'chunk_missing', digest: d });
    await repo.putChunk(d, Buffer.from('never uploaded'));
    await repo.writeSnapshot(m);
    await expect(repo.writeSnapshot(m)).rejects.toMatchObject({ code: 'snapshot_exists' });
    await expect(repo.writeSnapshot({ ...m, id: 'y', size: 15 })).rejects.toMatchObject({ code: 'manifest_invalid' });
    await expect(repo.readSnapshot('nope')).rejects.toMatchObject({ code: 'snapshot_not_found' });
  });

  it('leaves an interrupted write in tmp/ harmless and removes it at the next open', async () => {
    const { root, repo } = await freshRepo();
    await backup(repo, 'snap', diskImage(8));
    const before = repo.stats();
    const debris = path.join(root, 'tmp', 'deadbeef.tmp');
    await fs.writeFile(debris, Buffer.from([1, 2, 3])); // a crash after open(), before rename
    const fresh = path.join(root, 'tmp', 'inflight.tmp');
    await fs.writeFile(fresh, Buffer.from([4]));
    const old = new Date(Date.now() - 60 * 60_000);
    await fs.utimes(debris, old, old);
    const reopened = await Repository.open(root);
    await expect(fs.stat(debris)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.stat(fresh)).resolves.toBeTruthy(); // a write of another live process may still be in flight
    expect(reopened.stats()).toEqual(before);
    expect((await reopened.verifySnapshot('snap')).ok).toBe(true);
    // and an open "now" far in the future removes the young one too
    await Repository.open(root, { now: () => Date.now() + 60 * 60_000 });
    await expect(fs.stat(fresh)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses to init over an existing repository and to open a folder without one', async () => {
    const { root } = await freshRepo();
    await expect(Repository.init(root)).rejects.toMatchObject({ code: 'repository_exists' });
    const empty = await tempDir();
    dirs.push(empty);
    await expect(Repository.open(empty)).rejects.toMatchObject({ code: 'repository_not_found' });
  });

  it('restores disk and stream snapshots byte for byte, zero ranges as holes or zero buffers', async () => {
    const { root, repo } = await freshRepo({ streamChunking: { min: 4096, avg: 16384, max: 65536 } });
    const image = Buffer.concat([diskImage(10), randomBytes(1000)]); // last chunk shorter
    await backup(repo, 'disk', image);
    const out = `${root}.img`;
    dirs.push(out);
    await restoreSnapshotToFile(repo, 'disk', out);
    expect(sha256(await fs.readFile(out))).toBe(sha256(image));
    const dump = Buffer.concat([logText(300_000), randomBytes(200_000), logText(300_000, 5)]);
    await backup(repo, 'dump', dump, 'stream');
    const parts: Buffer[] = [];
    for await (const b of restoreSnapshot(repo, 'dump', { zeros: 'buffer' })) parts.push(b.data!);
    expect(Buffer.concat(parts).equals(dump)).toBe(true);
    const zeroBlocks: number[] = [];
    for await (const b of restoreSnapshot(repo, 'disk', { zeros: 'buffer' })) if (b.data!.every((x) => x === 0)) zeroBlocks.push(b.offset);
    expect(zeroBlocks.length).toBeGreaterThan(1);
  });
});
