/**
 * Reading a unit from any source dialect as PostgreSQL COPY frames.
 */
import type { UnitSpec, WireConnection } from '../../../../common/src/migrate-tasks.ts';
import { resolveConnectionSpec } from '../../connectors/connection-spec.ts';
import { readPostgres } from './postgres.ts';
import { readMysql } from './mysql.ts';
import { readSqlite } from './sqlite.ts';
import { readOracle } from './oracle.ts';
import type { ReadCounters, ReadOptions } from './types.ts';

export type { ReadCounters, ReadOptions } from './types.ts';

export interface UnitReader {
  /** COPY frames of ~frameBytes; iterate once. */
  frames: AsyncGenerator<Buffer>;
  /** Updated as frames are yielded; final once `frames` is done. */
  counters: ReadCounters;
}

/**
 * Open a reader for one unit. Nothing connects until the first frame is pulled.
 * `format: 'binary'` is a request: PostgreSQL sources pass the server's binary COPY through;
 * SQLite and MySQL encode binary themselves when every column has a binary form (else text for
 * the whole unit); Oracle always reads text. The loader detects the format from the data.
 * @example for await (const f of openUnitReader(conn, unit, { format: 'text' }).frames) sink.write(f)
 */
export function openUnitReader(connection: WireConnection, unit: UnitSpec, options: ReadOptions): UnitReader {
  const opts = resolveConnectionSpec(connection);
  const counters: ReadCounters = { rows: 0, bytes: 0 };
  switch (opts.dialect) {
    case 'postgresql': return { frames: readPostgres(opts, unit, options, counters), counters };
    case 'mysql': return { frames: readMysql(opts, unit, options, counters), counters };
    case 'sqlite': return { frames: readSqlite(opts, unit, options, counters), counters };
    case 'oracle': return { frames: readOracle(opts, unit, options, counters), counters };
  }
}
