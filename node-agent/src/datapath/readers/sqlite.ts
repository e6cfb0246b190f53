/**
 * SQLite source: better-sqlite3 is synchronous, so rows are encoded in a tight loop and the
 * reader yields to the event loop after every frame; heartbeats and the consumer keep running.
 * Integers arrive as BigInt (safeIntegers), so 64-bit values stay exact.
 */
import Database from 'better-sqlite3';
import { setImmediate as nextTurn } from 'node:timers/promises';
import fs from 'node:fs';
import type { UnitSpec } from '../../../../common/src/migrate-tasks.ts';
import type { SqliteOptions } from '../../connectors/connection-spec.ts';
import { ConnectorError, classifyDriverError } from '../../connectors/errors.ts';
import { DEFAULT_FRAME_BYTES } from '../frames.ts';
import { rowFramer } from '../row-framer.ts';
import { keyColumns, quoteDouble, rangePredicate } from '../sql.ts';
import type { DialectReader } from './types.ts';

export function sqliteSelectSql(unit: UnitSpec): string {
  const key = keyColumns(unit);
  const where = key ? rangePredicate(unit.range, key.source, quoteDouble) : '';
  // SQLite has one schema per attached file; "main" is the file itself.
  const schema = unit.source_schema && unit.source_schema !== 'main' ? quoteDouble(unit.source_schema) + '.' : '';
  return `SELECT ${unit.columns.map((c) => quoteDouble(c.source)).join(', ')} FROM ${schema}${quoteDouble(unit.source_table)}${where ? ' WHERE ' + where : ''}`;
}

export function openSqlite(opts: SqliteOptions): Database.Database {
  if (!fs.existsSync(opts.path)) throw new ConnectorError('database_not_found', `The SQLite file ${opts.path} does not exist on this agent`);
  try {
    return new Database(opts.path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw classifyDriverError(err, { dialect: 'sqlite', target: opts.path, database: opts.path });
  }
}

export const readSqlite: DialectReader<SqliteOptions> = async function* (opts, unit, options, counters) {
  const db = openSqlite(opts);
  try {
    const stmt = db.prepare(sqliteSelectSql(unit)).raw(true).safeIntegers(true);
    const builder = rowFramer(unit.columns, options.format, options.frameBytes ?? DEFAULT_FRAME_BYTES);
    for (const row of stmt.iterate() as IterableIterator<unknown[]>) {
      const frame = builder.push(row);
      if (frame) {
        counters.rows = builder.rows;
        counters.bytes = builder.bytes;
        yield frame;
        await nextTurn();
        options.signal?.throwIfAborted();
      }
    }
    const last = builder.flush();
    counters.rows = builder.rows;
    counters.bytes = builder.bytes;
    if (last) yield last;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw typeof code === 'string' && code.startsWith('SQLITE') ? classifyDriverError(err, { dialect: 'sqlite', target: opts.path, database: opts.path }) : err;
  } finally {
    db.close();
  }
};
