/**
 * What validation compares, table by table: source and target columns aligned by index, each
 * with the canonical rendering (ColumnNorm) chosen from the TARGET type and the mapping's
 * transformation. Built from a migration's plan, or from two catalogs and a user's mapping.
 */
import type { Catalog, CatalogTable } from '../../../common/src/catalog.ts';
import { FerryError } from '../../../common/src/errors.ts';
import type { ColumnNorm, ReferentialFk, SideTable } from '../../../node-agent/src/validate/contract.ts';
import type { Plan } from '../migrate/planner/types.ts';

export interface ValidationTable {
  /** "schema.table" of the target: how reports name the table. */
  label: string;
  source: SideTable;
  target: SideTable;
  /** Source foreign keys in target names, for the referential check. */
  foreign_keys: ReferentialFk[];
}

/** User mapping for an on-demand validation. Columns default to same-named ones (case-insensitive). */
export interface TableMappingInput {
  source: string;
  target: string;
  /** source column -> target column. */
  columns?: Record<string, string>;
}

/** PostgreSQL type text in one spelling, so plan types and format_type() output compare. */
export function canonicalPgType(t: string): string {
  let s = t.trim().toLowerCase().replace(/\s+/g, ' ').replace(/\s*\(\s*/g, '(').replace(/\s*,\s*/g, ',').replace(/\s*\)/g, ')');
  const arr = s.endsWith('[]') ? '[]' : '';
  if (arr) s = s.slice(0, -2);
  const alias: [RegExp, string][] = [
    [/^varchar\b/, 'character varying'], [/^char\b/, 'character'], [/^bpchar\b/, 'character'], [/^int4$|^int$/, 'integer'], [/^int8$/, 'bigint'],
    [/^int2$/, 'smallint'], [/^float8$|^float$/, 'double precision'], [/^float4$/, 'real'], [/^bool$/, 'boolean'], [/^decimal\b/, 'numeric'],
    [/^timestamptz(\(\d\))?$/, 'timestamp$1 with time zone'], [/^timestamp(\(\d\))?$/, 'timestamp$1 without time zone'],
    [/^timetz(\(\d\))?$/, 'time$1 with time zone'], [/^time(\(\d\))?$/, 'time$1 without time zone'], [/^serial$/, 'integer'], [/^bigserial$/, 'bigint'],
  ];
  for (const [re, to] of alias) s = s.replace(re, to);
  s = s.replace(/^(timestamp|time)\(6\)/, '$1');
  if (s === 'character') s = 'character(1)';
  return s + arr;
}

export function normFor(targetType: string, transformation = 'none'): ColumnNorm {
  const t = canonicalPgType(targetType);
  const prec = /\((\d+)(?:,(\d+))?\)/.exec(t);
  let n: ColumnNorm;
  if (t.endsWith('[]')) n = { kind: 'other' };
  else if (/^(smallint|integer|bigint|oid)$/.test(t)) n = { kind: 'int' };
  else if (t.startsWith('numeric')) n = { kind: 'decimal', precision: prec?.[2] !== undefined ? Number(prec[2]) : prec?.[1] !== undefined ? 0 : null };
  else if (t === 'real') n = { kind: 'float4' };
  else if (t === 'double precision') n = { kind: 'float8' };
  else if (t === 'boolean') n = { kind: 'bool' };
  else if (t === 'bytea') n = { kind: 'bytes' };
  else if (t.startsWith('timestamp')) n = { kind: t.includes('with time zone') ? 'timestamptz' : 'timestamp', precision: prec ? Number(prec[1]) : 6 };
  else if (t === 'date') n = { kind: 'date' };
  else if (t.startsWith('time')) n = { kind: 'time', precision: prec ? Number(prec[1]) : 6 };
  else if (t === 'json' || t === 'jsonb') n = { kind: 'json' };
  else if (t === 'uuid') n = { kind: 'uuid' };
  else if (t.startsWith('character(')) n = { kind: 'char' };
  else if (/^(text|character varying|citext|name)/.test(t)) n = { kind: 'text' };
  else n = { kind: 'other' };
  if (/^bit(\(\d+\))?$|^bit varying/.test(t)) n.bits = t.startsWith('bit(') && prec ? Number(prec[1]) : 0;
  if (t === 'interval') n.interval = true;
  if (transformation === 'empty_string_to_null') n.empty_to_null = true;
  if (transformation === 'zero_date_to_null') n.zero_date = 'null';
  if (transformation === 'zero_date_to_neg_infinity') n.zero_date = 'neg_infinity';
  if (transformation === 'strip_nul_bytes') n.strip_nul = true;
  if (transformation === 'timestamp_from_unixepoch') n.epoch = 'unixepoch';
  if (transformation === 'timestamp_from_julianday') n.epoch = 'julianday';
  return n;
}

const INT_TYPES = /^(smallint|integer|bigint)$/;

/** Tables to validate from a migration plan (target names from the plan, not from the target). */
export function tablesFromPlan(plan: Plan): ValidationTable[] {
  const byId = new Map(plan.mappings.map((m) => [m.id, m]));
  return plan.tables.map((pt) => {
    const maps = pt.mapping_ids.map((id) => byId.get(id)).filter((m): m is NonNullable<typeof m> => m !== undefined && m.status !== 'rejected');
    const norms = maps.map((m) => normFor(m.target.type, m.transformation));
    const keyTarget = pt.unit_key?.target_columns ?? pt.primary_key?.columns ?? [];
    const key = keyTarget.map((c) => maps.findIndex((m) => m.target.column === c)).filter((i) => i >= 0);
    const keyInt = key.length === 1 && INT_TYPES.test(canonicalPgType(maps[key[0]!]!.target.type));
    const label = `${pt.target.schema}.${pt.target.table}`;
    const pk = pt.primary_key?.columns;
    return {
      label,
      source: { schema: pt.source.schema, table: pt.source.table, columns: maps.map((m, i) => ({ name: m.source.column, norm: norms[i]! })), key: key.length === keyTarget.length ? key : [], key_integer: keyInt },
      target: { schema: pt.target.schema, table: pt.target.table, columns: maps.map((m, i) => ({ name: m.target.column, norm: norms[i]! })), key: key.length === keyTarget.length ? key : [], key_integer: keyInt },
      foreign_keys: pt.foreign_keys.map((fk) => ({
        name: fk.name, schema: pt.target.schema, table: pt.target.table, columns: fk.columns, ref_schema: fk.ref_schema, ref_table: fk.ref_table, ref_columns: fk.ref_columns, key_columns: pk,
      })),
    };
  });
}

function findTable(cat: Catalog, name: string, side: string): CatalogTable {
  const [a, b] = name.includes('.') ? [name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1)] : [null, name];
  const t = cat.tables.find((x) => x.name === b && (a === null || x.schema === a)) ?? cat.tables.find((x) => x.name.toLowerCase() === b.toLowerCase() && (a === null || x.schema.toLowerCase() === a.toLowerCase()));
  if (!t) throw new FerryError('table_not_found', `The ${side} has no table ${JSON.stringify(name)}`, { status: 422, details: { side, table: name } });
  return t;
}

/**
 * Tables to validate from two catalogs and a user mapping. Target types decide the rendering;
 * a target column with no source column is skipped here (the structural check reports it).
 */
export function tablesFromMapping(source: Catalog, target: Catalog, mapping: TableMappingInput[]): ValidationTable[] {
  const out: ValidationTable[] = [];
  const resolved = mapping.map((m) => ({ m, st: findTable(source, m.source, 'source'), tt: findTable(target, m.target, 'target') }));
  const targetNameOf = (schema: string, table: string) => resolved.find((r) => r.st.schema === schema && r.st.name === table)?.tt;
  for (const { m, st, tt } of resolved) {
    const pairs: { s: string; t: string; type: string }[] = [];
    for (const sc of st.columns) {
      const want = m.columns?.[sc.name] ?? sc.name;
      const tc = tt.columns.find((c) => c.name === want) ?? tt.columns.find((c) => c.name.toLowerCase() === want.toLowerCase());
      if (tc) pairs.push({ s: sc.name, t: tc.name, type: tc.native_type });
    }
    const tkey = tt.primary_key?.columns ?? [];
    const key = tkey.map((c) => pairs.findIndex((p) => p.t === c)).filter((i) => i >= 0);
    const full = key.length === tkey.length && key.length > 0;
    const keyInt = full && key.length === 1 && INT_TYPES.test(canonicalPgType(pairs[key[0]!]!.type));
    const norms = pairs.map((p) => normFor(p.type));
    const colMap = (cols: string[]) => cols.map((c) => pairs.find((p) => p.s === c)?.t ?? c);
    out.push({
      label: `${tt.schema}.${tt.name}`,
      source: { schema: st.schema, table: st.name, columns: pairs.map((p, i) => ({ name: p.s, norm: norms[i]! })), key: full ? key : [], key_integer: keyInt },
      target: { schema: tt.schema, table: tt.name, columns: pairs.map((p, i) => ({ name: p.t, norm: norms[i]! })), key: full ? key : [], key_integer: keyInt },
      foreign_keys: st.foreign_keys.flatMap((fk) => {
        const ref = targetNameOf(fk.ref_schema, fk.ref_table);
        const refSrc = source.tables.find((x) => x.schema === fk.ref_schema && x.name === fk.ref_table);
        if (!ref || !refSrc) return [];
        const refCols = fk.ref_columns.map((c) => ref.columns.find((x) => x.name.toLowerCase() === c.toLowerCase())?.name ?? c);
        return [{ name: fk.name ?? `${tt.name}_fk`, schema: tt.schema, table: tt.name, columns: colMap(fk.columns), ref_schema: ref.schema, ref_table: ref.name, ref_columns: refCols, key_columns: tkey.length ? tkey : undefined }];
      }),
    });
  }
  return out;
}
