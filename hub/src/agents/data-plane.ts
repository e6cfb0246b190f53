import type { Socket } from 'node:net';
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
  /** Open connections and their agent ('' until authenticated), so stop and revoke can cut them. */
  private readonly sockets = new Map<tls.TLSSocket, string>();
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
    server.on('secureConnection', (socket) => void this.handle(socket));
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

  /** Cut every data connection of an agent (revocation). */
  closeAgent(agentId: string): void {
    for (const [s, id] of this.sockets) if (id === agentId) s.destroy();
  }


  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const s of this.sockets.keys()) s.destroy();
    for (const s of this.raw) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(socket: tls.TLSSocket): Promise<void> {
    const { registry, log } = this.d;
    socket.on('error', (err) => log.debug({ err: err.message }, 'data plane connection error'));
    socket.setNoDelay(true);
    this.sockets.set(socket, '');
    socket.once('close', () => this.sockets.delete(socket));
    let agentId: string;
    try {
      agentId = registry.authenticate(socket.getPeerCertificate(false)?.raw).id;
    } catch (e) {
      refuse(socket, e);
      return;
    }
    this.sockets.set(socket, agentId);
    this.d.relay.transport.dataPlane.connections++;
    const helloTimer = setTimeout(() => refuse(socket, new FerryError('hello_timeout', 'no HELLO within the hello timeout', { status: 408 })), this.d.helloTimeoutMs ?? 10_000);
    const frames = readFrames(socket);
    let ch: RelayChannel | undefined;
    let op: DataPlaneHello['op'] | undefined;
    try {
      const first = await frames.next();
      clearTimeout(helloTimer);
      if (first.done) return;
      const hello = readHello(first.value);
      op = hello.op;
      ch = this.d.relay.attach(hello.channel, agentId, op === 'push' ? 'producer' : 'consumer');
      if (op === 'push') await this.push(socket, frames, ch);
      else await this.pull(socket, ch);
    } catch (e) {
      clearTimeout(helloTimer);
      if (ch && !ch.isEnded) ch.abort(e instanceof Error ? e.message : String(e));
      refuse(socket, e);
    }
  }

  private async push(socket: tls.TLSSocket, frames: AsyncGenerator<WireFrame>, ch: RelayChannel): Promise<void> {
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

  private async pull(socket: tls.TLSSocket, ch: RelayChannel): Promise<void> {
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
function refuse(socket: tls.TLSSocket, e: unknown): void {
  if (socket.destroyed || socket.writableEnded) return;
  const err =
    e instanceof FerryError
      ? e
      : e instanceof DataPlaneProtocolError
        ? new FerryError('data_plane_protocol', e.message, { status: 400 })
        : new FerryError('relay_aborted', e instanceof Error ? e.message : String(e), { status: 409, retryable: true });
  socket.end(jsonFrame(DATA_FRAME.error, { code: err.code, message: err.message, retryable: err.retryable }));
}
