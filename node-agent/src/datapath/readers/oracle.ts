/**
 * Oracle source (node-oracledb thin mode): a result set fetched in batches, numbers and dates
 * read as exact text (oracle-decode.ts), LOBs fetched inline. Live-tested only where an Oracle
 * server is available; the decoding is unit-tested.
 */
import { createRequire } from 'node:module';
import type { UnitSpec } from '../../../../common/src/migrate-tasks.ts';
import type { OracleOptions } from '../../connectors/connection-spec.ts';
import { classifyDriverError } from '../../connectors/errors.ts';
import { rowEncoder } from '../copy-text.ts';
import { DEFAULT_FRAME_BYTES, TextFrameBuilder } from '../frames.ts';
import { keyColumns, qualified, quoteDouble, rangePredicate } from '../sql.ts';
import { oracleRowDecoder, oracleSelect } from './oracle-decode.ts';
import type { DialectReader } from './types.ts';

interface OraResultSet {
  getRows(n: number): Promise<unknown[][]>;
  close(): Promise<void>;
}
interface OraConn {
  execute(sql: string, binds: unknown[], options: Record<string, unknown>): Promise<{ resultSet?: OraResultSet }>;
  close(): Promise<void>;
}
interface OraMeta { dbType: unknown }
interface OracleDbModule {
  OUT_FORMAT_ARRAY: number;
  DB_TYPE_CLOB: unknown;
  DB_TYPE_NCLOB: unknown;
  DB_TYPE_BLOB: unknown;
  STRING: unknown;
  BUFFER: unknown;
  getConnection(o: { user: string; password?: string; connectString: string; connectTimeout?: number }): Promise<OraConn>;
}

const FETCH_ROWS = 1000;

export function oracleSelectSql(unit: UnitSpec): string {
  const key = keyColumns(unit);
  const where = key ? rangePredicate(unit.range, key.source, quoteDouble) : '';
  const from = qualified(unit.source_schema, unit.source_table, quoteDouble);
  return `SELECT ${unit.columns.map(oracleSelect).join(', ')} FROM ${from}${where ? ' WHERE ' + where : ''}`;
}

export const readOracle: DialectReader<OracleOptions> = async function* (opts, unit, options, counters) {
  const ora = createRequire(import.meta.url)('oracledb') as OracleDbModule;
  const fail = (err: unknown) => classifyDriverError(err, { dialect: 'oracle', target: opts.connectString, password: opts.password });
  let conn: OraConn;
  try {
    conn = await ora.getConnection({ user: opts.user, password: opts.password, connectString: opts.connectString, connectTimeout: opts.connectTimeoutSeconds });
  } catch (err) {
    throw fail(err);
  }
  try {
    const { resultSet } = await conn.execute(oracleSelectSql(unit), [], {
      resultSet: true,
      outFormat: ora.OUT_FORMAT_ARRAY,
      fetchArraySize: FETCH_ROWS,
      fetchTypeHandler: (meta: OraMeta) => {
        if (meta.dbType === ora.DB_TYPE_CLOB || meta.dbType === ora.DB_TYPE_NCLOB) return { type: ora.STRING };
        if (meta.dbType === ora.DB_TYPE_BLOB) return { type: ora.BUFFER };
        return undefined;
      },
    }).catch((err: unknown) => { throw fail(err); });
    if (!resultSet) return;
    const decode = oracleRowDecoder(unit.columns);
    const encode = rowEncoder(unit.columns);
    // Oracle stays text: its decoders hand out text forms PostgreSQL parses (not live-tested in binary here).
    const builder = new TextFrameBuilder(options.frameBytes ?? DEFAULT_FRAME_BYTES);
    try {
      for (;;) {
        options.signal?.throwIfAborted();
        const rows = await resultSet.getRows(FETCH_ROWS).catch((err: unknown) => { throw fail(err); });
        if (rows.length === 0) break;
        for (const row of rows) {
          const frame = builder.push(encode(decode(row)));
          if (frame) {
            counters.rows = builder.rows;
            counters.bytes = builder.bytes;
            yield frame;
          }
        }
      }
      const last = builder.flush();
      counters.rows = builder.rows;
      counters.bytes = builder.bytes;
      if (last) yield last;
    } finally {
      await resultSet.close().catch(() => undefined);
    }
  } finally {
    await conn.close().catch(() => undefined);
  }
};
