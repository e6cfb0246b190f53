import type { BackendSpace, RepositoryBackend } from './backend.ts';
import { ChunkIndex } from './chunk-index.ts';
import { checkDigest, decodeChunk, encodeChunk, sha256Hex } from './codec.ts';
import { buildConfig, parseConfig, type RepositoryConfig, type RepositoryParams } from './config.ts';
import { isRepositoryError, RepositoryError } from './errors.ts';
import { runGc, type GcOptions, type GcResult } from './gc.ts';
import { CHUNKS_PREFIX, chunkKey, CONFIG_KEY, digestOfKey, SNAPSHOTS_PREFIX, snapshotKey } from './keys.ts';
import { LocalDiskBackend } from './local-disk-backend.ts';
import { manifestDigests, parseManifest, summarize, type SnapshotManifest, type SnapshotSummary } from './manifest.ts';
import { PendingBackups, type PendingBackup } from './pending.ts';

export interface RepositoryOptions {
  /** Clock, injected so tests control GC grace periods and temp-file ages. @default Date.now */
  now?: () => number;
  /** Temp files older than this are debris of a crash and removed at open. @default 900000 (15 min) */
  tempMaxAgeMs?: number;
}

export interface RepositoryStats {
  /** Sum of the sizes of all snapshots (what restoring all of them would write). */
  logicalBytes: number;
  /** Bytes of all chunk files (after compression). */
  storedBytes: number;
  chunkCount: number;
  snapshotCount: number;
  /** logicalBytes / storedBytes: deduplication, compression and zero ranges together; 0 when empty. */
  dedupRatio: number;
}

export interface PutChunkResult {
  /** False when the chunk was already stored (deduplicated). */
  stored: boolean;
  /** Bytes written for this chunk (0 when deduplicated). */
  storedBytes: number;
}

export interface VerifyResult {
  snapshotId: string;
  /** Distinct chunks read and re-hashed. */
  checked: number;
  missing: string[];
  damaged: string[];
  ok: boolean;
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

  private constructor(backend: RepositoryBackend, config: RepositoryConfig, now: () => number) {
    this.backend = backend;
    this.config = config;
    this.now = now;
    this.pending = new PendingBackups(backend);
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
    const repo = new Repository(backend, parseConfig(raw, label), now);
    await backend.recover({ now: now(), olderThanMs: options.tempMaxAgeMs ?? 15 * 60_000 });
    await repo.load();
    return repo;
  }

  private async load(): Promise<void> {
    for await (const o of this.backend.list(CHUNKS_PREFIX)) {
      const d = digestOfKey(o.key);
      if (d) this.index.add(d, o.size);
    }
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
   * (`chunk_digest_mismatch` otherwise). Already stored: no write. When it resolves the
   * content is fsynced; its name is durable after `flush()` or the next `writeSnapshot`.
   */
  async putChunk(digest: string, data: Buffer, options: { backupId?: string } = {}): Promise<PutChunkResult> {
    checkDigest(digest);
    const actual = sha256Hex(data);
    if (actual !== digest) {
      throw new RepositoryError('chunk_digest_mismatch', `chunk data hashes to ${actual}, not to the digest given (${digest}); refused`, { digest });
    }
    if (this.index.has(digest)) {
      if (options.backupId !== undefined) await this.pending.claim(options.backupId, [digest]);
      return { stored: false, storedBytes: 0 };
    }
    if (options.backupId !== undefined) this.pending.claimInMemory(options.backupId, digest);
    let mine = false;
    const result = await this.index.writeOnce(digest, async () => {
      mine = true;
      if (this.index.has(digest)) return { stored: false, storedBytes: 0 };
      const parts = encodeChunk(data, this.config.compression);
      const size = parts.reduce((n, b) => n + b.length, 0);
      // The folder fsync is deferred to writeSnapshot's flush: the manifest is what must
      // never point at a chunk a crash could lose, and one fsync per folder is much cheaper.
      await this.backend.put(chunkKey(digest), parts, { deferDirSync: true });
      this.index.add(digest, size);
      return { stored: true, storedBytes: size };
    });
    // Concurrent callers for one digest share one write; only the one that wrote reports it.
    return mine ? result : { stored: false, storedBytes: 0 };
  }

  /** The chunk's data, decoded and re-hashed: `chunk_corrupt` when it does not match. */
  async getChunk(digest: string): Promise<Buffer> {
    checkDigest(digest);
    let stored: Buffer;
    try {
      stored = await this.backend.get(chunkKey(digest));
    } catch (err) {
      if (isRepositoryError(err, 'object_not_found')) {
        throw new RepositoryError('chunk_missing', `chunk ${digest} is not in the repository`, { digest });
      }
      throw err;
    }
    const data = decodeChunk(stored, digest);
    if (sha256Hex(data) !== digest) {
      throw new RepositoryError('chunk_corrupt', `chunk ${digest} is damaged: its content no longer hashes to its name`, { digest });
    }
    return data;
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
    const missing = [...digests].filter((d) => !this.index.has(d));
    if (missing.length > 0) {
      throw new RepositoryError(
        'chunk_missing',
        `snapshot ${m.id} references ${missing.length} chunk(s) not in the repository, e.g. ${missing[0]}; upload them first`,
        { snapshotId: m.id, digest: missing[0] },
      );
    }
    await this.backend.flush();
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

  /** Re-reads and re-hashes every distinct chunk of the snapshot. */
  async verifySnapshot(id: string, options: { concurrency?: number } = {}): Promise<VerifyResult> {
    const digests = [...manifestDigests(await this.readSnapshot(id))];
    const missing: string[] = [];
    const damaged: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < digests.length) {
        const d = digests[next++]!;
        try {
          await this.getChunk(d);
        } catch (err) {
          if (isRepositoryError(err, 'chunk_missing')) missing.push(d);
          else if (isRepositoryError(err, 'chunk_corrupt')) damaged.push(d);
          else throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
    return { snapshotId: id, checked: digests.length, missing: missing.sort(), damaged: damaged.sort(), ok: missing.length + damaged.length === 0 };
  }

  stats(): RepositoryStats {
    let logical = 0;
    for (const s of this.summaries.values()) logical += s.size;
    const stored = this.index.storedBytes;
    return {
      logicalBytes: logical,
      storedBytes: stored,
      chunkCount: this.index.count,
      snapshotCount: this.summaries.size,
      dedupRatio: stored > 0 ? logical / stored : 0,
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
    return this.backend.flush();
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
   * older than the grace period. One GC at a time per repository object.
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
          snapshotIds: () => [...this.summaries.keys()],
          readSnapshot: (id) => this.readSnapshot(id),
        },
        { ...options, now: options.now ?? this.now() },
      );
    } finally {
      this.gcMarks = null;
    }
  }
}
