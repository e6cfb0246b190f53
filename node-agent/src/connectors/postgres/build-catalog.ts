import type {
  CatalogColumn, CatalogIndex, CatalogObject, CatalogSequence, CatalogTable, CheckConstraint, ForeignKey, IdentityInfo, KeyConstraint,
} from '../../../../common/src/catalog.ts';
import { groupBy, intOrNull, parseTypeName, referentialAction, tableKey } from '../catalog-helpers.ts';

/** Row shapes of the queries in catalog-queries.ts (pg returns these names). */
export interface PgTableRow { schema: string; name: string; reltuples: number; relpages: number; comment: string | null }
export interface PgColumnRow {
  schema: string; table: string; position: number; name: string; native_type: string; nullable: boolean;
  default: string | null; identity: string; generated: string; sequence: string | null; comment: string | null;
  collation: string | null; enum_values: string[] | null;
}
export interface PgConstraintRow {
  schema: string; table: string; name: string; type: 'p' | 'u' | 'f' | 'c'; columns: string[];
  ref_schema: string | null; ref_table: string | null; ref_columns: string[]; on_update: string; on_delete: string;
  check_expr: string | null;
}
export interface PgIndexRow {
  schema: string; table: string; name: string; unique: boolean; columns: string[]; expression: string | null;
  where: string | null; method: string;
}
export interface PgSequenceRow {
  schema: string; name: string; start: string; increment: string; last_value: string | null;
  owned_table: string | null; owned_column: string | null; dep: string | null;
}

const CHAR_TYPES = new Set(['character varying', 'character', 'varchar', 'char', 'bit', 'bit varying']);
const TIME_TYPES = /^(timestamp|time|interval)/;

/** Turn format_type() output into the catalog's parsed pieces. */
export function pgColumnType(native: string): Pick<CatalogColumn, 'base_type' | 'length' | 'precision' | 'scale' | 'unsigned'> {
  const t = parseTypeName(native);
  const a0 = intOrNull(t.args[0]);
  const a1 = intOrNull(t.args[1]);
  if (CHAR_TYPES.has(t.base)) return { base_type: t.base, length: a0, precision: null, scale: null, unsigned: false };
  if (t.base === 'numeric' || t.base === 'decimal') {
    return { base_type: t.base, length: null, precision: a0, scale: a0 === null ? null : (a1 ?? 0), unsigned: false };
  }
  if (TIME_TYPES.test(t.base)) return { base_type: t.base, length: null, precision: a0, scale: null, unsigned: false };
  return { base_type: t.base, length: null, precision: null, scale: null, unsigned: false };
}

export function sequenceNext(s: PgSequenceRow): number | null {
  const start = Number(s.start);
  if (s.last_value === null) return start;
  return Number(s.last_value) + Number(s.increment);
}

function stripSchema(qualified: string): { schema: string | null; name: string } {
  // pg_get_serial_sequence returns a quoted-as-needed "schema.name"
  const m = /^("(?:[^"]|"")+"|[^.]+)\.("(?:[^"]|"")+"|.+)$/.exec(qualified);
  const unq = (x: string) => (x.startsWith('"') ? x.slice(1, -1).replace(/""/g, '"') : x);
  return m ? { schema: unq(m[1] ?? ''), name: unq(m[2] ?? '') } : { schema: null, name: qualified };
}

export interface PgCatalogRows {
  tables: PgTableRow[];
  columns: PgColumnRow[];
  constraints: PgConstraintRow[];
  indexes: PgIndexRow[];
  sequences: PgSequenceRow[];
  views: CatalogObject[];
  routines: CatalogObject[];
  /** Exact counts for tables whose statistics were missing or small. */
  counts: Map<string, number>;
}

export function buildPgTables(rows: PgCatalogRows): { tables: CatalogTable[]; sequences: CatalogSequence[] } {
  const seqByName = new Map(rows.sequences.map((s) => [tableKey(s.schema, s.name), s]));
  const cols = groupBy(rows.columns, (c) => tableKey(c.schema, c.table));
  const cons = groupBy(rows.constraints, (c) => tableKey(c.schema, c.table));
  const idx = groupBy(rows.indexes, (c) => tableKey(c.schema, c.table));

  const tables = rows.tables.map((t): CatalogTable => {
    const key = tableKey(t.schema, t.name);
    const columns = (cols.get(key) ?? []).map((c): CatalogColumn => {
      let identity: IdentityInfo | null = null;
      if (c.sequence && (c.identity === 'a' || c.identity === 'd' || /^nextval\(/i.test(c.default ?? ''))) {
        const ref = stripSchema(c.sequence);
        const seq = seqByName.get(tableKey(ref.schema ?? t.schema, ref.name));
        identity = {
          kind: c.identity === 'a' || c.identity === 'd' ? 'identity' : 'serial',
          next_value: seq ? sequenceNext(seq) : null,
          increment: seq ? Number(seq.increment) : 1,
          sequence_name: ref.name,
        };
      }
      return {
        name: c.name, position: c.position, native_type: c.native_type.toLowerCase(), ...pgColumnType(c.native_type),
        nullable: c.nullable, default: c.generated === 's' ? `generated always as ${c.default ?? ''} stored` : c.default, identity,
        enum_values: c.enum_values, collation: c.collation, comment: c.comment,
      };
    });
    const tc = cons.get(key) ?? [];
    const pk = tc.find((c) => c.type === 'p');
    const primary_key: KeyConstraint | null = pk ? { name: pk.name, columns: pk.columns } : null;
    const unique_keys = tc.filter((c) => c.type === 'u').map((c): KeyConstraint => ({ name: c.name, columns: c.columns }));
    const foreign_keys = tc.filter((c) => c.type === 'f').map((c): ForeignKey => ({
      name: c.name, columns: c.columns, ref_schema: c.ref_schema ?? t.schema, ref_table: c.ref_table ?? '',
      ref_columns: c.ref_columns, on_delete: referentialAction(c.on_delete), on_update: referentialAction(c.on_update),
    }));
    const checks = tc.filter((c) => c.type === 'c').map((c): CheckConstraint => ({ name: c.name, expression: c.check_expr ?? '' }));
    const indexes = (idx.get(key) ?? []).map((i): CatalogIndex => ({
      name: i.name, columns: i.columns, unique: i.unique, where: i.where,
      // A non-btree method (gin, gist...) is noted like an expression: the planner must look at it.
      expression: i.expression ?? (i.method !== 'btree' ? `using ${i.method}` : null),
    }));
    const counted = rows.counts.get(key);
    const row_estimate = counted ?? (t.reltuples >= 0 ? Math.round(t.reltuples) : null);
    return { schema: t.schema, name: t.name, columns, primary_key, unique_keys, foreign_keys, indexes, checks, row_estimate, comment: t.comment };
  });

  const sequences = rows.sequences.filter((s) => s.dep !== 'i').map((s): CatalogSequence => ({
    schema: s.schema, name: s.name, start: Number(s.start), increment: Number(s.increment), next_value: sequenceNext(s),
    owned_by: s.owned_table && s.owned_column ? { table: s.owned_table, column: s.owned_column } : null,
  }));
  return { tables, sequences };
}
