import { FerryError } from '../../../../common/src/errors.ts';
import type { CountRowsPayload, CountRowsResult } from '../../../../common/src/migrate-tasks.ts';
import type { JobContext } from '../../jobs/engine.ts';
import type { MigrationDeps } from '../context.ts';
import type { Plan } from '../planner/types.ts';
import type { TransferSides } from './data.ts';

/**
 * Row counts of every table, source against target, through each side's agent. A mismatch fails
 * the migration and names the tables. (Statistical, referential, semantic and behavioural
 * validation are the validate module's job.)
 */
export async function validateCounts(d: MigrationDeps, ctx: JobContext, id: string, sides: TransferSides): Promise<void> {
  const plan = d.store.get(id).plan as Plan;
  const src: CountRowsPayload = { connection: sides.source.connection, tables: plan.tables.map((t) => ({ schema: t.source.schema, table: t.source.table })) };
  const dst: CountRowsPayload = { connection: sides.target.connection, tables: plan.tables.map((t) => ({ schema: t.target.schema, table: t.target.table })) };
  const [s, t] = (await Promise.all([
    ctx.runTask(sides.source.agent_id, 'migrate.count_rows', src, { maxAttempts: 3 }),
    ctx.runTask(sides.target.agent_id, 'migrate.count_rows', dst, { maxAttempts: 3 }),
  ])) as [CountRowsResult, CountRowsResult];
  const counts = plan.tables.map((pt) => ({
    table: pt.target.table,
    source_rows: s.counts.find((c) => c.schema === pt.source.schema && c.table === pt.source.table)?.rows ?? null,
    target_rows: t.counts.find((c) => c.schema === pt.target.schema && c.table === pt.target.table)?.rows ?? null,
  }));
  d.store.setCounts(id, counts);
  const bad = counts.filter((c) => c.source_rows !== c.target_rows);
  for (const c of counts) ctx.log(c.source_rows === c.target_rows ? 'info' : 'error', `Row count ${c.table}: source ${c.source_rows}, target ${c.target_rows}`, { table: c.table });
  if (bad.length > 0) {
    const open = d.store.errorCounts(id).open;
    throw new FerryError(
      'validation_failed',
      `Row counts differ for ${bad.length} table(s): ${bad.map((c) => `${c.table} (source ${c.source_rows}, target ${c.target_rows})`).join(', ')}` +
        (open > 0 ? `. ${open} rows were rejected by the target: fix their mappings, retry the errors, then start again from the validation phase.` : '.'),
      { status: 422, details: { tables: bad } },
    );
  }
}
