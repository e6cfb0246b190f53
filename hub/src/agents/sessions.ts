import { EventEmitter } from 'node:events';
import type { Logger } from '../../../common/src/logger.ts';
import type { AgentMessage__Output, HubMessage } from '../../../proto/src/load.ts';
import type { TaskAssignment, TaskChannel, TaskListener, TaskLogEvent } from './task-channel.ts';

/** How a session talks back to its agent; the gRPC server provides it over the Connect stream. */
export interface SessionTransport {
  send(msg: HubMessage): void;
  /** End the stream. `code` is a gRPC status code (OK ends normally). */
  close(reason: string, code: number): void;
}

export interface Session {
  readonly agentId: string;
  readonly openedAt: Date;
  lastSeen: number;
  /** Tasks assigned in this session and not yet reported finished. */
  readonly inFlight: Set<string>;
  readonly transport: SessionTransport;
  closed: boolean;
}

export interface SessionRegistryOptions {
  /** No message for this long ends the session (FERRY_AGENT_TIMEOUT_SECONDS). */
  timeoutMs: number;
  log: Logger;
  /** @default Date.now */
  now?: () => number;
}

const NOOP_LISTENER: TaskListener = {
  onProgress: () => undefined,
  onLog: () => undefined,
  onResult: () => undefined,
  onAgentOffline: () => undefined,
  onAgentOnline: () => undefined,
};

const LEVELS = new Set<TaskLogEvent['level']>(['debug', 'info', 'warning', 'error']);

// gRPC status codes used here (kept numeric so this module does not depend on grpc-js).
const UNAVAILABLE = 14;
const ABORTED = 10;

/**
 * Live agent sessions, by agent id. Implements TaskChannel for the job engine: tasks go out as
 * assign_task on the agent's Connect stream and reports come back through the listener.
 * One session per agent: a new Connect from the same agent replaces (closes) the old one.
 * Emits `online(agentId)`, `offline(agentId, inFlight)` and `seen(agentId, at)` for other
 * observers (last_seen persistence, health counts) besides the single engine listener.
 */
export class SessionRegistry
  extends EventEmitter<{ online: [agentId: string]; offline: [agentId: string, inFlight: string[]]; seen: [agentId: string, at: Date] }>
  implements TaskChannel
{
  private readonly sessions = new Map<string, Session>();
  private listener: TaskListener = NOOP_LISTENER;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: SessionRegistryOptions) {
    super();
    this.now = opts.now ?? Date.now;
  }

  setListener(l: TaskListener): void {
    this.listener = l;
  }

  isOnline(agentId: string): boolean {
    return this.sessions.has(agentId);
  }

  onlineAgentIds(): string[] {
    return [...this.sessions.keys()];
  }

  assign(agentId: string, task: TaskAssignment): boolean {
    const s = this.sessions.get(agentId);
    if (!s) return false;
    s.inFlight.add(task.task_id);
    s.transport.send({
      assign_task: { task_id: task.task_id, job_id: task.job_id, kind: task.kind, payload_json: JSON.stringify(task.payload ?? null) },
    });
    return true;
  }

  cancel(agentId: string, taskId: string, reason: string): boolean {
    const s = this.sessions.get(agentId);
    if (!s) return false;
    s.transport.send({ cancel_task: { task_id: taskId, reason } });
    return true;
  }

  /** Register a session after its hello. Returns the session the transport handlers report into. */
  open(agentId: string, transport: SessionTransport, runningTaskIds: string[] = []): Session {
    const old = this.sessions.get(agentId);
    if (old) this.end(old, 'replaced by a new connection from the same agent', ABORTED);
    const s: Session = { agentId, openedAt: new Date(this.now()), lastSeen: this.now(), inFlight: new Set(runningTaskIds), transport, closed: false };
    this.sessions.set(agentId, s);
    this.opts.log.info({ agent_id: agentId }, 'agent online');
    this.safe(() => this.listener.onAgentOnline(agentId));
    this.emit('online', agentId);
    this.emit('seen', agentId, new Date(this.now()));
    return s;
  }

  /** One message from the agent's stream (anything after hello). */
  handle(s: Session, m: AgentMessage__Output): void {
    if (s.closed) return;
    s.lastSeen = this.now();
    const id = s.agentId;
    switch (m.msg) {
      case 'heartbeat':
        s.transport.send({ heartbeat_ack: { received_at: new Date(s.lastSeen).toISOString() } });
        this.emit('seen', id, new Date(s.lastSeen));
        return;
      case 'task_progress': {
        const p = m.task_progress!;
        this.safe(() =>
          this.listener.onProgress(id, {
            task_id: p.task_id,
            percent: p.percent >= 0 ? p.percent : undefined,
            phase: p.phase || undefined,
            counters: Object.keys(p.counters).length ? p.counters : undefined,
            message: p.message || undefined,
          }),
        );
        return;
      }
      case 'task_log': {
        const l = m.task_log!;
        this.safe(() =>
          this.listener.onLog(id, {
            task_id: l.task_id,
            level: LEVELS.has(l.level as TaskLogEvent['level']) ? (l.level as TaskLogEvent['level']) : 'info',
            message: l.message,
            fields: l.fields_json ? (parseJson(l.fields_json) as Record<string, unknown>) : undefined,
            timestamp: l.timestamp || new Date(this.now()).toISOString(),
          }),
        );
        return;
      }
      case 'task_result': {
        const r = m.task_result!;
        s.inFlight.delete(r.task_id);
        this.safe(() =>
          this.listener.onResult(id, {
            task_id: r.task_id,
            ok: r.ok,
            result: r.result_json ? parseJson(r.result_json) : undefined,
            error_code: r.error_code || undefined,
            error_message: r.error_message || undefined,
            retryable: r.ok ? undefined : r.retryable,
          }),
        );
        return;
      }
      default:
        // A second hello or an unknown member: nothing to do, but it counted as a sign of life.
        return;
    }
  }

  /** The agent's stream ended on its side (disconnect, cancel, error). */
  ended(s: Session, reason: string): void {
    if (s.closed) return;
    this.end(s, reason, undefined);
  }

  /** Close an agent's session from the hub side (revoke, shutdown). */
  close(agentId: string, reason: string, code: number): boolean {
    const s = this.sessions.get(agentId);
    if (!s) return false;
    this.end(s, reason, code);
    return true;
  }

  closeAll(reason: string, code = UNAVAILABLE): void {
    for (const s of [...this.sessions.values()]) this.end(s, reason, code);
  }

  /** Start the heartbeat-timeout sweeper. */
  start(): void {
    if (this.sweeper) return;
    const every = Math.max(100, Math.min(1000, Math.floor(this.opts.timeoutMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.closeAll('hub is shutting down');
  }

  /** End sessions whose agent has been silent longer than the timeout. */
  sweep(): void {
    const t = this.now();
    for (const s of [...this.sessions.values()]) {
      if (t - s.lastSeen > this.opts.timeoutMs) this.end(s, `no heartbeat for ${Math.round((t - s.lastSeen) / 1000)} s`, UNAVAILABLE);
    }
  }

  private end(s: Session, reason: string, code: number | undefined): void {
    if (s.closed) return;
    s.closed = true;
    if (this.sessions.get(s.agentId) === s) this.sessions.delete(s.agentId);
    if (code !== undefined) {
      try {
        s.transport.send({ close: { reason } });
        s.transport.close(reason, code);
      } catch (e) {
        this.opts.log.debug({ err: e, agent_id: s.agentId }, 'closing an agent stream failed');
      }
    }
    const inFlight = [...s.inFlight];
    this.opts.log.info({ agent_id: s.agentId, reason, in_flight: inFlight.length }, 'agent offline');
    this.safe(() => this.listener.onAgentOffline(s.agentId, inFlight));
    this.emit('offline', s.agentId, inFlight);
  }

  /** A listener bug must not tear down the agent's stream. */
  private safe(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.opts.log.error({ err: e }, 'task listener threw');
    }
  }
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return { unparsed: s.slice(0, 1000) };
  }
}
