import { FLOW_CONTROL_WINDOW } from '../../../proto/src/load.ts';
import { dataFrameSerializer } from '../../../node-agent/src/session/data-frame.ts';
import * as grpc from '@grpc/grpc-js';
import type { Http2SecureServer, ServerHttp2Session } from 'node:http2';
import { FerryError } from '../../../common/src/errors.ts';
import type { Logger } from '../../../common/src/logger.ts';
import {
  loadAgentProto,
  type AgentHubHandlers,
  type AgentMessage__Output,
  type DataFrame,
  type DataFrame__Output,
  type EnrollmentHandlers,
  type HubMessage,
} from '../../../proto/src/load.ts';
import type { CallRegistry } from './calls.ts';
import { grpcError, toGrpcError } from './grpc-status.ts';
import type { HubPki } from './pki.ts';
import type { AgentRegistry, AgentRow } from './registry.ts';
import type { RelayChannel, Relay } from './relay.ts';
import type { SessionRegistry } from './sessions.ts';

export interface AgentGrpcServerDeps {
  pki: HubPki;
  registry: AgentRegistry;
  sessions: SessionRegistry;
  relay: Relay;
  calls: CallRegistry;
  log: Logger;
  /** Told to the agent in `welcome`. */
  heartbeatIntervalSeconds: number;
  /** A Connect stream that sends no hello within this time is closed. @default 10000 */
  helloTimeoutMs?: number;
  /** Port of the bulk data plane, told to agents in `welcome`; 0 = none. */
  dataPort?: () => number;
  /** The client-reported agent version is informative; this names the hub in logs. */
  hubVersion?: string;
}

/** 16 MiB: a ~1 MiB data frame plus headroom; larger messages are refused by gRPC. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * grpc-js applies 'grpc-node.flow_control_window' to client channels only: its server keeps
 * HTTP/2's 64 KiB receive window, so every ~1 MiB Push frame waited for 16 WINDOW_UPDATE round
 * trips (a 512 MiB backup spent ~2 s of its ~3.5 s with the agent waiting to send). The server
 * object keeps its http2 servers in a private map; each new session gets the window here. When
 * a grpc-js upgrade renames that map, the window stays at the default and we say so.
 */
function widenReceiveWindows(server: grpc.Server, log: Logger): void {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) {
    log.warn('grpc-js internals changed: agent uploads keep the 64 KiB HTTP/2 receive window (slow Push)');
    return;
  }
  for (const h2 of servers.keys() as IterableIterator<Http2SecureServer>) {
    h2.on('session', (session: ServerHttp2Session) => {
      const widen = () => {
        try {
          session.setLocalWindowSize(FLOW_CONTROL_WINDOW);
          session.settings({ initialWindowSize: FLOW_CONTROL_WINDOW });
        } catch {
          // the session closed meanwhile
        }
      };
      if (session.connecting) session.once('connect', widen);
      else widen();
    });
  }
}

/**
 * In-memory certificate provider for grpc-js: hands out the hub's server identity (chain incl.
 * the CA, so agents can pin it) and the CA that client certificates are requested against.
 */
class StaticCertificateProvider implements grpc.experimental.CertificateProvider {
  constructor(
    private readonly ca: Buffer,
    private readonly cert: Buffer,
    private readonly key: Buffer,
  ) {}
  // Listeners are called on the next tick: grpc-js registers its own watcher only after adding
  // these listeners, so a synchronous call would be lost and the server would refuse every handshake.
  addCaCertificateListener(l: grpc.experimental.CaCertificateUpdateListener): void {
    process.nextTick(() => l({ caCertificate: this.ca }));
  }
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(l: grpc.experimental.IdentityCertificateUpdateListener): void {
    process.nextTick(() => l({ certificate: this.cert, privateKey: this.key }));
  }
  removeIdentityCertificateListener(): void {}
}

/**
 * The hub's gRPC endpoint: `Enrollment` (no client certificate) and `AgentHub` (client
 * certificate checked per call) on one port. TLS asks for a client certificate but does not
 * require one, because enrollment happens before the agent has one; AgentHub handlers
 * authenticate the presented certificate themselves (issued by us, stored for a live agent).
 */
export class AgentGrpcServer {
  private server: grpc.Server | undefined;

  constructor(private readonly d: AgentGrpcServerDeps) {}

  /** Bind and start; resolves to the bound port (useful with port 0). */
  async listen(host: string, port: number): Promise<number> {
    const proto = loadAgentProto();
    const server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      // grpc-js's default 64 KiB HTTP/2 window stalls ~1 MiB data frames on every round trip;
      // 16 MiB nearly halved a 256 MiB backup and restore. Backpressure still holds: the relay
      // bound and the stream's own buffering limit what is in flight.
      'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW,
    });
    server.addService(proto.Enrollment.service, this.enrollmentHandlers());
    // Pull frames (restores) are encoded in place when the packer left headroom: one copy less each.
    const hubService = proto.AgentHub.service;
    const pull = hubService.Pull;
    const service = { ...hubService, Pull: { ...pull, responseSerialize: dataFrameSerializer(pull.responseSerialize as (f: DataFrame) => Buffer) } };
    server.addService(service, this.agentHubHandlers());
    const provider = new StaticCertificateProvider(Buffer.from(this.d.pki.caPem), Buffer.from(this.d.pki.serverChainPem), Buffer.from(this.d.pki.serverKeyPem));
    // One provider gives both the identity and the CA, so the argument order cannot be mixed up.
    const creds = grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
    const addr = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(addr, creds, (err, p) => (err ? reject(new FerryError('grpc_bind_failed', `cannot listen for agents on ${addr}: ${err.message}`, { status: 500, cause: err })) : resolve(p))),
    );
    this.server = server;
    widenReceiveWindows(server, this.d.log);
    this.d.log.info({ address: `${host}:${bound}` }, 'agent gRPC server listening');
    return bound;
  }

  /** Close sessions, then stop: waits up to `graceMs` for calls to finish, then forces. */
  async stop(graceMs = 2000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.d.sessions.closeAll('hub is shutting down');
    this.d.relay.abortAll('hub is shutting down');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private enrollmentHandlers(): EnrollmentHandlers {
    const { registry, log } = this.d;
    return {
      Enroll: (call, cb) => {
        const r = call.request;
        registry
          .enroll({ token: r.token, csrPem: r.csr_pem, hostname: r.hostname, name: r.name || undefined, version: r.version })
          .then((o) => {
            log.info({ agent_id: o.agentId, status: o.status, hostname: r.hostname }, 'agent enrolled');
            cb(null, { agent_id: o.agentId, status: o.status, certificate_pem: o.certificatePem ?? '', ca_pem: o.caPem, pickup_secret: o.pickupSecret });
          })
          .catch((e: unknown) => cb(toGrpcError(e, log, 'Enroll')));
      },
      FetchCertificate: (call, cb) => {
        try {
          const o = registry.fetchCertificate(call.request.agent_id, call.request.pickup_secret);
          cb(null, { status: o.status, certificate_pem: o.certificatePem ?? '', ca_pem: o.caPem });
        } catch (e) {
          cb(toGrpcError(e, log, 'FetchCertificate'));
        }
      },
    };
  }

  /** The agent behind a call's client certificate, or a gRPC error to answer with. */
  private authenticate(call: Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getAuthContext'>): AgentRow {
    const cert = call.getAuthContext()?.sslPeerCertificate;
    return this.d.registry.authenticate(cert?.raw);
  }

  private agentHubHandlers(): AgentHubHandlers {
    return {
      Connect: (call) => this.connect(call),
      Push: (call, cb) => {
        void this.push(call).then(
          (ack) => cb(null, ack),
          (e: unknown) => cb(toGrpcError(e, this.d.log, 'Push')),
        );
      },
      Pull: (call) => void this.pull(call),
      Call: (call, cb) => {
        let agent: AgentRow;
        try {
          agent = this.authenticate(call);
        } catch (e) {
          cb(toGrpcError(e, this.d.log, 'Call'));
          return;
        }
        let payload: unknown;
        try {
          payload = call.request.payload_json ? JSON.parse(call.request.payload_json) : null;
        } catch {
          cb(grpcError(grpc.status.INVALID_ARGUMENT, 'payload_json is not valid JSON', 'bad_request'));
          return;
        }
        this.d.calls.invoke(agent.id, call.request.method, payload).then(
          (result) => cb(null, { result_json: JSON.stringify(result ?? null) }),
          (e: unknown) => cb(toGrpcError(e, this.d.log, `Call ${call.request.method}`)),
        );
      },
    };
  }

  private connect(call: grpc.ServerDuplexStream<AgentMessage__Output, HubMessage>): void {
    const { sessions, registry, log } = this.d;
    let agent: AgentRow;
    try {
      agent = this.authenticate(call);
    } catch (e) {
      const err = toGrpcError(e, log, 'Connect');
      log.warn({ peer: call.getPeer(), reason: err.details }, 'agent connection refused');
      call.emit('error', err);
      return;
    }
    let session: ReturnType<SessionRegistry['open']> | undefined;
    let finished = false;
    const fail = (code: grpc.status, details: string, ferryCode: string) => {
      if (finished) return;
      finished = true;
      call.emit('error', grpcError(code, details, ferryCode));
    };
    const helloTimer = setTimeout(() => fail(grpc.status.DEADLINE_EXCEEDED, 'no hello within the hello timeout', 'hello_timeout'), this.d.helloTimeoutMs ?? 10_000);
    const transport = {
      send: (m: HubMessage) => {
        if (!finished) call.write(m);
      },
      close: (reason: string, code: number) => {
        if (finished) return;
        finished = true;
        if (code === grpc.status.OK) call.end();
        else call.emit('error', grpcError(code, reason, code === grpc.status.PERMISSION_DENIED ? 'agent_revoked' : 'session_closed'));
      },
    };
    call.on('data', (m: AgentMessage__Output) => {
      if (session) {
        sessions.handle(session, m);
        return;
      }
      if (m.msg !== 'hello' || !m.hello) {
        fail(grpc.status.FAILED_PRECONDITION, 'the first message on Connect must be hello', 'hello_expected');
        return;
      }
      clearTimeout(helloTimer);
      const h = m.hello;
      if (h.agent_id && h.agent_id !== agent.id) {
        fail(grpc.status.PERMISSION_DENIED, `hello names agent ${h.agent_id} but the client certificate belongs to ${agent.id}`, 'agent_mismatch');
        return;
      }
      let inventory: Record<string, unknown> = {};
      try {
        const parsed: unknown = h.inventory_json ? JSON.parse(h.inventory_json) : {};
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) inventory = parsed as Record<string, unknown>;
      } catch {
        inventory = {};
      }
      registry.recordHello(agent.id, { hostname: h.hostname, version: h.version, capabilities: h.capabilities, inventory });
      call.write({ welcome: { agent_id: agent.id, status: 'online', heartbeat_interval_seconds: this.d.heartbeatIntervalSeconds, data_port: this.d.dataPort?.() ?? 0 } });
      session = sessions.open(agent.id, transport, h.running_task_ids);
    });
    const gone = (reason: string) => {
      clearTimeout(helloTimer);
      if (session) sessions.ended(session, reason);
      if (!finished) {
        finished = true;
        call.end();
      }
    };
    call.on('end', () => gone('agent closed the stream'));
    call.on('cancelled', () => gone('agent connection lost'));
    call.on('error', () => gone('stream error'));
  }

  private async push(call: grpc.ServerReadableStream<DataFrame__Output, unknown>): Promise<{ channel: string; frames: number; bytes: number }> {
    const agent = this.authenticate(call);
    let ch: RelayChannel | undefined;
    let expect = 0;
    let frames = 0;
    let bytes = 0;
    let sawEof = false;
    const lost = () => ch?.abort('producer agent disconnected');
    call.on('cancelled', lost);
    try {
      for await (const f of call as AsyncIterable<DataFrame__Output>) {
        if (!ch) {
          ch = this.d.relay.attach(f.channel, agent.id, 'producer');
          ch.producerVia = 'grpc';
        }
        else if (f.channel && f.channel !== ch.name) throw new FerryError('relay_protocol', `Push switched from channel ${ch.name} to ${f.channel}`, { status: 400 });
        if (f.error) {
          ch.abort(f.error);
          throw new FerryError('relay_aborted', `producer abandoned channel ${ch.name}: ${f.error}`, { status: 409 });
        }
        if (f.seq !== expect) throw new FerryError('relay_protocol', `channel ${ch.name}: frame ${f.seq} arrived, expected ${expect}`, { status: 400 });
        expect++;
        if (f.data.length > 0) {
          await ch.write(f.data);
          this.d.relay.transport.grpc.bytesIn += f.data.length;
          frames++;
          bytes += f.data.length;
        }
        if (f.eof) {
          sawEof = true;
          break;
        }
      }
      if (!ch) throw new FerryError('relay_protocol', 'Push stream carried no frame', { status: 400 });
      if (!sawEof) throw new FerryError('relay_protocol', `Push on ${ch.name} ended without an eof frame`, { status: 400 });
      ch.end();
      await ch.drained;
      return { channel: ch.name, frames, bytes };
    } catch (e) {
      if (ch && !ch.isEnded) ch.abort(e instanceof Error ? e.message : String(e));
      throw e;
    } finally {
      call.off('cancelled', lost);
    }
  }

  private async pull(call: grpc.ServerWritableStream<{ channel: string }, DataFrame>): Promise<void> {
    let ch: RelayChannel | undefined;
    const lost = () => ch?.abort('consumer agent disconnected');
    call.on('cancelled', lost);
    try {
      const agent = this.authenticate(call);
      ch = this.d.relay.attach(call.request.channel, agent.id, 'consumer');
      let seq = 0;
      for await (const data of ch) {
        if (call.cancelled) return;
        this.d.relay.transport.grpc.bytesOut += data.length;
        if (!call.write({ channel: ch.name, seq: seq++, data })) {
          // Remove both listeners whichever fires: a long restore waits for drain thousands of times.
          await new Promise<void>((res) => {
            const done = () => {
              call.off('drain', done);
              call.off('cancelled', done);
              res();
            };
            call.on('drain', done);
            call.on('cancelled', done);
          });
        }
      }
      call.write({ channel: ch.name, seq, eof: true });
      call.end();
    } catch (e) {
      if (!call.cancelled) call.emit('error', toGrpcError(e, this.d.log, 'Pull'));
    } finally {
      call.off('cancelled', lost);
    }
  }
}
