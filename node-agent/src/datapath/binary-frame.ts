/**
 * A growing Buffer that binary COPY rows are written into directly (no per-field Buffers),
 * cut into frames of about `frameBytes`. The first frame starts with the PGCOPY header; the
 * last one (from `flush`) ends with the -1 trailer, so the frames concatenated are exactly
 * what `COPY ... FROM STDIN (FORMAT binary)` reads.
 */
import { BINARY_HEADER } from './copy-rows.ts';
import { DEFAULT_FRAME_BYTES } from './frames.ts';

export class BinaryFrameBuilder {
  buf: Buffer;
  pos = 0;
  /** Rows and bytes of the frames handed out so far. */
  rows = 0;
  bytes = 0;
  private pendingRows = 0;
  private headerDone = false;
  private readonly frameBytes: number;

  constructor(frameBytes: number = DEFAULT_FRAME_BYTES) {
    this.frameBytes = frameBytes;
    this.buf = Buffer.allocUnsafe(this.capacity());
  }

  /** Frames are cut after the row that crosses frameBytes; room for one more typical row avoids a regrow. */
  private capacity(): number {
    return this.frameBytes + (this.frameBytes >> 3) + 64;
  }

  /** Make room for n more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Start a tuple of n fields (writes the header first, once). */
  beginRow(fields: number): void {
    if (!this.headerDone) {
      this.ensure(BINARY_HEADER.length);
      BINARY_HEADER.copy(this.buf, this.pos);
      this.pos += BINARY_HEADER.length;
      this.headerDone = true;
    }
    this.ensure(2);
    this.buf[this.pos] = fields >> 8;
    this.buf[this.pos + 1] = fields & 0xff;
    this.pos += 2;
  }

  /** End the current tuple; returns a full frame when the target size is reached, else null. */
  endRow(): Buffer | null {
    this.pendingRows++;
    return this.pos >= this.frameBytes ? this.take() : null;
  }

  /** The rest plus the trailer as the last frame (the header alone for a unit without rows). */
  flush(): Buffer {
    if (!this.headerDone) this.beginRowHeaderOnly();
    this.ensure(2);
    this.buf[this.pos] = 0xff;
    this.buf[this.pos + 1] = 0xff;
    this.pos += 2;
    return this.take();
  }

  private beginRowHeaderOnly(): void {
    this.ensure(BINARY_HEADER.length);
    BINARY_HEADER.copy(this.buf, this.pos);
    this.pos += BINARY_HEADER.length;
    this.headerDone = true;
  }

  private take(): Buffer {
    const frame = this.buf.subarray(0, this.pos);
    this.rows += this.pendingRows;
    this.bytes += frame.length;
    this.pendingRows = 0;
    this.buf = Buffer.allocUnsafe(this.capacity());
    this.pos = 0;
    return frame;
  }

  // Field writers: each writes the 4-byte length and the value.

  null(): void {
    this.ensure(4);
    this.buf.writeInt32BE(-1, this.pos);
    this.pos += 4;
  }

  int16(v: number): void {
    this.ensure(6);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 0; b[p++] = 0; b[p++] = 0; b[p++] = 2;
    b[p++] = (v >> 8) & 0xff; b[p++] = v & 0xff;
    this.pos = p;
  }

  int32(v: number): void {
    this.ensure(8);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 0; b[p++] = 0; b[p++] = 0; b[p++] = 4;
    b[p++] = (v >>> 24) & 0xff; b[p++] = (v >>> 16) & 0xff; b[p++] = (v >>> 8) & 0xff; b[p++] = v & 0xff;
    this.pos = p;
  }

  /** A safe integer (|v| < 2^53) as int64. */
  int64n(v: number): void {
    this.ensure(12);
    const hi = Math.floor(v / 4294967296);
    const lo = v - hi * 4294967296;
    const b = this.buf;
    let p = this.pos;
    b[p++] = 0; b[p++] = 0; b[p++] = 0; b[p++] = 8;
    b[p++] = (hi >>> 24) & 0xff; b[p++] = (hi >>> 16) & 0xff; b[p++] = (hi >>> 8) & 0xff; b[p++] = hi & 0xff;
    b[p++] = (lo >>> 24) & 0xff; b[p++] = (lo >>> 16) & 0xff; b[p++] = (lo >>> 8) & 0xff; b[p++] = lo & 0xff;
    this.pos = p;
  }

  int64(v: bigint): void {
    this.ensure(12);
    this.buf.writeInt32BE(8, this.pos);
    this.buf.writeBigInt64BE(v, this.pos + 4);
    this.pos += 12;
  }

  float32(v: number): void {
    this.ensure(8);
    this.buf.writeInt32BE(4, this.pos);
    this.buf.writeFloatBE(v, this.pos + 4);
    this.pos += 8;
  }

  float64(v: number): void {
    this.ensure(12);
    this.buf.writeInt32BE(8, this.pos);
    this.buf.writeDoubleBE(v, this.pos + 4);
    this.pos += 12;
  }

  bool(v: boolean): void {
    this.ensure(5);
    const b = this.buf;
    const p = this.pos;
    b[p] = 0; b[p + 1] = 0; b[p + 2] = 0; b[p + 3] = 1; b[p + 4] = v ? 1 : 0;
    this.pos = p + 5;
  }

  /** UTF-8 text, optionally after a one-byte prefix (jsonb's version byte). */
  text(s: string, prefix = -1): void {
    const extra = prefix >= 0 ? 1 : 0;
    this.ensure(4 + extra + s.length * 3);
    const start = this.pos;
    let p = start + 4;
    if (extra) this.buf[p++] = prefix;
    const n = s.length < 32 ? writeShort(this.buf, s, p) : this.buf.write(s, p, 'utf8');
    this.buf.writeInt32BE(n + extra, start);
    this.pos = p + n;
  }

  bytes_(b: Uint8Array, prefix = -1): void {
    const extra = prefix >= 0 ? 1 : 0;
    this.ensure(4 + extra + b.length);
    this.buf.writeInt32BE(b.length + extra, this.pos);
    this.pos += 4;
    if (extra) this.buf[this.pos++] = prefix;
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Reserve a length word; `endVar` fills it with the bytes written since. */
  beginVar(): number {
    this.ensure(4);
    const at = this.pos;
    this.pos += 4;
    return at;
  }

  endVar(at: number): void {
    this.buf.writeInt32BE(this.pos - at - 4, at);
  }

  /** Raw bytes inside a field begun with beginVar. */
  u16(v: number): void {
    this.ensure(2);
    this.buf[this.pos] = (v >> 8) & 0xff;
    this.buf[this.pos + 1] = v & 0xff;
    this.pos += 2;
  }

  /** A safe integer as 8 raw bytes inside a field. */
  i64raw(v: number): void {
    this.ensure(8);
    const hi = Math.floor(v / 4294967296);
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(v - hi * 4294967296, this.pos + 4);
    this.pos += 8;
  }

  i32raw(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  /** A field that no receive function accepts (wrong length for every fixed-size type): the server rejects the row. */
  invalid(width: number): void {
    this.ensure(4 + width + 1);
    this.buf.writeInt32BE(width + 1, this.pos);
    this.buf.fill(0xff, this.pos + 4, this.pos + 5 + width);
    this.pos += 5 + width;
  }
}

/** Short strings: a JS loop beats the native call while every char is ASCII. */
function writeShort(b: Buffer, s: string, p: number): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return b.write(s, p, 'utf8');
    b[p + i] = c;
  }
  return n;
}
