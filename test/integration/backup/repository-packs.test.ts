import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Repository, type RepositoryOptions, type SnapshotManifest } from '../../../hub/src/backup/repository/index.ts';
import { backup, damageChunk, diskImage, locateChunk, logText, sha256, tempDir } from './repository-helpers.ts';

const HOUR = 60 * 60_000;
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

async function freshRepo(options: RepositoryOptions = {}): Promise<{ root: string; repo: Repository }> {
  const root = await tempDir();
  dirs.push(root);
  return { root, repo: await Repository.init(root, {}, options) };
}

async function packFiles(root: string): Promise<{ packs: string[]; indexes: string[] }> {
  const packs: string[] = [];
  const indexes: string[] = [];
  for (const dir of await fs.readdir(path.join(root, 'packs')).catch(() => [])) {
    for (const name of await fs.readdir(path.join(root, 'packs', dir))) (name.endsWith('.idx') ? indexes : packs).push(path.join(root, 'packs', dir, name));
  }
  return { packs: packs.sort(), indexes: indexes.sort() };
}

function streamManifest(id: string, chunks: Buffer[]): SnapshotManifest {
  return {
    format: 1,
    id,
    kind: 'stream',
    createdAt: new Date().toISOString(),
    size: chunks.reduce((n, c) => n + c.length, 0),
    chunks: chunks.map((c) => ({ d: sha256(c), n: c.length })),
  };
}

async function putAll(repo: Repository, chunks: Buffer[]): Promise<void> {
  await Promise.all(chunks.map((c) => repo.putChunk(sha256(c), c)));
}

describe('repository pack files (format 2)', () => {
  it('appends many chunks to few packs under concurrent puts, and reopens from the pack indexes', async () => {
    const { root, repo } = await freshRepo({ packSize: 256 * 1024 });
    const chunks = Array.from({ length: 120 }, (_, i) => (i % 2 ? randomBytes(20_000) : logText(20_000, i)));
    await putAll(repo, chunks);
    await repo.writeSnapshot(streamManifest('s', chunks));
    const { packs, indexes } = await packFiles(root);
    // 120 chunks of ~14 KB average stored in 256 KiB packs: a handful of packs, one index each
    expect(packs.length).toBeGreaterThan(2);
    expect(packs.length).toBeLessThan(12);
    expect(indexes).toEqual(packs.map((p) => `${p}.idx`));
    expect(repo.stats()).toMatchObject({ chunkCount: 120, packCount: packs.length });
    const reopened = await Repository.open(root);
    expect(reopened.stats()).toEqual(repo.stats());
    expect(await reopened.verifySnapshot('s')).toMatchObject({ ok: true, checked: 120 });
    for (const c of chunks.slice(0, 5)) expect((await reopened.getChunk(sha256(c))).equals(c)).toBe(true);
  });

  it('damage to one entry of a shared pack fails that chunk only, before and after reopen', async () => {
    const { root, repo } = await freshRepo();
    const m = await backup(repo, 'snap', diskImage(16));
    const digests = [...new Set((m.kind === 'disk' ? m.chunks : []).filter((d): d is string => d !== null))];
    expect((await packFiles(root)).packs).toHaveLength(1);
    const victim = digests[1]!;
    await damageChunk(root, victim, 100);
    for (const r of [repo, await Repository.open(root)]) {
      expect(await r.verifySnapshot('snap')).toMatchObject({ ok: false, snapshotId: 'snap', damaged: [victim], missing: [] });
      await expect(r.getChunk(victim)).rejects.toMatchObject({ code: 'chunk_corrupt', digest: victim });
      for (const d of digests.filter((x) => x !== victim)) expect(sha256(await r.getChunk(d))).toBe(d);
    }
  });

  it('treats an unsealed pack left by a crash as absent, and removes it once old', async () => {
    const { root, repo } = await freshRepo();
    const sealed = logText(30_000, 1);
    await repo.putChunk(sha256(sealed), sealed);
    await repo.flush();
    const unsealed = [randomBytes(30_000), logText(30_000, 2)];
    await putAll(repo, unsealed);
    // `repo` stands for a writer that crashes here: its open pack sits in tmp/, never renamed
    expect(await repo.hasChunks(unsealed.map(sha256))).toEqual([true, true]);
    const tmpPacks = (await fs.readdir(path.join(root, 'tmp'))).filter((n) => n.endsWith('.pack'));
    expect(tmpPacks).toHaveLength(1);
    // what a process that really died leaves: the same file, held by no live writer
    const dead = path.join(root, 'tmp', 'dead-writer.pack');
    await fs.copyFile(path.join(root, 'tmp', tmpPacks[0]!), dead);

    const afterCrash = await Repository.open(root);
    expect(await afterCrash.hasChunks([sha256(sealed), ...unsealed.map(sha256)])).toEqual([true, false, false]);
    expect(afterCrash.stats().chunkCount).toBe(1);
    // the agent uploads them again; a manifest then refers to sealed copies only
    await putAll(afterCrash, unsealed);
    await afterCrash.writeSnapshot(streamManifest('again', [sealed, ...unsealed]));
    expect((await Repository.open(root).then((r) => r.verifySnapshot('again'))).ok).toBe(true);

    // once old, debris goes; the pack a live writer of this process still fills stays
    await Repository.open(root, { now: () => Date.now() + HOUR });
    await expect(fs.stat(dead)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.stat(path.join(root, 'tmp', tmpPacks[0]!))).resolves.toBeTruthy();
  });

  it('rebuilds a lost .idx from the pack trailer, and ignores an .idx without its pack', async () => {
    const { root, repo } = await freshRepo();
    const chunks = [logText(40_000, 3), randomBytes(40_000)];
    await putAll(repo, chunks);
    await repo.writeSnapshot(streamManifest('s', chunks));
    const { packs, indexes } = await packFiles(root);
    await fs.rm(indexes[0]!);
    const orphanIdx = path.join(root, 'packs', 'ff', `${'f'.repeat(32)}.idx`);
    await fs.mkdir(path.dirname(orphanIdx), { recursive: true });
    await fs.copyFile(`${packs[0]!}`, orphanIdx); // any bytes: its pack does not exist
    const reopened = await Repository.open(root);
    expect(await reopened.verifySnapshot('s')).toMatchObject({ ok: true, checked: 2 });
    await expect(fs.stat(indexes[0]!)).resolves.toBeTruthy();
    expect(reopened.stats()).toEqual(repo.stats());
  });

  it('writeSnapshot seals the open pack first: a process opened right after sees every chunk', async () => {
    const { root, repo } = await freshRepo();
    const chunks = Array.from({ length: 10 }, (_, i) => logText(10_000, 10 + i));
    await putAll(repo, chunks);
    expect((await packFiles(root)).packs).toHaveLength(0);
    await repo.writeSnapshot(streamManifest('s', chunks));
    const other = await Repository.open(root);
    expect(await other.hasChunks(chunks.map(sha256))).toEqual(chunks.map(() => true));
    expect((await other.verifySnapshot('s')).ok).toBe(true);
  });

  it('gc repacks a mostly dead pack, rewrites the index of a mostly live one, and both reopen the same', async () => {
    const { root, repo } = await freshRepo();
    const a = Array.from({ length: 10 }, () => randomBytes(20_000));
    await putAll(repo, a);
    await repo.writeSnapshot(streamManifest('a-two', a.slice(0, 2))); // pack A: 2 of 10 live
    const b = Array.from({ length: 10 }, () => randomBytes(20_000));
    await putAll(repo, b);
    await repo.writeSnapshot(streamManifest('b-eight', b.slice(0, 8))); // pack B: 8 of 10 live
    const packA = (await locateChunk(root, sha256(a[0]!)))!.pack;
    const packB = (await locateChunk(root, sha256(b[0]!)))!.pack;
    expect(packA).not.toBe(packB);

    const r = await repo.gc({ graceMs: 0, now: Date.now() + HOUR });
    expect(r).toMatchObject({ deletedChunks: 10, deletedBytes: 10 * 20_001, packsRepacked: 1, packsDeleted: 0 });
    expect(r.reclaimedBytes).toBeGreaterThan(6 * 20_000);
    await expect(fs.stat(packA)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.stat(packB)).resolves.toBeTruthy();
    expect((await locateChunk(root, sha256(a[0]!)))!.pack).not.toBe(packA);
    expect(await locateChunk(root, sha256(b[9]!))).toBeNull(); // dropped from B's .idx
    expect(await repo.hasChunks([sha256(a[5]!), sha256(b[9]!), sha256(b[7]!)])).toEqual([false, false, true]);
    for (const id of ['a-two', 'b-eight']) expect((await repo.verifySnapshot(id)).ok).toBe(true);
    const reopened = await Repository.open(root);
    expect(reopened.stats()).toEqual(repo.stats());
    expect(reopened.stats().chunkCount).toBe(10);

    // once nothing is referenced, every pack goes
    await reopened.deleteSnapshot('a-two');
    await reopened.deleteSnapshot('b-eight');
    const all = await reopened.gc({ graceMs: 0, now: Date.now() + HOUR });
    expect(all).toMatchObject({ deletedChunks: 10, packsDeleted: 2 });
    expect(await packFiles(root)).toEqual({ packs: [], indexes: [] });
    expect(reopened.stats()).toMatchObject({ chunkCount: 0, storedBytes: 0, packCount: 0 });
  });

  it('counts a chunk held by two packs once (crash after a repack), and gc drops the spare copy', async () => {
    const { root, repo } = await freshRepo();
    const chunks = [logText(30_000, 4), randomBytes(30_000)];
    await putAll(repo, chunks);
    await repo.writeSnapshot(streamManifest('s', chunks));
    const before = repo.stats();
    const { packs } = await packFiles(root);
    const copy = path.join(root, 'packs', '00', '0'.repeat(32));
    await fs.mkdir(path.dirname(copy), { recursive: true });
    await fs.copyFile(packs[0]!, copy);
    await fs.copyFile(`${packs[0]!}.idx`, `${copy}.idx`);
    const reopened = await Repository.open(root);
    expect(reopened.stats()).toMatchObject({ chunkCount: before.chunkCount, storedBytes: before.storedBytes, packCount: 2 });
    const r = await reopened.gc({ graceMs: 0, now: Date.now() + HOUR });
    expect(r).toMatchObject({ deletedChunks: 0, packsDeleted: 1 });
    expect((await packFiles(root)).packs).toHaveLength(1);
    expect(await reopened.verifySnapshot('s')).toMatchObject({ ok: true, checked: 2 });
    expect((await Repository.open(root)).stats()).toEqual(reopened.stats());
  });

  it('refuses a format-1 repository', async () => {
    const root = await tempDir();
    dirs.push(root);
    const config = { format: 1, id: 'x', createdAt: new Date().toISOString(), chunking: { disk: { kind: 'fixed', size: 65536 }, stream: { kind: 'fastcdc', min: 16384, avg: 65536, max: 262144 } }, compression: { codec: 'zstd', level: 1 } };
    await fs.writeFile(path.join(root, 'config.json'), JSON.stringify(config));
    await expect(Repository.open(root)).rejects.toMatchObject({ code: 'repository_format_unsupported' });
  });

  it('hashes and compresses on worker threads when asked, with the same results and refusals', async () => {
    const { root, repo } = await freshRepo({ encodeThreads: 2 });
    const text = logText(65536, 7);
    const random = randomBytes(65536);
    expect(await repo.putChunk(sha256(text), text)).toMatchObject({ stored: true });
    expect((await repo.putChunk(sha256(random), random)).storedBytes).toBe(65537);
    await expect(repo.putChunk(sha256(random), text)).rejects.toMatchObject({ code: 'chunk_digest_mismatch' });
    await expect(repo.putChunk(sha256(Buffer.from('nope')), random)).rejects.toMatchObject({ code: 'chunk_digest_mismatch' });
    await repo.writeSnapshot(streamManifest('s', [text, random]));
    const reopened = await Repository.open(root, { encodeThreads: 0 });
    expect((await reopened.getChunk(sha256(text))).equals(text)).toBe(true);
    expect(reopened.stats().storedBytes).toBeLessThan(65537 + text.length / 3);
  });
});
