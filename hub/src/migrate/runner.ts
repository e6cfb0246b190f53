import { FerryError, describeError } from '../../../common/src/errors.ts';
import type { JobContext, JobRunner, RunOutcome } from '../jobs/engine.ts';
import { sideOf, type MigrationDeps } from './context.ts';
import { cutover } from './phases/cutover.ts';
import { dataTransfer, type StopReason, type TransferSides } from './phases/data.ts';
import { schemaMigration } from './phases/schema.ts';
import { validateCounts } from './phases/validation.ts';
import { windowOpen } from './schedule.ts';
import { RUN_PHASES, type Migration, type RunPhase } from './types.ts';

/** Phases a mode skips. */
function skippedBy(mode: Migration['options']['mode'], phase: RunPhase): boolean {
  if (mode === 'schema_only') return phase === 'data_transfer' || phase === 'validation';
  if (mode === 'data_only') return phase === 'schema_migration';
  return false;
}

/**
 * `migration.run`: schema_migration, data_transfer, validation, cutover, each skipped when an
 * earlier run completed it. A pause (or the maintenance window closing) stops dispatch at the
 * next safe point and returns `paused`; resume and crash recovery call this again and redo
 * only what is not done.
 */
export function runRunner(d: MigrationDeps): JobRunner {
  return async (ctx): Promise<RunOutcome> => {
    const id = String(ctx.job.resource_id);
    const m0 = d.store.find(id);
    if (!m0 || !['approved', 'plan_ready', 'running', 'pausing', 'paused', 'failed', 'validating'].includes(m0.status)) {
      return { status: 'completed', result: { skipped: m0?.status ?? 'deleted' } };
    }
    if (!d.store.transition(id, ['approved', 'plan_ready', 'running', 'pausing', 'paused', 'failed', 'validating'], 'running', { pause_reason: null, error: null, started_at: m0.started_at ?? d.now().toISOString() })) {
      return { status: 'completed', result: { skipped: 'status changed' } };
    }
    d.store.db.prepare('UPDATE migrations SET finished_at = NULL WHERE id = ?').run(id);
    const from = ctx.job.params.start_from_phase as RunPhase | undefined;
    let sides: TransferSides;
    try {
      sides = { source: sideOf(d.connections, m0.source.connection_id), target: sideOf(d.connections, m0.target.connection_id) };
    } catch (e) {
      return fail(d, ctx, id, null, e);
    }
    const stop = (): StopReason => {
      if (ctx.pauseRequested()) return 'pause';
      const w = d.store.get(id).schedule.maintenance_window;
      return w && !windowOpen(w, d.now()) ? 'window' : null;
    };
    let current: RunPhase | null = null;
    try {
      for (const phase of RUN_PHASES) {
        const m = d.store.get(id);
        const rec = m.phases.find((p) => p.name === phase);
        if (rec?.status === 'completed' || rec?.status === 'skipped') continue;
        if (skippedBy(m.options.mode, phase) || (from && RUN_PHASES.indexOf(phase) < RUN_PHASES.indexOf(from))) {
          d.store.setPhase(id, phase, 'skipped');
          ctx.log('info', `Phase ${phase} skipped`);
          continue;
        }
        const s = stop();
        if (s) return paused(d, ctx, id, phase, s);
        current = phase;
        ctx.setPhase(phase);
        d.store.setPhase(id, phase, 'running');
        const cur = d.store.get(id).status;
        if (ctx.signal.aborted || !['running', 'validating', 'pausing'].includes(cur)) throw new FerryError('cancelled', 'The migration was cancelled');
        // A pause asked in between keeps 'pausing'; it takes effect at the next checkpoint.
        if (cur !== 'pausing') d.store.transition(id, ['running', 'validating'], phase === 'validation' ? 'validating' : 'running');
        ctx.log('info', `Phase ${phase} started`);
        if (phase === 'schema_migration') await schemaMigration(d, ctx, id, sides.target);
        else if (phase === 'data_transfer') {
          const out = await dataTransfer(d, ctx, id, sides, stop);
          if (out !== 'done' && out !== null) return paused(d, ctx, id, phase, out);
        } else if (phase === 'validation') await validateCounts(d, ctx, id, sides);
        else await cutover(d, ctx, id, sides.target);
        d.store.setPhase(id, phase, 'completed');
        ctx.log('info', `Phase ${phase} completed`);
      }
    } catch (e) {
      if (ctx.signal.aborted && ctx.pauseRequested()) return paused(d, ctx, id, current, 'pause');
      if (ctx.signal.aborted) throw e;
      return fail(d, ctx, id, current, e);
    }
    try {
      await certify(d, ctx, id);
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      return fail(d, ctx, id, 'validation', e);
    }
    const t = d.store.unitTotals(id);
    d.store.transition(id, ['running', 'validating', 'pausing'], 'completed', { finished_at: d.now().toISOString() });
    ctx.log('info', `Migration completed: ${t.rows} rows in ${t.units} units`, { records: t.rows });
    return { status: 'completed', result: { rows: t.rows, bytes: t.bytes, units: t.units } };
  };
}

/**
 * The five validation kinds run after cutover, when keys, indexes and foreign keys exist on the
 * target, so structural and referential checks see the finished schema. A failed kind fails
 * the migration; `inconclusive` (e.g. a workload query that cannot be translated) does not.
 */
async function certify(d: MigrationDeps, ctx: JobContext, id: string): Promise<void> {
  const kinds = d.store.get(id).options.validation_kinds ?? [];
  if (!d.certify || kinds.length === 0) return;
  d.store.transition(id, ['running', 'pausing'], 'validating');
  ctx.setPhase('validation');
  ctx.log('info', `Validating the target: ${kinds.join(', ')}`);
  const v = await d.certify(ctx, id, kinds);
  ctx.setPhase('cutover');
  if (v.outcome === 'failed') {
    throw new FerryError('validation_failed', `Validation ${v.id} found differences; see GET /api/v1/migrations/${id}/validation`, {
      status: 422,
      details: { validation_id: v.id },
    });
  }
  ctx.log('info', `Validation ${v.id}: ${v.outcome}; certificate at /api/v1/migrations/${id}/certificate`);
}

function paused(d: MigrationDeps, ctx: JobContext, id: string, phase: RunPhase | null, why: Exclude<StopReason, null>): RunOutcome {
  if (phase) d.store.setPhase(id, phase, 'paused');
  const reason = why === 'window' ? 'maintenance_window' : (d.store.get(id).pause_reason ?? 'user');
  d.store.transition(id, ['running', 'validating', 'pausing'], 'paused', { pause_reason: reason });
  ctx.log('info', why === 'window' ? 'Maintenance window closed: paused; resumes when it opens again' : 'Paused at a checkpoint', { pause_reason: reason });
  return { status: 'paused' };
}

function fail(d: MigrationDeps, ctx: JobContext, id: string, phase: RunPhase | null, e: unknown): never {
  const err = e instanceof FerryError ? e : new FerryError('internal_error', describeError(e), { status: 500 });
  if (phase) d.store.setPhase(id, phase, 'failed');
  d.store.transition(id, ['running', 'validating', 'pausing', 'approved', 'plan_ready', 'paused'], 'failed', { error: { code: err.code, message: err.message }, finished_at: d.now().toISOString() });
  ctx.log('error', `Migration failed${phase ? ` in ${phase}` : ''}: ${err.code}: ${err.message}`, { code: err.code });
  throw err;
}
