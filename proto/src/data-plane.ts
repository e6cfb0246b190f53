import type { Socket } from 'node:net';
import { framePool } from './frame-pool.ts';
import { adoptReadBuffer } from './socket-reads.ts';

/**
 * Wire format of the bulk data plane (docs/agent-protocol.md, "Data plane"): a TLS connection
 * per relay channel, mutually authenticated with the same certificates as gRPC, carrying
 * length-prefixed frames. It exists because grpc-js costs about twice the CPU of TLS itself per
 * byte (a 2 GiB stream: 4.2 s sender / 3.8 s receiver CPU through grpc-js, 1.8 / 1.8 s through a
 * TLS socket), and backups and restores are bound by that CPU.
 *
 *   frame = type (1 byte) | length (uint32 big-endian) | payload (length bytes)
 *
 * The client's first frame is HELLO (JSON `{ v: 1, op: 'push' | 'pull', channel }`, plus
 * `agent_id` on the hub's local Unix socket, which only the built-in agent may use).
 * push: client sends DATA..., then EOF; the hub answers ACK (JSON `{ frames, bytes }`) once its
 *       consumer has taken every frame, or ERROR. The client may send ERROR instead of EOF to
 *       abandon the channel.
 * pull: the hub sends DATA..., then EOF, or ERROR.
 * ERROR's payload is JSON `{ code, message }`. Either side closes the connection after the
 * last frame; a connection that ends before EOF/ACK means the channel was abandoned.
 */
export const DATA_FRAME = { hello: 1, data: 2, eof: 3, error: 4, ack: 5 } as const;
export type DataFrameType = (typeof DATA_FRAME)[keyof typeof DATA_FRAME];

export const DATA_PLANE_VERSION = 1;
export const DATA_HEADER_BYTES = 5;
/** Larger frames are refused: relay frames are ~1 MiB; this bounds what a peer can make us allocate. */
export const MAX_DATA_FRAME_BYTES = 64 * 1024 * 1024;

export interface DataPlaneHello {
  v: number;
  op: 'push' | 'pull';
  channel: string;
  /** Only on the hub's local Unix socket (built-in agent), where no certificate names the agent. */
  agent_id?: string;
}

export interface WireFrame {
  type: DataFrameType;
  payload: Buffer;
}

export function frameHeader(type: DataFrameType, length: number): Buffer {
  const h = Buffer.allocUnsafe(DATA_HEADER_BYTES);
  h[0] = type;
  h.writeUInt32BE(length, 1);
  return h;
}

/** A JSON control frame (HELLO, ERROR, ACK) as one buffer. */
export function jsonFrame(type: DataFrameType, value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value));
  return Buffer.concat([frameHeader(type, body.length), body]);
}

export class DataPlaneProtocolError extends Error {
  readonly code = 'data_plane_protocol';
}

/**
 * Cuts a byte stream into frames. Socket chunks are ~16-256 KiB while data frames are ~1 MiB, so
 * a frame's payload is assembled in one buffer of its announced size: each byte is copied once.
 * DATA payloads come from the frame pool (frame-pool.ts), which their consumer may give back.
 * A frame that arrives whole inside one chunk is handed out as a view, no copy, unless the
 * chunks are `transient` (a reused read buffer, socket-reads.ts): then everything is copied.
 */
export class FrameParser {
  private header = Buffer.alloc(DATA_HEADER_BYTES);
  private headerFill = 0;
  private body: Buffer | null = null;
  private bodyFill = 0;
  private type: DataFrameType = DATA_FRAME.data;

  constructor(private readonly transient = false) {}

  /** Frames completed by `chunk`, in order. Throws DataPlaneProtocolError on a bad header. */
  push(chunk: Buffer): WireFrame[] {
    const out: WireFrame[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.body === null) {
        if (this.headerFill === 0 && chunk.length - pos >= DATA_HEADER_BYTES) {
          const len = this.startFrame(chunk[pos]!, chunk.readUInt32BE(pos + 1));
          pos += DATA_HEADER_BYTES;
          if (!this.transient && chunk.length - pos >= len) {
            out.push({ type: this.type, payload: chunk.subarray(pos, pos + len) });
            pos += len;
            continue;
          }
          this.body = this.newBody(len);
          this.bodyFill = 0;
        } else {
          const n = Math.min(DATA_HEADER_BYTES - this.headerFill, chunk.length - pos);
          chunk.copy(this.header, this.headerFill, pos, pos + n);
          this.headerFill += n;
          pos += n;
          if (this.headerFill < DATA_HEADER_BYTES) break;
          this.headerFill = 0;
          const len = this.startFrame(this.header[0]!, this.header.readUInt32BE(1));
          this.body = this.newBody(len);
          this.bodyFill = 0;
        }
      }
      const n = Math.min(this.body.length - this.bodyFill, chunk.length - pos);
      chunk.copy(this.body, this.bodyFill, pos, pos + n);
      this.bodyFill += n;
      pos += n;
      if (this.bodyFill === this.body.length) {
        out.push({ type: this.type, payload: this.body });
        this.body = null;
      }
    }
    return out;
  }

  private newBody(len: number): Buffer {
    return this.type === DATA_FRAME.data ? framePool.acquire(len) : Buffer.allocUnsafe(len);
  }

  /** True between frames: a connection that ends here ended cleanly. */
  get idle(): boolean {
    return this.body === null && this.headerFill === 0;
  }

  private startFrame(type: number, length: number): number {
    if (type < DATA_FRAME.hello || type > DATA_FRAME.ack) throw new DataPlaneProtocolError(`unknown data plane frame type ${type}`);
    if (length > MAX_DATA_FRAME_BYTES) throw new DataPlaneProtocolError(`a data plane frame of ${length} bytes is over the ${MAX_DATA_FRAME_BYTES}-byte limit`);
    this.type = type as DataFrameType;
    return length;
  }
}

export function parseJsonPayload<T>(payload: Buffer, what: string): T {
  try {
    return JSON.parse(payload.toString('utf8')) as T;
  } catch {
    throw new DataPlaneProtocolError(`the ${what} frame is not valid JSON`);
  }
}

/**
 * Frames from a socket, with its backpressure: the socket stops being read while more than
 * READ_QUEUE_BYTES of frames wait to be taken. Reads go into one reused buffer where the
 * socket allows it (socket-reads.ts), else through 'data' events. Unlike `for await` over the
 * socket, leaving early does not destroy the socket, so a reply (ACK, ERROR) can still be
 * written after the last frame was read.
 */
export async function* readFrames(socket: Socket): AsyncGenerator<WireFrame> {
  const frames: WireFrame[] = [];
  let queued = 0;
  let ended = false;
  let paused = false;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  let parser: FrameParser;
  /** Takes a chunk's frames; false: enough is queued, stop reading. */
  const take = (chunk: Buffer): boolean => {
    try {
      for (const f of parser.push(chunk)) {
        frames.push(f);
        queued += f.payload.length;
      }
    } catch (e) {
      failure ??= e;
    }
    poke();
    paused = queued >= READ_QUEUE_BYTES || failure !== null;
    return !paused;
  };
  const onData = (chunk: Buffer) => {
    if (!take(chunk)) socket.pause();
  };
  const onEnd = () => {
    ended = true;
    poke();
  };
  const onError = (e: Error) => {
    failure ??= e;
    poke();
  };
  socket.on('end', onEnd);
  socket.on('close', onEnd);
  socket.on('error', onError);
  parser = new FrameParser(true);
  const adopted = adoptReadBuffer(socket, Buffer.allocUnsafeSlow(READ_BUFFER_BYTES), take);
  if (!adopted) {
    parser = new FrameParser(false);
    socket.on('data', onData);
  }
  try {
    for (;;) {
      const f = frames.shift();
      if (f) {
        queued -= f.payload.length;
        yield f;
        continue;
      }
      if (failure !== null) throw failure;
      if (ended) break;
      if (paused || socket.isPaused()) {
        paused = false;
        socket.resume();
      }
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    if (!adopted) socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('close', onEnd);
    socket.off('error', onError);
  }
  if (!parser.idle) throw new DataPlaneProtocolError('the connection ended inside a frame');
}

/** Frame bytes taken from the socket and not yet consumed before reading stops. */
const READ_QUEUE_BYTES = 4 * 1024 * 1024;
/** One read's buffer: a Unix socket hands over up to this much per read (TLS: a 16 KiB record). */
const READ_BUFFER_BYTES = 256 * 1024;

const WRITE_QUEUE_BYTES = 4 * 1024 * 1024;

export function writeFrame(socket: Socket, type: DataFrameType, payload: Buffer): Promise<void> | undefined {
  socket.cork();
  socket.write(frameHeader(type, payload.length));
  // Once written, a pooled frame (frame-pool.ts) is free for the next one.
  if (payload.length > 0) socket.write(payload, () => framePool.release(payload));
  socket.uncork();
  // write() says "full" past the 16 KiB high-water mark, i.e. after every ~1 MiB frame; waiting
  // for each drain would leave the socket idle between frames. A few MiB queued keep it busy
  // and still bound memory.
  if (socket.writableLength < WRITE_QUEUE_BYTES) return undefined;
  return drained(socket);
}

function drained(socket: Socket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new DataPlaneProtocolError('the data plane connection closed'));
    if (socket.destroyed) return onClose();
    socket.on('drain', onDrain);
    socket.on('close', onClose);
  });
}
