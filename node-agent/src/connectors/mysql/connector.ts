import mysql from 'mysql2/promise';
import type { Catalog, CatalogObject, TableProfile } from '../../../../common/src/catalog.ts';
import type { IntrospectOptions, ProfileOptions, SourceConnector, TestResult } from '../types.ts';
import { describeTarget, type MysqlOptions } from '../connection-spec.ts';
import { classifyDriverError, ConnectorError } from '../errors.ts';
import { makeTableFilter } from '../table-filter.ts';
import { tableKey } from '../catalog-helpers.ts';
import { buildAggregateSql, readAggregateRow } from '../profile-plan.ts';
import * as Q from './catalog-queries.ts';
import {
  buildMysqlTables, type MyCheckRow, type MyColumnRow, type MyForeignKeyRow, type MyIndexRow, type MyTableRow,
} from './build-catalog.ts';
import { myIdent, mysqlProfileFrom, planMysqlColumn } from './profile-sql.ts';

/** InnoDB's table_rows is an estimate; below this we pay for an exact COUNT(*). */
const COUNT_BELOW_ROWS = 100_000;

type Row = Record<string, unknown>;

export class MysqlConnector implements SourceConnector {
  readonly dialect = 'mysql' as const;
  private connection: mysql.Connection | null = null;

  constructor(private readonly opts: MysqlOptions) {}

  private fail(err: unknown): ConnectorError {
    return classifyDriverError(err, {
      dialect: 'mysql', target: describeTarget(this.opts), database: this.opts.database ?? null, password: this.opts.password,
    });
  }

  private async conn(): Promise<mysql.Connection> {
    if (this.connection) return this.connection;
    const { dialect: _d, ...config } = this.opts;
    try {
      const c = await mysql.createConnection({
        ...config,
        // Exact values: decimals and bigints as strings, dates as the server's text (zero dates survive).
        supportBigNumbers: true, bigNumberStrings: true, decimalNumbers: false, dateStrings: true, charset: 'utf8mb4',
      });
      c.on('error', () => { this.connection = null; });
      this.connection = c;
      return c;
    } catch (err) {
      throw this.fail(err);
    }
  }

  private async query<R = Row>(sql: string, params: unknown[] = []): Promise<R[]> {
    const c = await this.conn();
    try {
      const [rows] = await c.query(sql, params);
      return rows as R[];
    } catch (err) {
      throw this.fail(err);
    }
  }

  async test(): Promise<TestResult> {
    const started = performance.now();
    try {
      const [row] = await this.query<{ v: string }>('select version() as v');
      return { ok: true, server_version: String(row?.v ?? ''), latency_ms: Math.round(performance.now() - started) };
    } catch (err) {
      const e = this.fail(err);
      return { ok: false, server_version: null, latency_ms: Math.round(performance.now() - started), error_code: e.code, message: e.message };
    }
  }

  async introspect(opts: IntrospectOptions = {}): Promise<Catalog> {
    const [info] = await this.query<{ db: string | null; version: string; inc: unknown }>(
      'select database() as db, version() as version, @@auto_increment_increment as inc');
    const schemas = opts.schemas?.length ? opts.schemas : info?.db ? [info.db] : [];
    if (schemas.length === 0) throw new ConnectorError('invalid_connection', 'No database given: set database in the connection or schemas in the request');
    const keep = makeTableFilter(opts.exclude_tables);
    const tables = (await this.query<MyTableRow>(Q.TABLES_SQL, [schemas])).filter((t) => keep(t.schema, t.name));
    const kept = new Set(tables.map((t) => tableKey(t.schema, t.name)));
    const mine = <T extends { schema: string; table: string }>(rows: T[]) => rows.filter((r) => kept.has(tableKey(r.schema, r.table)));
    const columns = mine(await this.query<MyColumnRow>(Q.COLUMNS_SQL, [schemas]));
    const indexes = mine(await this.query<MyIndexRow>(Q.INDEXES_SQL, [schemas]));
    const foreignKeys = mine(await this.query<MyForeignKeyRow>(Q.FOREIGN_KEYS_SQL, [schemas]));
    const isMaria = /mariadb/i.test(info?.version ?? '');
    const checks = mine(await this.query<MyCheckRow>(isMaria ? Q.CHECKS_SQL_MARIADB : Q.CHECKS_SQL, [schemas]).catch(() => []));
    const views = await this.query<CatalogObject>(Q.VIEWS_SQL, [schemas]);
    const routines = await this.query<CatalogObject>(Q.ROUTINES_SQL, [schemas, schemas, schemas]);
    const counts = new Map<string, number>();
    for (const t of tables) {
      if (t.table_rows === null || Number(t.table_rows) < COUNT_BELOW_ROWS) {
        const [r] = await this.query<{ n: unknown }>(`select count(*) as n from ${myIdent(t.schema)}.${myIdent(t.name)}`);
        counts.set(tableKey(t.schema, t.name), Number(r?.n ?? 0));
      }
    }
    return {
      dialect: 'mysql', server_version: info?.version ?? '', database: info?.db ?? schemas[0] ?? '', schemas,
      tables: buildMysqlTables({ tables, columns, indexes, foreignKeys, checks, counts, autoIncrementIncrement: Number(info?.inc ?? 1) }),
      views, routines, sequences: [],
    };
  }

  async profile(tables: { schema: string; table: string }[], opts: ProfileOptions = {}): Promise<TableProfile[]> {
    const catalog = await this.introspect({ schemas: [...new Set(tables.map((t) => t.schema))] });
    const out: TableProfile[] = [];
    for (const want of tables) {
      const t = catalog.tables.find((x) => x.schema === want.schema && x.name === want.table);
      if (!t) throw new ConnectorError('table_not_found', `Table ${want.schema}.${want.table} does not exist`);
      const plans = t.columns.map(planMysqlColumn);
      const [row] = await this.query(buildAggregateSql(plans, mysqlProfileFrom(t.schema, t.name, opts.sample_rows)));
      const read = readAggregateRow(row ?? {}, plans, t.schema, t.name, opts.sample_rows);
      out.push({ schema: t.schema, table: t.name, rows: read.rows, columns: read.columns });
    }
    return out;
  }

  async close(): Promise<void> {
    const c = this.connection;
    this.connection = null;
    if (c) await c.end().catch(() => undefined);
  }
}
