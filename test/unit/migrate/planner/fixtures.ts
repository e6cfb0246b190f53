/** Hand-built catalogs shaped like the Chinook DDL in ../shared/datasets/chinook (all four dialects). */
import type {
  Catalog, CatalogColumn, CatalogTable, ColumnProfile, Dialect, ForeignKey, TableProfile,
} from '../../../../common/src/catalog.ts';

/** A column from its native type text; modifiers are parsed the way the connectors do. */
export function col(name: string, native: string, over: Partial<CatalogColumn> = {}): CatalogColumn {
  const n = native.toLowerCase();
  const m = /^([a-z0-9_ ]+?)\s*(?:\(([^)]*)\))?(\s+unsigned)?$/.exec(n);
  const base = (m?.[1] ?? n).trim();
  const args = (m?.[2] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map((s) => Number.parseInt(s, 10));
  const decimal = /^(number|numeric|decimal)$/.test(base);
  return {
    name,
    position: 0,
    native_type: n,
    base_type: base,
    length: !decimal && args.length === 1 ? (args[0] ?? null) : null,
    precision: decimal ? (args[0] ?? null) : null,
    scale: decimal && args[0] !== undefined ? (args[1] ?? 0) : null,
    unsigned: /unsigned/.test(n),
    nullable: true,
    default: null,
    identity: null,
    ...over,
  };
}

export function notNull(c: CatalogColumn): CatalogColumn {
  return { ...c, nullable: false };
}

export function table(schema: string, name: string, columns: CatalogColumn[], over: Partial<CatalogTable> = {}): CatalogTable {
  return {
    schema,
    name,
    columns: columns.map((c, i) => ({ ...c, position: i + 1 })),
    primary_key: null,
    unique_keys: [],
    foreign_keys: [],
    indexes: [],
    checks: [],
    row_estimate: null,
    ...over,
  };
}

export function fk(name: string | null, columns: string[], refSchema: string, refTable: string, refColumns: string[]): ForeignKey {
  return { name, columns, ref_schema: refSchema, ref_table: refTable, ref_columns: refColumns, on_delete: 'no action', on_update: 'no action' };
}

export function catalog(dialect: Dialect, schema: string, tables: CatalogTable[], over: Partial<Catalog> = {}): Catalog {
  return { dialect, server_version: 'test', database: 'chinook', schemas: [schema], tables, views: [], routines: [], sequences: [], ...over };
}

export function profile(schema: string, tableName: string, column: string, over: Partial<ColumnProfile> = {}): ColumnProfile {
  return { schema, table: tableName, column, rows: 100, nulls: 0, sampled: false, ...over };
}

export function tableProfile(schema: string, tableName: string, columns: ColumnProfile[], rows = 100): TableProfile {
  return { schema, table: tableName, rows, columns };
}

/** Chinook in Oracle: upper-case unquoted names, bare NUMBER keys, DATE, VARCHAR2. */
export function oracleChinook(): Catalog {
  const S = 'CHINOOK';
  const employee = table(S, 'EMPLOYEE', [
    notNull(col('EMPLOYEEID', 'number')), notNull(col('LASTNAME', 'varchar2(20)')), col('TITLE', 'varchar2(30)'),
    col('REPORTSTO', 'number'), col('BIRTHDATE', 'date'),
  ], {
    primary_key: { name: 'PK_EMPLOYEE', columns: ['EMPLOYEEID'] },
    foreign_keys: [fk('FK_EMPLOYEEREPORTSTO', ['REPORTSTO'], S, 'EMPLOYEE', ['EMPLOYEEID'])],
    indexes: [{ name: 'PK_EMPLOYEE', columns: ['EMPLOYEEID'], unique: true }, { name: 'IFK_EMPLOYEEREPORTSTO', columns: ['REPORTSTO'], unique: false }],
    row_estimate: 8,
  });
  const invoice = table(S, 'INVOICE', [
    notNull(col('INVOICEID', 'number')), notNull(col('INVOICEDATE', 'date')), col('BILLINGCITY', 'varchar2(40 char)'),
    notNull(col('TOTAL', 'number(10,2)')),
  ], { primary_key: { name: 'PK_INVOICE', columns: ['INVOICEID'] }, row_estimate: 412 });
  const line = table(S, 'INVOICELINE', [
    notNull(col('INVOICELINEID', 'number')), notNull(col('INVOICEID', 'number')), notNull(col('UNITPRICE', 'number(10,2)')),
    notNull(col('QUANTITY', 'number')),
  ], {
    primary_key: { name: 'PK_INVOICELINE', columns: ['INVOICELINEID'] },
    foreign_keys: [fk('FK_INVOICELINEINVOICEID', ['INVOICEID'], S, 'INVOICE', ['INVOICEID'])],
    row_estimate: 2240,
  });
  const playlistTrack = table(S, 'PLAYLISTTRACK', [notNull(col('PLAYLISTID', 'number')), notNull(col('TRACKID', 'number'))], {
    primary_key: { name: 'PK_PLAYLISTTRACK', columns: ['PLAYLISTID', 'TRACKID'] },
    row_estimate: 8715,
  });
  return catalog('oracle', S, [employee, invoice, line, playlistTrack], { server_version: 'Oracle Database 19c' });
}

/** Full-scan profiles proving Oracle Chinook's NUMBER keys are small integers. */
export function oracleChinookProfiles(): TableProfile[] {
  const S = 'CHINOOK';
  const ints = (t: string, cols: string[], max: string): ColumnProfile[] =>
    cols.map((c) => profile(S, t, c, { all_integral: true, min: '1', max }));
  return [
    tableProfile(S, 'EMPLOYEE', [...ints('EMPLOYEE', ['EMPLOYEEID', 'REPORTSTO'], '8')], 8),
    tableProfile(S, 'INVOICE', ints('INVOICE', ['INVOICEID'], '412'), 412),
    tableProfile(S, 'INVOICELINE', ints('INVOICELINE', ['INVOICELINEID', 'INVOICEID', 'QUANTITY'], '2240'), 2240),
    tableProfile(S, 'PLAYLISTTRACK', ints('PLAYLISTTRACK', ['PLAYLISTID', 'TRACKID'], '3503'), 8715),
  ];
}

/** MySQL shapes with reserved words, mixed case, composite keys and a keyless table. */
export function mysqlShop(): Catalog {
  const S = 'shop';
  const user = table(S, 'user', [
    notNull(col('id', 'int unsigned', { identity: { kind: 'auto_increment', next_value: 500, increment: 1 } })),
    notNull(col('User Name', 'varchar(64)', { charset: 'utf8mb4' })),
    col('select', 'tinyint(1)', { default: '0' }),
    col('CreatedAt', 'datetime', { default: 'current_timestamp()' }),
  ], {
    primary_key: { name: 'PRIMARY', columns: ['id'] },
    unique_keys: [{ name: 'uq_name', columns: ['User Name'] }],
    indexes: [{ name: 'PRIMARY', columns: ['id'], unique: true }, { name: 'uq_name', columns: ['User Name'], unique: true }, { name: 'idx_created', columns: ['CreatedAt'], unique: false }],
  });
  const order = table(S, 'Order', [
    notNull(col('user_id', 'int unsigned')), notNull(col('order_no', 'int')),
    notNull(col('status', "enum('new','paid')", { base_type: 'enum', enum_values: ['new', 'paid'], default: "'new'" })),
    col('qty', 'int'),
  ], {
    primary_key: { name: 'PRIMARY', columns: ['user_id', 'order_no'] },
    foreign_keys: [{ ...fk('fk_order_user', ['user_id'], S, 'user', ['id']), on_delete: 'restrict', on_update: 'cascade' }],
    indexes: [{ name: 'idx_created', columns: ['qty'], unique: false }, { name: 'fk_order_user', columns: ['user_id'], unique: false }],
    checks: [{ name: 'qty_positive', expression: '(`qty` > 0)' }, { name: 'weird', expression: 'regexp_like(`qty`, 1)' }],
  });
  const line = table(S, 'order line', [notNull(col('user_id', 'int unsigned')), notNull(col('order_no', 'int')), col('sku', 'varchar(20)')], {
    foreign_keys: [fk('fk_line_order', ['user_id', 'order_no'], S, 'Order', ['user_id', 'order_no'])],
  });
  const log = table(S, 'log', [notNull(col('code', 'varchar(10)')), col('msg', 'text')], { unique_keys: [{ name: 'uq_code', columns: ['code'] }] });
  return catalog('mysql', S, [user, order, line, log], {
    views: [{ schema: S, name: 'v_orders', kind: 'view' }],
    routines: [{ schema: S, name: 'trg_audit', kind: 'TRIGGER' }],
  });
}
