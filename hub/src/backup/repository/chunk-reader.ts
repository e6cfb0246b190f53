import type { RepositoryBackend } from './backend.ts';
import type { ChunkIndex, ChunkLocation, Pack } from './chunk-index.ts';
import { checkDigest, CODEC, decodeChunk, sha256Hex } from './codec.ts';
import { isRepositoryError, RepositoryError } from './errors.ts';
import { packKey } from './keys.ts';

export interface VerifyResult {
  snapshotId: string;
  /** Distinct chunks read and re-hashed. */
  checked: number;
  missing: string[];
  damaged: string[];
  ok: boolean;
}

/** The read path of a repository: chunks from sealed packs or from the pack being filled. */
export class ChunkReader {
  constructor(
    private readonly backend: RepositoryBackend,
    private readonly index: ChunkIndex,
  ) {}

  /** See Repository.getChunk. */
  async getChunk(digest: string): Promise<Buffer> {
    checkDigest(digest);
    const stored = await this.readStored(digest);
    const data = decodeChunk(stored, digest);
    if (sha256Hex(data) !== digest) {
      throw new RepositoryError('chunk_corrupt', `chunk ${digest} is damaged: its content no longer hashes to its name`, { digest });
    }
    return data;
  }

  /** See Repository.getStoredChunk. */
  async getStoredChunk(digest: string): Promise<Buffer> {
    checkDigest(digest);
    const stored = await this.readStored(digest);
    checkStored(digest, stored);
    return stored;
  }

  /** See Repository.storedLength. */
  storedLength(digest: string): number {
    const loc = this.index.get(digest);
    if (!loc) throw new RepositoryError('chunk_missing', `chunk ${digest} is not in the repository`, { digest });
    return loc.length;
  }

  /** See Repository.storedLocation. */
  storedLocation(digest: string): { pack: string; offset: number; length: number } | null {
    const loc = this.index.get(digest);
    return loc && !loc.pack.writer ? { pack: loc.pack.id, offset: loc.offset, length: loc.length } : null;
  }

  /** See Repository.readPackRange. */
  readPackRange(pack: string, offset: number, into: Buffer): Promise<Buffer> {
    return this.backend.readAt(packKey(pack), offset, into.length, into);
  }

  /** See Repository.readStoredInto. */
  async readStoredInto(digest: string, target: Buffer): Promise<void> {
    const stored = await this.readStored(digest, target);
    checkStored(digest, stored);
  }

  private async readStored(digest: string, into?: Buffer): Promise<Buffer> {
    const missing = (): RepositoryError => new RepositoryError('chunk_missing', `chunk ${digest} is not in the repository`, { digest });
    let loc = this.index.get(digest);
    // A repack may move the chunk and delete its old pack between the lookup and the read:
    // look again when the pack has gone.
    for (let attempt = 0; loc; attempt++) {
      try {
        // Repacks copy stored forms as they are: the length the caller planned for stays right.
        if (into && into.length !== loc.length) throw new Error(`chunk ${digest}: ${into.length}-byte target for a ${loc.length}-byte stored form`);
        const stored = await this.readAt(loc, into);
        if (stored.length < loc.length) {
          throw new RepositoryError('chunk_corrupt', `chunk ${digest} is damaged: its pack ${loc.pack.id} is truncated`, { digest });
        }
        return stored;
      } catch (err) {
        if (!isRepositoryError(err, 'object_not_found')) throw err;
        const again = this.index.get(digest);
        if (attempt > 0 || again === loc) throw missing();
        loc = again;
      }
    }
    throw missing();
  }

  private async readAt(loc: ChunkLocation, into?: Buffer): Promise<Buffer> {
    const w = loc.pack.writer;
    if (!w) return this.backend.readAt(packKey(loc.pack.id), loc.offset, loc.length, into);
    const b = await w.read(loc.offset, loc.length);
    if (!into) return b;
    b.copy(into);
    return into.subarray(0, b.length);
  }

  /** Re-reads, decodes and re-hashes every digest (a snapshot's distinct chunks). */
  async verify(snapshotId: string, digests: string[], concurrency: number): Promise<VerifyResult> {
    // Pack order, offset order: reads sweep each pack front to back.
    const where = (d: string): string => {
      const l = this.index.get(d);
      return l ? `${l.pack.id}:${l.offset.toString(16).padStart(8, '0')}` : '';
    };
    digests.sort((a, b) => where(a).localeCompare(where(b)));
    const missing: string[] = [];
    const damaged: string[] = [];
    // A pack deleted from under a running hub stays readable through a cached descriptor:
    // check that each pack is still on disk, once per pack.
    const packGone = new Map<Pack, Promise<boolean>>();
    const gone = (d: string): Promise<boolean> => {
      const loc = this.index.get(d);
      if (!loc || loc.pack.writer) return Promise.resolve(false);
      let p = packGone.get(loc.pack);
      if (!p) {
        p = this.backend.stat(packKey(loc.pack.id)).then((st) => st === null);
        packGone.set(loc.pack, p);
      }
      return p;
    };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < digests.length) {
        const d = digests[next++]!;
        if (await gone(d)) {
          missing.push(d);
          continue;
        }
        try {
          await this.getChunk(d);
        } catch (err) {
          if (isRepositoryError(err, 'chunk_missing')) missing.push(d);
          else if (isRepositoryError(err, 'chunk_corrupt')) damaged.push(d);
          else throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { snapshotId, checked: digests.length, missing: missing.sort(), damaged: damaged.sort(), ok: missing.length + damaged.length === 0 };
  }
}

/** What a reader that does not decode can still check: the form is there and its codec known. */
function checkStored(digest: string, stored: Buffer): void {
  if (stored.length < 1 || (stored[0] !== CODEC.raw && stored[0] !== CODEC.zstd)) {
    throw new RepositoryError('chunk_corrupt', `chunk ${digest} is damaged: ${stored.length < 1 ? 'it is empty' : `unknown codec byte ${stored[0]}`}`, { digest });
  }
}
