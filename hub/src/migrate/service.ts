/**
 * Lifecycle actions behind the REST API: create, start, pause, resume, cancel, delete, patch,
 * and mapping decisions. Each checks the state machine (types.ts) and answers the seed's codes:
 * `invalid_state`, `plan_not_ready`, `approval_required`, `migration_not_found`.
 */
import { FerryError, conflict, invalidState, validationError } from '../../../common/src/errors.ts';
import { newId } from '../../../common/src/ids.ts';
import type { ConnectionFields } from '../connections/parse.ts';
import { parseConnectionString } from '../connections/parse.ts';
import type { Job } from '../jobs/types.ts';
import { TERMINAL } from '../jobs/types.ts';
import type { MigrationDeps } from './context.ts';
import { applyOverride, PlannerError, setMappingStatus, unresolvedMappings } from './planner/index.ts';
import type { MappingOverride, MappingStatus, Plan, TransformationKind } from './planner/types.ts';
import { TRANSFORMATIONS } from './planner/types.ts';
import { checkWindow, mayRun } from './schedule.ts';
import { initialPhases } from './store.ts';
import { ACTIVE_STATUSES, DEFAULT_OPTIONS, JOB_KINDS, RUN_PHASES, type Migration, type MigrationOptions, type MigrationSchedule, type RunPhase } from './types.ts';

export interface EndpointInput {
  connection_id?: string;
  type?: string;
  connection_string?: string;
  schema?: string;
  schemas?: string[];
  exclude_tables?: string[];
}

export interface CreateInput {
  name: string;
  description?: string | null;
  source: EndpointInput;
  target: EndpointInput;
  options?: Partial<MigrationOptions>;
  schedule?: Partial<MigrationSchedule>;
  notifications?: Record<string, unknown>;
}

export interface MappingChange {
  status?: MappingStatus;
  type?: string;
  transformation?: string;
  comment?: string | null;
}

export class MigrationService {
  constructor(
    private readonly d: MigrationDeps,
    private readonly defaultAgentId: () => string | null,
  ) {}

  // ---- create ----

  private endpoint(e: EndpointInput, side: 'source' | 'target', name: string): { id: string; inline: boolean } {
    if (e.connection_id) {
      if (!connectionExists(this.d, e.connection_id)) {
        throw new FerryError('connection_not_found', `No connection exists with ID ${JSON.stringify(e.connection_id)}`, { status: 422, details: { field: `${side}.connection_id` } });
      }
      return { id: e.connection_id, inline: false };
    }
    if (!e.connection_string) throw validationError(`${side} needs "connection_id" or "connection_string"`, { field: side });
    let f: ConnectionFields;
    try {
      f = parseConnectionString(e.connection_string);
    } catch (err) {
      const fe = err as FerryError;
      throw validationError(fe.message, { field: `${side}.connection_string` });
    }
    if (e.type && normalType(e.type) !== f.type) throw validationError(`${side}.type "${e.type}" does not match the connection string (${f.type})`, { field: `${side}.type` });
    const agent = this.defaultAgentId();
    if (!agent) throw validationError('No built-in agent to reach an inline connection: register a connection with an agent_id', { field: `${side}.connection_string` });
    // Inline strings become connections so the password is sealed like any other; they belong to this migration.
    const c = this.d.connections.create({ ...f, name: `${name} (${side})`, agent_id: agent, description: 'Created inline by a migration; deleted with it' });
    return { id: c.id, inline: true };
  }

  create(input: CreateInput, createdBy: string | null): Migration {
    const schedule: MigrationSchedule = { start_at: input.schedule?.start_at ?? null, maintenance_window: input.schedule?.maintenance_window ?? null };
    if (schedule.maintenance_window) {
      const bad = checkWindow(schedule.maintenance_window);
      if (bad) throw validationError(bad, { field: 'schedule.maintenance_window' });
    }
    const src = this.endpoint(input.source, 'source', input.name);
    const dst = this.endpoint(input.target, 'target', input.name);
    if (this.d.connections.get(dst.id).type !== 'postgresql') {
      throw validationError('The target must be a PostgreSQL connection', { field: 'target.connection_id' });
    }
    const schemas = input.source.schemas ?? (input.source.schema ? [input.source.schema] : []);
    const t = this.d.now().toISOString();
    const m: Migration = {
      id: newId('mig'),
      name: input.name,
      description: input.description ?? null,
      status: 'pending',
      phase: null,
      source: { connection_id: src.id, inline: src.inline, schemas, exclude_tables: input.source.exclude_tables ?? [] },
      target: { connection_id: dst.id, inline: dst.inline, schema: input.target.schema ?? 'public' },
      options: { ...DEFAULT_OPTIONS, ...stripUndefined(input.options ?? {}) },
      schedule,
      notifications: input.notifications ?? {},
      plan: null,
      catalog: null,
      plan_generated_at: null,
      phases: initialPhases(),
      created_objects: [],
      error: null,
      pause_reason: null,
      cancel: null,
      created_by: createdBy,
      created_at: t,
      updated_at: t,
      started_at: null,
      finished_at: null,
    };
    this.d.store.insert(m);
    this.launch(m.id, JOB_KINDS.plan, 'planning', {});
    return this.d.store.get(m.id);
  }

  private launch(id: string, kind: string, phase: string | null, params: Record<string, unknown>, deferred = false): Job {
    const job = this.d.engine.create({ kind, resource_type: 'migration', resource_id: id, params: { ...params, ...(deferred ? { deferred: true } : {}) }, phase: phase ?? undefined });
    this.d.store.linkJob(id, job.id, kind, phase);
    if (!deferred) this.d.engine.start(job.id);
    return this.d.jobs.get(job.id);
  }

  /** The newest job of a kind (the run in progress, paused or last finished). */
  latestJob(id: string, kind: string): Job | null {
    const ids = this.d.store.jobIds(id, kind);
    const last = ids[ids.length - 1];
    return last ? this.d.jobs.find(last) : null;
  }

  // ---- start / pause / resume ----

  start(id: string, o: { skip_approval?: boolean; start_from_phase?: RunPhase; dry_run?: boolean }) {
    const m = this.d.store.get(id);
    if (m.status === 'pending' || m.status === 'planning' || (m.status === 'failed' && !m.plan)) {
      throw conflict('plan_not_ready', `The plan of migration ${id} is not ready (status ${m.status}); wait for plan_ready or approved`, { current_status: m.status });
    }
    if (!['plan_ready', 'approved', 'failed'].includes(m.status)) throw invalidState('migration', m.status, 'start');
    const plan = m.plan as Plan;
    const waiting = unresolvedMappings(plan);
    if (waiting.length > 0 && !o.skip_approval) {
      throw conflict('approval_required', `${waiting.length} mapping(s) need a decision before the migration can start; approve them or start with skip_approval`, {
        pending_mappings: waiting.slice(0, 20).map((x) => x.id),
        count: waiting.length,
      });
    }
    const now = this.d.now();
    const wouldRun = RUN_PHASES.filter((p) => !o.start_from_phase || RUN_PHASES.indexOf(p) >= RUN_PHASES.indexOf(o.start_from_phase));
    if (o.dry_run) {
      return {
        id,
        status: m.status,
        dry_run: true,
        would_run: {
          phases: wouldRun,
          tables: plan.tables.map((t) => t.target.table),
          estimated_records: plan.summary.estimated_records,
          statements: { create: plan.ddl.create_tables.length, primary_keys: plan.ddl.primary_keys.length, indexes: plan.ddl.indexes.length, foreign_keys: plan.ddl.foreign_keys.length, sequences: plan.ddl.sequences.length, checks: plan.ddl.checks.length },
          pending_mappings: waiting.length,
          scheduled_for: mayRun(m, now) ? null : (m.schedule.start_at ?? null),
        },
        message: 'Dry run: nothing was started',
      };
    }
    if (o.start_from_phase) {
      const from = RUN_PHASES.indexOf(o.start_from_phase);
      const phases = m.phases.map((p) => (RUN_PHASES.indexOf(p.name as RunPhase) >= from ? { ...p, status: 'pending' as const, progress_percent: null } : p));
      this.d.store.update(id, { phases });
      if (from <= RUN_PHASES.indexOf('data_transfer') && o.start_from_phase !== 'schema_migration') {
        // Redo the transfer from scratch: units are reloaded (idempotently) from the start.
        this.d.store.db.prepare(`UPDATE migration_units SET status = 'pending', attempts = 0 WHERE migration_id = ?`).run(id);
      }
    }
    const params = { start_from_phase: o.start_from_phase ?? null, skip_approval: o.skip_approval ?? false };
    if (!mayRun(m, now)) {
      this.d.store.update(id, { status: 'approved', error: null });
      this.launch(id, JOB_KINDS.run, null, params, true);
      const at = m.schedule.start_at && Date.parse(m.schedule.start_at) > now.getTime() ? m.schedule.start_at : 'the next maintenance window';
      return { id, status: 'approved' as const, phase: null, started_at: null, scheduled: true, message: `Migration scheduled: it starts at ${at}` };
    }
    this.d.store.update(id, { status: 'running', error: null, started_at: m.started_at ?? now.toISOString() });
    this.launch(id, JOB_KINDS.run, null, params);
    const after = this.d.store.get(id);
    return { id, status: 'running' as const, phase: after.phase === 'planning' || !after.phase ? 'schema_migration' : after.phase, started_at: after.started_at, message: 'Migration started successfully' };
  }

  pause(id: string, o: { reason?: string; immediate?: boolean }) {
    const m = this.d.store.get(id);
    if (m.status === 'paused' || m.status === 'pausing') return { id, status: m.status, message: 'Migration is already pausing or paused', checkpoint_eta: null };
    if (m.status !== 'running' && m.status !== 'validating') throw invalidState('migration', m.status, 'pause');
    const job = this.latestJob(id, JOB_KINDS.run);
    if (!job || TERMINAL.has(job.status)) throw invalidState('migration', m.status, 'pause');
    this.d.store.update(id, { status: 'pausing', pause_reason: o.reason ?? 'user' });
    const j = job.status === 'queued' ? job : this.d.engine.pause(job.id, o.immediate ?? false);
    if (j.status === 'paused' || j.status === 'queued') this.d.store.transition(id, ['pausing'], 'paused');
    this.d.engine.appendLog(job.id, 'info', `Pause requested${o.reason ? `: ${o.reason}` : ''}${o.immediate ? ' (immediate: in-flight units are abandoned and redone on resume)' : ''}`);
    return {
      id,
      status: 'pausing' as const,
      message: o.immediate ? 'Migration is pausing now; in-flight units are abandoned and will be redone' : 'Migration will pause at next checkpoint',
      checkpoint_eta: null,
    };
  }

  resume(id: string) {
    const m = this.d.store.get(id);
    if (m.status !== 'paused') throw invalidState('migration', m.status, 'resume');
    const t = this.d.store.unitTotals(id);
    const checkpoint = `ckpt_${m.phase ?? 'start'}_${t.done}of${t.units}`;
    if (!mayRun(m, this.d.now())) {
      this.d.store.update(id, { pause_reason: 'maintenance_window' });
      return { id, status: 'paused' as const, resumed_at: null, resumed_from_checkpoint: checkpoint, message: 'Outside the maintenance window: the migration resumes when the window opens' };
    }
    this.wakePaused(m);
    return { id, status: 'running' as const, resumed_at: this.d.now().toISOString(), resumed_from_checkpoint: checkpoint };
  }

  private wakePaused(m: Migration): void {
    const job = this.latestJob(m.id, JOB_KINDS.run);
    this.d.store.update(m.id, { status: 'running', pause_reason: null });
    if (job && job.status === 'paused') this.d.engine.resume(job.id);
    else if (!job || TERMINAL.has(job.status)) this.launch(m.id, JOB_KINDS.run, null, {});
  }

  /** Scheduler: a deferred start whose time came, or a window-paused run whose window opened. */
  wake(m: Migration): void {
    if (m.status === 'paused') return this.wakePaused(m);
    const job = this.latestJob(m.id, JOB_KINDS.run);
    if (m.status === 'approved' && job?.status === 'queued') {
      this.d.jobs.update(job.id, { params: { ...job.params, deferred: false } });
      this.d.store.update(m.id, { status: 'running', started_at: m.started_at ?? this.d.now().toISOString() });
      this.d.engine.start(job.id);
    }
  }

  waiting(): Migration[] {
    return this.d.store.byStatus(['approved', 'paused']).filter((m) => {
      if (m.status === 'paused') return m.pause_reason === 'maintenance_window';
      return this.latestJob(m.id, JOB_KINDS.run)?.status === 'queued';
    });
  }

  // ---- cancel / delete ----

  cancel(id: string, o: { reason?: string; rollback?: boolean; force?: boolean }) {
    const m = this.d.store.get(id);
    if (['completed', 'cancelled', 'rolled_back', 'rolling_back'].includes(m.status)) throw invalidState('migration', m.status, 'cancel');
    const reason = o.reason ?? 'cancelled by user';
    const rollback = o.rollback ?? false;
    const doRollback = rollback && m.created_objects.length > 0;
    this.d.store.update(id, {
      status: doRollback ? 'rolling_back' : 'cancelled',
      cancel: { reason, rollback, force: o.force ?? false },
      finished_at: doRollback ? null : this.d.now().toISOString(),
    });
    for (const jid of this.d.store.jobIds(id)) {
      const j = this.d.jobs.find(jid);
      if (j && !TERMINAL.has(j.status)) this.d.engine.cancel(jid, reason);
    }
    if (doRollback) this.launch(id, JOB_KINDS.rollback, 'rollback', {});
    else if (rollback) this.d.store.update(id, { status: 'rolled_back', finished_at: this.d.now().toISOString() });
    return {
      id,
      status: doRollback ? ('rolling_back' as const) : rollback ? ('rolled_back' as const) : ('cancelled' as const),
      rollback_status: doRollback ? 'initiated' : rollback ? 'nothing_to_roll_back' : 'not_requested',
      message: doRollback ? 'Migration cancelled; dropping what it created on the target' : 'Migration cancelled',
    };
  }

  delete(id: string, o: { keep_logs: boolean; keep_metrics: boolean }, metrics: () => unknown) {
    const m = this.d.store.get(id);
    if (ACTIVE_STATUSES.has(m.status)) throw invalidState('migration', m.status, 'delete');
    const jobIds = this.d.store.jobIds(id);
    for (const jid of jobIds) {
      const j = this.d.jobs.find(jid);
      if (j && !TERMINAL.has(j.status)) this.d.engine.cancel(jid, 'migration deleted');
    }
    if (o.keep_metrics) this.d.store.archiveMetrics(id, m.name, metrics());
    this.d.store.delete(id);
    if (!o.keep_logs && jobIds.length) this.d.store.db.prepare(`DELETE FROM jobs WHERE id IN (${jobIds.map(() => '?').join(',')})`).run(...jobIds);
    for (const e of [m.source, m.target]) {
      if (e.inline && connectionExists(this.d, e.connection_id)) this.d.connections.delete(e.connection_id);
    }
    return { id, deleted: true as const, logs_retained: o.keep_logs, metrics_retained: o.keep_metrics };
  }

  patch(id: string, p: { name?: string; description?: string | null; options?: Partial<MigrationOptions>; schedule?: Partial<MigrationSchedule>; notifications?: Record<string, unknown> }): Migration {
    const m = this.d.store.get(id);
    if (ACTIVE_STATUSES.has(m.status)) throw invalidState('migration', m.status, 'update');
    const schedule = p.schedule ? { ...m.schedule, ...stripUndefined(p.schedule) } : undefined;
    if (schedule?.maintenance_window) {
      const bad = checkWindow(schedule.maintenance_window);
      if (bad) throw validationError(bad, { field: 'schedule.maintenance_window' });
    }
    this.d.store.update(id, { name: p.name, description: p.description, options: p.options ? { ...m.options, ...stripUndefined(p.options) } : undefined, schedule });
    if (p.notifications) this.d.store.db.prepare('UPDATE migrations SET notifications = ? WHERE id = ?').run(JSON.stringify(p.notifications), id);
    return this.d.store.get(id);
  }

  // ---- mappings ----

  changeMappings(id: string, changes: (MappingChange & { mapping_id: string })[], by: string | null): Plan {
    const m = this.d.store.get(id);
    if (!['plan_ready', 'approved', 'paused', 'failed', 'completed'].includes(m.status) || !m.plan) throw invalidState('migration', m.status, 'change mappings of');
    let plan = m.plan;
    try {
      for (const c of changes) {
        const override: MappingOverride = {};
        if (c.type !== undefined) override.type = c.type;
        if (c.transformation !== undefined) override.transformation = c.transformation as TransformationKind;
        if (override.type !== undefined || override.transformation !== undefined) plan = applyOverride(plan, c.mapping_id, override);
        if (c.status) plan = setMappingStatus(plan, c.mapping_id, c.status);
        else if (!plan.mappings.some((x) => x.id === c.mapping_id)) plan = setMappingStatus(plan, c.mapping_id, 'approved');
      }
    } catch (e) {
      if (e instanceof PlannerError) {
        throw new FerryError(e.code, e.message, { status: e.code === 'mapping_not_found' ? 404 : 422 });
      }
      throw e;
    }
    this.d.store.db.transaction(() => {
      this.d.store.update(id, { plan });
      this.d.store.replaceMappings(id, plan);
      for (const c of changes) {
        const mm = plan.mappings.find((x) => x.id === c.mapping_id);
        const override = c.type !== undefined || c.transformation !== undefined ? { ...(c.type ? { type: c.type } : {}), ...(c.transformation ? { transformation: c.transformation } : {}) } : undefined;
        this.d.store.decideMapping(id, c.mapping_id, { status: mm?.status ?? 'pending_review', override, comment: c.comment, by });
      }
      const open = unresolvedMappings(plan).length;
      if (m.status === 'plan_ready' && open === 0) this.d.store.transition(id, ['plan_ready'], 'approved');
      if (m.status === 'approved' && open > 0) this.d.store.transition(id, ['approved'], 'plan_ready');
    })();
    return plan;
  }

  /** POST .../plan/mappings/{id}/approve: `override_transformation` is a transformation name, "CAST(x AS type)", or {type, transformation}. */
  approve(id: string, mappingId: string, b: { approved: boolean; override_transformation?: string | { type?: string; transformation?: string } | null; comment?: string | null }, by: string | null): Plan {
    const change: MappingChange & { mapping_id: string } = { mapping_id: mappingId, status: b.approved ? 'approved' : 'rejected', comment: b.comment };
    const o = b.override_transformation;
    if (typeof o === 'string') {
      const cast = /^\s*CAST\s*\(.+\s+AS\s+(.+)\)\s*$/is.exec(o);
      if ((TRANSFORMATIONS as readonly string[]).includes(o)) change.transformation = o;
      else if (cast?.[1]) change.type = cast[1].trim().toLowerCase();
      else throw new FerryError('invalid_override', `override_transformation "${o}" is neither a transformation (${TRANSFORMATIONS.join(', ')}) nor "CAST(column AS type)"`, { status: 422 });
    } else if (o) {
      change.type = o.type;
      change.transformation = o.transformation;
    }
    return this.changeMappings(id, [change], by);
  }

  // ---- errors ----

  retryError(id: string, errorId: string) {
    const m = this.d.store.get(id);
    const err = this.d.store.error(id, errorId);
    if (!['completed', 'failed', 'paused'].includes(m.status)) throw invalidState('migration', m.status, 'retry errors of');
    if (!err.unit_id) throw new FerryError('not_retryable', `Error ${errorId} is not tied to a unit of data; it cannot be retried`, { status: 422 });
    if (err.status === 'retried') throw invalidState('error', err.status, 'retry');
    const job = this.launch(id, JOB_KINDS.retry, 'data_transfer', { unit_id: err.unit_id, error_id: errorId });
    return { id: errorId, status: 'retrying' as const, unit_id: err.unit_id, job_id: job.id, message: `Reloading unit ${err.unit_id} in salvage mode with the current mappings` };
  }

  // ---- recovery ----

  /** After the engine's recover(): line up migration statuses with what their jobs are doing now. */
  reconcile(): void {
    for (const m of this.d.store.byStatus(['pending', 'planning', 'running', 'pausing', 'validating', 'rolling_back'])) {
      const kind = m.status === 'rolling_back' ? JOB_KINDS.rollback : m.status === 'pending' || m.status === 'planning' ? JOB_KINDS.plan : JOB_KINDS.run;
      const job = this.latestJob(m.id, kind);
      if (!job || (TERMINAL.has(job.status) && m.status === 'rolling_back')) {
        if (m.status === 'rolling_back') this.launch(m.id, JOB_KINDS.rollback, 'rollback', {});
        else if (m.status === 'pending') this.launch(m.id, JOB_KINDS.plan, 'planning', {});
        continue;
      }
      if (job.status === 'paused') this.d.store.transition(m.id, ['running', 'pausing', 'validating'], 'paused');
      else if (job.status === 'failed') this.d.store.transition(m.id, [m.status], 'failed', { error: job.error ?? { code: 'internal_error', message: 'job failed' } });
    }
  }
}

function connectionExists(d: MigrationDeps, id: string): boolean {
  try {
    d.connections.get(id);
    return true;
  } catch {
    return false;
  }
}

function normalType(t: string): string {
  const x = t.toLowerCase();
  return x === 'postgres' ? 'postgresql' : x === 'mariadb' ? 'mysql' : x;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
