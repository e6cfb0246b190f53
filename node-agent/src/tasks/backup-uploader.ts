import { FerryError } from '../../../common/src/errors.ts';
import { BACKUP_CALLS, RECORD, type ChunkCompression } from './backup-wire.ts';
import { RecordPacker } from './record-packer.ts';
import type { TaskContext } from './types.ts';

/** Digests asked about in one `backup.has_chunks` call; also bounds the chunk data held back (×64 KiB). */
const LOOKUP_BATCH = 256;

type Entry =
  | { kind: 'zero'; length: number }
  | { kind: 'known'; digest: string; length: number }
  | { kind: 'candidate'; digest: string; data: Buffer };

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
  private inFlight: Promise<void> | null = null;
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

  async zero(length: number): Promise<void> {
    await this.push({ kind: 'zero', length });
  }

  /** A chunk known to be in the repository (e.g. unchanged since the previous snapshot). */
  async known(digest: string, length: number): Promise<void> {
    await this.push({ kind: 'known', digest, length });
  }

  async candidate(digest: string, data: Buffer): Promise<void> {
    if (this.seen.has(digest)) return this.push({ kind: 'known', digest, length: data.length });
    this.seen.add(digest);
    this.pendingLookups++;
    this.holds?.retain(data);
    await this.push({ kind: 'candidate', digest, data });
  }

  async finish(): Promise<void> {
    await this.inFlight;
    this.throwIfFailed();
    await this.drain();
    await this.packer.flush();
  }

  private async push(e: Entry): Promise<void> {
    this.queue.push(e);
    // With nothing awaiting a lookup, records go out at once and keep the stream moving.
    if (this.pendingLookups === 0 && !this.inFlight) await this.drain();
    else if (this.pendingLookups >= LOOKUP_BATCH) {
      // One batch's lookup overlaps reading and hashing the next one; records stay in order
      // because a batch is emitted only after the one before it.
      await this.inFlight;
      this.throwIfFailed();
      this.inFlight = this.drain().then(
        () => void (this.inFlight = null),
        (err: unknown) => {
          this.failure ??= err;
          this.inFlight = null;
        },
      );
    }
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async drain(): Promise<void> {
    const queue = this.queue;
    this.queue = [];
    this.pendingLookups = 0;
    const candidates = queue.filter((e): e is Extract<Entry, { kind: 'candidate' }> => e.kind === 'candidate');
    let have = '';
    if (candidates.length > 0) {
      const r = (await this.ctx.call(BACKUP_CALLS.hasChunks, { backup_id: this.backupId, digests: candidates.map((c) => c.digest) })) as { have?: unknown };
      if (typeof r?.have !== 'string' || r.have.length !== candidates.length) {
        throw new FerryError('hub_protocol', `${BACKUP_CALLS.hasChunks} answered ${JSON.stringify(r).slice(0, 200)}`, { retryable: true });
      }
      have = r.have;
      this.lookedUp += candidates.length;
    }
    let c = 0;
    for (const e of queue) {
      if (e.kind === 'zero') await this.packer.add(RECORD.zero, '', e.length);
      else if (e.kind === 'known') await this.packer.add(RECORD.ref, e.digest, e.length);
      else if (have[c++] === '1') {
        await this.packer.add(RECORD.ref, e.digest, e.data.length);
        this.holds?.release(e.data);
      } else {
        if (this.level === undefined) await this.packer.add(RECORD.data, e.digest, e.data.length, e.data);
        else await this.packer.addCompressed(e.digest, e.data, this.level);
        // The packer copied (or compressed) the bytes into its frame: the read buffer may be reused.
        this.holds?.release(e.data);
        this.uploadedChunks++;
      }
      this.emitted++;
    }
  }
}
