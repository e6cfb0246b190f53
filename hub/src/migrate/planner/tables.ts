/**
 * Table-level objects of the plan: keys, indexes, foreign keys and checks with target names.
 * Index, primary-key and unique names share one allocator per target schema (they are relations);
 * foreign-key and check names are unique per table, as PostgreSQL requires.
 */
import type { CatalogTable, Dialect, ForeignKey } from '../../../../common/src/catalog.ts';
import type { PlanForeignKey, PlanIndex, PlanTable, RuleRisk } from './types.ts';
import { NameAllocator, styleName } from './names.ts';
import type { NameStyle } from './types.ts';
import { translateCheck } from './checks.ts';

export interface ObjectRisk extends RuleRisk {
  affected: string[];
}

/** Where a source table went: its target name and column names. */
export interface TableTarget {
  schema: string;
  table: string;
  columns: Map<string, string>;
}

export interface ConstraintContext {
  dialect: Dialect;
  style: NameStyle;
  targetSchema: string;
  relations: NameAllocator;
  /** Key "schema\u0000table" of every planned source table. */
  targets: Map<string, TableTarget>;
  risks: ObjectRisk[];
  /** Source label for risks: "table" or "schema.table" when several schemas are planned. */
  label: (schema: string, table: string) => string;
}

export function tableKey(schema: string, table: string): string {
  return `${schema}\u0000${table}`;
}

function sameColumns(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

/** Source names that are engine placeholders rather than chosen names. */
function isGeneratedName(dialect: Dialect, name: string | null): boolean {
  if (!name) return true;
  if (dialect === 'mysql' && name.toUpperCase() === 'PRIMARY') return true;
  if (dialect === 'sqlite' && name.startsWith('sqlite_')) return true;
  if (dialect === 'oracle' && /^SYS_/i.test(name)) return true;
  return false;
}

function allocate(ctx: ConstraintContext, source: string | null, fallback: string, names: NameAllocator = ctx.relations): string {
  const wanted = isGeneratedName(ctx.dialect, source) ? fallback : styleName(source as string, ctx.style);
  return names.allocate(wanted);
}

function findTarget(ctx: ConstraintContext, fk: ForeignKey): TableTarget | undefined {
  const exact = ctx.targets.get(tableKey(fk.ref_schema, fk.ref_table));
  if (exact) return exact;
  for (const [k, t] of ctx.targets) {
    if (k.toLowerCase() === tableKey(fk.ref_schema, fk.ref_table).toLowerCase()) return t;
  }
  return undefined;
}

/** Build the keys, indexes, foreign keys and checks of one table (mapping ids and unit key come later). */
export function planConstraints(table: CatalogTable, target: TableTarget, ctx: ConstraintContext): Omit<PlanTable, 'mapping_ids' | 'unit_key' | 'row_estimate'> {
  const col = (c: string): string => target.columns.get(c) ?? c;
  const cols = (cs: string[]): string[] => cs.map(col);
  const t = target.table;
  const where = ctx.label(table.schema, table.name);

  const pk = table.primary_key
    ? { name: allocate(ctx, table.primary_key.name, `${t}_pkey`), columns: cols(table.primary_key.columns) }
    : null;

  const unique_keys = table.unique_keys
    .filter((u) => !(table.primary_key && sameColumns(u.columns, table.primary_key.columns)))
    .map((u) => ({ name: allocate(ctx, u.name, `${t}_${cols(u.columns).join('_')}_key`), columns: cols(u.columns) }));

  const indexes: PlanIndex[] = [];
  for (const ix of table.indexes) {
    if (table.primary_key && (ix.name === table.primary_key.name || sameColumns(ix.columns, table.primary_key.columns) && ix.unique)) continue;
    if (ix.unique && table.unique_keys.some((u) => u.name === ix.name || sameColumns(u.columns, ix.columns))) continue;
    if (ix.expression || (ix.where && ctx.dialect !== 'postgresql') || ix.columns.length === 0) {
      ctx.risks.push({
        severity: 'low',
        type: 'constraint_not_converted',
        description: `Index ${ix.name} uses an expression or predicate that is not converted.`,
        affected: [`${where}`],
        mitigation: 'Create the index by hand on the target after cutover.',
      });
      continue;
    }
    indexes.push({
      name: allocate(ctx, ix.name, `${t}_${cols(ix.columns).join('_')}_idx`),
      columns: cols(ix.columns),
      unique: ix.unique,
      where: ix.where ?? null,
    });
  }

  // Foreign keys and checks are not relations: their names need only be unique within the table
  // (MySQL names the index behind a foreign key after it, which must not force a rename).
  const local = new NameAllocator();
  if (pk) local.reserve(pk.name);
  for (const u of unique_keys) local.reserve(u.name);
  const foreign_keys: PlanForeignKey[] = [];
  for (const fk of table.foreign_keys) {
    const ref = findTarget(ctx, fk);
    if (!ref) {
      ctx.risks.push({
        severity: 'medium',
        type: 'missing_reference',
        description: `Foreign key ${fk.name ?? '(unnamed)'} references ${fk.ref_schema}.${fk.ref_table}, which is not part of the migration; it is not created.`,
        affected: fk.columns.map((c) => `${where}.${c}`),
        mitigation: 'Include the referenced table, or recreate the constraint after cutover.',
      });
      continue;
    }
    // MySQL reports an unspecified action as RESTRICT; in PostgreSQL NO ACTION is the equivalent default.
    const action = (a: string): string => (ctx.dialect === 'mysql' && a === 'restrict' ? 'no action' : a);
    foreign_keys.push({
      name: allocate(ctx, fk.name, `${t}_${cols(fk.columns).join('_')}_fkey`, local),
      columns: cols(fk.columns),
      ref_schema: ref.schema,
      ref_table: ref.table,
      ref_columns: fk.ref_columns.map((c) => ref.columns.get(c) ?? c),
      on_delete: action(fk.on_delete),
      on_update: action(fk.on_update),
    });
  }

  const notNull = new Set(table.columns.filter((c) => !c.nullable).map((c) => c.name));
  const checks: { name: string; expression: string }[] = [];
  for (const ck of table.checks) {
    const r = translateCheck(ctx.dialect, ck.expression, target.columns, notNull);
    if ('expression' in r) {
      checks.push({ name: allocate(ctx, ck.name, `${t}_check`, local), expression: r.expression });
    } else if (r.skip === 'unsupported') {
      ctx.risks.push({
        severity: 'low',
        type: 'constraint_not_converted',
        description: `CHECK ${ck.name ?? ''} (${ck.expression}) is not converted: ${r.reason}.`,
        affected: [where],
        mitigation: 'Recreate the check by hand on the target after cutover.',
      });
    }
  }

  return {
    source: { schema: table.schema, table: table.name },
    target: { schema: target.schema, table: t },
    primary_key: pk,
    unique_keys,
    indexes,
    foreign_keys,
    checks,
  };
}
