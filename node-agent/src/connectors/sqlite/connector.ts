import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { Catalog, CatalogObject, TableProfile } from '../../../../common/src/catalog.ts';
import type { IntrospectOptions, ProfileOptions, SourceConnector, TestResult } from '../types.ts';
import type { SqliteOptions } from '../connection-spec.ts';
import { classifyDriverError, ConnectorError } from '../errors.ts';
import { makeTableFilter } from '../table-filter.ts';
import { buildAggregateSql, readAggregateRow } from '../profile-plan.ts';
import { buildSqliteTable, type SqliteTableInfo } from './build-catalog.ts';
import { planSqliteColumn, sqliteIdent, sqliteProfileFrom } from './profile-sql.ts';

type Row = Record<string, unknown>;

export class SqliteConnector implements SourceConnector {
  readonly dialect = 'sqlite' as const;
  private db: Database.Database | null = null;

  constructor(private readonly opts: SqliteOptions) {}

  private fail(err: unknown): ConnectorError {
    return classifyDriverError(err, { dialect: 'sqlite', target: this.opts.path, database: this.opts.path });
  }

  private open(): Database.Database {
    if (this.db) return this.db;
    if (!fs.existsSync(this.opts.path)) {
      throw new ConnectorError('database_not_found', `The SQLite file ${this.opts.path} does not exist on this agent`);
    }
    try {
      // Read-only: introspection and profiling must never change a customer's file.
      this.db = new Database(this.opts.path, { readonly: true, fileMustExist: true });
      return this.db;
    } catch (err) {
      throw this.fail(err);
    }
  }

  private all(sql: string, ...params: unknown[]): Row[] {
    try {
      return this.open().prepare(sql).all(...params) as Row[];
    } catch (err) {
      throw this.fail(err);
    }
  }

  async test(): Promise<TestResult> {
    const started = performance.now();
    try {
      // sqlite_master forces a read of the header: a non-database file fails here, not later.
      const [row] = this.all('select sqlite_version() as v, (select count(*) from sqlite_master) as n');
      return { ok: true, server_version: String(row?.v ?? ''), latency_ms: Math.round(performance.now() - started) };
    } catch (err) {
      const e = this.fail(err);
      return { ok: false, server_version: null, latency_ms: Math.round(performance.now() - started), error_code: e.code, message: e.message };
    }
  }

  private readTable(name: string, sql: string): SqliteTableInfo {
    const q = sqliteIdent(name);
    const columns = this.all(`select * from pragma_table_xinfo(?)`, name) as SqliteTableInfo['columns'];
    const indexes = (this.all(`select * from pragma_index_list(?)`, name) as { name: string; unique: number; origin: string; partial: number }[])
      .map((ix) => ({
        ...ix,
        sql: (this.all(`select sql from sqlite_master where type = 'index' and name = ?`, ix.name)[0]?.sql as string | null) ?? null,
        columns: (this.all(`select * from pragma_index_xinfo(?) where key = 1 order by seqno`, ix.name) as { name: string | null; cid: number }[]),
      }));
    const foreignKeys = this.all(`select * from pragma_foreign_key_list(?)`, name) as SqliteTableInfo['foreignKeys'];
    const refPrimaryKeys = new Map<string, string[]>();
    for (const fk of foreignKeys) {
      if (!refPrimaryKeys.has(fk.table)) {
        const pk = (this.all(`select name, pk from pragma_table_info(?) where pk > 0 order by pk`, fk.table) as { name: string }[]).map((r) => r.name);
        refPrimaryKeys.set(fk.table, pk);
      }
    }
    const withoutRowid = /WITHOUT\s+ROWID\s*;?\s*$/i.test(sql);
    const [count] = this.all(`select count(*) as n${withoutRowid ? '' : ', max(rowid) as r'} from ${q}`);
    let lastRowid = count?.r === undefined || count.r === null ? null : Number(count.r);
    const hasSeq = this.all(`select 1 from sqlite_master where name = 'sqlite_sequence'`).length > 0;
    if (hasSeq) {
      const [seq] = this.all('select seq from sqlite_sequence where name = ?', name);
      if (seq?.seq !== undefined) lastRowid = Math.max(lastRowid ?? 0, Number(seq.seq));
    }
    return { name, sql, columns, indexes, foreignKeys, refPrimaryKeys, rowCount: Number(count?.n ?? 0), lastRowid };
  }

  async introspect(opts: IntrospectOptions = {}): Promise<Catalog> {
    const keep = makeTableFilter(opts.exclude_tables);
    const master = this.all(`select type, name, tbl_name, sql from sqlite_master where name not like 'sqlite_%' order by name`) as
      { type: string; name: string; tbl_name: string; sql: string | null }[];
    const tables = master
      .filter((m) => m.type === 'table' && m.sql && !/^CREATE\s+VIRTUAL/i.test(m.sql) && keep('main', m.name))
      .map((m) => buildSqliteTable(this.readTable(m.name, m.sql ?? '')));
    const objects = (type: string, kind: string): CatalogObject[] =>
      master.filter((m) => m.type === type).map((m) => ({ schema: 'main', name: m.name, kind, definition: m.sql }));
    const virtual = master.filter((m) => m.type === 'table' && m.sql && /^CREATE\s+VIRTUAL/i.test(m.sql))
      .map((m) => ({ schema: 'main', name: m.name, kind: 'virtual table', definition: m.sql }));
    const [v] = this.all('select sqlite_version() as v');
    return {
      dialect: 'sqlite', server_version: String(v?.v ?? ''), database: this.opts.path, schemas: ['main'],
      tables, views: objects('view', 'view'), routines: [...objects('trigger', 'trigger'), ...virtual], sequences: [],
    };
  }

  async profile(tables: { schema: string; table: string }[], opts: ProfileOptions = {}): Promise<TableProfile[]> {
    const catalog = await this.introspect();
    return tables.map((want) => {
      const t = catalog.tables.find((x) => x.name === want.table);
      if (!t) throw new ConnectorError('table_not_found', `Table ${want.table} does not exist`);
      const plans = t.columns.map(planSqliteColumn);
      const [row] = this.all(buildAggregateSql(plans, sqliteProfileFrom(t.name, opts.sample_rows)));
      const read = readAggregateRow(row ?? {}, plans, 'main', t.name, opts.sample_rows);
      return { schema: 'main', table: t.name, rows: read.rows, columns: read.columns };
    });
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
  }
}
