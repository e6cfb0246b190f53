import { status, type ClientDuplexStream } from '@grpc/grpc-js';
import os from 'node:os';
import { FerryError, describeError } from '../../../common/src/errors.ts';
import type { Logger } from '../../../common/src/logger.ts';
import type { AgentHubClient, AgentMessage, HubMessage__Output } from '../../../proto/src/load.ts';
import type { AgentConfig } from '../config.ts';
import { fetchCertificate } from '../enroll/enroll.ts';
import { loadState, saveCertificate, type AgentState } from '../enroll/state.ts';
import { getTask } from '../tasks/registry.ts';
import type { TaskContext } from '../tasks/types.ts';
import { Backoff, sleep } from './backoff.ts';
import { agentHubClient, grpcStatusOf } from './credentials.ts';
import { DataClient, type DataPlaneRoute } from './data.ts';
import type { DataPlaneTarget } from './data-plane-client.ts';

export interface AgentSessionOptions {
  stateDir: string;
  config: AgentConfig;
  log: Logger;
  version: string;
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

/** How one Connect attempt ended. */
type Outcome = { kind: 'closed'; reason: string } | { kind: 'refused'; reason: string } | { kind: 'failed'; reason: string; welcomed: boolean };

/**
 * `ferry-agent run`: keep one Connect session to the hub, forever.
 *
 * - Waits for approval first (polls FetchCertificate with backoff) when enrolled as pending.
 * - Reconnects with exponential backoff (FERRY_AGENT_RECONNECT_MIN/MAX_MS) after any loss.
 * - A hub refusal (revoked, unknown certificate) is logged with the hub's reason and retried
 *   slowly (FERRY_AGENT_REVOKED_RETRY_SECONDS) rather than exiting: under systemd an exit would
 *   only restart the same refusal, and re-enrolling into the same state dir is picked up by the
 *   running agent at its next attempt (state is re-read on every attempt).
 * - A lost session aborts its in-flight tasks: the hub counts them as lost (onAgentOffline)
 *   and redoes the work under new task ids, so finishing them would only duplicate effort.
 * - stop() (SIGTERM): stops taking tasks, aborts in-flight ones, gives them stopGraceMs to
 *   report, then closes the stream.
 */
export class AgentSession {
  private readonly stopController = new AbortController();
  private readonly running = new Map<string, Running>();
  private stream: ClientDuplexStream<AgentMessage, HubMessage__Output> | undefined;
  private client: AgentHubClient | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  /** Resolves on every welcome: lets tests and callers wait for "online". */
  private onlineWaiters: (() => void)[] = [];
  online = false;

  /** The hub's data plane as offered in the last welcome; null: bulk data over gRPC. */
  private dataTarget: DataPlaneTarget | null = null;
  private dataPlaneOffUntil = 0;
  private readonly dataRoute: DataPlaneRoute = {
    target: () => (this.dataTarget && Date.now() >= this.dataPlaneOffUntil ? this.dataTarget : null),
    unreachable: (e) => {
      if (Date.now() >= this.dataPlaneOffUntil) this.o.log.warn({ reason: e.message }, 'hub data plane unreachable; bulk data goes over gRPC for the next 60 s');
      this.dataPlaneOffUntil = Date.now() + 60_000;
    },
  };

  constructor(private readonly o: AgentSessionOptions) {}

  /** Start the connect loop (returns at once; `stop()` ends it). */
  start(): void {
    this.loop ??= this.runLoop().catch((e: unknown) => this.o.log.fatal({ err: e }, 'agent session loop crashed'));
  }

  /** Resolves once a session is welcomed by the hub. */
  waitOnline(): Promise<void> {
    if (this.online) return Promise.resolve();
    return new Promise((res) => this.onlineWaiters.push(res));
  }

  async stop(): Promise<void> {
    if (this.stopping) return this.loop;
    this.stopping = true;
    this.o.log.info({ in_flight: this.running.size }, 'agent stopping');
    for (const r of this.running.values()) r.controller.abort('agent shutting down');
    const all = Promise.allSettled([...this.running.values()].map((r) => r.done));
    await Promise.race([all, sleep(this.o.config.stopGraceMs)]);
    this.stopController.abort();
    this.stream?.end();
    // The hub answers our end by ending its side; if it does not within 2 s, cut the stream.
    await Promise.race([this.loop, sleep(2000)]);
    this.stream?.cancel();
    this.client?.close();
    await this.loop;
  }

  private async runLoop(): Promise<void> {
    const { config, log } = this.o;
    const backoff = new Backoff(config.reconnectMinMs, config.reconnectMaxMs);
    while (!this.stopping) {
      let state: AgentState;
      try {
        state = await this.ensureCertificate();
      } catch (e) {
        if (this.stopping) break;
        log.error({ reason: describeError(e) }, 'cannot get the agent certificate; retrying');
        await sleep(backoff.delay(), this.stopController.signal);
        continue;
      }
      if (this.stopping) break;
      const out = await this.connectOnce(state);
      if (this.stopping) break;
      if (out.kind === 'refused') {
        log.error({ reason: out.reason, retry_in_s: config.refusedRetryMs / 1000 }, `the hub refused this agent: ${out.reason}`);
        await sleep(config.refusedRetryMs, this.stopController.signal);
        continue;
      }
      if (out.kind === 'closed' || (out.kind === 'failed' && out.welcomed)) backoff.reset();
      const d = backoff.delay();
      log.warn({ reason: out.reason, retry_in_ms: d }, 'hub session ended; reconnecting');
      await sleep(d, this.stopController.signal);
    }
  }

  /** Load state; while pending, poll FetchCertificate with backoff until approved. */
  private async ensureCertificate(): Promise<AgentState> {
    // Polls while pending are cheap for the hub; capping them near the reconnect cap means an
    // approved agent comes online within seconds of the admin's approval.
    const backoff = new Backoff(1000, Math.max(this.o.config.reconnectMaxMs, 5000));
    let logged = false;
    for (;;) {
      const state = loadState(this.o.stateDir);
      if (state.certPem) return state;
      const id = state.identity;
      const r = await fetchCertificate(id.hub, state.caPem, id.agent_id, id.pickup_secret);
      if (r.status === 'approved' && r.certificate_pem) {
        saveCertificate(this.o.stateDir, r.certificate_pem);
        this.o.log.info({ agent_id: id.agent_id }, 'agent approved; certificate stored');
        continue;
      }
      if (r.status === 'revoked') throw new FerryError('agent_revoked', `agent ${id.agent_id} was revoked`);
      if (!logged) this.o.log.info({ agent_id: id.agent_id }, `waiting for approval: POST /api/v1/agents/${id.agent_id}/approve on the hub`);
      logged = true;
      await sleep(backoff.delay(), this.stopController.signal);
      if (this.stopping) throw new Error('stopping');
    }
  }

  private connectOnce(state: AgentState): Promise<Outcome> {
    const { config, log } = this.o;
    const client = agentHubClient(state.identity.hub, { caPem: state.caPem, keyPem: state.keyPem, certPem: state.certPem! });
    this.client = client;
    const stream = client.Connect();
    this.stream = stream;
    let welcomed = false;
    let heartbeat: NodeJS.Timeout | undefined;
    let lastFromHub = Date.now();
    const send = (m: AgentMessage) => {
      if (!stream.writableEnded && !stream.destroyed) stream.write(m);
    };

    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const finish = (o: Outcome) => {
        if (settled) return;
        settled = true;
        if (heartbeat) clearInterval(heartbeat);
        this.online = false;
        for (const r of this.running.values()) r.controller.abort('hub session lost');
        stream.removeAllListeners('data');
        if (!stream.destroyed) stream.cancel();
        client.close();
        resolve(o);
      };
      stream.on('data', (m: HubMessage__Output) => {
        lastFromHub = Date.now();
        switch (m.msg) {
          case 'welcome': {
            welcomed = true;
            this.online = true;
            const dataPort = m.welcome!.data_port;
            this.dataTarget =
              config.dataPlane && dataPort > 0
                ? {
                    host: hostOf(state.identity.hub),
                    port: dataPort,
                    caPem: state.caPem,
                    keyPem: state.keyPem,
                    certPem: state.certPem!,
                    local: config.dataSocket ? { socketPath: config.dataSocket, agentId: state.identity.agent_id } : undefined,
                  }
                : null;
            const every = Math.min(config.heartbeatMs, (m.welcome!.heartbeat_interval_seconds || 5) * 1000);
            log.info({ agent_id: m.welcome!.agent_id, hub: state.identity.hub, heartbeat_ms: every, data_port: this.dataTarget?.port ?? null }, 'connected to the hub');
            heartbeat = setInterval(() => {
              // No word from the hub for 4 intervals: the connection is dead even if TCP has not noticed.
              if (Date.now() - lastFromHub > every * 4) finish({ kind: 'failed', reason: 'no heartbeat ack from the hub', welcomed });
              else send({ heartbeat: { sent_at: new Date().toISOString(), running_tasks: this.running.size } });
            }, every);
            for (const w of this.onlineWaiters.splice(0)) w();
            return;
          }
          case 'assign_task':
            this.startTask(m.assign_task!, send, client);
            return;
          case 'cancel_task': {
            const r = this.running.get(m.cancel_task!.task_id);
            r?.controller.abort(m.cancel_task!.reason || 'cancelled by the hub');
            return;
          }
          case 'close':
            log.warn({ reason: m.close!.reason }, 'the hub closed the session');
            return;
          default:
            return;
        }
      });
      stream.on('error', (e: unknown) => {
        const s = grpcStatusOf(e);
        if (s && (s.code === status.PERMISSION_DENIED || s.code === status.UNAUTHENTICATED)) finish({ kind: 'refused', reason: s.details });
        else finish({ kind: 'failed', reason: s?.details ?? describeError(e), welcomed });
      });
      stream.on('end', () => finish({ kind: 'closed', reason: 'the hub ended the session' }));
      send({
        hello: {
          agent_id: state.identity.agent_id,
          hostname: config.hostname,
          version: this.o.version,
          capabilities: config.capabilities,
          inventory_json: JSON.stringify(inventory(config)),
          running_task_ids: [],
        },
      });
    });
  }

  private startTask(t: { task_id: string; job_id: string; kind: string; payload_json: string }, send: (m: AgentMessage) => void, client: AgentHubClient): void {
    const log = this.o.log.child({ task_id: t.task_id, kind: t.kind });
    const result = (r: { ok: boolean; result?: unknown; code?: string; message?: string; retryable?: boolean }) =>
      send({
        task_result: {
          task_id: t.task_id,
          ok: r.ok,
          result_json: r.ok ? JSON.stringify(r.result ?? null) : '',
          error_code: r.code ?? '',
          error_message: r.message ?? '',
          retryable: r.retryable ?? false,
        },
      });
    if (this.stopping) return result({ ok: false, code: 'agent_stopping', message: 'the agent is shutting down', retryable: true });
    if (this.running.has(t.task_id)) return;
    const handler = getTask(t.kind);
    if (!handler) return result({ ok: false, code: 'unknown_task_kind', message: `this agent (version ${this.o.version}) cannot run tasks of kind ${t.kind}` });
    let payload: unknown;
    try {
      payload = t.payload_json ? JSON.parse(t.payload_json) : null;
    } catch {
      return result({ ok: false, code: 'bad_task_payload', message: 'the task payload is not valid JSON' });
    }
    const controller = new AbortController();
    const data = new DataClient(() => client, controller.signal, this.dataRoute);
    const ctx: TaskContext = {
      taskId: t.task_id,
      jobId: t.job_id,
      signal: controller.signal,
      progress: (p) =>
        send({
          task_progress: { task_id: t.task_id, percent: p.percent ?? -1, phase: p.phase ?? '', counters: p.counters ?? {}, message: p.message ?? '' },
        }),
      log: (level, message, fields) =>
        send({ task_log: { task_id: t.task_id, level, message, fields_json: fields ? JSON.stringify(fields) : '', timestamp: new Date().toISOString() } }),
      openPush: (channel) => data.openPush(channel),
      openPull: (channel) => data.openPull(channel),
      call: (method, p) => data.call(method, p),
    };
    log.debug('task started');
    const done = (async () => {
      try {
        const r = await handler(payload, ctx);
        result({ ok: true, result: r });
        log.debug('task finished');
      } catch (e) {
        if (e instanceof FerryError) result({ ok: false, code: e.code, message: e.message, retryable: e.retryable });
        else if (controller.signal.aborted) result({ ok: false, code: 'cancelled', message: String(controller.signal.reason ?? 'cancelled'), retryable: true });
        else result({ ok: false, code: 'task_failed', message: e instanceof Error ? e.message : String(e) });
        log.info({ reason: describeError(e) }, 'task failed');
      } finally {
        this.running.delete(t.task_id);
      }
    })();
    this.running.set(t.task_id, { controller, done });
  }
}

/** The host part of a gRPC target: "h:p", "[v6]:p" or a bare host. */
export function hostOf(target: string): string {
  const t = target.replace(/^dns:\/\/\//, '');
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(t);
  if (v6) return v6[1]!;
  const i = t.lastIndexOf(':');
  return i > 0 && t.indexOf(':') === i ? t.slice(0, i) : t;
}

function inventory(config: AgentConfig): Record<string, unknown> {
  return {
    platform: process.platform,
    arch: process.arch,
    node: process.version,
    cpus: os.cpus().length,
    memory_bytes: os.totalmem(),
    disk_paths: config.diskPaths,
    restore_paths: config.restorePaths,
  };
}
