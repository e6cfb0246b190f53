import { pgIdent, pgQualified } from '../../../common/src/catalog.ts';
import { FerryError } from '../../../common/src/errors.ts';
import type { JobRunner } from '../jobs/engine.ts';
import { sideOf, type MigrationDeps } from './context.ts';
import { transferUnit } from './phases/data.ts';
import { execSql } from './phases/schema.ts';
import type { Plan } from './planner/types.ts';
import { tableColumns } from './units.ts';

/**
 * `migration.retry`: reload the unit of a row error in salvage mode, after a mapping fix. When
 * the fix changed a column's type after the table was created, the column is altered first
 * (USING a cast) so the target matches the plan again.
 */
export function retryRunner(d: MigrationDeps): JobRunner {
  return async (ctx) => {
    const id = String(ctx.job.resource_id);
    const unitId = String(ctx.job.params.unit_id);
    ctx.setPhase('data_transfer');
    const m = d.store.get(id);
    const plan = m.plan as Plan;
    const unit = d.store.unit(id, unitId);
    if (!unit) throw new FerryError('unit_not_found', `Unit ${unitId} is not part of migration ${id}`, { status: 404 });
    const sides = { source: sideOf(d.connections, m.source.connection_id), target: sideOf(d.connections, m.target.connection_id) };
    const t = plan.tables[unit.table_index];
    if (t) {
      const applied = new Map(d.store.mappings(id).map((r) => [r.mapping_id, r.applied_type]));
      const alters = tableColumns(plan, t)
        .filter((c) => applied.get(c.id) && applied.get(c.id) !== c.target.type)
        .map((c) => `ALTER TABLE ${pgQualified(t.target.schema, t.target.table)} ALTER COLUMN ${pgIdent(c.target.column)} TYPE ${c.target.type} USING ${pgIdent(c.target.column)}::${c.target.type}`);
      if (alters.length > 0) {
        await execSql(ctx, sides.target, alters, { transaction: true });
        d.store.setAppliedTypes(id, new Map(tableColumns(plan, t).map((c) => [c.id, c.target.type])));
        ctx.log('info', `Altered ${alters.length} column(s) of ${t.target.table} to the fixed mapping types`);
      }
    }
    await transferUnit(d, ctx, id, plan, sides, { ...unit, attempts: 0 }, { salvage: true });
    const after = d.store.unit(id, unitId);
    ctx.log('info', `Retried unit ${unitId} of ${unit.target_table}: ${after?.rows ?? 0} rows loaded, ${after?.rejected ?? 0} still rejected`);
    return { status: 'completed', result: { unit_id: unitId, rows: after?.rows ?? 0, rejected: after?.rejected ?? 0 } };
  };
}
