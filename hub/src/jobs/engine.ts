import { FerryError, describeError, invalidState } from '../../../common/src/errors.ts';
import { newId } from '../../../common/src/ids.ts';
import type { Logger } from '../../../common/src/logger.ts';
import type { TaskChannel, TaskListener, TaskLogEvent, TaskProgressEvent, TaskResultEvent } from '../agents/task-channel.ts';
import { JobBus } from './bus.ts';
import type { JobStore } from './store.ts';
import { RateWindow } from './throughput.ts';
import { TERMINAL, type Job, type JobProgress, type LogLevel } from './types.ts';

/** What a job runner returns: finished, or stopped at a safe point because a pause was asked. */
export type RunOutcome = { status: 'completed'; result?: unknown } | { status: 'paused' };

export interface RunTaskOptions {
  /** Attempts in all, counting the first. A lost agent or a retryable failure uses one. @default 3 */
  maxAttempts?: number;
  /** How long to wait for the agent to be online before each attempt. @default engine's agentWaitMs */
  agentWaitMs?: number;
}

export interface JobContext {
  job: Job;
  /** Aborted when the job is cancelled (and, with `immediate`, paused). */
  signal: AbortSignal;
  pauseRequested(): boolean;
  runTask(agentId: string, kind: string, payload: unknown, opts?: RunTaskOptions): Promise<unknown>;
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  progress(p: JobProgress): void;
  setPhase(phase: string): void;
}

export type JobRunner = (ctx: JobContext) => Promise<RunOutcome>;

interface Pending {
  jobId: string;
  agentId: string;
  resolve: (r: TaskResultEvent) => void;
  reject: (e: Error) => void;
}

interface Live {
  abort: AbortController;
  pause: boolean;
  immediate: boolean;
  counters: Record<string, number>;
  taskCounters: Map<string, Record<string, number>>;
  rates: RateWindow;
  lastWrite: number;
  pendingProgress?: JobProgress;
}

export interface EngineOptions {
  store: JobStore;
  channel: TaskChannel;
  log: Logger;
  now?: () => Date;
  /** How long a task waits for its agent to come (back) online before the job fails. @default 600000 */
  agentWaitMs?: number;
}

/**
 * Runs jobs: persists their state, hands tasks to agents through the TaskChannel, collects
 * progress/logs/results, and recovers after a restart. Job kinds plug in as runners; the engine
 * knows nothing of migrations or backups.
 */
export class JobEngine implements TaskListener {
  readonly bus = new JobBus();
  private readonly runners = new Map<string, JobRunner>();
  private readonly pending = new Map<string, Pending>();
  private readonly live = new Map<string, Live>();
  private readonly onlineWaiters = new Map<string, Set<() => void>>();
  private readonly store: JobStore;
  private readonly channel: TaskChannel;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly agentWaitMs: number;

  constructor(o: EngineOptions) {
    this.store = o.store;
    this.channel = o.channel;
    this.log = o.log;
    this.now = o.now ?? (() => new Date());
    this.agentWaitMs = o.agentWaitMs ?? 600_000;
    this.channel.setListener(this);
  }

  registerRunner(kind: string, runner: JobRunner): void {
    this.runners.set(kind, runner);
  }

  create(input: { kind: string; agent_id?: string | null; resource_type?: string; resource_id?: string; params?: Record<string, unknown>; phase?: string }): Job {
    const t = this.now().toISOString();
    const job: Job = {
      id: newId('job'),
      kind: input.kind,
      status: 'queued',
      phase: input.phase ?? null,
      agent_id: input.agent_id ?? null,
      resource_type: input.resource_type ?? null,
      resource_id: input.resource_id ?? null,
      params: input.params ?? {},
      progress: {},
      result: null,
      error: null,
      created_at: t,
      started_at: null,
      finished_at: null,
      updated_at: t,
    };
    this.store.insert(job);
    return job;
  }

  /** Start (or restart after recovery/resume) the job's runner in the background. */
  start(jobId: string): Job {
    const job = this.store.get(jobId);
    if (TERMINAL.has(job.status)) throw invalidState('job', job.status, 'start');
    if (this.live.has(jobId)) return job;
    const runner = this.runners.get(job.kind);
    if (!runner) throw new FerryError('unknown_job_kind', `No runner for job kind ${job.kind}`, { status: 500 });
    const live: Live = { abort: new AbortController(), pause: false, immediate: false, counters: {}, taskCounters: new Map(), rates: new RateWindow(), lastWrite: 0 };
    live.counters = { ...(job.progress.counters ?? {}) };
    this.live.set(jobId, live);
    const t = this.now().toISOString();
    this.store.update(jobId, { status: 'running', started_at: job.started_at ?? t, updated_at: t });
    const running = this.store.get(jobId);
    this.bus.emit(jobId, 'status', running);
    void this.drive(running, runner, live);
    return running;
  }

  private async drive(job: Job, runner: JobRunner, live: Live): Promise<void> {
    const ctx = this.contextFor(job, live);
    let outcome: RunOutcome | undefined;
    let error: unknown;
    try {
      outcome = await runner(ctx);
    } catch (e) {
      error = e;
    }
    this.live.delete(job.id);
    this.flushProgress(job.id, live, true);
    const t = this.now().toISOString();
    const current = this.store.get(job.id);
    if (current.status === 'cancelling' || live.abort.signal.aborted && !live.pause) {
      this.store.update(job.id, { status: 'cancelled', finished_at: t, updated_at: t });
    } else if (error !== undefined) {
      const fe = error instanceof FerryError ? error : null;
      if (!fe) this.log.error({ err: error, job_id: job.id }, 'job runner crashed');
      const err = { code: fe?.code ?? 'internal_error', message: fe?.message ?? describeError(error) };
      this.appendLog(job.id, 'error', `Job failed: ${err.message}`, { code: err.code });
      this.store.update(job.id, { status: 'failed', error: err, finished_at: t, updated_at: t });
    } else if (outcome?.status === 'paused') {
      this.store.update(job.id, { status: 'paused', updated_at: t });
    } else {
      this.store.update(job.id, { status: 'completed', result: outcome?.result ?? null, finished_at: t, updated_at: t });
    }
    this.bus.emit(job.id, 'status', this.store.get(job.id));
  }

  private contextFor(job: Job, live: Live): JobContext {
    return {
      job,
      signal: live.abort.signal,
      pauseRequested: () => live.pause,
      runTask: (agentId, kind, payload, opts) => this.runTask(job.id, live, agentId, kind, payload, opts),
      log: (level, message, fields) => this.appendLog(job.id, level, message, fields),
      progress: (p) => this.setProgress(job.id, live, p),
      setPhase: (phase) => {
        this.store.update(job.id, { phase, updated_at: this.now().toISOString() });
        this.setProgress(job.id, live, { phase });
      },
    };
  }

  pause(jobId: string, immediate = false): Job {
    const job = this.store.get(jobId);
    if (job.status === 'paused' || job.status === 'pausing') return job;
    if (job.status !== 'running') throw invalidState('job', job.status, 'pause');
    const live = this.live.get(jobId);
    this.store.update(jobId, { status: live ? 'pausing' : 'paused', updated_at: this.now().toISOString() });
    if (live) {
      live.pause = true;
      live.immediate = immediate;
      if (immediate) live.abort.abort(new FerryError('paused', 'Paused immediately'));
    }
    const j = this.store.get(jobId);
    this.bus.emit(jobId, 'status', j);
    return j;
  }

  resume(jobId: string): Job {
    const job = this.store.get(jobId);
    if (job.status !== 'paused') throw invalidState('job', job.status, 'resume');
    return this.start(jobId);
  }

  cancel(jobId: string, reason: string): Job {
    const job = this.store.get(jobId);
    if (TERMINAL.has(job.status)) throw invalidState('job', job.status, 'cancel');
    const live = this.live.get(jobId);
    const t = this.now().toISOString();
    this.appendLog(jobId, 'warning', `Cancel requested: ${reason}`);
    if (live) {
      this.store.update(jobId, { status: 'cancelling', updated_at: t });
      live.abort.abort(new FerryError('cancelled', reason));
      for (const [taskId, p] of this.pending) if (p.jobId === jobId) this.channel.cancel(p.agentId, taskId, reason);
    } else {
      this.store.update(jobId, { status: 'cancelled', finished_at: t, updated_at: t });
    }
    const j = this.store.get(jobId);
    this.bus.emit(jobId, 'status', j);
    return j;
  }

  /** After a hub start: in-flight tasks are lost; running jobs go back to their runners. */
  recover(): { resumed: string[] } {
    const t = this.now().toISOString();
    this.store.markAllInFlightLost(t);
    const resumed: string[] = [];
    for (const job of this.store.byStatus(['running', 'pausing', 'cancelling', 'queued'])) {
      if (job.status === 'pausing') {
        this.store.update(job.id, { status: 'paused', updated_at: t });
        continue;
      }
      if (job.status === 'cancelling') {
        this.store.update(job.id, { status: 'cancelled', finished_at: t, updated_at: t });
        continue;
      }
      if (job.status === 'queued' && job.params.deferred) continue;
      if (!this.runners.has(job.kind)) {
        this.store.update(job.id, { status: 'failed', error: { code: 'unknown_job_kind', message: `No runner for ${job.kind}` }, finished_at: t, updated_at: t });
        continue;
      }
      this.appendLog(job.id, 'info', 'Hub restarted: resuming job from its last checkpoint');
      this.start(job.id);
      resumed.push(job.id);
    }
    return { resumed };
  }

  private async runTask(jobId: string, live: Live, agentId: string, kind: string, payload: unknown, opts: RunTaskOptions = {}): Promise<unknown> {
    const max = opts.maxAttempts ?? 3;
    let lastErr: FerryError | null = null;
    for (let attempt = 1; attempt <= max; attempt++) {
      live.abort.signal.throwIfAborted();
      await this.waitOnline(agentId, opts.agentWaitMs ?? this.agentWaitMs, live.abort.signal);
      const taskId = newId('tsk');
      const t = this.now().toISOString();
      this.store.insertTask({ id: taskId, job_id: jobId, agent_id: agentId, kind, attempt, created_at: t });
      const done = new Promise<TaskResultEvent>((resolve, reject) => this.pending.set(taskId, { jobId, agentId, resolve, reject }));
      const onAbort = () => {
        this.channel.cancel(agentId, taskId, 'job stopped');
        this.settle(taskId, 'cancelled', undefined, { code: 'cancelled' });
      };
      live.abort.signal.addEventListener('abort', onAbort, { once: true });
      if (!this.channel.assign(agentId, { task_id: taskId, job_id: jobId, kind, payload })) {
        this.settle(taskId, 'lost', undefined, { code: 'agent_offline' });
      }
      try {
        const r = await done;
        if (r.ok) return r.result;
        lastErr = new FerryError(r.error_code ?? 'task_failed', r.error_message ?? `Task ${kind} failed`, { status: 422, retryable: r.retryable });
        if (!r.retryable) throw lastErr;
        this.appendLog(jobId, 'warning', `Task ${kind} failed on attempt ${attempt}/${max}: ${lastErr.message}`);
      } catch (e) {
        if (e instanceof AgentLost) {
          lastErr = new FerryError('agent_offline', `Agent ${agentId} went away while running ${kind}`, { status: 409, retryable: true });
          this.appendLog(jobId, 'warning', `Agent ${agentId} was lost during ${kind} (attempt ${attempt}/${max}); will retry when it is back`);
          continue;
        }
        throw e;
      } finally {
        live.abort.signal.removeEventListener('abort', onAbort);
      }
    }
    throw lastErr ?? new FerryError('task_failed', `Task ${kind} failed`);
  }

  private settle(taskId: string, status: 'done' | 'failed' | 'lost' | 'cancelled', result: unknown, error: unknown): Pending | undefined {
    const p = this.pending.get(taskId);
    this.store.finishTask(taskId, status, result, error, this.now().toISOString());
    if (!p) return undefined;
    this.pending.delete(taskId);
    const live = this.live.get(p.jobId);
    if (live) {
      // Keep the finished task's counters in the job total, drop its per-task tracking.
      const tc = live.taskCounters.get(taskId);
      if (tc) live.taskCounters.delete(taskId);
    }
    if (status === 'lost') p.reject(new AgentLost());
    else if (status === 'cancelled') p.reject(new FerryError('cancelled', 'Task cancelled'));
    return p;
  }

  private waitOnline(agentId: string, ms: number, signal: AbortSignal): Promise<void> {
    if (this.channel.isOnline(agentId)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const set = this.onlineWaiters.get(agentId) ?? new Set();
      this.onlineWaiters.set(agentId, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        clearTimeout(timer);
        set.delete(done);
        reject(signal.reason instanceof Error ? signal.reason : new FerryError('cancelled', 'Job stopped'));
      };
      const timer = setTimeout(() => {
        set.delete(done);
        signal.removeEventListener('abort', onAbort);
        reject(new FerryError('agent_offline', `Agent ${agentId} is not online (waited ${Math.round(ms / 1000)} s)`, { status: 409, retryable: true }));
      }, ms);
      set.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  // ---- TaskListener ----

  onProgress(_agentId: string, e: TaskProgressEvent): void {
    const p = this.pending.get(e.task_id);
    if (!p) return;
    const live = this.live.get(p.jobId);
    if (!live) return;
    if (e.counters) {
      // Task counters are cumulative per task; the job total adds each task's latest delta.
      const prev = live.taskCounters.get(e.task_id) ?? {};
      for (const [k, v] of Object.entries(e.counters)) live.counters[k] = (live.counters[k] ?? 0) + v - (prev[k] ?? 0);
      live.taskCounters.set(e.task_id, { ...prev, ...e.counters });
    }
    this.setProgress(p.jobId, live, { percent: e.percent, message: e.message });
  }

  onLog(_agentId: string, e: TaskLogEvent): void {
    const p = this.pending.get(e.task_id);
    if (!p) return;
    this.appendLog(p.jobId, e.level, e.message, e.fields, e.timestamp);
  }

  onResult(_agentId: string, e: TaskResultEvent): void {
    const p = this.settle(e.task_id, e.ok ? 'done' : 'failed', e.result, e.ok ? undefined : { code: e.error_code, message: e.error_message });
    p?.resolve(e);
  }

  onAgentOffline(agentId: string, inFlight: string[]): void {
    const ids = new Set(inFlight);
    for (const [taskId, p] of [...this.pending]) if (p.agentId === agentId || ids.has(taskId)) this.settle(taskId, 'lost', undefined, { code: 'agent_offline' });
  }

  onAgentOnline(agentId: string): void {
    const set = this.onlineWaiters.get(agentId);
    if (set) for (const f of [...set]) f();
  }

  // ---- progress and logs ----

  appendLog(jobId: string, level: LogLevel, message: string, fields?: Record<string, unknown>, timestamp?: string): void {
    const job = this.store.find(jobId);
    if (!job) return;
    const l = this.store.appendLog({ job_id: jobId, timestamp: timestamp ?? this.now().toISOString(), level, phase: job.phase, message, fields });
    this.bus.emit(jobId, 'log', l);
  }

  private setProgress(jobId: string, live: Live, p: JobProgress): void {
    const job = this.store.get(jobId);
    const t = this.now().getTime();
    const merged: JobProgress = { ...job.progress, ...stripUndefined(p), counters: { ...live.counters } };
    merged.throughput = live.rates.add(t, live.counters);
    this.bus.emit(jobId, 'progress', { ...merged, job_id: jobId, status: job.status });
    // Progress arrives many times a second on a fast copy; persisting twice a second is enough.
    if (t - live.lastWrite >= 500) {
      live.lastWrite = t;
      this.store.update(jobId, { progress: merged, updated_at: new Date(t).toISOString() });
    } else {
      live.pendingProgress = merged;
    }
  }

  private flushProgress(jobId: string, live: Live, _final: boolean): void {
    const job = this.store.find(jobId);
    if (!job) return;
    const merged: JobProgress = { ...job.progress, ...(live.pendingProgress ?? {}), counters: { ...live.counters } };
    this.store.update(jobId, { progress: merged, updated_at: this.now().toISOString() });
  }
}

class AgentLost extends Error {
  constructor() {
    super('agent lost');
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
