import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Repository } from '../../../hub/src/backup/repository/index.ts';
import { SpanReader } from '../../../hub/src/backup/restore-spans.ts';
import { damageChunk, logText, sha256, tempDir } from './repository-helpers.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

async function repoWith(chunks: Buffer[]): Promise<{ repo: Repository; root: string; digests: string[] }> {
  const root = await tempDir();
  dirs.push(root);
  const repo = await Repository.init(root);
  const digests: string[] = [];
  for (const c of chunks) {
    digests.push(sha256(c));
    await repo.putChunk(sha256(c), c);
  }
  await repo.flush();
  return { repo, root, digests };
}

/** Every entry's stored form through the span reader, in order, as a restore asks for them. */
async function readAll(repo: Repository, order: (string | null)[]): Promise<{ got: (Buffer | null)[]; reads: SpanReader['reads'] }> {
  const spans = new SpanReader(repo, order);
  const got = await Promise.all(
    order.map(async (d, i) => {
      if (d === null) return null;
      const target = Buffer.alloc(repo.storedLength(d));
      await spans.fill(i, d, target);
      return target;
    }),
  );
  return { got, reads: spans.reads };
}

describe('restore span reads', () => {
  // Compressible and random chunks: zstd and raw stored forms side by side in one pack.
  const chunks = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? randomBytes(65536) : logText(65536, i + 1)));

  it('gives every chunk the bytes readStoredInto gives, in pack order, out of order, with zeros and repeats between', async () => {
    const { repo, digests } = await repoWith(chunks);
    const order = [...digests.slice(0, 20), null, digests[3]!, ...digests.slice(20).reverse(), digests[39]!, null];
    const { got, reads } = await readAll(repo, order);
    // The first 20 in pack order (< 2 MiB stored): one or two span reads; the 22 others (a
    // repeat, a reversed run, a repeat) are never next to the chunk before them: one read each.
    expect(reads.spans).toBeGreaterThanOrEqual(1);
    expect(reads.spans + reads.single).toBeLessThanOrEqual(24);
    for (const [i, d] of order.entries()) {
      if (d === null) expect(got[i]).toBeNull();
      else expect(got[i]!.equals(await repo.getStoredChunk(d)), `entry ${i}`).toBe(true);
    }
  });

  it('keeps a run per pack when the order alternates between two packs (a patched snapshot: base chunks, patches)', async () => {
    const { repo, digests } = await repoWith(chunks.slice(0, 10));
    const patches = Array.from({ length: 10 }, (_, i) => logText(4096, 100 + i));
    for (const p of patches) await repo.putChunk(sha256(p), p);
    await repo.flush();
    const order = digests.flatMap((d, i) => [d, sha256(patches[i]!)]);
    expect(repo.storedLocation(order[0]!)!.pack).not.toBe(repo.storedLocation(order[1]!)!.pack);
    const { got, reads } = await readAll(repo, order);
    for (const [i, d] of order.entries()) expect(got[i]!.equals(await repo.getStoredChunk(d!)), `entry ${i}`).toBe(true);
    expect(reads).toEqual({ spans: 2, single: 0 });
  });

  it('a damaged chunk inside a span still fails as chunk_corrupt, and its neighbours still read', async () => {
    const { repo, root, digests } = await repoWith(chunks);
    // The codec byte: the span reader must notice it and let readStoredInto report it.
    const loc = repo.storedLocation(digests[5]!)!;
    await damageChunk(root, digests[5]!, loc.length);
    const spans = new SpanReader(repo, digests);
    const fills = digests.map(async (d, i) => {
      const target = Buffer.alloc(repo.storedLength(d));
      await spans.fill(i, d, target);
      return target;
    });
    await expect(fills[5]).rejects.toMatchObject({ code: 'chunk_corrupt' });
    expect((await fills[6]!).equals(await repo.getStoredChunk(digests[6]!))).toBe(true);
  });
});
