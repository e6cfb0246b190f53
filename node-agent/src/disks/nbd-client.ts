import net from 'node:net';
import { FerryError } from '../../../common/src/errors.ts';
import { ByteReader } from './nbd-bytes.ts';
import { handshake } from './nbd-handshake.ts';
import { CMD, errnoName, nbdError, REPLY_FLAG_DONE, REPLY_TYPE, REPLY_TYPE_ERROR_BIT, requestHeader, SIMPLE_REPLY_MAGIC, STRUCTURED_REPLY_MAGIC } from './nbd-protocol.ts';

/**
 * A small NBD client (https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md) for
 * reading a disk exported by `qemu-nbd` on a unix socket: fixed newstyle handshake, structured
 * replies, meta contexts (`base:allocation`, `qemu:dirty-bitmap:NAME`), NBD_OPT_GO, then
 * READ, BLOCK_STATUS and DISC. Requests are pipelined: each carries a cookie and replies may
 * arrive in any order, so callers can keep several reads in flight.
 */

export { NBD_STATE, NBD_STATE_DIRTY, nbdError } from './nbd-protocol.ts';

/** The largest range asked about in one BLOCK_STATUS request (the field is 32-bit). */
const MAX_STATUS_LENGTH = 0x80000000;

export interface BlockStatusExtent {
  offset: number;
  length: number;
  flags: number;
}

export interface NbdConnectOptions {
  /** @default '' (the default export) */
  exportName?: string;
  /** Meta contexts to negotiate, e.g. `['base:allocation', 'qemu:dirty-bitmap:ferry-1']`. */
  metaContexts?: string[];
  /** @default 10000 */
  timeoutMs?: number;
}

type Pending =
  | { kind: 'ack'; resolve: () => void; reject: (e: Error) => void; error?: Error }
  | { kind: 'read'; offset: number; buf: Buffer; covered: number; resolve: (b: Buffer) => void; reject: (e: Error) => void; error?: Error }
  | { kind: 'status'; extents: Map<number, BlockStatusExtent[]>; offset: number; resolve: (m: Map<number, BlockStatusExtent[]>) => void; reject: (e: Error) => void; error?: Error };

export class NbdClient {
  private readonly pending = new Map<number, Pending>();
  private nextCookie = 1;
  private closed = false;
  private loop: Promise<void> | null = null;

  private constructor(
    private readonly socket: net.Socket,
    private readonly reader: ByteReader,
    /** Size of the export in bytes. */
    readonly size: number,
    /** Transmission flags from NBD_INFO_EXPORT. */
    readonly flags: number,
    /** Negotiated meta context name -> id. */
    readonly contexts: ReadonlyMap<string, number>,
    /** Largest request the server accepts (NBD_INFO_BLOCK_SIZE maximum, else 32 MiB). */
    readonly maxRequest: number,
  ) {}

  /** Connects to a unix socket and negotiates; meta contexts the server does not know are simply absent from `contexts`. */
  static async connect(socketPath: string, opts: NbdConnectOptions = {}): Promise<NbdClient> {
    const socket = net.createConnection(socketPath);
    const reader = new ByteReader();
    socket.on('data', (b: Buffer) => reader.push(b));
    socket.on('error', (e) => reader.fail(nbdError(`socket ${socketPath}: ${e.message}`, e)));
    socket.on('close', () => reader.fail(nbdError(`connection to ${socketPath} closed`)));
    const timer = setTimeout(() => socket.destroy(new Error(`handshake timed out after ${opts.timeoutMs ?? 10_000} ms`)), opts.timeoutMs ?? 10_000);
    try {
      const x = await handshake(socket, reader, opts);
      return new NbdClient(socket, reader, x.size, x.flags, x.contexts, x.maxRequest);
    } catch (e) {
      socket.destroy();
      throw e instanceof FerryError ? e : nbdError((e as Error).message, e);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Context id of a negotiated meta context, or undefined when the server did not offer it. */
  contextId(name: string): number | undefined {
    return this.contexts.get(name);
  }

  /** Reads `length` bytes at `offset` (holes come back as zeros); long reads are split at maxRequest. */
  async read(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(Math.max(0, length));
    await this.readInto(out, offset);
    return out;
  }

  /**
   * Fills `target` with the `target.length` bytes at `offset`: the reply payload is copied from
   * the socket's buffers straight into it, holes are zero-filled.
   */
  async readInto(target: Buffer, offset: number): Promise<void> {
    const length = target.length;
    if (offset < 0 || offset + length > this.size) throw nbdError(`read of ${length} bytes at ${offset} is outside the ${this.size}-byte export`);
    if (length <= this.maxRequest) return this.readOne(target, offset);
    const parts: Promise<void>[] = [];
    for (let at = 0; at < length; at += this.maxRequest) parts.push(this.readOne(target.subarray(at, Math.min(length, at + this.maxRequest)), offset + at));
    await Promise.all(parts);
  }

  /**
   * Writes `data` at `offset` (the export must be writable: qemu-nbd without --read-only).
   * Ferry's backups never write; tests and the benchmark change images through this.
   */
  write(offset: number, data: Buffer): Promise<void> {
    if (offset < 0 || offset + data.length > this.size) return Promise.reject(nbdError(`write of ${data.length} bytes at ${offset} is outside the ${this.size}-byte export`));
    return new Promise((resolve, reject) => {
      const cookie = this.send(CMD.write, offset, data.length, data);
      this.pending.set(cookie, { kind: 'ack', resolve, reject });
    });
  }

  /** NBD_CMD_FLUSH: written data is on stable storage when this resolves. */
  flush(): Promise<void> {
    return new Promise((resolve, reject) => {
      const cookie = this.send(CMD.flush, 0, 0);
      this.pending.set(cookie, { kind: 'ack', resolve, reject });
    });
  }

  /**
   * One BLOCK_STATUS request: extents per negotiated context id, starting at `offset`. The
   * server may describe less than asked (and each context may stop at a different place).
   */
  blockStatus(offset: number, length: number): Promise<Map<number, BlockStatusExtent[]>> {
    return new Promise((resolve, reject) => {
      const cookie = this.send(CMD.blockStatus, offset, Math.min(length, MAX_STATUS_LENGTH, this.size - offset));
      this.pending.set(cookie, { kind: 'status', extents: new Map(), offset, resolve, reject });
    });
  }

  /**
   * Extents of one meta context over [offset, offset+length), asking as many times as the
   * server needs. Adjacent extents with equal flags are merged.
   */
  async extents(context: string, offset = 0, length = this.size - offset): Promise<BlockStatusExtent[]> {
    const id = this.contextId(context);
    if (id === undefined) throw nbdError(`meta context ${context} was not negotiated`);
    const end = offset + length;
    const out: BlockStatusExtent[] = [];
    let at = offset;
    while (at < end) {
      const got = (await this.blockStatus(at, end - at)).get(id) ?? [];
      if (got.length === 0) throw nbdError(`block status at ${at} described nothing for ${context}`);
      for (const e of got) {
        const len = Math.min(e.length, end - at);
        if (len <= 0) break;
        const last = out[out.length - 1];
        if (last && last.flags === e.flags && last.offset + last.length === at) last.length += len;
        else out.push({ offset: at, length: len, flags: e.flags });
        at += len;
      }
    }
    return out;
  }

  /** Sends NBD_CMD_DISC and closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (!this.socket.destroyed) this.socket.write(requestHeader(CMD.disc, 0, 0, 0));
    } catch {
      // already gone
    }
    await new Promise<void>((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, 1000).unref();
    });
    this.failAll(nbdError('client closed'));
  }

  private readOne(buf: Buffer, offset: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const cookie = this.send(CMD.read, offset, buf.length);
      this.pending.set(cookie, { kind: 'read', offset, buf, covered: 0, resolve: () => resolve(), reject });
    });
  }

  private send(type: number, offset: number, length: number, data?: Buffer): number {
    if (this.closed) throw nbdError('client is closed');
    const cookie = this.nextCookie++;
    this.socket.write(data ? Buffer.concat([requestHeader(type, cookie, offset, length), data]) : requestHeader(type, cookie, offset, length));
    this.loop ??= this.replyLoop();
    return cookie;
  }

  private async replyLoop(): Promise<void> {
    try {
      for (;;) {
        const magicBuf = await this.reader.read(4);
        const magic = magicBuf.readUInt32BE(0);
        if (magic === SIMPLE_REPLY_MAGIC) await this.simpleReply();
        else if (magic === STRUCTURED_REPLY_MAGIC) await this.structuredChunk();
        else throw nbdError(`unexpected reply magic 0x${magic.toString(16)}`);
      }
    } catch (e) {
      this.failAll(e instanceof Error ? e : nbdError(String(e)));
    }
  }

  private async simpleReply(): Promise<void> {
    const h = await this.reader.read(12);
    const error = h.readUInt32BE(0);
    const cookie = Number(h.readBigUInt64BE(4));
    const p = this.take(cookie);
    if (error !== 0) return p.reject(nbdError(`server error ${error} (${errnoName(error)})`));
    if (p.kind === 'read') {
      await this.reader.readInto(p.buf);
      p.resolve(p.buf);
    } else if (p.kind === 'ack') p.resolve();
    else p.resolve(p.extents);
  }

  private async structuredChunk(): Promise<void> {
    const h = await this.reader.read(16);
    const flags = h.readUInt16BE(0);
    const type = h.readUInt16BE(2);
    const cookie = Number(h.readBigUInt64BE(4));
    const length = h.readUInt32BE(12);
    const p = this.pending.get(cookie);
    if (!p) throw nbdError(`reply for unknown cookie ${cookie}`);
    if (type & REPLY_TYPE_ERROR_BIT) {
      const body = await this.reader.read(length);
      const code = body.readUInt32BE(0);
      const msgLen = body.readUInt16BE(4);
      p.error ??= nbdError(`server error ${code} (${errnoName(code)})${msgLen ? `: ${body.toString('utf8', 6, 6 + msgLen)}` : ''}`);
    } else if (type === REPLY_TYPE.offsetData && p.kind === 'read') {
      if (length < 8) throw nbdError(`read data chunk of ${length} bytes`);
      const at = Number((await this.reader.read(8)).readBigUInt64BE(0));
      const n = length - 8;
      if (at < p.offset || at + n > p.offset + p.buf.length) throw nbdError(`read data at ${at} lies outside the request at ${p.offset}`);
      await this.reader.readInto(p.buf.subarray(at - p.offset, at - p.offset + n));
      p.covered += n;
    } else if (type === REPLY_TYPE.offsetHole && p.kind === 'read') {
      const body = await this.reader.read(length);
      if (length < 12) throw nbdError(`read hole chunk of ${length} bytes`);
      const at = Number(body.readBigUInt64BE(0));
      const n = body.readUInt32BE(8);
      if (at < p.offset || at + n > p.offset + p.buf.length) throw nbdError(`read hole at ${at} lies outside the request at ${p.offset}`);
      p.buf.fill(0, at - p.offset, at - p.offset + n);
      p.covered += n;
    } else if (type === REPLY_TYPE.blockStatus && p.kind === 'status') {
      const body = await this.reader.read(length);
      const id = body.readUInt32BE(0);
      const list: BlockStatusExtent[] = [];
      let at = p.offset;
      for (let i = 4; i + 8 <= body.length; i += 8) {
        const len = body.readUInt32BE(i);
        list.push({ offset: at, length: len, flags: body.readUInt32BE(i + 4) });
        at += len;
      }
      p.extents.set(id, list);
    } else if (type === REPLY_TYPE.none) {
      if (length) await this.reader.read(length);
    } else {
      throw nbdError(`unexpected structured reply type ${type} for a ${p.kind} request`);
    }
    if (flags & REPLY_FLAG_DONE) {
      this.pending.delete(cookie);
      // Chunks never overlap (the protocol forbids it), so their lengths add up to the request exactly when they cover it.
      if (!p.error && p.kind === 'read' && p.covered !== p.buf.length) p.error = nbdError(`read reply at ${p.offset} covered ${p.covered} of ${p.buf.length} bytes`);
      if (p.error) p.reject(p.error);
      else if (p.kind === 'read') p.resolve(p.buf);
      else if (p.kind === 'ack') p.resolve();
      else p.resolve(p.extents);
    }
  }

  private take(cookie: number): Pending {
    const p = this.pending.get(cookie);
    if (!p) throw nbdError(`reply for unknown cookie ${cookie}`);
    this.pending.delete(cookie);
    return p;
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
