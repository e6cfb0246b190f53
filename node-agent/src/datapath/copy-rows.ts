/**
 * Splitting a COPY byte stream (frames cut anywhere) back into rows, for salvage loading:
 * text rows end at "\n" (a newline inside a value is always escaped); binary rows are tuples
 * after the 19-byte header, each a field count and length-prefixed fields, ended by -1.
 */
import { unescapeCopyText } from './copy-text.ts';

/** PGCOPY\n\377\r\n\0 */
export const BINARY_SIGNATURE = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]);
/** Signature, flags (0), header extension length (0). */
export const BINARY_HEADER = Buffer.concat([BINARY_SIGNATURE, Buffer.alloc(8)]);
export const BINARY_TRAILER = Buffer.from([0xff, 0xff]);

/** Text rows (each Buffer includes its "\n"); a last row without "\n" gets one. */
export async function* splitTextRows(frames: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let carry: Buffer | null = null;
  for await (const frame of frames) {
    const buf: Buffer = carry ? Buffer.concat([carry, frame]) : frame;
    let start = 0;
    let nl = buf.indexOf(10, start);
    while (nl >= 0) {
      // Copy out: a row must not pin the whole frame in memory while it waits in a batch.
      yield Buffer.from(buf.subarray(start, nl + 1));
      start = nl + 1;
      nl = buf.indexOf(10, start);
    }
    carry = start < buf.length ? buf.subarray(start) : null;
  }
  if (carry && carry.length > 0) {
    // "\." alone ends COPY data in the old protocol; it carries no row.
    if (!(carry.length === 2 && carry[0] === 0x5c && carry[1] === 0x2e)) yield Buffer.concat([carry, Buffer.from('\n')]);
  }
}

export class CopyFormatError extends Error {
  readonly code = 'invalid_copy_data';
}

/** Binary tuples (field count + fields), without header and trailer. */
export async function* splitBinaryRows(frames: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let buf: Buffer = Buffer.alloc(0);
  let headerDone = false;
  let ended = false;
  for await (const frame of frames) {
    buf = buf.length ? Buffer.concat([buf, frame]) : frame;
    let pos = 0;
    if (!headerDone) {
      if (buf.length < 19) continue;
      if (!buf.subarray(0, 11).equals(BINARY_SIGNATURE)) throw new CopyFormatError('binary COPY data does not start with the PGCOPY signature');
      pos = 19 + buf.readUInt32BE(15);
      headerDone = true;
    }
    for (;;) {
      if (ended || buf.length - pos < 2) break;
      const fields = buf.readInt16BE(pos);
      if (fields === -1) { ended = true; pos += 2; break; }
      let p = pos + 2;
      let complete = true;
      for (let i = 0; i < fields; i++) {
        if (buf.length - p < 4) { complete = false; break; }
        const len = buf.readInt32BE(p);
        p += 4;
        if (len > 0) {
          if (buf.length - p < len) { complete = false; break; }
          p += len;
        }
      }
      if (!complete) break;
      yield Buffer.from(buf.subarray(pos, p));
      pos = p;
    }
    buf = buf.subarray(pos);
  }
  if (!ended && buf.length > 0) throw new CopyFormatError('binary COPY data ended in the middle of a row');
}

/** The unescaped text of field `index` of a text row, null for NULL or a missing field. */
export function textRowField(row: Buffer, index: number): string | null {
  let start = 0;
  for (let i = 0; i < index; i++) {
    const tab = row.indexOf(9, start);
    if (tab < 0) return null;
    start = tab + 1;
  }
  let end = row.indexOf(9, start);
  if (end < 0) end = row[row.length - 1] === 10 ? row.length - 1 : row.length;
  return unescapeCopyText(row.toString('utf8', start, end));
}

/** Field `index` of a binary tuple read as a big-endian integer (2, 4 or 8 bytes), else hex. */
export function binaryRowKey(tuple: Buffer, index: number): string | null {
  const fields = tuple.readInt16BE(0);
  let p = 2;
  for (let i = 0; i < fields; i++) {
    const len = tuple.readInt32BE(p);
    p += 4;
    if (i === index) {
      if (len < 0) return null;
      if (len === 8) return tuple.readBigInt64BE(p).toString();
      if (len === 4) return String(tuple.readInt32BE(p));
      if (len === 2) return String(tuple.readInt16BE(p));
      return tuple.subarray(p, p + len).toString('hex');
    }
    if (len > 0) p += len;
  }
  return null;
}
