import { createHash } from 'node:crypto';

/** Byte layout of pack files and pack indexes (docs/repository-format.md, "Pack files"). */
export const PACK_MAGIC = Buffer.from('FERRYPK2');
export const INDEX_MAGIC = Buffer.from('FERRYIX2');
/** Entry header: raw digest (32) + stored length (u32). */
export const ENTRY_HEADER_SIZE = 36;
const INDEX_RECORD_SIZE = 40;

/** One chunk in a pack: where its stored form (codec byte + payload) starts, and its length. */
export interface PackEntry {
  digest: string;
  offset: number;
  length: number;
}

export function entryHeader(digest: string, storedLength: number): Buffer {
  const h = Buffer.allocUnsafe(ENTRY_HEADER_SIZE);
  h.write(digest, 0, 32, 'hex');
  h.writeUInt32LE(storedLength, 32);
  return h;
}

export function encodeIndex(entries: readonly PackEntry[]): Buffer {
  const body = Buffer.allocUnsafe(12 + entries.length * INDEX_RECORD_SIZE);
  INDEX_MAGIC.copy(body, 0);
  body.writeUInt32LE(entries.length, 8);
  let o = 12;
  for (const e of entries) {
    body.write(e.digest, o, 32, 'hex');
    body.writeUInt32LE(e.offset, o + 32);
    body.writeUInt32LE(e.length, o + 36);
    o += INDEX_RECORD_SIZE;
  }
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** Parses an index; null when it is truncated, damaged or not an index. */
export function decodeIndex(buf: Buffer): PackEntry[] | null {
  if (buf.length < 44 || !buf.subarray(0, 8).equals(INDEX_MAGIC)) return null;
  const count = buf.readUInt32LE(8);
  const bodyLen = 12 + count * INDEX_RECORD_SIZE;
  if (buf.length !== bodyLen + 32) return null;
  if (!createHash('sha256').update(buf.subarray(0, bodyLen)).digest().equals(buf.subarray(bodyLen))) return null;
  const out: PackEntry[] = [];
  for (let o = 12; o < bodyLen; o += INDEX_RECORD_SIZE) {
    out.push({ digest: buf.toString('hex', o, o + 32), offset: buf.readUInt32LE(o + 32), length: buf.readUInt32LE(o + 36) });
  }
  return out;
}

/** The bytes appended after the last entry when a pack is sealed. */
export function encodeTrailer(index: Buffer): Buffer {
  const tail = Buffer.allocUnsafe(12);
  tail.writeUInt32LE(index.length, 0);
  PACK_MAGIC.copy(tail, 4);
  return Buffer.concat([index, tail]);
}

/** Where the index sits in a pack whose last 12 bytes are `tail`; null when not a sealed pack. */
export function trailerIndexRange(tail: Buffer, packSize: number): { offset: number; length: number } | null {
  if (tail.length !== 12 || !tail.subarray(4).equals(PACK_MAGIC)) return null;
  const length = tail.readUInt32LE(0);
  const offset = packSize - 12 - length;
  return offset >= PACK_MAGIC.length ? { offset, length } : null;
}
