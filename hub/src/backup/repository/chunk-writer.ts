import { decodeStored, StoredChunkInvalid } from '../../../../node-agent/src/tasks/stored-chunk.ts';
import type { RepositoryBackend } from './backend.ts';
import type { ChunkIndex } from './chunk-index.ts';
import { checkDigest, CODEC, encodeChunk, sha256Hex, type CompressionConfig } from './codec.ts';
import { EncodePool, ZSTD_HEADER } from './encode-pool.ts';
import { RepositoryError } from './errors.ts';
import { PACK_MAGIC } from './pack-format.ts';
import { PackWriter } from './pack-writer.ts';
import type { PendingBackups } from './pending.ts';

export interface PutChunkResult {
  /** False when the chunk was already stored (deduplicated). */
  stored: boolean;
  /** Bytes written for this chunk (0 when deduplicated). */
  storedBytes: number;
}

const RAW_HEADER = Buffer.from([CODEC.raw]);
const NOT_STORED: PutChunkResult = { stored: false, storedBytes: 0 };

/**
 * The write path of a repository: checks and appends chunks to the open pack, rotates and seals
 * packs (docs/repository-format.md, "Writing packs"). Owned by one `Repository`.
 */
export class ChunkWriter {
  /** The pack being filled by putChunk. */
  private current: Promise<PackWriter> | null = null;
  private currentWriter: PackWriter | null = null;
  private readonly sealing = new Set<Promise<void>>();
  /** A background seal that failed; the next flush reports it. */
  private sealFailure: unknown = null;
  /** Where putStoredChunk decodes zstd chunks to check them; grows to the largest chunk seen. */
  private scratch = Buffer.alloc(0);

  constructor(
    private readonly backend: RepositoryBackend,
    private readonly index: ChunkIndex,
    private readonly pending: PendingBackups,
    private readonly compression: CompressionConfig,
    private readonly packSize: number,
    private readonly pool: EncodePool | null,
    /** Largest chunk this repository's chunking produces: the bound on what an upload may declare. */
    private readonly maxChunkBytes: number,
  ) {}

  /** See Repository.putChunk. */
  async putChunk(digest: string, data: Buffer, backupId: string | undefined, trustedDigest = false): Promise<PutChunkResult> {
    checkDigest(digest);
    // Off the event loop when a pool is configured and the chunk is worth the trip; the
    // inline path also serves chunks already stored (only the hash check is needed).
    const pooled = this.pool !== null && data.length >= 4096 && !this.index.has(digest);
    const encoded = pooled ? await this.pool!.encode(data, this.compression.codec === 'zstd' ? this.compression.level : null) : null;
    const actual = encoded ? encoded.digest : trustedDigest ? digest : sha256Hex(data);
    if (actual !== digest) throw mismatch(digest, actual);
    return this.store(digest, backupId, () => (encoded ? [encoded.zstd ? ZSTD_HEADER : RAW_HEADER, encoded.zstd ?? data] : encodeChunk(data, this.compression)));
  }

  /** See Repository.putStoredChunk. */
  async putStoredChunk(digest: string, stored: Buffer, length: number, backupId: string | undefined): Promise<PutChunkResult> {
    checkDigest(digest);
    if (!Number.isInteger(length) || length < 0 || length > this.maxChunkBytes) {
      throw new RepositoryError('chunk_invalid', `chunk ${digest} declares ${length} bytes; this repository's chunks have at most ${this.maxChunkBytes}`, { digest });
    }
    // Every encoder keeps zstd only when it is smaller than raw, and raw is 1 + length.
    if (stored.length < 1 || stored.length > length + 1) {
      throw new RepositoryError('chunk_invalid', `chunk ${digest} of ${length} bytes came with a stored form of ${stored.length} bytes`, { digest });
    }
    if (this.scratch.length < length) this.scratch = Buffer.allocUnsafeSlow(length);
    let data: Buffer;
    try {
      data = decodeStored(stored, length, this.scratch);
    } catch (e) {
      if (!(e instanceof StoredChunkInvalid)) throw e;
      throw new RepositoryError('chunk_invalid', `chunk ${digest} was refused: ${e.message}`, { digest, cause: e });
    }
    // Synchronous from the decode to here: the scratch buffer is not shared with another put.
    const actual = sha256Hex(data);
    if (actual !== digest) throw mismatch(digest, actual);
    // Kept as it came (a view into the upload frame until its pack segment is written).
    return this.store(digest, backupId, () => [stored]);
  }

  /** Appends a checked chunk unless the repository has it (then only claims it for the backup). */
  private async store(digest: string, backupId: string | undefined, parts: () => Buffer[]): Promise<PutChunkResult> {
    if (this.index.has(digest)) {
      if (backupId !== undefined) await this.pending.claim(backupId, [digest]);
      return NOT_STORED;
    }
    if (backupId !== undefined) this.pending.claimInMemory(backupId, digest);
    let mine = false;
    const result = await this.index.writeOnce(digest, async () => {
      mine = true;
      if (this.index.has(digest)) return NOT_STORED;
      let w = await this.writer();
      while (w.sealed) w = await this.writer(); // rotated by another put meanwhile
      const appended = w.append(digest, parts());
      if (w.size >= this.packSize) this.rotate(w);
      const entry = await appended;
      if (w.failed) throw new Error(`pack ${w.pack.id} failed to seal; chunk ${digest} was not stored`);
      this.index.set(digest, { pack: w.pack, offset: entry.offset, length: entry.length });
      return { stored: true, storedBytes: entry.length };
    });
    // Concurrent callers for one digest share one write; only the one that wrote reports it.
    return mine ? result : NOT_STORED;
  }

  /** The open pack (created on first use), never one that is sealing. */
  private async writer(): Promise<PackWriter> {
    for (;;) {
      if (!this.current) {
        const p = this.newWriter().then((w) => {
          if (this.current === p) this.currentWriter = w;
          return w;
        });
        p.catch(() => {
          if (this.current === p) this.current = null;
        });
        this.current = p;
      }
      const w = await this.current;
      if (!w.sealed) return w;
    }
  }

  /** A new pack writer, registered in the index (also used by GC for repacked chunks). */
  async newWriter(): Promise<PackWriter> {
    const w = await PackWriter.create(this.backend);
    this.index.packs.set(w.pack.id, w.pack);
    return w;
  }

  /** Detaches `w` from new appends and seals it in the background (flush awaits it). */
  private rotate(w: PackWriter): void {
    if (w.sealed) return;
    if (this.currentWriter === w) {
      this.current = null;
      this.currentWriter = null;
    }
    const p = this.sealWriter(w).catch((err: unknown) => {
      this.sealFailure ??= err;
    });
    this.sealing.add(p);
    void p.finally(() => this.sealing.delete(p));
  }

  /** Seals a pack; on failure its chunks leave the index (writers upload them again). */
  async sealWriter(w: PackWriter): Promise<void> {
    try {
      await w.seal();
      w.pack.writer = null;
    } catch (err) {
      w.failed = true;
      for (const e of w.written) if (this.index.get(e.digest)?.pack === w.pack) this.index.delete(e.digest);
      this.index.packs.delete(w.pack.id);
      throw err;
    }
  }

  /** Seals the open pack and waits for every seal; reports a seal that failed since the last flush. */
  async flush(): Promise<void> {
    const w = this.currentWriter;
    if (w && w.size > PACK_MAGIC.length) this.rotate(w);
    while (this.sealing.size > 0) await Promise.all([...this.sealing]);
    await this.backend.flush();
    if (this.sealFailure !== null) {
      const err = this.sealFailure;
      this.sealFailure = null;
      if (err instanceof RepositoryError) throw err;
      throw new RepositoryError('pack_write_failed', `a pack could not be written (${err instanceof Error ? err.message : String(err)}); its chunks were dropped and must be uploaded again`, { cause: err });
    }
  }
}

function mismatch(digest: string, actual: string): RepositoryError {
  return new RepositoryError('chunk_digest_mismatch', `chunk data hashes to ${actual}, not to the digest given (${digest}); refused`, { digest });
}
