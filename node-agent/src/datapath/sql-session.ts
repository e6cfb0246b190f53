/**
 * A minimal query session on any source or target dialect, for the small catalog-free queries
 * of the data path (key bounds, row counts). Results come back as arrays of text values.
 */
import { createRequire } from 'node:module';
import type { WireConnection } from '../../../common/src/migrate-tasks.ts';
import { resolveConnectionSpec, describeTarget } from '../connectors/connection-spec.ts';
import { classifyDriverError } from '../connectors/errors.ts';
import type { Dialect } from '../../../common/src/catalog.ts';
import { connectPostgres } from './pg-connect.ts';
import { connectMysql } from './readers/mysql.ts';
import { openSqlite } from './readers/sqlite.ts';
import { quoteBacktick, quoteDouble, type Quote } from './sql.ts';

export interface SqlSession {
  dialect: Dialect;
  quote: Quote;
  /** Rows as arrays of strings (null for NULL). */
  rows(sql: string): Promise<(string | null)[][]>;
  close(): Promise<void>;
}

const text = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

export async function openSession(connection: WireConnection): Promise<SqlSession> {
  const opts = resolveConnectionSpec(connection);
  switch (opts.dialect) {
    case 'postgresql': {
      const client = await connectPostgres(opts);
      return {
        dialect: 'postgresql', quote: quoteDouble,
        rows: async (sql) => {
          try {
            return (await client.query({ text: sql, rowMode: 'array' })).rows.map((r: unknown[]) => r.map(text));
          } catch (err) {
            throw classifyDriverError(err, { dialect: 'postgresql', target: describeTarget(opts), database: opts.database, password: opts.password });
          }
        },
        close: () => client.end().catch(() => undefined),
      };
    }
    case 'mysql': {
      const conn = await connectMysql(opts);
      return {
        dialect: 'mysql', quote: quoteBacktick,
        rows: async (sql) => {
          try {
            const [rows] = await conn.promise().query({ sql, rowsAsArray: true });
            return (rows as unknown[][]).map((r) => r.map(text));
          } catch (err) {
            throw classifyDriverError(err, { dialect: 'mysql', target: describeTarget(opts), database: opts.database ?? null, password: opts.password });
          }
        },
        close: async () => { conn.destroy(); },
      };
    }
    case 'sqlite': {
      const db = openSqlite(opts);
      return {
        dialect: 'sqlite', quote: quoteDouble,
        rows: async (sql) => {
          try {
            return (db.prepare(sql).raw(true).safeIntegers(true).all() as unknown[][]).map((r) => r.map(text));
          } catch (err) {
            throw classifyDriverError(err, { dialect: 'sqlite', target: opts.path, database: opts.path });
          }
        },
        close: async () => { db.close(); },
      };
    }
    case 'oracle': {
      interface Conn { execute(sql: string, b: unknown[], o: Record<string, unknown>): Promise<{ rows?: unknown[][] }>; close(): Promise<void> }
      const ora = createRequire(import.meta.url)('oracledb') as { OUT_FORMAT_ARRAY: number; getConnection(o: Record<string, unknown>): Promise<Conn> };
      const fail = (err: unknown) => classifyDriverError(err, { dialect: 'oracle', target: opts.connectString, password: opts.password });
      const conn = await ora.getConnection({ user: opts.user, password: opts.password, connectString: opts.connectString, connectTimeout: opts.connectTimeoutSeconds }).catch((e: unknown) => { throw fail(e); });
      return {
        dialect: 'oracle', quote: quoteDouble,
        rows: async (sql) => ((await conn.execute(sql, [], { outFormat: ora.OUT_FORMAT_ARRAY }).catch((e: unknown) => { throw fail(e); })).rows ?? []).map((r) => r.map(text)),
        close: () => conn.close().catch(() => undefined),
      };
    }
  }
}

/** "schema"."table" as the dialect names it (SQLite "main" is the file itself). */
export function sessionTable(s: SqlSession, schema: string | null | undefined, table: string): string {
  if (!schema || (s.dialect === 'sqlite' && schema === 'main')) return s.quote(table);
  return `${s.quote(schema)}.${s.quote(table)}`;
}

/** The dialect's "value as text" expression for key bounds. */
export function asText(s: SqlSession, expr: string): string {
  switch (s.dialect) {
    case 'postgresql': return `(${expr})::text`;
    case 'mysql': return `CAST(${expr} AS CHAR)`;
    case 'sqlite': return `CAST(${expr} AS TEXT)`;
    case 'oracle': return `TO_CHAR(${expr})`;
  }
}
