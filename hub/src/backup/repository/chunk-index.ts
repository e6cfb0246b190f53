import type { PackEntry } from './pack-format.ts';
import type { PackWriter } from './pack-writer.ts';

/** A pack the index knows: sealed (`writer === null`) or still being filled or sealed. */
export interface Pack {
  id: string;
  /** Every entry the pack's `.idx` lists (after GC rewrites, only those it kept). */
  entries: PackEntry[];
  /** Size of the pack file in bytes (0 while open). */
  fileBytes: number;
  /** Set while the pack is open or sealing: reads go through it. */
  writer: PackWriter | null;
}

export interface ChunkLocation {
  pack: Pack;
  /** Where the stored form (codec byte + payload) starts in the pack. */
  offset: number;
  /** Stored length. */
  length: number;
}

/**
 * The in-memory picture of which chunks exist and where, loaded from the `.idx` files at open
 * and kept current by every write, repack and GC, so `hasChunks` answers without touching the
 * disk and `stats` is free.
 */
export class ChunkIndex {
  private readonly chunks = new Map<string, ChunkLocation>();
  private readonly writing = new Map<string, Promise<unknown>>();
  readonly packs = new Map<string, Pack>();
  storedBytes = 0;

  get count(): number {
    return this.chunks.size;
  }

  has(digest: string): boolean {
    return this.chunks.has(digest);
  }

  get(digest: string): ChunkLocation | undefined {
    return this.chunks.get(digest);
  }

  /** Records where a chunk is; a chunk already known keeps its place unless `replace`. */
  set(digest: string, loc: ChunkLocation, replace = false): void {
    const old = this.chunks.get(digest);
    if (old && !replace) return;
    if (old) this.storedBytes -= old.length;
    this.chunks.set(digest, loc);
    this.storedBytes += loc.length;
  }

  /** Forgets a chunk (synchronously). */
  delete(digest: string): boolean {
    const old = this.chunks.get(digest);
    if (!old) return false;
    this.chunks.delete(digest);
    this.storedBytes -= old.length;
    return true;
  }

  /** Entries of `pack` the index currently points at (others are dead or duplicates). */
  liveEntries(pack: Pack): PackEntry[] {
    return pack.entries.filter((e) => this.chunks.get(e.digest)?.pack === pack);
  }

  /** Runs `write` once per digest at a time; concurrent callers share the first one's result. */
  async writeOnce<T>(digest: string, write: () => Promise<T>): Promise<T> {
    const inFlight = this.writing.get(digest) as Promise<T> | undefined;
    if (inFlight) return inFlight;
    const p = write().finally(() => this.writing.delete(digest));
    this.writing.set(digest, p);
    return p;
  }
}
