import { pgQualified } from '../../../../common/src/catalog.ts';
import type { JobContext } from '../../jobs/engine.ts';
import type { MigrationDeps, Side } from '../context.ts';
import type { Plan } from '../planner/types.ts';
import { execSql } from './schema.ts';

/**
 * After the load: primary keys, unique keys and indexes, foreign keys, checks, sequence
 * positions, then ANALYZE. Each step runs with ignore_existing, so a redo after a crash skips
 * what an earlier attempt already built.
 */
export async function cutover(d: MigrationDeps, ctx: JobContext, id: string, target: Side): Promise<void> {
  const plan = d.store.get(id).plan as Plan;
  const steps: [string, string[]][] = [
    ['primary keys', plan.ddl.primary_keys],
    ['unique keys and indexes', plan.ddl.indexes],
    ['foreign keys', plan.ddl.foreign_keys],
    ['check constraints', plan.ddl.checks],
    ['sequence positions', plan.ddl.sequences],
    ['statistics (ANALYZE)', plan.tables.map((t) => `ANALYZE ${pgQualified(t.target.schema, t.target.table)}`)],
  ];
  let i = 0;
  for (const [what, statements] of steps) {
    i++;
    if (statements.length > 0) {
      const r = await execSql(ctx, target, statements, { ignore_existing: true });
      ctx.log('info', `Cutover: ${what}: ${r.executed} executed, ${r.skipped} already present`);
    }
    d.store.setPhase(id, 'cutover', 'running', Math.round((i / steps.length) * 100));
    ctx.progress({ percent: Math.round((i / steps.length) * 100), message: `cutover: ${what}` });
  }
}
