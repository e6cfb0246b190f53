/**
 * buildPlan: catalog + profiles -> Plan. Pure and deterministic: the same input gives the same
 * ids, order and digest (tables are sorted, ids are hashes of source coordinates).
 */
import type { Catalog, CatalogColumn, CatalogTable, ColumnProfile, TableProfile } from '../../../../common/src/catalog.ts';
import type { BuildPlanOptions, ColumnMapping, Plan, PlanSequence, PlanTable, UnitKey } from './types.ts';
import { PlannerError } from './errors.ts';
import { NameAllocator, mappingId, styleName } from './names.ts';
import { describeTransformation, mapOneColumn } from './columns.ts';
import { isRowidAlias } from './rules/sqlite.ts';
import { translateDefault } from './defaults.ts';
import { planConstraints, tableKey, type ObjectRisk, type TableTarget } from './tables.ts';
import { renderDdl } from './ddl.ts';
import { alignForeignKeyTypes } from './align.ts';
import { finalizeRisks } from './risks.ts';

const INTEGER_TYPES = /^(smallint|integer|bigint)$/;

function profileIndex(profiles: TableProfile[]): { columns: Map<string, ColumnProfile>; rows: Map<string, number> } {
  const columns = new Map<string, ColumnProfile>();
  const rows = new Map<string, number>();
  for (const tp of profiles) {
    rows.set(tableKey(tp.schema, tp.table), tp.rows);
    for (const cp of tp.columns) columns.set(`${tp.schema}\u0000${tp.table}\u0000${cp.column}`, cp);
  }
  return { columns, rows };
}

function sortedTables(catalog: Catalog): CatalogTable[] {
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...catalog.tables].sort((a, b) => cmp(a.schema, b.schema) || cmp(a.name, b.name));
}

function sortedColumns(t: CatalogTable): CatalogColumn[] {
  return [...t.columns].sort((a, b) => a.position - b.position);
}

/** Serial columns seen as a nextval() default count as identity: the target gets a real identity. */
function identityLike(catalog: Catalog, col: CatalogColumn, table: CatalogTable): boolean {
  if (col.identity) return true;
  if (catalog.dialect === 'postgresql' && /^nextval\(/i.test(col.default ?? '')) return true;
  return catalog.dialect === 'sqlite' && isRowidAlias(col, table);
}

function unitKey(table: CatalogTable, target: TableTarget, mappings: Map<string, ColumnMapping>): UnitKey | null {
  const nonNull = (cols: string[]): boolean => cols.every((c) => table.columns.find((x) => x.name === c)?.nullable === false);
  let kind: UnitKey['kind'] = 'primary_key';
  let cols = table.primary_key?.columns ?? null;
  if (!cols || cols.length === 0) {
    kind = 'unique_not_null';
    cols = table.unique_keys.find((u) => u.columns.length > 0 && nonNull(u.columns))?.columns ?? null;
  }
  if (!cols) return null;
  const first = mappings.get(mappingId(table.schema, table.name, cols[0] as string));
  return {
    kind,
    source_columns: [...cols],
    target_columns: cols.map((c) => target.columns.get(c) ?? c),
    integer: cols.length === 1 && first !== undefined && INTEGER_TYPES.test(first.target.type),
  };
}

function validate(opts: BuildPlanOptions): void {
  if (!opts.targetSchema || opts.targetSchema.length > 63) {
    throw new PlannerError('invalid_options', `targetSchema "${opts.targetSchema}" must be 1 to 63 characters`);
  }
  if (!(opts.autoApproveAbove >= 0 && opts.autoApproveAbove <= 1)) {
    throw new PlannerError('invalid_options', `autoApproveAbove ${opts.autoApproveAbove} must be within [0, 1]`);
  }
}

/**
 * Build the migration plan.
 * @example buildPlan(catalog, profiles, { targetSchema: 'public', autoApproveAbove: 0.95 })
 */
export function buildPlan(catalog: Catalog, profiles: TableProfile[], opts: BuildPlanOptions): Plan {
  validate(opts);
  const dialect = catalog.dialect;
  const style = opts.nameStyle ?? (dialect === 'oracle' ? 'lower' : 'preserve');
  const schemaCount = new Set(catalog.tables.map((t) => t.schema)).size;
  const label = (schema: string, table: string): string => (schemaCount > 1 ? `${schema}.${table}` : table);
  const prof = profileIndex(profiles);
  const tables = sortedTables(catalog);
  const risks: ObjectRisk[] = [];
  const relations = new NameAllocator();

  // Pass 1: every table's and column's target name, so foreign keys can resolve any table.
  const targets = new Map<string, TableTarget>();
  for (const t of tables) {
    const wanted = styleName(t.name, style);
    const name = relations.allocate(wanted);
    const cols = new NameAllocator();
    const columns = new Map<string, string>();
    for (const c of sortedColumns(t)) {
      const cw = styleName(c.name, style);
      const cn = cols.allocate(cw);
      columns.set(c.name, cn);
      if (cn !== cw) risks.push({ severity: 'low', type: 'identifier_renamed', description: `Column name ${cw} is taken (or too long) in the target table; renamed ${cn}.`, affected: [`${label(t.schema, t.name)}.${c.name}`], mitigation: 'Override the name by renaming after cutover if applications need it.' });
    }
    if (name !== wanted) risks.push({ severity: 'low', type: 'identifier_renamed', description: `Table name ${wanted} is taken (or too long) in schema ${opts.targetSchema}; renamed ${name}.`, affected: [label(t.schema, t.name)], mitigation: 'Choose nameStyle preserve, or rename after cutover.' });
    targets.set(tableKey(t.schema, t.name), { schema: opts.targetSchema, table: name, columns });
  }

  // Pass 2: column mappings.
  const mappings: ColumnMapping[] = [];
  const byId = new Map<string, ColumnMapping>();
  const identityCols = new Set<string>();
  for (const t of tables) {
    const target = targets.get(tableKey(t.schema, t.name)) as TableTarget;
    for (const c of sortedColumns(t)) {
      const profile = prof.columns.get(`${t.schema}\u0000${t.name}\u0000${c.name}`);
      const r = mapOneColumn(dialect, c, profile, t);
      const affected = `${label(t.schema, t.name)}.${c.name}`;
      for (const risk of r.risks) risks.push({ ...risk, affected: [affected] });
      const isIdentity = identityLike(catalog, c, t) && INTEGER_TYPES.test(r.type);
      if (identityLike(catalog, c, t) && !isIdentity) {
        risks.push({ severity: 'medium', type: 'default_not_converted', description: `Auto-generated key mapped to ${r.type}, which cannot be an identity; no generator is created.`, affected: [affected], mitigation: 'Override the type to bigint to get an identity column.' });
      }
      if (isIdentity) identityCols.add(`${t.schema}\u0000${t.name}\u0000${c.name}`);
      const def = isIdentity ? { sql: null, dropped: false } : translateDefault(dialect, c.default, r.type, c.native_type);
      if (def.dropped) {
        risks.push({ severity: 'low', type: 'default_not_converted', description: `Default ${c.default} is not converted.`, affected: [affected], mitigation: 'Recreate the default by hand after cutover.' });
      }
      const targetCol = target.columns.get(c.name) as string;
      const m: ColumnMapping = {
        id: mappingId(t.schema, t.name, c.name),
        source: { schema: t.schema, table: t.name, column: c.name, native_type: c.native_type },
        target: {
          schema: target.schema,
          table: target.table,
          column: targetCol,
          type: r.type,
          nullable: c.nullable,
          default: def.sql,
          identity: isIdentity,
          identity_next_value: isIdentity ? (c.identity?.next_value ?? null) : null,
        },
        transformation: r.transformation,
        transformation_sql: describeTransformation(r.transformation, c.name, r.type),
        confidence: r.confidence,
        reason: r.reason,
        status: 'pending_review',
        ...(r.check_in ? { check_in: r.check_in } : {}),
      };
      mappings.push(m);
      byId.set(m.id, m);
    }
  }

  alignForeignKeyTypes(tables, byId);

  for (const m of mappings) m.status = m.confidence >= opts.autoApproveAbove ? 'approved' : 'pending_review';

  // Pass 3: keys, indexes, foreign keys, checks.
  const ctx = { dialect, style, targetSchema: opts.targetSchema, relations, targets, risks, label };
  const planTables: PlanTable[] = tables.map((t) => {
    const target = targets.get(tableKey(t.schema, t.name)) as TableTarget;
    const cons = planConstraints(t, target, ctx);
    const rows = prof.rows.get(tableKey(t.schema, t.name));
    return {
      ...cons,
      mapping_ids: sortedColumns(t).map((c) => mappingId(t.schema, t.name, c.name)),
      unit_key: unitKey(t, target, byId),
      row_estimate: rows ?? t.row_estimate,
    };
  });

  const sequences = planSequences(catalog, style, opts.targetSchema, relations, identityCols);

  for (const v of catalog.views) {
    risks.push({ severity: 'medium', type: 'unsupported_object', description: `View ${v.name} is not converted.`, affected: [`${v.schema}.${v.name}`], mitigation: 'Recreate the view on the target from its definition after cutover.' });
  }
  for (const r of catalog.routines) {
    risks.push({ severity: 'medium', type: 'unsupported_object', description: `${r.kind} ${r.name} is not converted.`, affected: [`${r.schema}.${r.name}`], mitigation: `Rewrite the ${r.kind.toLowerCase()} in PL/pgSQL after cutover.` });
  }

  const relationships = planTables.reduce((n, t) => n + t.foreign_keys.length, 0);
  return {
    format: 1,
    source: { dialect, database: catalog.database, server_version: catalog.server_version },
    target_schema: opts.targetSchema,
    options: { auto_approve_above: opts.autoApproveAbove, name_style: style },
    summary: {
      tables: planTables.length,
      columns: mappings.length,
      relationships,
      transformations: mappings.filter((m) => m.transformation !== 'none').length,
      estimated_records: planTables.reduce((n, t) => n + (t.row_estimate ?? 0), 0),
    },
    tables: planTables,
    mappings,
    risks: finalizeRisks(risks),
    sequences,
    ddl: renderDdl(opts.targetSchema, planTables, mappings, sequences),
  };
}

function planSequences(catalog: Catalog, style: 'preserve' | 'lower', schema: string, relations: NameAllocator, identityCols: Set<string>): PlanSequence[] {
  const owned = (s: Catalog['sequences'][number]): boolean => {
    if (/^iseq\$\$_/i.test(s.name)) return true;
    if (s.owned_by && identityCols.has(`${s.schema}\u0000${s.owned_by.table}\u0000${s.owned_by.column}`)) return true;
    // A serial's sequence named in a nextval() default is replaced by the identity.
    return catalog.tables.some((t) => t.columns.some((c) => identityCols.has(`${t.schema}\u0000${t.name}\u0000${c.name}`) && (c.default ?? '').includes(s.name)));
  };
  return [...catalog.sequences]
    .filter((s) => !owned(s))
    .sort((a, b) => (a.schema + '\u0000' + a.name < b.schema + '\u0000' + b.name ? -1 : 1))
    .map((s) => ({ schema, name: relations.allocate(styleName(s.name, style)), start: s.start, increment: s.increment, next_value: s.next_value }));
}

/** Re-render the DDL after a mapping changed (the DDL is always derived, never edited). */
export function rerender(plan: Plan): Plan {
  return {
    ...plan,
    summary: { ...plan.summary, transformations: plan.mappings.filter((m) => m.transformation !== 'none').length },
    ddl: renderDdl(plan.target_schema, plan.tables, plan.mappings, plan.sequences),
  };
}
