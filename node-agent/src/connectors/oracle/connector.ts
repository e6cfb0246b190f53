import type { Catalog, TableProfile } from '../../../../common/src/catalog.ts';
import type { IntrospectOptions, ProfileOptions, SourceConnector, TestResult } from '../types.ts';
import type { OracleOptions } from '../connection-spec.ts';
import { classifyDriverError, ConnectorError } from '../errors.ts';
import { makeTableFilter } from '../table-filter.ts';
import { tableKey } from '../catalog-helpers.ts';
import { buildAggregateSql, readAggregateRow } from '../profile-plan.ts';
import * as Q from './catalog-queries.ts';
import { buildOracleCatalogParts, type OracleCatalogRows } from './catalog-rows.ts';
import { loadOracleDb, type OraConnection } from './driver.ts';
import { oracleProfileFrom, planOracleColumn } from './profile-sql.ts';

export class OracleConnector implements SourceConnector {
  readonly dialect = 'oracle' as const;
  private connection: OraConnection | null = null;

  constructor(private readonly opts: OracleOptions) {}

  private fail(err: unknown): ConnectorError {
    return classifyDriverError(err, { dialect: 'oracle', target: this.opts.connectString, password: this.opts.password });
  }

  private async conn(): Promise<OraConnection> {
    if (this.connection) return this.connection;
    try {
      this.connection = await loadOracleDb().getConnection({
        user: this.opts.user, connectString: this.opts.connectString, connectTimeout: this.opts.connectTimeoutSeconds,
        ...(this.opts.password !== undefined ? { password: this.opts.password } : {}),
      });
      return this.connection;
    } catch (err) {
      throw this.fail(err);
    }
  }

  private async rows<R>(sql: string, binds: Record<string, unknown> = {}, numbersAsText = false): Promise<R[]> {
    const c = await this.conn();
    const db = loadOracleDb();
    try {
      const res = await c.execute<R>(sql, binds, {
        outFormat: db.OUT_FORMAT_OBJECT,
        // Profiles need exact NUMBER text; catalog numbers (lengths, counts) fit JS numbers.
        ...(numbersAsText ? { fetchTypeHandler: (m: { dbType: unknown }) => (m.dbType === db.DB_TYPE_NUMBER ? { type: db.STRING } : undefined) } : {}),
      });
      return res.rows ?? [];
    } catch (err) {
      throw this.fail(err);
    }
  }

  async test(): Promise<TestResult> {
    const started = performance.now();
    try {
      const [row] = await this.rows<{ V: string }>(`select banner as v from v$version where rownum = 1`).catch(async () =>
        [{ V: (await this.conn()).oracleServerVersionString ?? '' }]);
      return { ok: true, server_version: row?.V ?? null, latency_ms: Math.round(performance.now() - started) };
    } catch (err) {
      const e = this.fail(err);
      return { ok: false, server_version: null, latency_ms: Math.round(performance.now() - started), error_code: e.code, message: e.message };
    }
  }

  async introspect(opts: IntrospectOptions = {}): Promise<Catalog> {
    const [info] = await this.rows<{ SCHEMA_NAME: string; DB: string }>(
      `select sys_context('USERENV', 'CURRENT_SCHEMA') as schema_name, sys_context('USERENV', 'DB_NAME') as db from dual`);
    const c = await this.conn();
    const owners = opts.schemas?.length ? opts.schemas : [info?.SCHEMA_NAME ?? this.opts.user.toUpperCase()];
    const { list, binds } = Q.ownerBinds(owners);
    const keep = makeTableFilter(opts.exclude_tables);
    const raw: OracleCatalogRows = {
      tables: (await this.rows<OracleCatalogRows['tables'][number]>(Q.tablesSql(list), binds)).filter((t) => keep(t.OWNER, t.TABLE_NAME)),
      columns: await this.rows(Q.columnsSql(list), binds),
      constraints: await this.rows(Q.constraintsSql(list), binds),
      consColumns: await this.rows(Q.consColumnsSql(list), binds),
      indexes: await this.rows(Q.indexesSql(list), binds),
      indColumns: await this.rows(Q.indColumnsSql(list), binds),
      indExpressions: await this.rows(Q.indExpressionsSql(list), binds),
      sequences: await this.rows(Q.sequencesSql(list), binds),
      identityCols: await this.rows(Q.identityColsSql(list), binds),
      views: await this.rows(Q.viewsSql(list), binds),
      objects: await this.rows(Q.objectsSql(list), binds),
    };
    const kept = new Set(raw.tables.map((t) => tableKey(t.OWNER, t.TABLE_NAME)));
    raw.columns = raw.columns.filter((r) => kept.has(tableKey(r.OWNER, r.TABLE_NAME)));
    const parts = buildOracleCatalogParts(raw);
    return {
      dialect: 'oracle', server_version: c.oracleServerVersionString ? `Oracle Database ${c.oracleServerVersionString}` : 'Oracle Database',
      database: info?.DB ?? this.opts.connectString, schemas: owners, ...parts,
    };
  }

  async profile(tables: { schema: string; table: string }[], opts: ProfileOptions = {}): Promise<TableProfile[]> {
    const catalog = await this.introspect({ schemas: [...new Set(tables.map((t) => t.schema))] });
    const out: TableProfile[] = [];
    for (const want of tables) {
      const t = catalog.tables.find((x) => x.schema === want.schema && x.name === want.table);
      if (!t) throw new ConnectorError('table_not_found', `Table ${want.schema}.${want.table} does not exist`);
      const plans = t.columns.map(planOracleColumn);
      const [row] = await this.rows<Record<string, unknown>>(buildAggregateSql(plans, oracleProfileFrom(t.schema, t.name, opts.sample_rows)), {}, true);
      const read = readAggregateRow(row ?? {}, plans, t.schema, t.name, opts.sample_rows);
      out.push({ schema: t.schema, table: t.name, rows: read.rows, columns: read.columns });
    }
    return out;
  }

  async close(): Promise<void> {
    const c = this.connection;
    this.connection = null;
    if (c) await c.close().catch(() => undefined);
  }
}
