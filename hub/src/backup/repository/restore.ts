import fs from 'node:fs/promises';
import { CODEC } from './codec.ts';
import { RepositoryError } from './errors.ts';
import { patchesBySlot, type SnapshotManifest } from './manifest.ts';
import type { Repository } from './repository.ts';

/** One piece of a restored snapshot, in order. `data === null` is a range of zeros. */
export interface RestoreBlock {
  offset: number;
  length: number;
  data: Buffer | null;
}

export interface RestoreOptions {
  /** Chunks read ahead in parallel (reads, decompression and hashing overlap the consumer). @default 8 */
  readAhead?: number;
  /** 'null' yields zero ranges with data null (the sink can leave a hole); 'buffer' yields zero-filled buffers. @default 'null' */
  zeros?: 'null' | 'buffer';
}

const ZERO_PAGE = Buffer.alloc(4 * 1024 * 1024);

/** One chunk of a snapshot in its stored form, in order. `stored === null` is a range of zeros. */
export interface StoredBlock {
  offset: number;
  length: number;
  /** null for a zero range. */
  digest: string | null;
  /** Codec byte + payload as the pack holds it: not decoded, not re-hashed. */
  stored: Buffer | null;
}

/** A snapshot's chunk: where it goes and its digest (null for a zero range). */
export interface SnapshotChunk {
  offset: number;
  length: number;
  digest: string | null;
}
type Item = SnapshotChunk;

/** The chunks of a manifest in order, with their offsets and lengths. */
export function snapshotChunks(manifest: SnapshotManifest): SnapshotChunk[] {
  const items: Item[] = [];
  if (manifest.kind === 'disk') {
    manifest.chunks.forEach((digest, i) => {
      const offset = i * manifest.chunkSize;
      items.push({ offset, length: Math.min(manifest.chunkSize, manifest.size - offset), digest });
    });
  } else {
    let offset = 0;
    for (const c of manifest.chunks) {
      items.push({ offset, length: c.n, digest: c.d });
      offset += c.n;
    }
  }
  return items;
}

/** `read` of each item in order, `readAhead` of them in flight. */
async function* readInOrder<T>(items: Item[], readAhead: number, read: (digest: string) => Promise<T>): AsyncGenerator<[Item, T | null]> {
  const window: Promise<T | null>[] = [];
  let next = 0;
  const fill = (): void => {
    while (window.length < readAhead && next < items.length) {
      const it = items[next++]!;
      const p = it.digest === null ? Promise.resolve(null) : read(it.digest);
      p.catch(() => undefined); // handled when awaited in order
      window.push(p);
    }
  };
  for (let i = 0; i < items.length; i++) {
    fill();
    const value = await window.shift()!;
    yield [items[i]!, value];
  }
}

/**
 * The snapshot's bytes in order, every chunk verified against its digest (`chunk_corrupt` or
 * `chunk_missing` stops the restore before any bad byte is yielded). Memory: `readAhead` chunks.
 */
export async function* restoreSnapshot(repo: Repository, id: string, options: RestoreOptions = {}): AsyncGenerator<RestoreBlock> {
  const manifest = await repo.readSnapshot(id);
  const patches = patchesBySlot(manifest);
  let slot = 0;
  for await (const [it, base] of readInOrder(snapshotChunks(manifest), Math.max(1, options.readAhead ?? 8), (d) => repo.getChunk(d))) {
    if (base !== null && base.length !== it.length) {
      throw new Error(`snapshot ${id}: chunk ${it.digest} has ${base.length} bytes, manifest says ${it.length}`);
    }
    let data = base;
    const mine = patches.get(slot++);
    if (mine) {
      // A copy: the chunk's buffer may be shared (the decoder's output, a cached chunk).
      data = base ? Buffer.from(base) : Buffer.alloc(it.length);
      for (const [, at, digest, n] of mine) {
        if (digest === null) data.fill(0, at, at + n);
        else {
          const bytes = await repo.getChunk(digest);
          if (bytes.length !== n) throw new Error(`snapshot ${id}: patch chunk ${digest} has ${bytes.length} bytes, manifest says ${n}`);
          bytes.copy(data, at);
        }
      }
    }
    if (data === null && options.zeros === 'buffer') {
      yield { offset: it.offset, length: it.length, data: it.length <= ZERO_PAGE.length ? ZERO_PAGE.subarray(0, it.length) : Buffer.alloc(it.length) };
    } else {
      yield { offset: it.offset, length: it.length, data };
    }
  }
}

/**
 * The snapshot's chunks in order in their stored form, for a consumer that decodes and checks
 * them itself (the agent of a restore): the hub neither decompresses nor re-hashes. Read errors
 * still stop it (`chunk_missing`, a truncated pack or unknown codec byte: `chunk_corrupt`), and
 * so does a raw chunk whose length is not the manifest's. Memory: `readAhead` chunks.
 */
export async function* restoreStoredSnapshot(repo: Repository, manifest: SnapshotManifest, options: { readAhead?: number } = {}): AsyncGenerator<StoredBlock> {
  for await (const [it, stored] of readInOrder(snapshotChunks(manifest), Math.max(1, options.readAhead ?? 8), (d) => repo.getStoredChunk(d))) {
    if (stored !== null && stored[0] === CODEC.raw && stored.length - 1 !== it.length) {
      throw new RepositoryError('chunk_corrupt', `snapshot ${manifest.id}: chunk ${it.digest} has ${stored.length - 1} bytes, manifest says ${it.length}`, { digest: it.digest! });
    }
    yield { offset: it.offset, length: it.length, digest: it.digest, stored };
  }
}

/**
 * Restores a snapshot into a local file (hub-side helper for tests and tools; agents restore
 * through their own sink). Zero ranges become holes: the file is sized first, then only
 * non-zero chunks are written.
 */
export async function restoreSnapshotToFile(repo: Repository, id: string, file: string, options: RestoreOptions = {}): Promise<{ bytes: number }> {
  const manifest = await repo.readSnapshot(id);
  const fh = await fs.open(file, 'w');
  try {
    await fh.truncate(manifest.size);
    for await (const block of restoreSnapshot(repo, id, { ...options, zeros: 'null' })) {
      if (block.data) {
        let done = 0;
        while (done < block.data.length) {
          const { bytesWritten } = await fh.write(block.data, done, block.data.length - done, block.offset + done);
          done += bytesWritten;
        }
      }
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { bytes: manifest.size };
}
