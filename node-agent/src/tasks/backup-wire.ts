import { FerryError } from '../../../common/src/errors.ts';
import type { ChunkCompression } from './stored-chunk.ts';

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
 *   type 4 ("at", disk streams only): 37 bytes, digest field zero, length field = an offset
 *                 inside the last chunk; the record after it (type 0-3) is a patch: its bytes
 *                 overlay that chunk at that offset (type 0: zeros) instead of being the next
 *                 chunk. A chunk's patches follow it in the order they apply (docs/repository-format.md,
 *                 "Patches").
 *
 * A frame holds whole records only, so a reader never reassembles across frames
 * (record-packer.ts writes them).
 *
 * Type 3 moves compression to the ends: a backup agent compresses (with the repository's codec
 * and level, passed in the task payload) and the hub stores the bytes as they came after
 * decoding them once to check the digest; a restore sends the pack's bytes without decoding
 * and the agent decodes and checks. The hub's CPU was the bottleneck of both. Type 2 remains
 * for payloads without compression (older hubs, `codec: 'none'`).
 */
export const RECORD = { zero: 0, ref: 1, data: 2, stored: 3, at: 4 } as const;
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
    if (type === RECORD.zero || type === RECORD.at) {
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
  return streamInvalid(`backup record stream: ${message}`);
}

/** A record stream that breaks the rules above (the reader's 400, `backup_stream_invalid`). */
export function streamInvalid(message: string): FerryError {
  return new FerryError('backup_stream_invalid', message, { status: 400 });
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

/**
 * One patch of a disk snapshot: `length` bytes at `at` inside chunk `slot` are those of chunk
 * `digest` (null: zeros) instead of the base chunk's.
 */
export interface DiskPatch {
  slot: number;
  at: number;
  length: number;
  digest: string | null;
}

/** In a digest list, the chunks that have patches: old agents cannot carry them (see encodePatchList). */
export const PATCHED_MARK = 'f'.repeat(64);
const PATCH_ENTRY_BYTES = 44;
/** `at` of the entry that gives a patched chunk's base digest (the digest list holds PATCHED_MARK there). */
const BASE_ENTRY = 0xffffffff;

/**
 * The previous snapshot's patches for an incremental, sent beside its digest list: per patched
 * chunk one base entry, then its patches in order; 44 bytes each (slot, at, length: uint32
 * big-endian; digest: 32 bytes, zero for zeros). The digest list marks those chunks with
 * PATCHED_MARK, a digest no chunk has: an agent that does not read this list and carries the
 * mark fails the snapshot's missing-chunk check instead of losing the patches.
 */
export function encodePatchList(bases: ReadonlyMap<number, string | null>, patches: readonly DiskPatch[]): Buffer {
  const out = Buffer.alloc((bases.size + patches.length) * PATCH_ENTRY_BYTES);
  let pos = 0;
  const put = (slot: number, at: number, length: number, digest: string | null) => {
    out.writeUInt32BE(slot, pos);
    out.writeUInt32BE(at, pos + 4);
    out.writeUInt32BE(length, pos + 8);
    if (digest) out.write(digest, pos + 12, 32, 'hex');
    pos += PATCH_ENTRY_BYTES;
  };
  let last = -1;
  for (const p of patches) {
    if (p.slot !== last) put(p.slot, BASE_ENTRY, 0, bases.get(p.slot) ?? null);
    last = p.slot;
    put(p.slot, p.at, p.length, p.digest);
  }
  return out;
}

export function decodePatchList(buf: Buffer): { bases: Map<number, string | null>; patches: Map<number, DiskPatch[]> } {
  if (buf.length % PATCH_ENTRY_BYTES !== 0) throw protocolError(`a patch list of ${buf.length} bytes is not a multiple of ${PATCH_ENTRY_BYTES}`);
  const bases = new Map<number, string | null>();
  const patches = new Map<number, DiskPatch[]>();
  for (let pos = 0; pos < buf.length; pos += PATCH_ENTRY_BYTES) {
    const slot = buf.readUInt32BE(pos);
    const at = buf.readUInt32BE(pos + 4);
    const length = buf.readUInt32BE(pos + 8);
    const digest = buf.subarray(pos + 12, pos + 44).equals(ZERO_DIGEST) ? null : buf.toString('hex', pos + 12, pos + 44);
    if (at === BASE_ENTRY) {
      bases.set(slot, digest);
      continue;
    }
    if (!bases.has(slot)) throw protocolError(`patch list: a patch of chunk ${slot} comes before its base entry`);
    let list = patches.get(slot);
    if (!list) patches.set(slot, (list = []));
    list.push({ slot, at, length, digest });
  }
  return { bases, patches };
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
  /** Pull channel with the previous snapshot's patches (encodePatchList), when it has any. */
  previous_patches_channel?: string;
  /** The hub stores patches ("at" records): absent (an older hub), the agent sends whole chunks only. */
  patches?: boolean;
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
  /** Changed ranges sent as patches of the parent's chunks (changed-block tracking), and their bytes. */
  patches?: number;
  patch_bytes?: number;
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
  /** Patches overlaid on their chunks (snapshots of changed-block-tracked incrementals). */
  patches?: number;
  /** Seconds spent in the final fsync (what the disk still had to write when the stream ended). */
  final_sync_seconds?: number;
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
