import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { FerryError } from '../../../common/src/errors.ts';
import type { Logger } from '../../../common/src/logger.ts';
import {
  DATA_FRAME,
  DATA_PLANE_VERSION,
  DataPlaneProtocolError,
  jsonFrame,
  parseJsonPayload,
  readFrames,
  writeFrame,
  type DataPlaneHello,
  type WireFrame,
} from '../../../proto/src/data-plane.ts';
import type { HubPki } from './pki.ts';
import type { AgentRegistry } from './registry.ts';
import type { Relay, RelayChannel } from './relay.ts';

export interface DataPlaneServerDeps {
  pki: HubPki;
  registry: AgentRegistry;
  relay: Relay;
  log: Logger;
  /** A connection that sends no HELLO within this time is closed. @default 10000 */
  helloTimeoutMs?: number;
}

/**
 * The hub's bulk data plane (proto/src/data-plane.ts): one TLS connection per relay channel,
 * the agent authenticated by its client certificate exactly as on gRPC (issued by this hub,
 * not revoked), then attached to the channel as its producer (push) or consumer (pull) under
 * the same rules as gRPC Push/Pull. Backpressure is TCP's: a push connection is read only as
 * fast as the relay channel takes frames; a pull connection is written only as fast as the
 * agent reads.
 */
export class DataPlaneServer {
  private server: tls.Server | undefined;
  private local: { server: net.Server; path: string } | undefined;
  /** Open connections and their agent ('' until authenticated), so stop and revoke can cut them. */
  private readonly sockets = new Map<Socket, string>();
  /** TCP connections, including those still in the TLS handshake. */
  private readonly raw = new Set<Socket>();

  constructor(private readonly d: DataPlaneServerDeps) {}

  async listen(host: string, port: number): Promise<number> {
    const { pki, log } = this.d;
    const server = tls.createServer({
      key: pki.serverKeyPem,
      cert: pki.serverChainPem,
      ca: pki.caPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    });
    server.on('connection', (raw: Socket) => {
      this.raw.add(raw);
      raw.once('close', () => this.raw.delete(raw));
    });
    server.on('secureConnection', (socket) => void this.handle(socket, 'tls'));
    server.on('tlsClientError', (err, socket) => {
      log.debug({ err: err.message, peer: socket.remoteAddress }, 'data plane TLS handshake failed');
    });
    const bound = await new Promise<number>((resolve, reject) => {
      server.once('error', (err) => reject(new FerryError('data_plane_bind_failed', `cannot listen for agent data on ${host}:${port}: ${err.message}`, { status: 500, cause: err })));
      server.listen(port, host, () => {
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
    server.on('error', (err) => log.error({ err }, 'data plane server error'));
    this.server = server;
    log.info({ address: `${host}:${bound}` }, 'agent data plane listening');
    return bound;
  }

  /**
   * Also listen on a Unix socket for the built-in agent: a child of this process on this host,
   * for which TLS only burns CPU (~0.8 s per GiB on each side here). The socket's folder is
   * 0700 and the socket 0600, so only the hub's own user (who can read the agent's key anyway)
   * can connect, and a connection may speak only for the built-in agent (HELLO names it).
   */
  async listenLocal(socketPath: string): Promise<void> {
    mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
    chmodSync(path.dirname(socketPath), 0o700);
    rmSync(socketPath, { force: true }); // left by a killed hub
    const server = net.createServer((socket) => void this.handle(socket, 'local'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new FerryError('data_plane_bind_failed', `cannot listen on ${socketPath}: ${err.message}`, { status: 500, cause: err })));
      server.listen(socketPath, () => resolve());
    });
    chmodSync(socketPath, 0o600);
    server.on('error', (err) => this.d.log.error({ err }, 'local data plane server error'));
    this.local = { server, path: socketPath };
  }

  /** Cut every data connection of an agent (revocation). */
  closeAgent(agentId: string): void {
    for (const [s, id] of this.sockets) if (id === agentId) s.destroy();
  }


  async stop(): Promise<void> {
    const servers = [this.server, this.local?.server].filter((x): x is net.Server => x !== undefined);
    const local = this.local?.path;
    this.server = undefined;
    this.local = undefined;
    for (const s of this.sockets.keys()) s.destroy();
    for (const s of this.raw) s.destroy();
    await Promise.all(servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
    if (local) rmSync(local, { force: true });
  }

  private async handle(socket: Socket, via: 'tls' | 'local'): Promise<void> {
    const { registry, log } = this.d;
    socket.on('error', (err) => log.debug({ err: err.message }, 'data plane connection error'));
    socket.setNoDelay?.(true);
    this.sockets.set(socket, '');
    socket.once('close', () => this.sockets.delete(socket));
    const helloTimer = setTimeout(() => refuse(socket, new FerryError('hello_timeout', 'no HELLO within the hello timeout', { status: 408 })), this.d.helloTimeoutMs ?? 10_000);
    const frames = readFrames(socket);
    let ch: RelayChannel | undefined;
    try {
      // TLS: the client certificate says who it is, before any frame.
      let agentId = via === 'tls' ? registry.authenticate((socket as tls.TLSSocket).getPeerCertificate(false)?.raw).id : '';
      this.sockets.set(socket, agentId);
      const first = await frames.next();
      clearTimeout(helloTimer);
      if (first.done) return;
      const hello = readHello(first.value);
      if (via === 'local') {
        agentId = this.localAgent(hello.agent_id);
        this.sockets.set(socket, agentId);
      }
      this.d.relay.transport.dataPlane.connections++;
      if (via === 'local') this.d.relay.transport.dataPlane.localConnections++;
      ch = this.d.relay.attach(hello.channel, agentId, hello.op === 'push' ? 'producer' : 'consumer');
      if (hello.op === 'push') ch.producerVia = via;
      if (hello.op === 'push') await this.push(socket, frames, ch);
      else await this.pull(socket, ch);
    } catch (e) {
      clearTimeout(helloTimer);
      if (ch && !ch.isEnded) ch.abort(e instanceof Error ? e.message : String(e));
      refuse(socket, e);
    }
  }

  /** The Unix socket speaks only for the built-in agent, and not once it is revoked. */
  private localAgent(claimed: string | undefined): string {
    const row = typeof claimed === 'string' && claimed ? this.d.registry.row(claimed) : undefined;
    if (!row || !row.builtin) throw new FerryError('data_plane_local_refused', 'the local data socket is only for the built-in agent', { status: 403 });
    if (row.status === 'revoked') throw new FerryError('agent_revoked', `agent ${row.id} was revoked`, { status: 403 });
    return row.id;
  }

  private async push(socket: Socket, frames: AsyncGenerator<WireFrame>, ch: RelayChannel): Promise<void> {
    let count = 0;
    let bytes = 0;
    for await (const f of frames) {
      if (f.type === DATA_FRAME.data) {
        if (f.payload.length > 0) await ch.write(f.payload);
        this.d.relay.transport.dataPlane.bytesIn += f.payload.length;
        count++;
        bytes += f.payload.length;
      } else if (f.type === DATA_FRAME.eof) {
        ch.end();
        await ch.drained;
        socket.end(jsonFrame(DATA_FRAME.ack, { frames: count, bytes }));
        return;
      } else if (f.type === DATA_FRAME.error) {
        const e = parseJsonPayload<{ message?: string }>(f.payload, 'ERROR');
        ch.abort(`producer abandoned the channel: ${e.message ?? 'no reason given'}`);
        socket.end();
        return;
      } else {
        throw new DataPlaneProtocolError(`frame type ${f.type} is not allowed on a push connection`);
      }
    }
    throw new FerryError('relay_aborted', 'producer agent disconnected', { status: 409, retryable: true });
  }

  private async pull(socket: Socket, ch: RelayChannel): Promise<void> {
    const lost = () => ch.abort('consumer agent disconnected');
    socket.once('close', lost);
    try {
      const stats = this.d.relay.transport.dataPlane;
      for await (const data of ch) {
        stats.bytesOut += data.length;
        const wait = writeFrame(socket, DATA_FRAME.data, data);
        if (wait) await wait;
      }
      socket.end(Buffer.from([DATA_FRAME.eof, 0, 0, 0, 0]));
    } finally {
      socket.off('close', lost);
    }
  }
}

function readHello(f: WireFrame): DataPlaneHello {
  if (f.type !== DATA_FRAME.hello) throw new DataPlaneProtocolError('the first frame must be HELLO');
  const h = parseJsonPayload<Partial<DataPlaneHello>>(f.payload, 'HELLO');
  if (h.v !== DATA_PLANE_VERSION) throw new FerryError('data_plane_version', `data plane version ${String(h.v)} is not supported (this hub speaks ${DATA_PLANE_VERSION})`, { status: 400 });
  if ((h.op !== 'push' && h.op !== 'pull') || typeof h.channel !== 'string') throw new DataPlaneProtocolError('HELLO needs op push|pull and a channel');
  return h as DataPlaneHello;
}

/** Sends ERROR (code, message, retryable) and closes; the agent turns it back into a FerryError. */
function refuse(socket: Socket, e: unknown): void {
  if (socket.destroyed || socket.writableEnded) return;
  const err =
    e instanceof FerryError
      ? e
      : e instanceof DataPlaneProtocolError
        ? new FerryError('data_plane_protocol', e.message, { status: 400 })
        : new FerryError('relay_aborted', e instanceof Error ? e.message : String(e), { status: 409, retryable: true });
  socket.end(jsonFrame(DATA_FRAME.error, { code: err.code, message: err.message, retryable: err.retryable }));
}
