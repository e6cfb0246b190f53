import { pgIdent, pgQualified } from '../../../common/src/catalog.ts';
import { FerryError, describeError } from '../../../common/src/errors.ts';
import type { JobRunner } from '../jobs/engine.ts';
import { TERMINAL } from '../jobs/types.ts';
import { sideOf, type MigrationDeps } from './context.ts';
import { execSql } from './phases/schema.ts';
import { JOB_KINDS } from './types.ts';

/**
 * `migration.rollback`: wait for the migration's other jobs to stop, then drop exactly what the
 * migration created on the target (tables, sequences, and the schema when it created it), never
 * an object that existed before. Ends `rolled_back`, or `failed` with `rollback_failed`.
 */
export function rollbackRunner(d: MigrationDeps): JobRunner {
  return async (ctx) => {
    const id = String(ctx.job.resource_id);
    ctx.setPhase('rollback');
    const others = d.store.jobIds(id).filter((j) => j !== ctx.job.id);
    for (;;) {
      const live = others.filter((j) => {
        const job = d.jobs.find(j);
        return job && !TERMINAL.has(job.status) && job.kind !== JOB_KINDS.rollback;
      });
      if (live.length === 0) break;
      ctx.signal.throwIfAborted();
      await new Promise((r) => setTimeout(r, 200));
    }
    const m = d.store.get(id);
    const objs = m.created_objects;
    try {
      const target = sideOf(d.connections, m.target.connection_id);
      const tables = objs.filter((o) => o.kind === 'table');
      const sequences = objs.filter((o) => o.kind === 'sequence');
      const schemas = objs.filter((o) => o.kind === 'schema');
      // One DROP for all tables: their foreign keys point at each other, never at others' tables.
      if (tables.length > 0) await execSql(ctx, target, [`DROP TABLE IF EXISTS ${tables.map((t) => pgQualified(t.schema, t.name)).join(', ')}`]);
      if (sequences.length > 0) await execSql(ctx, target, [`DROP SEQUENCE IF EXISTS ${sequences.map((s) => pgQualified(s.schema, s.name)).join(', ')}`]);
      for (const s of schemas) {
        try {
          await execSql(ctx, target, [`DROP SCHEMA IF EXISTS ${pgIdent(s.name)}`]);
        } catch (e) {
          // Someone else put objects in the schema since: keep it (and them).
          ctx.log('warning', `Schema ${s.name} was kept: it is not empty (${describeError(e)})`);
        }
      }
      ctx.log('info', `Rolled back: dropped ${tables.length} tables, ${sequences.length} sequences${schemas.length ? `, schema ${schemas.map((s) => s.name).join(', ')}` : ''}`);
      d.store.update(id, { status: 'rolled_back', created_objects: [], finished_at: d.now().toISOString() });
      return { status: 'completed', result: { dropped_tables: tables.map((t) => t.name) } };
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      const force = m.cancel?.force === true;
      d.store.update(id, { status: force ? 'cancelled' : 'failed', error: { code: 'rollback_failed', message: `Rollback failed: ${msg}` }, finished_at: d.now().toISOString() });
      throw new FerryError('rollback_failed', `Rollback failed: ${msg}`, { status: 422 });
    }
  };
}
