import { framePool } from '../../../proto/src/frame-pool.ts';
import { FRAME_HEADROOM, markHeadroom } from '../session/data-frame.ts';
import { FRAME_TARGET_BYTES, RECORD, RECORD_HEADER_BYTES, STORED_HEADER_BYTES, type RecordType } from './backup-wire.ts';
import { encodeStoredInto, storedBound } from './stored-chunk.ts';

/**
 * Packs records into frames of about FRAME_TARGET_BYTES and hands each full frame to `send`
 * (which applies backpressure). Call `flush()` at the end. Headers and chunk bytes are written
 * straight into one frame buffer: each byte is copied once here (compressed chunks are
 * compressed into the frame), with no per-record allocation and no concat. The buffer keeps
 * FRAME_HEADROOM bytes in front of the records so the gRPC layer can encode the frame in place
 * (session/data-frame.ts). A frame is never reused after `send` (the transport may still hold it).
 */
export class RecordPacker {
  private frame: Buffer | null = null;
  private bytes = 0;
  /** Fills (reads) still writing into the current frame (addStoredFrom). */
  private fills: Promise<void>[] = [];
  /** Frames cut but not yet sent (waiting for their fills, or for the send before them). */
  private queued: Promise<void>[] = [];
  /** Plain bytes of the chunks sent with their content (types 2 and 3). */
  dataBytes = 0;
  /** Bytes of chunk content on the wire: plain bytes of type 2, stored forms of type 3. */
  sentBytes = 0;
  records = 0;

  constructor(
    private readonly send: (frame: Buffer) => Promise<void>,
    /** Frames whose fills may run while an earlier frame is being sent (addStoredFrom only). @default 2 */
    private readonly framesAhead = 2,
  ) {}

  /** A zero (type 0), reference (type 1) or data (type 2, with `data`) record. */
  async add(type: RecordType, digest: string, length: number, data?: Buffer): Promise<void> {
    if (type === RECORD.stored) throw new Error('stored records go through addStored or addCompressed');
    const size = RECORD_HEADER_BYTES + (type === RECORD.data ? length : 0);
    if (type === RECORD.data && (!data || data.length !== length)) throw new Error(`data record of ${length} bytes given ${data?.length ?? 0}`);
    const at = await this.reserve(size);
    this.header(at, type, digest, length);
    if (type === RECORD.data) {
      data!.copy(this.frame!, at + RECORD_HEADER_BYTES);
      this.dataBytes += length;
      this.sentBytes += length;
    }
    this.commit(size);
  }

  /** A stored record (type 3) of a chunk already in its stored form (the hub restoring from a pack). */
  async addStored(digest: string, length: number, stored: Buffer): Promise<void> {
    if (stored.length < 1) throw new Error(`stored form of chunk ${digest} is empty`);
    const size = STORED_HEADER_BYTES + stored.length;
    const at = await this.reserve(size);
    this.header(at, RECORD.stored, digest, length);
    this.frame!.writeUInt32BE(stored.length, at + RECORD_HEADER_BYTES);
    stored.copy(this.frame!, at + STORED_HEADER_BYTES);
    this.dataBytes += length;
    this.sentBytes += stored.length;
    this.commit(size);
  }

  /**
   * A stored record (type 3) of `data` compressed at `level` (raw when that saves less than
   * 1/32, or with `level` null), compressed straight into the frame.
   */
  async addCompressed(digest: string, data: Buffer, level: number | null): Promise<void> {
    const at = await this.reserve(STORED_HEADER_BYTES + storedBound(data.length));
    this.header(at, RECORD.stored, digest, data.length);
    const n = encodeStoredInto(this.frame!, at + STORED_HEADER_BYTES, data, level);
    this.frame!.writeUInt32BE(n, at + RECORD_HEADER_BYTES);
    this.dataBytes += data.length;
    this.sentBytes += n;
    this.commit(STORED_HEADER_BYTES + n);
  }

  /**
   * A stored record (type 3) whose `storedLength` bytes `fill` writes into the frame later (the
   * hub reading a chunk from its pack straight into the frame: no buffer per chunk, no copy).
   * The frame is sent once all its fills are done, in order; the fills of the next
   * `framesAhead` frames run meanwhile. A failed fill fails a later call or `flush()`.
   */
  async addStoredFrom(digest: string, length: number, storedLength: number, fill: (target: Buffer) => Promise<void>): Promise<void> {
    if (storedLength < 1) throw new Error(`stored form of chunk ${digest} is empty`);
    const size = STORED_HEADER_BYTES + storedLength;
    const at = await this.reserve(size);
    this.header(at, RECORD.stored, digest, length);
    this.frame!.writeUInt32BE(storedLength, at + RECORD_HEADER_BYTES);
    const p = fill(this.frame!.subarray(at + STORED_HEADER_BYTES, at + size));
    p.catch(() => undefined); // reported through the frame's send, awaited in order
    this.fills.push(p);
    this.dataBytes += length;
    this.sentBytes += storedLength;
    this.commit(size);
  }

  /** Where a record of at most `size` bytes goes in the current frame (sending the full one first). */
  private async reserve(size: number): Promise<number> {
    if (this.bytes > 0 && this.bytes + size > FRAME_TARGET_BYTES) await this.cut();
    // From the frame pool: the data plane gives it back once its socket write completed.
    this.frame ??= framePool.acquire(FRAME_HEADROOM + Math.max(FRAME_TARGET_BYTES, size));
    return FRAME_HEADROOM + this.bytes;
  }

  private header(at: number, type: RecordType, digest: string, length: number): void {
    const f = this.frame!;
    f[at] = type;
    if (type === RECORD.zero || digest === '') f.fill(0, at + 1, at + 33);
    else f.write(digest, at + 1, 32, 'hex');
    f.writeUInt32BE(length, at + 33);
  }

  private commit(size: number): void {
    this.bytes += size;
    this.records++;
  }

  /** Sends what is packed and waits until every frame is sent. */
  async flush(): Promise<void> {
    await this.cut();
    while (this.queued.length > 0) await this.queued.shift();
  }

  /** Ends the current frame: sent now, or queued behind its fills while few frames wait. */
  private async cut(): Promise<void> {
    if (this.bytes === 0 || !this.frame) return;
    const frame = markHeadroom(this.frame.subarray(FRAME_HEADROOM, FRAME_HEADROOM + this.bytes));
    const fills = this.fills;
    this.frame = null;
    this.bytes = 0;
    this.fills = [];
    if (fills.length === 0 && this.queued.length === 0) return this.send(frame);
    const before = this.queued.at(-1);
    const sent = (async () => {
      await before;
      await Promise.all(fills);
      await this.send(frame);
    })();
    sent.catch(() => undefined); // awaited below or by flush
    this.queued.push(sent);
    while (this.queued.length > this.framesAhead) await this.queued.shift();
  }
}
