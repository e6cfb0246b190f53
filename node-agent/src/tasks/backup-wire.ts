import { FerryError } from '../../../common/src/errors.ts';
import { FRAME_HEADROOM, markHeadroom } from '../session/data-frame.ts';
import { encodeStoredInto, storedBound, type ChunkCompression } from './stored-chunk.ts';

export type { ChunkCompression } from './stored-chunk.ts';

/**
 * The record stream carried on a backup or restore relay channel. Shared by the agent (which
 * writes backups and reads restores) and the hub (the reverse); the hub imports this file.
 *
 * One record per chunk, in order of the chunks in the snapshot:
 *
 *   byte 0        type: 0 = zero range (no data), 1 = reference (chunk already in the
 *                 repository, no data), 2 = data (the chunk's plain bytes follow),
 *                 3 = stored (the chunk in the repository's stored form follows)
 *   bytes 1..32   SHA-256 of the chunk's plain bytes (32 zero bytes for type 0)
 *   bytes 33..36  length of the chunk (plain bytes), uint32 big-endian
 *   type 2:
 *   bytes 37..    the chunk's bytes, uncompressed (37 + length bytes in all)
 *   type 3:
 *   bytes 37..40  stored length s, uint32 big-endian (at least 1)
 *   bytes 41..    the stored form, s bytes: codec byte (0 raw, 1 zstd frame) + payload,
 *                 exactly as the repository stores a chunk (docs/repository-format.md)
 *
 * A frame holds whole records only, so a reader never reassembles across frames.
 *
 * Type 3 moves compression to the ends: a backup agent compresses (with the repository's codec
 * and level, passed in the task payload) and the hub stores the bytes as they came after
 * decoding them once to check the digest; a restore sends the pack's bytes without decoding
 * and the agent decodes and checks. The hub's CPU was the bottleneck of both. Type 2 remains
 * for payloads without compression (older hubs, `codec: 'none'`).
 */
export const RECORD = { zero: 0, ref: 1, data: 2, stored: 3 } as const;
export type RecordType = (typeof RECORD)[keyof typeof RECORD];

export const RECORD_HEADER_BYTES = 37;
/** Header of a type-3 record: the common header plus the stored length. */
export const STORED_HEADER_BYTES = 41;
/** Frames are cut near this size (a frame always holds at least one record). */
export const FRAME_TARGET_BYTES = 1024 * 1024;
const ZERO_DIGEST = Buffer.alloc(32);

export interface ChunkRecord {
  type: RecordType;
  /** Lowercase hex SHA-256; '' for a zero record. */
  digest: string;
  length: number;
  /** Present for data records: a view into the frame (copy it to keep it past the frame). */
  data?: Buffer;
  /** Present for stored records: the stored form (codec byte + payload), a view into the frame. */
  stored?: Buffer;
}

export function encodeRecordHeader(type: RecordType, digest: string, length: number): Buffer {
  const h = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
  h[0] = type;
  if (type === RECORD.zero || digest === '') ZERO_DIGEST.copy(h, 1);
  else h.write(digest, 1, 32, 'hex');
  h.writeUInt32BE(length, 33);
  return h;
}

/** Splits a frame into its records; a truncated or unknown record is a protocol error. */
export function* decodeRecords(frame: Buffer): Generator<ChunkRecord> {
  let pos = 0;
  while (pos < frame.length) {
    if (frame.length - pos < RECORD_HEADER_BYTES) throw protocolError(`a record header is cut at byte ${pos} of a ${frame.length}-byte frame`);
    const type = frame[pos]!;
    const length = frame.readUInt32BE(pos + 33);
    if (type === RECORD.zero) {
      yield { type, digest: '', length };
      pos += RECORD_HEADER_BYTES;
    } else if (type === RECORD.ref) {
      yield { type, digest: frame.toString('hex', pos + 1, pos + 33), length };
      pos += RECORD_HEADER_BYTES;
    } else if (type === RECORD.data) {
      const digest = frame.toString('hex', pos + 1, pos + 33);
      pos += RECORD_HEADER_BYTES;
      if (frame.length - pos < length) throw protocolError(`a data record of ${length} bytes is cut after ${frame.length - pos} bytes`);
      yield { type, digest, length, data: frame.subarray(pos, pos + length) };
      pos += length;
    } else if (type === RECORD.stored) {
      if (frame.length - pos < STORED_HEADER_BYTES) throw protocolError(`a stored record header is cut at byte ${pos} of a ${frame.length}-byte frame`);
      const digest = frame.toString('hex', pos + 1, pos + 33);
      const storedLength = frame.readUInt32BE(pos + 37);
      pos += STORED_HEADER_BYTES;
      if (storedLength < 1) throw protocolError(`a stored record at byte ${pos - STORED_HEADER_BYTES} has no codec byte`);
      if (frame.length - pos < storedLength) throw protocolError(`a stored record of ${storedLength} bytes is cut after ${frame.length - pos} bytes`);
      yield { type, digest, length, stored: frame.subarray(pos, pos + storedLength) };
      pos += storedLength;
    } else {
      throw protocolError(`unknown record type ${type} at byte ${pos}`);
    }
  }
}

function protocolError(message: string): FerryError {
  return new FerryError('backup_stream_invalid', `backup record stream: ${message}`, { status: 400 });
}

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
    // allocUnsafeSlow: a frame outlives many small allocations, so it should not pin a pool slab.
    this.frame ??= Buffer.allocUnsafeSlow(FRAME_HEADROOM + Math.max(FRAME_TARGET_BYTES, size));
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

/** Previous snapshot's digests for an incremental: 32 bytes per chunk, all zero for a zero chunk. */
export function encodeDigestList(digests: readonly (string | null)[]): Buffer {
  const out = Buffer.alloc(digests.length * 32);
  digests.forEach((d, i) => {
    if (d) out.write(d, i * 32, 32, 'hex');
  });
  return out;
}

export function decodeDigestList(buf: Buffer): (string | null)[] {
  if (buf.length % 32 !== 0) throw protocolError(`a digest list of ${buf.length} bytes is not a multiple of 32`);
  const out: (string | null)[] = [];
  for (let i = 0; i < buf.length; i += 32) {
    out.push(buf.subarray(i, i + 32).equals(ZERO_DIGEST) ? null : buf.toString('hex', i, i + 32));
  }
  return out;
}

/** Call methods the backup tasks use (hub registers them). */
export const BACKUP_CALLS = {
  /** `{ backup_id, digests: string[] }` -> `{ have: string }` ("1"/"0" per digest). */
  hasChunks: 'backup.has_chunks',
} as const;

/** Payload of `backup.disk`. */
export interface BackupDiskPayload {
  backup_id: string;
  path: string;
  chunk_size: number;
  /** Push channel for the record stream. */
  channel: string;
  /** Pull channel with the previous snapshot's digests (incremental), when there is one. */
  previous_channel?: string;
  /** 'raw', 'qcow2' or 'auto'/absent (the agent probes for the qcow2 magic). */
  format?: string | null;
  /** Changed-block tracking (qcow2 dirty bitmaps); sources without tracking ignore it. */
  change_tracking?: ChangeTrackingPayload;
  /**
   * The repository's compression: the agent uploads chunks as type-3 records in their stored
   * form. Absent: type-2 records, the hub compresses.
   */
  compression?: ChunkCompression;
}

export interface ChangeTrackingPayload {
  /** Chain id: one per source and repository, so two chains on one image never share a bitmap. */
  chain: string;
  /** The parent snapshot's change token (null for a full backup). */
  token: string | null;
  /** Percent of the chunks tracking calls unchanged that are re-read and compared; 0 = no audit. */
  audit_sample_percent: number;
}

export interface BackupDiskResult {
  size: number;
  chunks: number;
  zero_chunks: number;
  unchanged_chunks: number;
  looked_up_chunks: number;
  uploaded_chunks: number;
  /** Plain bytes of the chunks uploaded. */
  uploaded_bytes: number;
  /** What those chunks took on the wire (compressed, for type-3 records). */
  sent_bytes?: number;
  /** Every byte read from the disk, audit reads included. */
  bytes_read: number;
  /** Format the disk was read as. */
  format?: 'raw' | 'qcow2';
  /** Token of this point in time, to store with the snapshot (qcow2: the new bitmap's name). */
  change_token?: string | null;
  /** True when only changed extents were read (the rest carried from the parent). */
  tracked?: boolean;
  /** Why change tracking was not used, when it was asked for and not used. */
  tracking_note?: string | null;
  /** Chunks carried from the parent without reading them. */
  carried_chunks?: number;
  audited_chunks?: number;
  audit_bytes_read?: number;
  /** The audit found chunks whose bytes differ from the parent although tracking said unchanged. */
  drift_detected?: boolean;
  drift_chunks?: number[];
}

/** Payload of `restore.disk`. */
export interface RestoreDiskPayload {
  path: string;
  size: number;
  channel: string;
}

export interface RestoreDiskResult {
  path: string;
  bytes_written: number;
  zero_bytes_skipped: number;
  chunks_verified: number;
}

/** Payload of `backup.database`. */
export interface BackupDatabasePayload {
  backup_id: string;
  connection: DatabaseConnectionSpec;
  format: 'custom' | 'plain';
  cdc: { min: number; avg: number; max: number };
  channel: string;
  /** As in BackupDiskPayload: present, the agent compresses and sends type-3 records. */
  compression?: ChunkCompression;
}

export interface BackupDatabaseResult {
  size: number;
  chunks: number;
  looked_up_chunks: number;
  uploaded_chunks: number;
  uploaded_bytes: number;
  sent_bytes?: number;
}

/** Payload of `restore.database`. */
export interface RestoreDatabasePayload {
  connection: DatabaseConnectionSpec;
  format: 'custom' | 'plain';
  size: number;
  channel: string;
}

/** The part of a connection the pg tools need (hub ConnectionFields, password included). */
export interface DatabaseConnectionSpec {
  type: string;
  host: string | null;
  port: number | null;
  database: string | null;
  user: string | null;
  password: string | null;
}
