import { FerryError } from '../../../common/src/errors.ts';
import { BACKUP_CALLS, RECORD, type ChunkCompression } from './backup-wire.ts';
import { RecordPacker } from './record-packer.ts';
import type { TaskContext } from './types.ts';

/** Digests asked about in one `backup.has_chunks` call; also bounds the chunk data held back (×64 KiB). */
export const LOOKUP_BATCH = 256;
/** Records queued behind a lookup before they go out as a batch of their own (a long run of zero or unchanged chunks). */
const MAX_QUEUED = 4096;
/**
 * Lookups in flight while the agent reads and hashes on. The hub answers a lookup between the
 * frames it ingests, ~18 ms on a busy hub: with one at a time the agent waited 1.3 s of a 2 GiB
 * full backup for answers, and the hub then idled while the agent caught up. Bounds the chunk
 * data held back to LOOKUPS_IN_FLIGHT + 1 batches.
 */
export const LOOKUPS_IN_FLIGHT = 3;

type Entry =
  | { kind: 'at'; at: number }
  | { kind: 'zero'; length: number }
  | { kind: 'known'; digest: string; length: number }
  | { kind: 'candidate'; digest: string; data: Buffer }
  | { kind: 'upload'; digest: string; data: Buffer };

/**
 * Turns a backup's chunks, in order, into records on the push channel. Chunks the agent cannot
 * vouch for ("candidates") are held back until a batch is full, then one Call asks the hub
 * which of them it already has; only the missing ones travel as data. Digests seen in this run
 * (sent or known) are never asked about twice. With the repository's `compression` given, the
 * missing chunks travel in their stored form (type 3, compressed here); without, as plain
 * bytes (type 2) that the hub compresses.
 */
export class ChunkUploader {
  readonly packer: RecordPacker;
  private queue: Entry[] = [];
  private pendingLookups = 0;
  private readonly seen = new Set<string>();
  /** Batches looked up or being emitted and not yet settled, oldest first; each emits after the one before it. */
  private readonly batches: Promise<void>[] = [];
  private failure: unknown;
  emitted = 0;
  lookedUp = 0;
  uploadedChunks = 0;
  /** zstd level for type-3 records; null: stored raw (type 3); undefined: type 2. */
  private readonly level: number | null | undefined;

  constructor(
    private readonly ctx: TaskContext,
    private readonly backupId: string,
    send: (frame: Buffer) => Promise<void>,
    /** Told when a candidate's bytes are held (queued) and when they are no longer needed. */
    private readonly holds?: { retain(data: Buffer): void; release(data: Buffer): void },
    compression?: ChunkCompression,
  ) {
    this.packer = new RecordPacker(send);
    this.level = compression === undefined ? undefined : compression.codec === 'zstd' ? compression.level : null;
  }

  /** Makes the next record (zero, known or candidate) a patch at `at` inside the last chunk. */
  async patchAt(at: number): Promise<void> {
    await this.push({ kind: 'at', at });
  }

  async zero(length: number): Promise<void> {
    await this.push({ kind: 'zero', length });
  }

  /** A chunk known to be in the repository (e.g. unchanged since the previous snapshot). */
  async known(digest: string, length: number): Promise<void> {
    await this.push({ kind: 'known', digest, length });
  }

  /**
   * A chunk the hub may have. With `lookup` false it is sent without asking (a patch: a few
   * changed pages, which the repository almost never has; it dedupes on arrival anyway), so a
   * run of them does not wait for lookup round trips.
   */
  async candidate(digest: string, data: Buffer, lookup = true): Promise<void> {
    if (this.seen.has(digest)) return this.push({ kind: 'known', digest, length: data.length });
    this.seen.add(digest);
    this.holds?.retain(data);
    if (!lookup) return this.push({ kind: 'upload', digest, data });
    this.pendingLookups++;
    await this.push({ kind: 'candidate', digest, data });
  }

  async finish(): Promise<void> {
    this.startBatch();
    while (this.batches.length > 0) await this.batches.shift();
    this.throwIfFailed();
    await this.packer.flush();
  }

  private async push(e: Entry): Promise<void> {
    this.queue.push(e);
    // With nothing awaiting a lookup, records go out at once and keep the stream moving.
    if (this.pendingLookups === 0 && this.batches.length === 0) await this.emit(this.takeQueue(), '');
    else if (this.pendingLookups >= LOOKUP_BATCH || this.queue.length >= MAX_QUEUED) {
      // Lookups of later batches overlap reading and hashing; records stay in order because a
      // batch is emitted only after the one before it.
      while (this.batches.length >= LOOKUPS_IN_FLIGHT) await this.batches.shift();
      this.startBatch();
    }
    this.throwIfFailed();
  }

  private takeQueue(): Entry[] {
    const queue = this.queue;
    this.queue = [];
    this.pendingLookups = 0;
    return queue;
  }

  /** Looks the queued candidates up now and emits them once every earlier batch is out. */
  private startBatch(): void {
    if (this.queue.length === 0) return;
    const queue = this.takeQueue();
    const before = this.batches.at(-1);
    const lookup = this.lookup(queue);
    lookup.catch(() => undefined); // reported below, in order
    const batch = (async () => {
      await before;
      const have = await lookup;
      // A failed batch before this one: emitting after it would break the record order.
      if (this.failure === undefined) await this.emit(queue, have);
    })().catch((err: unknown) => {
      this.failure ??= err;
    });
    this.batches.push(batch);
    // Settled batches leave the list (they settle in order), so with no lookup pending records
    // go out at once again (push's first branch).
    void batch.then(() => {
      const i = this.batches.indexOf(batch);
      if (i !== -1) this.batches.splice(i, 1);
    });
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** `have` for the candidates of `queue`: one '1' (stored) or '0' per candidate, in order. */
  private async lookup(queue: Entry[]): Promise<string> {
    const digests: string[] = [];
    for (const e of queue) if (e.kind === 'candidate') digests.push(e.digest);
    if (digests.length === 0) return '';
    const r = (await this.ctx.call(BACKUP_CALLS.hasChunks, { backup_id: this.backupId, digests })) as { have?: unknown };
    if (typeof r?.have !== 'string' || r.have.length !== digests.length) {
      throw new FerryError('hub_protocol', `${BACKUP_CALLS.hasChunks} answered ${JSON.stringify(r).slice(0, 200)}`, { retryable: true });
    }
    this.lookedUp += digests.length;
    return r.have;
  }

  private async emit(queue: Entry[], have: string): Promise<void> {
    let c = 0;
    let patch = false;
    for (const e of queue) {
      if (e.kind === 'at') {
        await this.packer.add(RECORD.at, '', e.at);
        patch = true;
        continue;
      }
      if (e.kind === 'zero') await this.packer.add(RECORD.zero, '', e.length);
      else if (e.kind === 'known') await this.packer.add(RECORD.ref, e.digest, e.length);
      else if (e.kind === 'candidate' && have[c++] === '1') {
        await this.packer.add(RECORD.ref, e.digest, e.data.length);
        this.holds?.release(e.data);
      } else {
        if (this.level === undefined) await this.packer.add(RECORD.data, e.digest, e.data.length, e.data);
        else await this.packer.addCompressed(e.digest, e.data, this.level);
        // The packer copied (or compressed) the bytes into its frame: the read buffer may be reused.
        this.holds?.release(e.data);
        this.uploadedChunks++;
      }
      // Progress counts the disk's chunks; a patch is part of the chunk before it.
      if (!patch) this.emitted++;
      patch = false;
    }
  }
}
