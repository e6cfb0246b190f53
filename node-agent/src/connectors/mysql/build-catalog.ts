import type {
  CatalogColumn, CatalogIndex, CatalogTable, CheckConstraint, ForeignKey, KeyConstraint,
} from '../../../../common/src/catalog.ts';
import { groupBy, intOrNull, referentialAction, tableKey } from '../catalog-helpers.ts';

/** Row shapes of mysql/catalog-queries.ts. mysql2 returns big numbers as strings, hence unknown. */
export interface MyTableRow { schema: string; name: string; table_rows: unknown; auto_increment: unknown; comment: string | null }
export interface MyColumnRow {
  schema: string; table: string; position: unknown; name: string; column_type: string; data_type: string;
  char_length: unknown; num_precision: unknown; num_scale: unknown; dt_precision: unknown; is_nullable: string;
  column_default: string | null; extra: string | null; charset: string | null; collation: string | null;
  comment: string | null; generation_expression: string | null;
}
export interface MyIndexRow {
  schema: string; table: string; name: string; non_unique: unknown; seq: unknown; column_name: string | null;
  sub_part: unknown; index_type: string;
}
export interface MyForeignKeyRow {
  schema: string; table: string; name: string; column_name: string; seq: unknown; ref_schema: string; ref_table: string;
  ref_column: string; on_update: string; on_delete: string;
}
export interface MyCheckRow { schema: string; table: string; name: string; expression: string }

const CHAR_TYPES = new Set(['char', 'varchar', 'binary', 'varbinary', 'tinytext', 'text', 'mediumtext', 'longtext',
  'tinyblob', 'blob', 'mediumblob', 'longblob']);
const TIME_TYPES = new Set(['datetime', 'timestamp', 'time']);

/** enum('a','b''c') -> ["a", "b'c"] */
export function parseEnumValues(columnType: string): string[] {
  const m = /^(?:enum|set)\((.*)\)$/is.exec(columnType.trim());
  if (!m) return [];
  const out: string[] = [];
  const re = /'((?:[^']|'')*)'/g;
  for (let r = re.exec(m[1] ?? ''); r; r = re.exec(m[1] ?? '')) out.push((r[1] ?? '').replace(/''/g, "'").replace(/\\\\/g, '\\'));
  return out;
}

/** MariaDB reports "NULL" for "no default" on nullable columns; literals come quoted. */
export function mysqlDefault(c: MyColumnRow): string | null {
  if (c.generation_expression) {
    const stored = /stored|persistent/i.test(c.extra ?? '');
    return `generated always as (${c.generation_expression}) ${stored ? 'stored' : 'virtual'}`;
  }
  if (c.column_default === null || c.column_default === 'NULL') return null;
  return c.column_default;
}

export function mysqlColumn(c: MyColumnRow, autoIncrement: number | null, increment: number): CatalogColumn {
  const base = c.data_type.toLowerCase();
  const native = c.column_type.toLowerCase();
  const isEnum = base === 'enum' || base === 'set';
  return {
    name: c.name,
    position: Number(c.position),
    native_type: isEnum ? `${base}(${c.column_type.slice(c.column_type.indexOf('(') + 1)}` : native,
    base_type: base,
    length: CHAR_TYPES.has(base) ? intOrNull(c.char_length) : null,
    precision: base === 'decimal' ? intOrNull(c.num_precision) : TIME_TYPES.has(base) ? intOrNull(c.dt_precision) : null,
    scale: base === 'decimal' ? intOrNull(c.num_scale) : null,
    unsigned: /\bunsigned\b/.test(native),
    nullable: c.is_nullable === 'YES',
    default: mysqlDefault(c),
    identity: /auto_increment/i.test(c.extra ?? '') ? { kind: 'auto_increment', next_value: autoIncrement, increment } : null,
    enum_values: isEnum ? parseEnumValues(c.column_type) : null,
    charset: c.charset,
    collation: c.collation,
    comment: c.comment || null,
  };
}

export interface MyCatalogRows {
  tables: MyTableRow[];
  columns: MyColumnRow[];
  indexes: MyIndexRow[];
  foreignKeys: MyForeignKeyRow[];
  checks: MyCheckRow[];
  /** Exact counts for small tables (table_rows is an estimate on InnoDB). */
  counts: Map<string, number>;
  autoIncrementIncrement: number;
}

export function buildMysqlTables(rows: MyCatalogRows): CatalogTable[] {
  const cols = groupBy(rows.columns, (c) => tableKey(c.schema, c.table));
  const idx = groupBy(rows.indexes, (c) => tableKey(c.schema, c.table));
  const fks = groupBy(rows.foreignKeys, (c) => tableKey(c.schema, c.table));
  const checks = groupBy(rows.checks, (c) => tableKey(c.schema, c.table));
  return rows.tables.map((t): CatalogTable => {
    const key = tableKey(t.schema, t.name);
    const autoInc = intOrNull(t.auto_increment);
    const columns = (cols.get(key) ?? []).map((c) => mysqlColumn(c, autoInc, rows.autoIncrementIncrement));
    let primary_key: KeyConstraint | null = null;
    const unique_keys: KeyConstraint[] = [];
    const indexes: CatalogIndex[] = [];
    for (const [name, parts] of groupBy(idx.get(key) ?? [], (i) => i.name)) {
      const sorted = [...parts].sort((a, b) => Number(a.seq) - Number(b.seq));
      const columnsOf = sorted.map((p) => p.column_name ?? '(expression)');
      const prefix = sorted.filter((p) => p.sub_part !== null && p.sub_part !== undefined);
      const special = ['FULLTEXT', 'SPATIAL'].includes(sorted[0]?.index_type ?? '') ? `using ${sorted[0]?.index_type.toLowerCase()}` : null;
      const expression = special ?? (prefix.length > 0 || sorted.some((p) => p.column_name === null)
        ? sorted.map((p) => (p.column_name === null ? '(expression)' : p.sub_part ? `${p.column_name}(${String(p.sub_part)})` : p.column_name)).join(', ')
        : null);
      if (name === 'PRIMARY') primary_key = { name: 'PRIMARY', columns: columnsOf };
      else if (Number(sorted[0]?.non_unique) === 0 && !expression) unique_keys.push({ name, columns: columnsOf });
      else indexes.push({ name, columns: columnsOf, unique: Number(sorted[0]?.non_unique) === 0, expression, where: null });
    }
    const foreign_keys = [...groupBy(fks.get(key) ?? [], (f) => f.name)].map(([name, parts]): ForeignKey => {
      const sorted = [...parts].sort((a, b) => Number(a.seq) - Number(b.seq));
      const first = sorted[0];
      return {
        name, columns: sorted.map((p) => p.column_name), ref_schema: first?.ref_schema ?? t.schema, ref_table: first?.ref_table ?? '',
        ref_columns: sorted.map((p) => p.ref_column), on_delete: referentialAction(first?.on_delete), on_update: referentialAction(first?.on_update),
      };
    });
    const checkList = (checks.get(key) ?? []).map((c): CheckConstraint => ({ name: c.name, expression: c.expression }));
    const row_estimate = rows.counts.get(key) ?? intOrNull(t.table_rows);
    return {
      schema: t.schema, name: t.name, columns, primary_key, unique_keys, foreign_keys, indexes, checks: checkList, row_estimate,
      comment: t.comment || null,
    };
  });
}
