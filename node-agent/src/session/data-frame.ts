import type { DataFrame } from '../../../proto/src/load.ts';

/**
 * Zero-copy encoding of bulk `DataFrame` messages. protobufjs copies a frame's bytes into a new
 * message buffer (and grpc-js then copies it once more to add its 5-byte prefix); for ~1 MiB
 * frames that first copy is pure overhead. A frame built with `FRAME_HEADROOM` free bytes in
 * front of it (RecordPacker does this) is encoded in place instead: the channel, seq and the
 * data field's tag and length are written into the headroom, and the message is a view that
 * ends with the frame's own bytes. Field order does not matter to protobuf decoders.
 */
export const FRAME_HEADROOM = 64;

/** Frames whose FRAME_HEADROOM bytes in front belong to them (never a pool slice of others). */
const roomy = new WeakSet<Buffer>();

/** Marks `frame` as having FRAME_HEADROOM writable bytes before its first byte. */
export function markHeadroom(frame: Buffer): Buffer {
  if (frame.byteOffset < FRAME_HEADROOM) throw new RangeError('a frame needs FRAME_HEADROOM bytes before it');
  roomy.add(frame);
  return frame;
}

/**
 * A DataFrame serializer: the in-place path for plain data frames with headroom, `fallback`
 * (the generated protobufjs serializer) for everything else (eof, error, other buffers).
 */
export function dataFrameSerializer(fallback: (f: DataFrame) => Buffer): (f: DataFrame) => Buffer {
  return (f) => {
    const data = f.data;
    if (!Buffer.isBuffer(data) || !roomy.has(data) || f.eof || f.error || typeof f.seq !== 'number' || typeof f.channel !== 'string') return fallback(f);
    const channelBytes = Buffer.byteLength(f.channel);
    const prefix =
      (channelBytes > 0 ? 1 + varintSize(channelBytes) + channelBytes : 0) + (f.seq > 0 ? 1 + varintSize(f.seq) : 0) + (data.length > 0 ? 1 + varintSize(data.length) : 0);
    if (prefix > FRAME_HEADROOM || data.length === 0) return fallback(f);
    const out = Buffer.from(data.buffer, data.byteOffset - prefix, prefix + data.length);
    let pos = 0;
    if (channelBytes > 0) {
      out[pos++] = 0x0a; // field 1, length-delimited
      pos = writeVarint(out, pos, channelBytes);
      pos += out.write(f.channel, pos, 'utf8');
    }
    if (f.seq > 0) {
      out[pos++] = 0x10; // field 2, varint
      pos = writeVarint(out, pos, f.seq);
    }
    out[pos++] = 0x1a; // field 3, length-delimited
    writeVarint(out, pos, data.length);
    return out;
  };
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}
