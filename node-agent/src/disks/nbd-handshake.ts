import type net from 'node:net';
import type { ByteReader } from './nbd-bytes.ts';
import { FLAG_FIXED_NEWSTYLE, FLAG_NO_ZEROES, IHAVEOPT, INFO, NBDMAGIC, nbdError, OPT, OPT_REPLY_MAGIC, REP, REP_ERROR_BIT } from './nbd-protocol.ts';

/** What the negotiation settled: the export and the meta contexts the server offers. */
export interface NbdExport {
  /** Size of the export in bytes. */
  size: number;
  /** Transmission flags from NBD_INFO_EXPORT. */
  flags: number;
  /** Negotiated meta context name -> id. */
  contexts: Map<string, number>;
  /** Largest request the server accepts (NBD_INFO_BLOCK_SIZE maximum, else 32 MiB). */
  maxRequest: number;
}

/**
 * Fixed newstyle negotiation: structured replies, then the meta contexts asked for (the server
 * names those it knows), then NBD_OPT_GO for the export with its block size limits.
 */
export async function handshake(socket: net.Socket, reader: ByteReader, opts: { exportName?: string; metaContexts?: string[] }): Promise<NbdExport> {
  const hello = await reader.read(18);
  if (hello.readBigUInt64BE(0) !== NBDMAGIC) throw nbdError('the server did not greet with NBDMAGIC');
  if (hello.readBigUInt64BE(8) !== IHAVEOPT) throw nbdError('the server speaks oldstyle NBD; fixed newstyle is required');
  const serverFlags = hello.readUInt16BE(16);
  if (!(serverFlags & FLAG_FIXED_NEWSTYLE)) throw nbdError('the server does not support fixed newstyle negotiation');
  const clientFlags = Buffer.allocUnsafe(4);
  clientFlags.writeUInt32BE(FLAG_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES), 0);
  socket.write(clientFlags);

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
  return { size, flags, contexts, maxRequest };
}

function sendOption(socket: net.Socket, opt: number, data: Buffer): void {
  const h = Buffer.allocUnsafe(16);
  h.writeBigUInt64BE(IHAVEOPT, 0);
  h.writeUInt32BE(opt, 8);
  h.writeUInt32BE(data.length, 12);
  socket.write(Buffer.concat([h, data]));
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
