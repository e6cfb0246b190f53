import { FerryError } from '../../../../common/src/errors.ts';
import type { CopyUnitPayload, LoadUnitPayload, LoadUnitResult, ReadUnitPayload, ReadUnitResult, UnitSpec } from '../../../../common/src/migrate-tasks.ts';
import type { JobContext } from '../../jobs/engine.ts';
import type { MigrationDeps, Side } from '../context.ts';
import type { Plan } from '../planner/types.ts';
import type { UnitRow } from '../types.ts';
import { copyFormat, ensureUnits, unitSpec } from '../units.ts';

/** Attempts per unit before the migration fails (a lost agent or a relay abort uses one). */
const MAX_UNIT_ATTEMPTS = 5;

export interface TransferSides {
  source: Side;
  target: Side;
}

type Settled = [PromiseSettledResult<ReadUnitResult | null>, PromiseSettledResult<LoadUnitResult>];

/** Source and target on different agents: read_unit pushes into a relay channel that load_unit pulls. */
async function relayBetweenAgents(d: MigrationDeps, ctx: JobContext, sides: TransferSides, channel: string, spec: UnitSpec, format: 'text' | 'binary', salvage: boolean, fresh: boolean): Promise<Settled> {
  const ch = d.relay.openChannel(channel, { producer: sides.source.agent_id, consumer: sides.target.agent_id });
  const read: ReadUnitPayload = { connection: sides.source.connection, unit: spec, channel, format };
  const load: LoadUnitPayload = { connection: sides.target.connection, unit: spec, channel, format, salvage, fresh };
  const abortOn = (side: string) => (e: unknown) => {
    ch.abort(`${side} failed: ${(e as Error).message}`);
    throw e;
  };
  const settled = await Promise.allSettled([
    ctx.runTask(sides.source.agent_id, 'migrate.read_unit', read, { maxAttempts: 1, agentWaitMs: d.agentWaitMs }).catch(abortOn('read_unit')) as Promise<ReadUnitResult>,
    ctx.runTask(sides.target.agent_id, 'migrate.load_unit', load, { maxAttempts: 1, agentWaitMs: d.agentWaitMs }).catch(abortOn('load_unit')) as Promise<LoadUnitResult>,
  ]);
  if (!ch.aborted && !ch.isEnded) ch.abort('unit attempt finished');
  return settled;
}

/** One agent reaches both sides: it pipes its reader into its loader, no relay hop. */
async function copyOnOneAgent(d: MigrationDeps, ctx: JobContext, sides: TransferSides, payload: CopyUnitPayload): Promise<Settled> {
  try {
    const l = (await ctx.runTask(sides.source.agent_id, 'migrate.copy_unit', payload, { maxAttempts: 1, agentWaitMs: d.agentWaitMs })) as LoadUnitResult;
    return [{ status: 'fulfilled', value: null }, { status: 'fulfilled', value: l }];
  } catch (e) {
    // Only the loader's own data error (the target refused rows) is the load's; anything else
    // (source unreachable, agent lost, cancel) is reported as the read's, so it is retried
    // rather than sent to salvage.
    if ((e as FerryError).code === 'unit_load_failed') return [{ status: 'fulfilled', value: null }, { status: 'rejected', reason: e }];
    return [
      { status: 'rejected', reason: e },
      { status: 'rejected', reason: new FerryError('relay_aborted', 'copy_unit failed before loading', { retryable: true }) },
    ];
  }
}

function createdHere(d: MigrationDeps, id: string, schema: string, table: string): boolean {
  return d.store.get(id).created_objects.some((o) => o.kind === 'table' && o.schema === schema && o.name === table && o.state === 'created');
}

/** Why dispatch stops early: a user pause, or the maintenance window closing. */
export type StopReason = 'pause' | 'window' | null;

/**
 * Move one unit: open a relay channel for this attempt, run read_unit on the source agent and
 * load_unit on the target agent concurrently, and mark the unit done only when load_unit
 * returned (the target committed). A load that fails on data while the read succeeded is redone
 * in salvage mode, so bad rows become migration errors and the rest of the unit still loads.
 */
export async function transferUnit(d: MigrationDeps, ctx: JobContext, id: string, plan: Plan, sides: TransferSides, unit: UnitRow, opts: { salvage?: boolean } = {}): Promise<void> {
  let u = unit;
  let salvage = opts.salvage ?? u.salvage;
  for (;;) {
    const attempt = u.attempts + 1;
    const t0 = d.now().toISOString();
    d.store.updateUnit(id, u.unit_id, { status: 'running', attempts: attempt, salvage, started_at: u.started_at ?? t0, last_error: null });
    const spec = unitSpec(plan, u);
    const format = copyFormat(plan, spec);
    // First load of a unit into a table this migration created: nothing of it can be there yet,
    // so the loader skips the range DELETE (a full scan per unit before cutover builds the key's
    // index). Any later attempt deletes first: an earlier one may have committed unreported.
    const fresh = u.started_at === null && createdHere(d, id, u.target_schema, u.target_table);
    const [r, l] =
      sides.source.agent_id === sides.target.agent_id
        ? await copyOnOneAgent(d, ctx, sides, { source: sides.source.connection, target: sides.target.connection, unit: spec, format, salvage, fresh })
        : await relayBetweenAgents(d, ctx, sides, `${id}/${u.unit_id}/${attempt}`, spec, format, salvage, fresh);
    if (l.status === 'fulfilled') {
      const res = l.value;
      const rejected = res.rejected ?? [];
      // The unit was reloaded whole: errors of earlier attempts are superseded.
      d.store.setErrorStatus(id, { unitId: u.unit_id, onlyOpen: true }, 'retried');
      if (rejected.length > 0) {
        d.store.addErrors(id, u.unit_id, u.target_table, rejected.map((x) => ({ row: x.row, key: x.key, code: x.error_code, message: x.message })));
        ctx.log('warning', `${rejected.length} rows of ${u.target_table} were rejected by the target (unit ${u.unit_id}); see GET .../errors`, { table: u.target_table, unit_id: u.unit_id, rejected: rejected.length });
      }
      d.store.updateUnit(id, u.unit_id, { status: 'done', rows: res.rows, bytes: res.bytes, rejected: rejected.length, finished_at: d.now().toISOString() });
      return;
    }
    const loadErr = l.reason as FerryError;
    const readErr = r.status === 'rejected' ? (r.reason as FerryError) : null;
    if (ctx.signal.aborted) {
      d.store.updateUnit(id, u.unit_id, { status: 'pending' });
      throw loadErr;
    }
    // The read's error is the cause when both failed: the load only saw the channel aborted.
    const err = readErr && loadErr.code === 'relay_aborted' ? readErr : loadErr;
    const dataError = !readErr && !loadErr.retryable && !['agent_offline', 'relay_aborted', 'target_unreachable', 'cancelled', 'unknown_task_kind'].includes(loadErr.code);
    d.store.updateUnit(id, u.unit_id, { last_error: `${err.code}: ${err.message}` });
    if (dataError && !salvage) {
      ctx.log('warning', `Unit ${u.unit_id} of ${u.target_table} failed on data (${err.code}: ${err.message}); reloading it row by row in salvage mode`, { table: u.target_table, unit_id: u.unit_id });
      salvage = true;
    } else if (attempt >= MAX_UNIT_ATTEMPTS || err.code === 'unknown_task_kind') {
      d.store.updateUnit(id, u.unit_id, { status: 'failed', finished_at: d.now().toISOString() });
      throw new FerryError(err.code || 'unit_failed', `Unit ${u.unit_id} of table ${u.target_table} failed after ${attempt} attempts: ${err.message}`, { status: 422, details: { unit_id: u.unit_id, table: u.target_table } });
    } else {
      ctx.log('warning', `Unit ${u.unit_id} of ${u.target_table} failed on attempt ${attempt}: ${err.code}: ${err.message}; retrying`, { table: u.target_table, unit_id: u.unit_id });
    }
    u = d.store.unit(id, u.unit_id) ?? u;
  }
}

/**
 * data_transfer: units up to `parallelism` at once. `stop()` is checked before each dispatch;
 * when it says stop, in-flight units finish (an immediate pause aborts them through the job's
 * signal) and the phase returns 'paused'. Only units not done are (re)run.
 */
export async function dataTransfer(d: MigrationDeps, ctx: JobContext, id: string, sides: TransferSides, stop: () => StopReason): Promise<'done' | StopReason> {
  const m = d.store.get(id);
  const plan = m.plan as Plan;
  const reset = d.store.resetRunningUnits(id);
  if (reset > 0) ctx.log('info', `Redoing ${reset} units that were in flight when the migration stopped`);
  const all = await ensureUnits(d, ctx, id, plan, sides.source, m.options.batch_size);
  const queue = all.filter((u) => u.status !== 'done');
  for (const u of queue) if (u.status === 'failed') d.store.updateUnit(id, u.unit_id, { status: 'pending', attempts: 0 });
  const total = all.length;
  const report = () => {
    const t = d.store.unitTotals(id);
    const percent = total === 0 ? 100 : Math.floor((t.done / total) * 100);
    d.store.setPhase(id, 'data_transfer', 'running', percent);
    ctx.progress({ percent, message: `${t.done}/${total} units, ${t.rows} rows` });
  };
  report();
  const inflight = new Map<string, Promise<void>>();
  let failure: unknown = null;
  let stopped: StopReason = null;
  while ((queue.length > 0 && failure === null && stopped === null) || inflight.size > 0) {
    stopped = stopped ?? stop();
    while (failure === null && stopped === null && inflight.size < Math.max(1, m.options.parallelism) && queue.length > 0) {
      const u = d.store.unit(id, (queue.shift() as UnitRow).unit_id) as UnitRow;
      const p = transferUnit(d, ctx, id, plan, sides, u)
        .then(report)
        .catch((e: unknown) => {
          failure ??= e;
        })
        .finally(() => inflight.delete(u.unit_id));
      inflight.set(u.unit_id, p);
    }
    if (inflight.size > 0) await Promise.race(inflight.values());
  }
  if (failure !== null) throw failure;
  if (stopped) return stopped;
  return 'done';
}
