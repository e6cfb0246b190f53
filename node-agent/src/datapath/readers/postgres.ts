/**
 * PostgreSQL source: the server itself writes the COPY data (`COPY (SELECT ...) TO STDOUT`),
 * binary when the hub says every column passes through unchanged, text otherwise. Frames pass
 * through as the server wrote them, re-batched to ~1 MiB; no value is decoded in JS.
 */
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { UnitColumn, UnitSpec } from '../../../../common/src/migrate-tasks.ts';
import type { PostgresOptions } from '../../connectors/connection-spec.ts';
import { DEFAULT_FRAME_BYTES, countLines, rebatch } from '../frames.ts';
import { keyColumns, qualified, quoteDouble, rangePredicate } from '../sql.ts';
import type { DialectReader } from './types.ts';
import { connectPostgres } from '../pg-connect.ts';

function selectExpr(c: UnitColumn, binary: boolean): string {
  const q = quoteDouble(c.source);
  if (binary) return q;
  switch (c.transformation) {
    case 'empty_string_to_null': return `NULLIF(${q}, '')`;
    case 'bool_from_int': return `(${q} <> 0)`;
    default: return q;
  }
}

/** The COPY ... TO STDOUT statement of a unit. */
export function postgresCopyOutSql(unit: UnitSpec, format: 'text' | 'binary'): string {
  const key = keyColumns(unit);
  const where = key ? rangePredicate(unit.range, key.source, quoteDouble) : '';
  const cols = unit.columns.map((c) => selectExpr(c, format === 'binary')).join(', ');
  const from = qualified(unit.source_schema, unit.source_table, quoteDouble);
  return `COPY (SELECT ${cols} FROM ${from}${where ? ' WHERE ' + where : ''}) TO STDOUT (FORMAT ${format})`;
}

export const readPostgres: DialectReader<PostgresOptions> = async function* (opts, unit, options, counters) {
  const client: pg.Client = await connectPostgres(opts);
  // A unit is one range scan streamed out: JIT compilation (its cost estimate crosses
  // jit_above_cost) and parallel workers feeding a Gather only add CPU on a busy box.
  await client.query('SET jit = off; SET max_parallel_workers_per_gather = 0').catch(() => undefined);
  const signal = options.signal;
  const stream = client.query(copyTo(postgresCopyOutSql(unit, options.format)));
  const onAbort = () => stream.destroy(new Error('read cancelled'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const frame of rebatch(stream, options.frameBytes ?? DEFAULT_FRAME_BYTES)) {
      signal?.throwIfAborted();
      counters.bytes += frame.length;
      if (options.format === 'text') counters.rows += countLines(frame);
      yield frame;
    }
    if (options.format === 'binary') counters.rows = stream.rowCount;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!stream.destroyed) stream.destroy();
    await client.end().catch(() => undefined);
  }
};
