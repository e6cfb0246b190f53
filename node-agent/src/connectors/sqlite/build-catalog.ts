import type { CatalogColumn, CatalogIndex, CatalogTable, ForeignKey, KeyConstraint } from '../../../../common/src/catalog.ts';
import { groupBy, intOrNull, parseTypeName, referentialAction } from '../catalog-helpers.ts';
import { hasAutoincrement, indexWhere, parseChecks, primaryKeyName } from './ddl-parse.ts';

/** What the sqlite connector reads per table (pragma rows, as better-sqlite3 returns them). */
export interface SqliteTableInfo {
  name: string;
  sql: string;
  columns: { cid: number; name: string; type: string; notnull: number; dflt_value: string | null; pk: number; hidden: number }[];
  indexes: { name: string; unique: number; origin: string; partial: number; sql: string | null; columns: { name: string | null; cid: number }[] }[];
  foreignKeys: { id: number; seq: number; table: string; from: string; to: string | null; on_update: string; on_delete: string }[];
  /** Primary key columns of referenced tables, for FKs that name no columns. */
  refPrimaryKeys: Map<string, string[]>;
  rowCount: number;
  /** sqlite_sequence value (AUTOINCREMENT) or max(rowid). */
  lastRowid: number | null;
}

/** "NVARCHAR(160)" -> pieces; SQLite types are free text, so only the obvious modifiers are read. */
export function sqliteColumnType(declared: string): Pick<CatalogColumn, 'native_type' | 'base_type' | 'length' | 'precision' | 'scale' | 'unsigned'> {
  const native = declared.trim().toLowerCase();
  const t = parseTypeName(native);
  const a0 = intOrNull(t.args[0]);
  const a1 = intOrNull(t.args[1]);
  const decimal = /^(numeric|decimal|number)$/.test(t.base);
  return {
    native_type: native,
    base_type: t.base,
    length: !decimal && t.args.length === 1 ? a0 : null,
    precision: decimal ? a0 : null,
    scale: decimal && a0 !== null ? (a1 ?? 0) : null,
    unsigned: t.unsigned,
  };
}

export function buildSqliteTable(t: SqliteTableInfo): CatalogTable {
  const pkCols = t.columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
  const withoutRowid = /\)\s*WITHOUT\s+ROWID\s*;?\s*$/i.test(t.sql);
  // A lone INTEGER PRIMARY KEY column is the rowid itself (exactly "integer", not "int").
  const rowidAlias = !withoutRowid && pkCols.length === 1 && pkCols[0]?.type.trim().toLowerCase() === 'integer' ? pkCols[0].name : null;
  const columns = t.columns.filter((c) => c.hidden === 0 || c.hidden === 2 || c.hidden === 3).map((c, i): CatalogColumn => ({
    name: c.name,
    position: i + 1,
    ...sqliteColumnType(c.type),
    nullable: c.notnull === 0 && c.name !== rowidAlias,
    default: c.dflt_value,
    identity: c.name === rowidAlias
      ? { kind: hasAutoincrement(t.sql) ? 'auto_increment' : 'rowid_alias', next_value: (t.lastRowid ?? 0) + 1, increment: 1 }
      : null,
  }));
  const primary_key: KeyConstraint | null = pkCols.length ? { name: primaryKeyName(t.sql), columns: pkCols.map((c) => c.name) } : null;
  const unique_keys: KeyConstraint[] = [];
  const indexes: CatalogIndex[] = [];
  for (const ix of t.indexes) {
    if (ix.origin === 'pk') continue;
    const cols = ix.columns.map((c) => c.name ?? '(expression)');
    if (ix.origin === 'u') {
      unique_keys.push({ name: ix.name.startsWith('sqlite_autoindex_') ? null : ix.name, columns: cols });
      continue;
    }
    const hasExpr = ix.columns.some((c) => c.cid === -2);
    indexes.push({
      name: ix.name, columns: cols, unique: ix.unique === 1,
      expression: hasExpr ? ix.sql : null, where: ix.partial ? indexWhere(ix.sql) : null,
    });
  }
  const foreign_keys = [...groupBy(t.foreignKeys, (f) => String(f.id))].map(([, parts]): ForeignKey => {
    const sorted = [...parts].sort((a, b) => a.seq - b.seq);
    const first = sorted[0];
    const refTable = first?.table ?? '';
    const refPk = t.refPrimaryKeys.get(refTable) ?? [];
    return {
      name: null, columns: sorted.map((f) => f.from), ref_schema: 'main', ref_table: refTable,
      ref_columns: sorted.map((f, i) => f.to ?? refPk[i] ?? ''),
      on_delete: referentialAction(first?.on_delete), on_update: referentialAction(first?.on_update),
    };
  });
  return {
    schema: 'main', name: t.name, columns, primary_key, unique_keys, foreign_keys, indexes, checks: parseChecks(t.sql),
    row_estimate: t.rowCount,
  };
}
