/**
 * MySQL/MariaDB source: one streaming SELECT per unit over the text protocol, rows as arrays,
 * decimals/bigints/dates as the server's exact text. The connection is paused whenever a frame
 * is waiting for the consumer, so memory stays at a few frames whatever the table size.
 */
import mysql from 'mysql2';
import type { UnitColumn, UnitSpec } from '../../../../common/src/migrate-tasks.ts';
import type { MysqlOptions } from '../../connectors/connection-spec.ts';
import { describeTarget } from '../../connectors/connection-spec.ts';
import { classifyDriverError } from '../../connectors/errors.ts';
import { DEFAULT_FRAME_BYTES } from '../frames.ts';
import { rowFramer } from '../row-framer.ts';
import { keyColumns, qualified, quoteBacktick, rangePredicate } from '../sql.ts';
import type { DialectReader } from './types.ts';

function selectExpr(c: UnitColumn): string {
  const q = quoteBacktick(c.source);
  return c.transformation === 'geometry_to_wkt' ? `ST_AsText(${q})` : q;
}

export function mysqlSelectSql(unit: UnitSpec): string {
  const key = keyColumns(unit);
  const where = key ? rangePredicate(unit.range, key.source, quoteBacktick) : '';
  const from = qualified(unit.source_schema, unit.source_table, quoteBacktick);
  return `SELECT ${unit.columns.map(selectExpr).join(', ')} FROM ${from}${where ? ' WHERE ' + where : ''}`;
}

/** Driver options that keep every value exact (see copy-text.ts). */
export function mysqlExactOptions(opts: MysqlOptions): mysql.ConnectionOptions {
  const { dialect: _d, ...config } = opts;
  return {
    ...config,
    supportBigNumbers: true, bigNumberStrings: true, decimalNumbers: false, dateStrings: true, jsonStrings: true,
    charset: 'utf8mb4', rowsAsArray: true,
  };
}

export async function connectMysql(opts: MysqlOptions): Promise<mysql.Connection> {
  const conn = mysql.createConnection(mysqlExactOptions(opts));
  conn.on('error', () => undefined);
  try {
    // UTC so TIMESTAMP columns are read as instants; a long write timeout because a paused
    // stream (slow target) keeps the server waiting on its socket.
    await conn.promise().query("SET time_zone = '+00:00', net_write_timeout = 3600");
  } catch (err) {
    conn.destroy();
    throw classifyDriverError(err, { dialect: 'mysql', target: describeTarget(opts), database: opts.database ?? null, password: opts.password });
  }
  return conn;
}

export const readMysql: DialectReader<MysqlOptions> = async function* (opts, unit, options, counters) {
  const conn = await connectMysql(opts);
  const builder = rowFramer(unit.columns, options.format, options.frameBytes ?? DEFAULT_FRAME_BYTES);
  const ready: { frame: Buffer; rowsAfter: number }[] = [];
  let done = false;
  let failure: unknown = null;
  let paused = false;
  let wake: (() => void) | null = null;
  const notify = () => { const w = wake; wake = null; w?.(); };

  const query = conn.query({ sql: mysqlSelectSql(unit), rowsAsArray: true });
  query.on('result', (row: unknown) => {
    const frame = builder.push(row as unknown[]);
    if (frame) {
      ready.push({ frame, rowsAfter: builder.rows });
      if (!paused) { paused = true; conn.pause(); }
      notify();
    }
  });
  query.on('error', (err: unknown) => { failure = err; done = true; notify(); });
  query.on('end', () => {
    const last = builder.flush();
    if (last) ready.push({ frame: last, rowsAfter: builder.rows });
    done = true;
    notify();
  });
  const onAbort = () => { failure = options.signal?.reason ?? new Error('read cancelled'); done = true; notify(); };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const next = ready.shift();
      if (next) {
        counters.bytes += next.frame.length;
        counters.rows = next.rowsAfter;
        yield next.frame;
        continue;
      }
      if (failure) throw classifyDriverError(failure, { dialect: 'mysql', target: describeTarget(opts), database: opts.database ?? null, password: opts.password });
      if (done) break;
      if (paused) {
        // resume() replays queued packets synchronously: rows and even the end may arrive right here.
        paused = false;
        conn.resume();
        continue;
      }
      await new Promise<void>((resolve) => { wake = resolve; });
    }
    counters.rows = builder.rows;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    conn.destroy();
  }
};
