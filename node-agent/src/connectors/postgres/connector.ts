import pg from 'pg';
import type { Catalog, CatalogObject, TableProfile } from '../../../../common/src/catalog.ts';
import { pgQualified } from '../../../../common/src/catalog.ts';
import type { IntrospectOptions, ProfileOptions, SourceConnector, TestResult } from '../types.ts';
import { describeTarget, type PostgresOptions } from '../connection-spec.ts';
import { classifyDriverError, ConnectorError } from '../errors.ts';
import { makeTableFilter } from '../table-filter.ts';
import { tableKey } from '../catalog-helpers.ts';
import { buildAggregateSql, readAggregateRow } from '../profile-plan.ts';
import * as Q from './catalog-queries.ts';
import { buildPgTables, type PgColumnRow, type PgConstraintRow, type PgIndexRow, type PgSequenceRow, type PgTableRow } from './build-catalog.ts';
import { pgProfileFrom, planPgColumn } from './profile-sql.ts';

/** Tables below this many pages (8 kB each, so ~80 MB) get an exact COUNT(*) when statistics are missing. */
const COUNT_BELOW_PAGES = 10_000;

export class PostgresConnector implements SourceConnector {
  readonly dialect = 'postgresql' as const;
  private client: pg.Client | null = null;

  constructor(private readonly opts: PostgresOptions) {}

  private fail(err: unknown): ConnectorError {
    return classifyDriverError(err, {
      dialect: 'postgresql', target: describeTarget(this.opts), database: this.opts.database, password: this.opts.password,
    });
  }

  private async conn(): Promise<pg.Client> {
    if (this.client) return this.client;
    const { dialect: _d, ...config } = this.opts;
    const client = new pg.Client(config);
    // An idle client whose server goes away emits 'error'; without a listener it would crash the agent.
    client.on('error', () => { this.client = null; });
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw this.fail(err);
    }
    this.client = client;
    return client;
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    const c = await this.conn();
    try {
      return (await c.query<R>(sql, params)).rows;
    } catch (err) {
      throw this.fail(err);
    }
  }

  async test(): Promise<TestResult> {
    const started = performance.now();
    try {
      const rows = await this.query<{ v: string }>("select current_setting('server_version') as v");
      const version = (rows[0]?.v ?? '').split(' ')[0] ?? '';
      return { ok: true, server_version: `PostgreSQL ${version}`, latency_ms: Math.round(performance.now() - started) };
    } catch (err) {
      const e = this.fail(err);
      return { ok: false, server_version: null, latency_ms: Math.round(performance.now() - started), error_code: e.code, message: e.message };
    }
  }

  async introspect(opts: IntrospectOptions = {}): Promise<Catalog> {
    const [info] = await this.query<{ db: string; schema: string; version: string }>(
      `select current_database() as db, coalesce(current_schema(), 'public') as schema, current_setting('server_version') as version`);
    const schemas = opts.schemas?.length ? opts.schemas : [info?.schema ?? 'public'];
    const keep = makeTableFilter(opts.exclude_tables);
    const p = [schemas];
    const tables = (await this.query<PgTableRow>(Q.TABLES_SQL, p)).filter((t) => keep(t.schema, t.name));
    const kept = new Set(tables.map((t) => tableKey(t.schema, t.name)));
    const mine = <T extends { schema: string; table: string }>(rows: T[]) => rows.filter((r) => kept.has(tableKey(r.schema, r.table)));
    const columns = mine(await this.query<PgColumnRow>(Q.COLUMNS_SQL, p));
    const constraints = mine(await this.query<PgConstraintRow>(Q.CONSTRAINTS_SQL, p));
    const indexes = mine(await this.query<PgIndexRow>(Q.INDEXES_SQL, p));
    const sequences = await this.query<PgSequenceRow>(Q.SEQUENCES_SQL, p);
    const views = await this.query<CatalogObject>(Q.VIEWS_SQL, p);
    const routines = await this.query<CatalogObject>(Q.ROUTINES_SQL, p);
    const counts = new Map<string, number>();
    for (const t of tables) {
      if (t.reltuples < 0 || t.relpages < COUNT_BELOW_PAGES) {
        const [r] = await this.query<{ n: string }>(`select count(*) as n from ${pgQualified(t.schema, t.name)}`);
        counts.set(tableKey(t.schema, t.name), Number(r?.n ?? 0));
      }
    }
    const built = buildPgTables({ tables, columns, constraints, indexes, sequences, views, routines, counts });
    return {
      dialect: 'postgresql', server_version: `PostgreSQL ${(info?.version ?? '').split(' ')[0]}`, database: info?.db ?? this.opts.database,
      schemas, tables: built.tables, views, routines, sequences: built.sequences,
    };
  }

  async profile(tables: { schema: string; table: string }[], opts: ProfileOptions = {}): Promise<TableProfile[]> {
    const schemas = [...new Set(tables.map((t) => t.schema))];
    const catalog = await this.introspect({ schemas });
    const out: TableProfile[] = [];
    for (const want of tables) {
      const t = catalog.tables.find((x) => x.schema === want.schema && x.name === want.table);
      if (!t) throw new ConnectorError('table_not_found', `Table ${want.schema}.${want.table} does not exist`);
      const plans = t.columns.map(planPgColumn);
      const [row] = await this.query<Record<string, unknown>>(buildAggregateSql(plans, pgProfileFrom(t.schema, t.name, opts.sample_rows)));
      const read = readAggregateRow(row ?? {}, plans, t.schema, t.name, opts.sample_rows);
      out.push({ schema: t.schema, table: t.name, rows: read.rows, columns: read.columns });
    }
    return out;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (c) await c.end().catch(() => undefined);
  }
}
