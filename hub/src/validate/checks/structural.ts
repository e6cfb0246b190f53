/**
 * Structural check, hub side (pure): the target catalog against the plan: every table, column,
 * type, nullability, default, identity, primary key, unique key, index, foreign key and
 * sequence; one difference per mismatch. Without a plan (on-demand), against the source
 * catalog through the mapping: tables, columns, nullability and key/index/FK column sets.
 */
import type { Catalog, CatalogTable } from '../../../../common/src/catalog.ts';
import type { Plan } from '../../migrate/planner/types.ts';
import type { KindReport, StructuralDifference } from '../report.ts';
import { canonicalPgType, type ValidationTable } from '../tables.ts';

const sameCols = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const normDefault = (d: string | null) => (d === null ? null : d.toLowerCase().replace(/::[a-z_ ]+(\(\d+(,\d+)?\))?(\[\])?/g, '').replace(/[()\s]/g, ''));

function result(diffs: StructuralDifference[], counts: Record<string, number>): Omit<KindReport, 'kind' | 'started_at' | 'finished_at'> {
  return { status: diffs.length ? 'failed' : 'passed', counts: { ...counts, differences: diffs.length }, details: { differences: diffs } };
}

function findTarget(cat: Catalog, schema: string, table: string): CatalogTable | undefined {
  return cat.tables.find((t) => t.schema === schema && t.name === table);
}

export function structuralAgainstPlan(plan: Plan, target: Catalog): Omit<KindReport, 'kind' | 'started_at' | 'finished_at'> {
  const diffs: StructuralDifference[] = [];
  const byId = new Map(plan.mappings.map((m) => [m.id, m]));
  let columns = 0;
  let objects = 0;
  for (const pt of plan.tables) {
    const label = `${pt.target.schema}.${pt.target.table}`;
    const tt = findTarget(target, pt.target.schema, pt.target.table);
    if (!tt) {
      diffs.push({ table: label, object: 'table', expected: label, actual: null, message: `table ${label} is missing on the target` });
      continue;
    }
    const maps = pt.mapping_ids.map((id) => byId.get(id)).filter((m): m is NonNullable<typeof m> => !!m && m.status !== 'rejected');
    for (const m of maps) {
      columns++;
      const c = tt.columns.find((x) => x.name === m.target.column);
      const col = m.target.column;
      if (!c) {
        diffs.push({ table: label, column: col, object: 'column', expected: col, actual: null, message: `column ${label}.${col} is missing on the target` });
        continue;
      }
      const et = canonicalPgType(m.target.type);
      const at = canonicalPgType(c.native_type);
      if (et !== at) diffs.push({ table: label, column: col, object: 'type', expected: et, actual: at, message: `${label}.${col} is ${at}, the plan says ${et}` });
      if (c.nullable !== m.target.nullable) diffs.push({ table: label, column: col, object: 'nullability', expected: m.target.nullable ? 'NULL' : 'NOT NULL', actual: c.nullable ? 'NULL' : 'NOT NULL', message: `${label}.${col} nullability differs from the plan` });
      if (m.target.identity !== !!c.identity) diffs.push({ table: label, column: col, object: 'identity', expected: m.target.identity, actual: !!c.identity, message: `${label}.${col} identity differs from the plan` });
      else if (!m.target.identity && normDefault(m.target.default) !== normDefault(c.default)) {
        diffs.push({ table: label, column: col, object: 'default', expected: m.target.default, actual: c.default, message: `${label}.${col} default differs from the plan` });
      }
    }
    for (const c of tt.columns) {
      if (!maps.some((m) => m.target.column === c.name)) diffs.push({ table: label, column: c.name, object: 'extra_column', expected: null, actual: c.name, message: `column ${label}.${c.name} is on the target but not in the plan` });
    }
    objects++;
    const epk = pt.primary_key?.columns ?? null;
    const apk = tt.primary_key?.columns ?? null;
    if (JSON.stringify(epk) !== JSON.stringify(apk)) diffs.push({ table: label, object: 'primary_key', expected: epk, actual: apk, message: `${label} primary key differs from the plan` });
    for (const u of pt.unique_keys) {
      objects++;
      const ok = tt.unique_keys.some((k) => sameCols(k.columns, u.columns)) || tt.indexes.some((i) => i.unique && sameCols(i.columns, u.columns));
      if (!ok) diffs.push({ table: label, object: 'unique', expected: u.columns, actual: null, message: `unique key ${u.name} (${u.columns.join(', ')}) on ${label} is missing` });
    }
    for (const ix of pt.indexes) {
      objects++;
      const ok = tt.indexes.some((i) => sameCols(i.columns, ix.columns) && i.unique === ix.unique) || (ix.unique && tt.unique_keys.some((k) => sameCols(k.columns, ix.columns)));
      if (!ok) diffs.push({ table: label, object: 'index', expected: { name: ix.name, columns: ix.columns, unique: ix.unique }, actual: null, message: `index ${ix.name} (${ix.columns.join(', ')}) on ${label} is missing` });
    }
    for (const fk of pt.foreign_keys) {
      objects++;
      const ok = tt.foreign_keys.some((f) => sameCols(f.columns, fk.columns) && f.ref_table === fk.ref_table && f.ref_schema === fk.ref_schema && sameCols(f.ref_columns, fk.ref_columns));
      if (!ok) diffs.push({ table: label, object: 'foreign_key', expected: { name: fk.name, columns: fk.columns, references: `${fk.ref_schema}.${fk.ref_table}(${fk.ref_columns.join(', ')})` }, actual: null, message: `foreign key ${fk.name} on ${label} is missing` });
    }
  }
  for (const s of plan.sequences) {
    objects++;
    if (!target.sequences.some((x) => x.schema === s.schema && x.name === s.name)) diffs.push({ table: `${s.schema}.${s.name}`, object: 'sequence', expected: s.name, actual: null, message: `sequence ${s.schema}.${s.name} is missing on the target` });
  }
  return result(diffs, { tables: plan.tables.length, columns, objects });
}

/** On-demand: the target against the source catalog, through the mapping the tables were built from. */
export function structuralAgainstSource(tables: ValidationTable[], source: Catalog, target: Catalog): Omit<KindReport, 'kind' | 'started_at' | 'finished_at'> {
  const diffs: StructuralDifference[] = [];
  let columns = 0;
  for (const vt of tables) {
    const st = source.tables.find((t) => t.schema === vt.source.schema && t.name === vt.source.table);
    const tt = findTarget(target, vt.target.schema, vt.target.table);
    if (!st || !tt) continue;
    const map = new Map(vt.source.columns.map((c, i) => [c.name, vt.target.columns[i]!.name]));
    for (const sc of st.columns) {
      columns++;
      const name = map.get(sc.name);
      const tc = name ? tt.columns.find((c) => c.name === name) : undefined;
      if (!tc) {
        diffs.push({ table: vt.label, column: name ?? sc.name, object: 'column', expected: sc.name, actual: null, message: `column ${sc.name} of the source has no column on ${vt.label}` });
        continue;
      }
      if (sc.nullable !== tc.nullable) diffs.push({ table: vt.label, column: tc.name, object: 'nullability', expected: sc.nullable ? 'NULL' : 'NOT NULL', actual: tc.nullable ? 'NULL' : 'NOT NULL', message: `${vt.label}.${tc.name} nullability differs from the source` });
    }
    const m = (cols: string[]) => cols.map((c) => map.get(c) ?? c);
    const epk = st.primary_key ? m(st.primary_key.columns) : null;
    if (JSON.stringify(epk) !== JSON.stringify(tt.primary_key?.columns ?? null)) diffs.push({ table: vt.label, object: 'primary_key', expected: epk, actual: tt.primary_key?.columns ?? null, message: `${vt.label} primary key differs from the source` });
    for (const fk of st.foreign_keys) {
      if (!tt.foreign_keys.some((f) => sameCols(f.columns, m(fk.columns)))) diffs.push({ table: vt.label, object: 'foreign_key', expected: m(fk.columns), actual: null, message: `foreign key (${m(fk.columns).join(', ')}) on ${vt.label} is missing` });
    }
    for (const ix of st.indexes) {
      if (!tt.indexes.some((i) => sameCols(i.columns, m(ix.columns)))) diffs.push({ table: vt.label, object: 'index', expected: m(ix.columns), actual: null, message: `index on (${m(ix.columns).join(', ')}) of ${vt.label} is missing` });
    }
  }
  return result(diffs, { tables: tables.length, columns });
}
