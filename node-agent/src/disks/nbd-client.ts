import net from 'node:net';
import { FerryError } from '../../../common/src/errors.ts';

/**
 * A small NBD client (https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md) for
 * reading a disk exported by `qemu-nbd` on a unix socket: fixed newstyle handshake, structured
 * replies, meta contexts (`base:allocation`, `qemu:dirty-bitmap:NAME`), NBD_OPT_GO, then
 * READ, BLOCK_STATUS and DISC. Requests are pipelined: each carries a cookie and replies may
 * arrive in any order, so callers can keep several reads in flight.
 */

const NBDMAGIC = 0x4e42444d41474943n;
const IHAVEOPT = 0x49484156454f5054n;
const OPT_REPLY_MAGIC = 0x3e889045565a9n;
const REQUEST_MAGIC = 0x25609513;
const SIMPLE_REPLY_MAGIC = 0x67446698;
const STRUCTURED_REPLY_MAGIC = 0x668e33ef;

const FLAG_FIXED_NEWSTYLE = 1;
const FLAG_NO_ZEROES = 2;

const OPT = { go: 7, structuredReply: 8, setMetaContext: 10 } as const;
const REP = { ack: 1, info: 3, metaContext: 4 } as const;
const REP_ERROR_BIT = 0x80000000;
const INFO = { export: 0, blockSize: 3 } as const;
const CMD = { read: 0, write: 1, disc: 2, flush: 3, blockStatus: 7 } as const;
const REPLY_FLAG_DONE = 1;
const REPLY_TYPE = { none: 0, offsetData: 1, offsetHole: 2, blockStatus: 5 } as const;
const REPLY_TYPE_ERROR_BIT = 0x8000;

/** `base:allocation` flags. */
export const NBD_STATE = { hole: 1, zero: 2 } as const;
/** `qemu:dirty-bitmap:*` flag: the range was written since the bitmap was created. */
export const NBD_STATE_DIRTY = 1;

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
  | { kind: 'read'; offset: number; buf: Buffer; resolve: (b: Buffer) => void; reject: (e: Error) => void; error?: Error }
  | { kind: 'status'; extents: Map<number, BlockStatusExtent[]>; offset: number; resolve: (m: Map<number, BlockStatusExtent[]>) => void; reject: (e: Error) => void; error?: Error };

/** Error of the NBD layer: protocol violations, server errors and a lost connection. */
export function nbdError(message: string, cause?: unknown): FerryError {
  return new FerryError('nbd_error', `NBD: ${message}`, { status: 502, retryable: true, cause });
}

/** Buffers socket bytes and hands them out in exact-sized pieces. */
class ByteReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
    this.wake();
  }

  fail(e: Error): void {
    this.failure ??= e;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(this.failure);
  }

  read(n: number): Promise<Buffer> {
    if (this.length >= n) return Promise.resolve(this.take(n));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
    });
  }

  private wake(): void {
    const w = this.waiter;
    if (w && this.length >= w.n) {
      this.waiter = null;
      w.resolve(this.take(w.n));
    }
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.length -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - done);
      c.copy(out, done, 0, k);
      done += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.length -= n;
    return out;
  }
}

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
      return await handshake(socket, reader, opts);
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
    if (offset < 0 || length < 0 || offset + length > this.size) throw nbdError(`read of ${length} bytes at ${offset} is outside the ${this.size}-byte export`);
    if (length <= this.maxRequest) return this.readOne(offset, length);
    const out = Buffer.allocUnsafe(length);
    const parts: Promise<void>[] = [];
    for (let at = 0; at < length; at += this.maxRequest) {
      const n = Math.min(this.maxRequest, length - at);
      parts.push(this.readOne(offset + at, n).then((b) => void b.copy(out, at)));
    }
    await Promise.all(parts);
    return out;
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

  private readOne(offset: number, length: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const cookie = this.send(CMD.read, offset, length);
      // Zeros first: OFFSET_HOLE chunks leave their range untouched.
      this.pending.set(cookie, { kind: 'read', offset, buf: Buffer.alloc(length), resolve, reject });
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
      const data = await this.reader.read(p.buf.length);
      data.copy(p.buf);
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
      const at = Number((await this.reader.read(8)).readBigUInt64BE(0));
      const data = await this.reader.read(length - 8);
      if (at < p.offset || at + data.length > p.offset + p.buf.length) throw nbdError(`read data at ${at} lies outside the request at ${p.offset}`);
      data.copy(p.buf, at - p.offset);
    } else if (type === REPLY_TYPE.offsetHole && p.kind === 'read') {
      await this.reader.read(length); // the buffer already holds zeros
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

function requestHeader(type: number, cookie: number, offset: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(28);
  b.writeUInt32BE(REQUEST_MAGIC, 0);
  b.writeUInt16BE(0, 4);
  b.writeUInt16BE(type, 6);
  b.writeBigUInt64BE(BigInt(cookie), 8);
  b.writeBigUInt64BE(BigInt(offset), 16);
  b.writeUInt32BE(length, 24);
  return b;
}

function write(socket: net.Socket, b: Buffer): void {
  socket.write(b);
}

function sendOption(socket: net.Socket, opt: number, data: Buffer): void {
  const h = Buffer.allocUnsafe(16);
  h.writeBigUInt64BE(IHAVEOPT, 0);
  h.writeUInt32BE(opt, 8);
  h.writeUInt32BE(data.length, 12);
  write(socket, Buffer.concat([h, data]));
}

async function optionReply(reader: ByteReader, opt: number): Promise<{ type: number; data: Buffer }> {
  const h = await reader.read(20);
  if (h.readBigUInt64BE(0) !== OPT_REPLY_MAGIC) throw nbdError('bad option reply magic');
  if (h.readUInt32BE(8) !== opt) throw nbdError(`reply for option ${h.readUInt32BE(8)} while waiting for ${opt}`);
  const type = h.readUInt32BE(12);
  const len = h.readUInt32BE(16);
  const data = len ? await reader.read(len) : Buffer.alloc(0);
  if (type & REP_ERROR_BIT) throw nbdError(`option ${opt} refused (reply 0x${type.toString(16)})${data.length ? `: ${data.toString('utf8')}` : ''}`);
  return { type, data };
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const l = Buffer.allocUnsafe(4);
  l.writeUInt32BE(b.length, 0);
  return Buffer.concat([l, b]);
}

async function handshake(socket: net.Socket, reader: ByteReader, opts: NbdConnectOptions): Promise<NbdClient> {
  const hello = await reader.read(18);
  if (hello.readBigUInt64BE(0) !== NBDMAGIC) throw nbdError('the server did not greet with NBDMAGIC');
  if (hello.readBigUInt64BE(8) !== IHAVEOPT) throw nbdError('the server speaks oldstyle NBD; fixed newstyle is required');
  const serverFlags = hello.readUInt16BE(16);
  if (!(serverFlags & FLAG_FIXED_NEWSTYLE)) throw nbdError('the server does not support fixed newstyle negotiation');
  const clientFlags = Buffer.allocUnsafe(4);
  clientFlags.writeUInt32BE(FLAG_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES), 0);
  write(socket, clientFlags);

  sendOption(socket, OPT.structuredReply, Buffer.alloc(0));
  if ((await optionReply(reader, OPT.structuredReply)).type !== REP.ack) throw nbdError('structured replies not acknowledged');

  const name = opts.exportName ?? '';
  const contexts = new Map<string, number>();
  const wanted = opts.metaContexts ?? [];
  if (wanted.length) {
    const n = Buffer.allocUnsafe(4);
    n.writeUInt32BE(wanted.length, 0);
    sendOption(socket, OPT.setMetaContext, Buffer.concat([str(name), n, ...wanted.map(str)]));
    for (;;) {
      const r = await optionReply(reader, OPT.setMetaContext);
      if (r.type === REP.ack) break;
      if (r.type === REP.metaContext) contexts.set(r.data.toString('utf8', 4), r.data.readUInt32BE(0));
    }
  }

  const infos = Buffer.allocUnsafe(4);
  infos.writeUInt16BE(1, 0);
  infos.writeUInt16BE(INFO.blockSize, 2);
  sendOption(socket, OPT.go, Buffer.concat([str(name), infos]));
  let size = -1;
  let flags = 0;
  let maxRequest = 32 * 1024 * 1024;
  for (;;) {
    const r = await optionReply(reader, OPT.go);
    if (r.type === REP.ack) break;
    if (r.type !== REP.info || r.data.length < 2) continue;
    const info = r.data.readUInt16BE(0);
    if (info === INFO.export) {
      size = Number(r.data.readBigUInt64BE(2));
      flags = r.data.readUInt16BE(10);
    } else if (info === INFO.blockSize && r.data.length >= 14) {
      maxRequest = Math.min(maxRequest, r.data.readUInt32BE(10));
    }
  }
  if (size < 0) throw nbdError(`export ${JSON.stringify(name)} did not report its size`);
  return new NbdClientCtor(socket, reader, size, flags, contexts, maxRequest);
}

// The constructor is private to callers; handshake() builds clients through this alias.
const NbdClientCtor = NbdClient as unknown as new (
  socket: net.Socket,
  reader: ByteReader,
  size: number,
  flags: number,
  contexts: ReadonlyMap<string, number>,
  maxRequest: number,
) => NbdClient;

function errnoName(code: number): string {
  const names: Record<number, string> = { 1: 'EPERM', 5: 'EIO', 12: 'ENOMEM', 22: 'EINVAL', 28: 'ENOSPC', 75: 'EOVERFLOW', 95: 'ENOTSUP', 108: 'ESHUTDOWN' };
  return names[code] ?? 'error';
}
