import type { BackendSpace, RepositoryBackend } from './backend.ts';
import { ChunkIndex } from './chunk-index.ts';
import { ChunkReader, type VerifyResult } from './chunk-reader.ts';
import { ChunkWriter, type PutChunkResult } from './chunk-writer.ts';
import { checkDigest } from './codec.ts';
import { EncodePool } from './encode-pool.ts';
import { buildConfig, parseConfig, type RepositoryConfig, type RepositoryParams } from './config.ts';
import { isRepositoryError, RepositoryError } from './errors.ts';
import { runGc, type GcOptions, type GcResult } from './gc.ts';
import { CONFIG_KEY, SNAPSHOTS_PREFIX, snapshotKey } from './keys.ts';
import { loadPacks } from './pack-loader.ts';
import { LocalDiskBackend } from './local-disk-backend.ts';
import { manifestDigests, parseManifest, summarize, type SnapshotManifest, type SnapshotSummary } from './manifest.ts';
import { PendingBackups, type PendingBackup } from './pending.ts';

export type { PutChunkResult } from './chunk-writer.ts';
export type { VerifyResult } from './chunk-reader.ts';

export interface RepositoryOptions {
  /** Clock, injected so tests control GC grace periods and temp-file ages. @default Date.now */
  now?: () => number;
  /** Temp files older than this are debris of a crash and removed at open. @default 900000 (15 min) */
  tempMaxAgeMs?: number;
  /**
   * A pack is sealed (one fsync) once it holds this many bytes; `flush`/`writeSnapshot` seal
   * earlier. Not part of the format: any size reads back. @default 33554432 (32 MiB)
   */
  packSize?: number;
  /**
   * Worker threads that re-hash and compress uploaded chunks, shared by every Repository of
   * the process with the same count; 0 does it on the calling thread.
   * Off by default: on the 2-CPU project machine the copies and messages cost more than the
   * thread saved (docs/repository-format.md, "Format 2 measurements").
   * @default 0
   */
  encodeThreads?: number;
}

const DEFAULT_ENCODE_THREADS = 0;
const pools = new Map<number, EncodePool>();
function sharedPool(threads: number): EncodePool | null {
  if (threads === 0) return null;
  let p = pools.get(threads);
  if (!p) {
    p = new EncodePool(threads);
    pools.set(threads, p);
  }
  return p;
}

export interface RepositoryStats {
  /** Sum of the sizes of all snapshots (what restoring all of them would write). */
  logicalBytes: number;
  /** Stored bytes of all chunks (after compression; codec byte + payload, without pack framing). */
  storedBytes: number;
  chunkCount: number;
  snapshotCount: number;
  /** logicalBytes / storedBytes: deduplication, compression and zero ranges together; 0 when empty. */
  dedupRatio: number;
  /** Pack files sealed in the repository, and their bytes on disk (including dead chunks GC left). */
  packCount?: number;
  packBytes?: number;
}

/**
 * A deduplicated chunk store with snapshot manifests (docs/repository-format.md). One process
 * writes a repository; the methods are safe to call concurrently within it.
 */
export class Repository {
  readonly config: RepositoryConfig;
  readonly backend: RepositoryBackend;
  private readonly now: () => number;
  private readonly index = new ChunkIndex();
  private readonly pending: PendingBackups;
  private readonly summaries = new Map<string, SnapshotSummary>();
  /** Set while a GC runs: manifests written meanwhile add their digests so the sweep keeps them. */
  private gcMarks: Set<string> | null = null;
  private readonly packSize: number;
  private readonly writer: ChunkWriter;
  private readonly reader: ChunkReader;

  private constructor(backend: RepositoryBackend, config: RepositoryConfig, now: () => number, packSize: number, encodeThreads: number) {
    this.backend = backend;
    this.config = config;
    this.now = now;
    this.packSize = packSize;
    this.pending = new PendingBackups(backend);
    const maxChunk = Math.max(config.chunking.disk.size, config.chunking.stream.max);
    this.writer = new ChunkWriter(backend, this.index, this.pending, config.compression, packSize, sharedPool(encodeThreads), maxChunk);
    this.reader = new ChunkReader(backend, this.index);
  }

  /** Creates a repository in `root` (a folder that is empty or missing) on the local disk. */
  static async init(root: string, params: RepositoryParams = {}, options: RepositoryOptions = {}): Promise<Repository> {
    return Repository.initWith(new LocalDiskBackend(root), params, options, root);
  }

  /** Opens the repository in `root`; removes stale temp files and loads the chunk index. */
  static async open(root: string, options: RepositoryOptions = {}): Promise<Repository> {
    return Repository.openWith(new LocalDiskBackend(root), options, root);
  }

  static async initWith(backend: RepositoryBackend, params: RepositoryParams = {}, options: RepositoryOptions = {}, label = 'repository'): Promise<Repository> {
    const now = options.now ?? Date.now;
    await backend.recover({ now: now(), olderThanMs: Number.POSITIVE_INFINITY });
    if (await backend.has(CONFIG_KEY)) {
      throw new RepositoryError('repository_exists', `${label} already holds a repository (config.json exists)`);
    }
    const config = buildConfig(params, now());
    await backend.put(CONFIG_KEY, Buffer.from(JSON.stringify(config, null, 2) + '\n'));
    return Repository.openWith(backend, options, label);
  }

  static async openWith(backend: RepositoryBackend, options: RepositoryOptions = {}, label = 'repository'): Promise<Repository> {
    const now = options.now ?? Date.now;
    let raw: Buffer;
    try {
      raw = await backend.get(CONFIG_KEY);
    } catch (err) {
      if (isRepositoryError(err, 'object_not_found')) {
        throw new RepositoryError('repository_not_found', `${label} holds no repository (config.json missing); create it with init`);
      }
      throw err;
    }
    const packSize = options.packSize ?? 32 * 1024 * 1024;
    if (!Number.isInteger(packSize) || packSize < 1 || packSize > 1024 * 1024 * 1024) {
      throw new TypeError(`packSize ${packSize} is not an integer between 1 and 1073741824`);
    }
    const threads = options.encodeThreads ?? DEFAULT_ENCODE_THREADS;
    if (!Number.isInteger(threads) || threads < 0 || threads > 64) throw new TypeError(`encodeThreads ${threads} is not an integer between 0 and 64`);
    const repo = new Repository(backend, parseConfig(raw, label), now, packSize, threads);
    const maxAge = options.tempMaxAgeMs ?? 15 * 60_000;
    await backend.recover({ now: now(), olderThanMs: maxAge });
    await repo.load(now(), maxAge);
    return repo;
  }

  private async load(now: number, debrisAgeMs: number): Promise<void> {
    await loadPacks(this.backend, this.index, { now, debrisAgeMs });
    for await (const o of this.backend.list(SNAPSHOTS_PREFIX)) {
      if (!o.key.endsWith('.json')) continue;
      const m = parseManifest(JSON.parse((await this.backend.get(o.key)).toString('utf8')));
      this.summaries.set(m.id, summarize(m));
    }
    await this.pending.load();
  }

  /**
   * For each digest, whether the repository holds it. With `backupId` (from `beginBackup`),
   * the digests found are claimed for that backup, so GC keeps them until `endBackup`.
   */
  async hasChunks(digests: readonly string[], options: { backupId?: string } = {}): Promise<boolean[]> {
    for (const d of digests) checkDigest(d);
    const answer = digests.map((d) => this.index.has(d));
    if (options.backupId !== undefined) {
      await this.pending.claim(options.backupId, digests.filter((_, i) => answer[i]));
    }
    return answer;
  }

  /**
   * Stores `data` under `digest` after checking that SHA-256(data) is `digest`
   * (`chunk_digest_mismatch` otherwise), compressed with the repository's codec. Already
   * stored: no write. When it resolves the chunk is in the open pack (readable, `hasChunks`
   * true); it is durable after `flush()` or the next `writeSnapshot`, which seal the pack first.
   * `trustedDigest`: the caller vouches for the digest (the hub's own built-in agent), so the
   * hash is skipped; the caller spot-checks instead.
   */
  putChunk(digest: string, data: Buffer, options: { backupId?: string; trustedDigest?: boolean } = {}): Promise<PutChunkResult> {
    return this.writer.putChunk(digest, data, options.backupId, options.trustedDigest ?? false);
  }

  /**
   * Stores a chunk that arrives in its stored form (codec byte + payload, as an agent compressed
   * it), as it came: no recompression. It is decoded once to check it: `chunk_invalid` when
   * `length` exceeds this repository's largest chunk, the stored form is longer than raw, or it
   * does not decode to exactly `length` bytes (a zstd bomb stops at `length`); then
   * `chunk_digest_mismatch` as in putChunk. `stored` is kept (not copied) until written.
   */
  putStoredChunk(digest: string, stored: Buffer, length: number, options: { backupId?: string } = {}): Promise<PutChunkResult> {
    return this.writer.putStoredChunk(digest, stored, length, options.backupId);
  }

  /** The chunk's data, decoded and re-hashed: `chunk_corrupt` when it does not match. */
  getChunk(digest: string): Promise<Buffer> {
    return this.reader.getChunk(digest);
  }

  /**
   * The chunk's stored form (codec byte + payload) as the pack holds it, neither decoded nor
   * re-hashed: for a reader that checks it itself (an agent restoring). A missing pack is
   * `chunk_missing`, a truncated one or an unknown codec byte `chunk_corrupt`.
   */
  getStoredChunk(digest: string): Promise<Buffer> {
    return this.reader.getStoredChunk(digest);
  }

  /** Length of the chunk's stored form (`chunk_missing` when absent): to plan `readStoredInto`. */
  storedLength(digest: string): number {
    return this.reader.storedLength(digest);
  }

  /**
   * Where a chunk's stored form lies in a sealed pack, so a reader can fetch neighbours in one
   * read (readPackRange); null when missing or in a pack still being written.
   */
  storedLocation(digest: string): { pack: string; offset: number; length: number } | null {
    return this.reader.storedLocation(digest);
  }

  /**
   * Reads `into.length` bytes of pack `pack` at `offset`. Unchecked bytes: a caller checks each
   * chunk in them as readStoredInto would, and falls back to readStoredInto when the pack has
   * gone (a repack moved its chunks: `object_not_found`).
   */
  readPackRange(pack: string, offset: number, into: Buffer): Promise<Buffer> {
    return this.reader.readPackRange(pack, offset, into);
  }

  /** getStoredChunk into `target` (exactly `storedLength(digest)` bytes), e.g. a slice of a record frame. */
  readStoredInto(digest: string, target: Buffer): Promise<void> {
    return this.reader.readStoredInto(digest, target);
  }

  /**
   * Writes a manifest atomically. Every chunk it references must already be stored
   * (`chunk_missing` otherwise); ids are never reused (`snapshot_exists`).
   */
  async writeSnapshot(manifest: SnapshotManifest): Promise<SnapshotSummary> {
    const m = parseManifest(manifest);
    const digests = manifestDigests(m);
    // Before any await: a sweep in progress must see these digests as referenced.
    if (this.gcMarks) for (const d of digests) this.gcMarks.add(d);
    if (this.summaries.has(m.id) || (await this.backend.has(snapshotKey(m.id)))) {
      throw new RepositoryError('snapshot_exists', `snapshot ${m.id} already exists`, { snapshotId: m.id });
    }
    // Seal first: a pack that failed to seal (a full disk) drops its chunks from the index, and
    // its error, not "chunk missing", is what the caller must hear.
    await this.flush();
    const missing = [...digests].filter((d) => !this.index.has(d));
    if (missing.length > 0) {
      throw new RepositoryError(
        'chunk_missing',
        `snapshot ${m.id} references ${missing.length} chunk(s) not in the repository, e.g. ${missing[0]}; upload them first`,
        { snapshotId: m.id, digest: missing[0] },
      );
    }
    await this.backend.put(snapshotKey(m.id), Buffer.from(JSON.stringify(m)));
    const summary = summarize(m);
    this.summaries.set(m.id, summary);
    return summary;
  }

  async readSnapshot(id: string): Promise<SnapshotManifest> {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(id)) throw new RepositoryError('snapshot_not_found', `snapshot ${id} does not exist`, { snapshotId: id });
    try {
      return parseManifest(JSON.parse((await this.backend.get(snapshotKey(id))).toString('utf8')));
    } catch (err) {
      if (isRepositoryError(err, 'object_not_found')) {
        throw new RepositoryError('snapshot_not_found', `snapshot ${id} does not exist`, { snapshotId: id });
      }
      throw err;
    }
  }

  /** Summaries of all snapshots, oldest first. */
  listSnapshots(): SnapshotSummary[] {
    return [...this.summaries.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /** Removes the manifest; its chunks go at the next GC if nothing else references them. */
  async deleteSnapshot(id: string): Promise<void> {
    if (!this.summaries.has(id)) throw new RepositoryError('snapshot_not_found', `snapshot ${id} does not exist`, { snapshotId: id });
    await this.backend.delete(snapshotKey(id));
    this.summaries.delete(id);
  }

  /** Re-reads, decodes and re-hashes every distinct chunk of the snapshot. */
  async verifySnapshot(id: string, options: { concurrency?: number } = {}): Promise<VerifyResult> {
    const digests = [...manifestDigests(await this.readSnapshot(id))];
    return this.reader.verify(id, digests, options.concurrency ?? 4);
  }

  stats(): RepositoryStats {
    let logical = 0;
    for (const s of this.summaries.values()) logical += s.size;
    const stored = this.index.storedBytes;
    let packCount = 0;
    let packBytes = 0;
    for (const p of this.index.packs.values()) {
      if (p.writer) continue;
      packCount++;
      packBytes += p.fileBytes;
    }
    return {
      logicalBytes: logical,
      storedBytes: stored,
      chunkCount: this.index.count,
      snapshotCount: this.summaries.size,
      dedupRatio: stored > 0 ? logical / stored : 0,
      packCount,
      packBytes,
    };
  }

  /** Capacity and free space of the store holding the repository. */
  space(): Promise<BackendSpace | null> {
    return this.backend.space();
  }

  /** Marks a backup as in progress; pass its id to hasChunks/putChunk. Idempotent for a given id. */
  beginBackup(options: { id?: string } = {}): Promise<PendingBackup> {
    return this.pending.begin(this.now(), options.id);
  }

  /** Makes every chunk stored so far durable by name (writeSnapshot does this itself). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Seals the open pack and releases cached file descriptors. The object stays usable. */
  async close(): Promise<void> {
    await this.flush();
    this.backend.close?.();
  }

  /** Ends a backup (written or abandoned): its claims stop protecting chunks. */
  endBackup(id: string): Promise<void> {
    return this.pending.end(id);
  }

  pendingBackups(): PendingBackup[] {
    return this.pending.list();
  }

  /**
   * Mark-and-sweep: deletes chunks no snapshot references, no pending backup claimed, and
   * older than the grace period; then deletes packs left empty and repacks those mostly dead
   * (docs/repository-format.md, "Garbage collection with packs"). One GC at a time per
   * repository object.
   */
  async gc(options: GcOptions): Promise<GcResult> {
    if (this.gcMarks) throw new Error('a garbage collection is already running on this repository');
    this.gcMarks = new Set();
    try {
      return await runGc(
        {
          backend: this.backend,
          index: this.index,
          pending: this.pending,
          marks: this.gcMarks,
          packSize: this.packSize,
          snapshotIds: () => [...this.summaries.keys()],
          readSnapshot: (id) => this.readSnapshot(id),
          newWriter: () => this.writer.newWriter(),
          seal: (w) => this.writer.sealWriter(w),
        },
        { graceMs: options.graceMs, now: options.now ?? this.now(), repackThreshold: options.repackThreshold ?? 0.5 },
      );
    } finally {
      this.gcMarks = null;
    }
  }
}
