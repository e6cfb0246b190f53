import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import zstd from 'zstd-napi/binding.js';
import { ingestRecords } from '../../../hub/src/backup/ingest.ts';
import { Repository, restoreStoredSnapshot, type SnapshotManifest, type StoredBlock } from '../../../hub/src/backup/repository/index.ts';
import { RECORD } from '../../../node-agent/src/tasks/backup-wire.ts';
import { RecordPacker } from '../../../node-agent/src/tasks/record-packer.ts';
import { encodeStoredInto, storedBound, STORED_CODEC } from '../../../node-agent/src/tasks/stored-chunk.ts';
import { damageChunk, locateChunk, logText, sha256, tempDir } from './repository-helpers.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

async function freshRepo(): Promise<{ root: string; repo: Repository }> {
  const root = await tempDir();
  dirs.push(root);
  return { root, repo: await Repository.init(root) };
}

/** The stored form an agent sends for `data` (zstd 1, raw when that saves < 1/32). */
function storedOf(data: Buffer, level: number | null = 1): Buffer {
  const out = Buffer.alloc(storedBound(data.length));
  return out.subarray(0, encodeStoredInto(out, 0, data, level));
}

function zstdStored(data: Buffer, contentSize = true): Buffer {
  const c = new zstd.CCtx();
  if (!contentSize) c.setParameter(zstd.CParameter.contentSizeFlag, 0);
  const out = Buffer.alloc(1 + zstd.compressBound(data.length));
  out[0] = STORED_CODEC.zstd;
  return out.subarray(0, 1 + c.compress2(out.subarray(1), data));
}

async function* framesOf(fill: (p: RecordPacker) => Promise<void>): AsyncGenerator<Buffer> {
  const frames: Buffer[] = [];
  const p = new RecordPacker(async (f) => void frames.push(Buffer.from(f)));
  await fill(p);
  await p.flush();
  yield* frames;
}

describe('chunks uploaded in their stored form (putStoredChunk)', () => {
  it('stores the agent\'s bytes as they came, readable as plain data and as the same stored form', async () => {
    const { repo } = await freshRepo();
    const text = logText(65536, 1);
    const random = randomBytes(65536);
    for (const data of [text, random]) {
      const stored = storedOf(data);
      const r = await repo.putStoredChunk(sha256(data), stored, data.length, { backupId: undefined });
      expect(r).toEqual({ stored: true, storedBytes: stored.length });
      expect((await repo.getChunk(sha256(data))).equals(data)).toBe(true);
      expect((await repo.getStoredChunk(sha256(data))).equals(stored)).toBe(true);
      // Already there: checked again, not stored twice.
      expect(await repo.putStoredChunk(sha256(data), stored, data.length)).toEqual({ stored: false, storedBytes: 0 });
    }
    expect(storedOf(text)[0]).toBe(STORED_CODEC.zstd);
    expect(storedOf(random)[0]).toBe(STORED_CODEC.raw);
    await repo.flush();
    expect(repo.stats().chunkCount).toBe(2);
  });

  it('refuses a record that lies: wrong digest, wrong length, a zstd bomb, oversized forms', async () => {
    const { repo } = await freshRepo();
    const text = logText(65536, 2);
    const other = logText(65536, 3);
    const refuse = (digest: string, stored: Buffer, length: number) => repo.putStoredChunk(digest, stored, length);
    // Valid stored form of other bytes under this digest.
    await expect(refuse(sha256(text), storedOf(other), 65536)).rejects.toMatchObject({ code: 'chunk_digest_mismatch' });
    await expect(refuse(sha256(text), storedOf(other, null), 65536)).rejects.toMatchObject({ code: 'chunk_digest_mismatch' });
    // Right bytes, wrong declared length (sized and unsized frames, raw).
    await expect(refuse(sha256(text), storedOf(text), 65535)).rejects.toMatchObject({ code: 'chunk_invalid' });
    await expect(refuse(sha256(text), zstdStored(text, false), 65535)).rejects.toMatchObject({ code: 'chunk_invalid' });
    await expect(refuse(sha256(text), zstdStored(text, false), 65537)).rejects.toMatchObject({ code: 'chunk_invalid' });
    await expect(refuse(sha256(text), storedOf(text, null), 65535)).rejects.toMatchObject({ code: 'chunk_invalid' });
    // A bomb: 256 MiB of zeros declared as one 64 KiB chunk, with and without a content size.
    const bombs = [false, true].map((sized) => Buffer.from(zstdStored(Buffer.alloc(256 * 1024 * 1024), sized)));
    expect(bombs[0]!.length).toBeLessThan(64 * 1024);
    const before = process.memoryUsage().arrayBuffers;
    for (const bomb of bombs) {
      await expect(refuse(sha256(Buffer.alloc(65536)), bomb, 65536)).rejects.toMatchObject({ code: 'chunk_invalid' });
    }
    // A length beyond the repository's largest chunk is refused before anything is decoded.
    await expect(refuse(sha256(text), storedOf(text), 512 * 1024 * 1024)).rejects.toMatchObject({ code: 'chunk_invalid', message: expect.stringContaining('at most 262144') });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024);
    // Padding after a valid frame, an unknown codec, an empty form.
    await expect(refuse(sha256(text), Buffer.concat([storedOf(text), Buffer.alloc(65536)]), 65536)).rejects.toMatchObject({ code: 'chunk_invalid' });
    await expect(refuse(sha256(text), Buffer.concat([Buffer.from([2]), text]), 65536)).rejects.toMatchObject({ code: 'chunk_invalid' });
    await expect(refuse(sha256(text), Buffer.alloc(0), 65536)).rejects.toMatchObject({ code: 'chunk_invalid' });
    expect(repo.stats().chunkCount).toBe(0);
  });

  it('ingests type-3 records and fails the stream on a lying one', async () => {
    const { repo } = await freshRepo();
    const a = logText(65536, 4);
    const b = randomBytes(65536);
    const c = logText(65536, 5);
    await repo.beginBackup({ id: 'bk1' });
    const r = await ingestRecords(
      framesOf(async (p) => {
        await p.addCompressed(sha256(a), a, 1);
        await p.add(RECORD.zero, '', 65536);
        await p.addCompressed(sha256(b), b, 1);
        await p.add(RECORD.data, sha256(c), c.length, c);
      }),
      repo,
      'bk1',
      'disk',
    );
    expect(r).toMatchObject({ diskChunks: [sha256(a), null, sha256(b), sha256(c)], uploadedChunks: 3, uploadedBytes: 3 * 65536, size: 4 * 65536 });
    expect(r.storedBytes).toBe((await repo.getStoredChunk(sha256(a))).length + 65537 + (await repo.getStoredChunk(sha256(c))).length);
    const lying = framesOf((p) => p.addStored(sha256(a), 65536, storedOf(c)));
    await expect(ingestRecords(lying, repo, 'bk1', 'disk')).rejects.toMatchObject({ code: 'chunk_digest_mismatch' });
  });

  it('restores stored forms straight from the packs, and still fails on a truncated pack', async () => {
    const { root, repo } = await freshRepo();
    const chunks = [logText(65536, 6), randomBytes(65536), logText(1000, 7)];
    for (const ch of chunks) await repo.putStoredChunk(sha256(ch), storedOf(ch), ch.length);
    const m: SnapshotManifest = {
      format: 1,
      id: 's1',
      kind: 'disk',
      createdAt: new Date().toISOString(),
      size: 3 * 65536 + 1000,
      chunkSize: 65536,
      chunks: [sha256(chunks[0]!), null, sha256(chunks[1]!), sha256(chunks[2]!)],
    };
    await repo.writeSnapshot(m);
    const blocks: StoredBlock[] = [];
    for await (const blk of restoreStoredSnapshot(repo, m)) blocks.push(blk);
    expect(blocks.map((x) => [x.offset, x.length, x.digest])).toEqual([
      [0, 65536, m.chunks[0]],
      [65536, 65536, null],
      [131072, 65536, m.chunks[2]],
      [196608, 1000, m.chunks[3]],
    ]);
    expect(blocks.map((x) => x.stored && x.stored.equals(storedOf(chunks[[0, -1, 1, 2][blocks.indexOf(x)]!]!)))).toEqual([true, null, true, true]);

    // The restore job reads straight into its frame: same bytes.
    for (const ch of chunks) {
      const target = Buffer.alloc(repo.storedLength(sha256(ch)) + 3).subarray(3);
      await repo.readStoredInto(sha256(ch), target);
      expect(target.equals(storedOf(ch))).toBe(true);
    }
    expect(() => repo.storedLength(sha256(Buffer.from('absent')))).toThrow(expect.objectContaining({ code: 'chunk_missing' }));

    // Damage is the agent's to find (it re-hashes); a pack cut short is a read error here.
    await damageChunk(root, sha256(chunks[1]!));
    const again: StoredBlock[] = [];
    for await (const blk of restoreStoredSnapshot(repo, m)) again.push(blk);
    expect(again).toHaveLength(4);
    // Verify still decodes and re-hashes on the hub.
    const v = await repo.verifySnapshot('s1');
    expect(v).toMatchObject({ ok: false, damaged: [sha256(chunks[1]!)] });
    // Cut under the running repository (open would drop the entry and call it missing).
    const loc = (await locateChunk(root, sha256(chunks[2]!)))!;
    await fs.truncate(loc.pack, loc.offset + 10);
    await expect(
      (async () => {
        for await (const blk of restoreStoredSnapshot(repo, m)) void blk;
      })(),
    ).rejects.toMatchObject({ code: 'chunk_corrupt', message: expect.stringContaining('truncated') });
    const cut = Buffer.alloc(repo.storedLength(sha256(chunks[2]!)));
    await expect(repo.readStoredInto(sha256(chunks[2]!), cut)).rejects.toMatchObject({ code: 'chunk_corrupt' });
  });
});
