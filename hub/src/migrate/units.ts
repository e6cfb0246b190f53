/** Work units of data_transfer: planning them once, and the UnitSpec a task carries. */
import { FerryError } from '../../../common/src/errors.ts';
import type { PlanUnitsPayload, PlanUnitsResult, UnitColumn, UnitSpec } from '../../../common/src/migrate-tasks.ts';
import type { JobContext } from '../jobs/engine.ts';
import type { MigrationDeps, Side } from './context.ts';
import type { ColumnMapping, Plan, PlanTable } from './planner/types.ts';
import type { UnitRow } from './types.ts';

export function tableColumns(plan: Plan, t: PlanTable): ColumnMapping[] {
  const byId = new Map(plan.mappings.map((m) => [m.id, m]));
  return t.mapping_ids.map((id) => byId.get(id)).filter((m): m is ColumnMapping => m !== undefined);
}

export function unitSpec(plan: Plan, u: UnitRow): UnitSpec {
  const t = plan.tables[u.table_index];
  if (!t || t.source.table !== u.source_table) throw new FerryError('plan_invalid', `Unit ${u.unit_id} names a table the plan does not have`, { status: 500 });
  const columns: UnitColumn[] = tableColumns(plan, t).map((m) => ({
    source: m.source.column,
    source_type: m.source.native_type.toLowerCase(),
    target: m.target.column,
    target_type: m.target.type,
    transformation: m.transformation,
  }));
  return { unit_id: u.unit_id, source_schema: u.source_schema, source_table: u.source_table, target_schema: u.target_schema, target_table: u.target_table, columns, range: u.range };
}

/** Binary COPY only when every column passes through unchanged between identical PostgreSQL types. */
export function copyFormat(plan: Plan, spec: UnitSpec): 'text' | 'binary' {
  // SQLite and MySQL readers encode binary COPY themselves (about 1.3-1.4x faster to load) and
  // fall back to text per unit for a type they cannot encode; Oracle's reader writes text.
  if (plan.source.dialect === 'sqlite' || plan.source.dialect === 'mysql') return 'binary';
  if (plan.source.dialect !== 'postgresql') return 'text';
  // PostgreSQL: binary passes through unchanged only between identical types.
  return spec.columns.every((c) => c.transformation === 'none' && c.source_type === c.target_type) ? 'binary' : 'text';
}

/** Cut every table into units through the source agent, once; later runs reuse the stored units. */
export async function ensureUnits(d: MigrationDeps, ctx: JobContext, id: string, plan: Plan, source: Side, rowsPerUnit: number): Promise<UnitRow[]> {
  const have = d.store.units(id);
  if (have.length > 0) return have;
  const payload: PlanUnitsPayload = {
    connection: source.connection,
    tables: plan.tables.map((t) => ({
      schema: t.source.schema,
      table: t.source.table,
      key_column: t.unit_key?.integer ? (t.unit_key.source_columns[0] ?? null) : null,
      row_estimate: t.row_estimate,
    })),
    rows_per_unit: rowsPerUnit,
  };
  const r = (await ctx.runTask(source.agent_id, 'migrate.plan_units', payload, { maxAttempts: 3 })) as PlanUnitsResult;
  const rows: Parameters<typeof d.store.insertUnits>[0] = [];
  plan.tables.forEach((t, i) => {
    const got = r.tables.find((x) => x.schema === t.source.schema && x.table === t.source.table);
    const base = { migration_id: id, table_index: i, source_schema: t.source.schema, source_table: t.source.table, target_schema: t.target.schema, target_table: t.target.table };
    const ranges = got?.ranges ?? null;
    if (!ranges || ranges.length === 0) rows.push({ ...base, unit_id: `t${i}.all`, range: null });
    else ranges.forEach((range, j) => rows.push({ ...base, unit_id: `t${i}.u${j}`, range }));
  });
  d.store.insertUnits(rows);
  ctx.log('info', `Planned ${rows.length} units over ${plan.tables.length} tables (${rowsPerUnit} rows per unit)`, { units: rows.length });
  return d.store.units(id);
}
