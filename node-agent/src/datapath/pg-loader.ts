/**
 * Loading one unit into PostgreSQL, idempotently: in one transaction, remove what an earlier
 * attempt of the same unit may have committed (its key range, or the whole table), then
 * COPY FROM STDIN the frames as they arrive, with backpressure. Commit makes the unit done.
 * With `salvage`, rows go in savepoint batches, bisected down to the single rows the server
 * rejects (see salvage.ts); the other rows still load in the same transaction.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { FerryError } from '../../../common/src/errors.ts';
import type { LoadUnitResult, UnitSpec, WireConnection } from '../../../common/src/migrate-tasks.ts';
import { resolveConnectionSpec, describeTarget, type PostgresOptions } from '../connectors/connection-spec.ts';
import { classifyDriverError } from '../connectors/errors.ts';
import { BINARY_SIGNATURE } from './copy-rows.ts';
import { countLines } from './frames.ts';
import { connectPostgres } from './pg-connect.ts';
import { salvageLoad, type SalvageOptions } from './salvage.ts';
import { keyColumns, qualified, quoteDouble, rangePredicate } from './sql.ts';

export interface LoadOptions {
  /** What the hub expects; the data itself decides (a binary stream starts with the PGCOPY signature). */
  format: 'text' | 'binary';
  /** Load in bisected savepoint batches and report rejected rows instead of failing the unit. @default false */
  salvage?: boolean;
  /**
   * The caller guarantees no earlier attempt of this unit can have committed (first dispatch):
   * the range delete is skipped. Without an index on the key (indexes come at cutover), that
   * delete is a full scan of the target table per unit. @default false
   */
  fresh?: boolean;
  signal?: AbortSignal;
  /** Cumulative rows and bytes, called after every frame. */
  onProgress?: (counters: { rows: number; bytes: number }) => void;
  /** Salvage tuning (batch size, cap on rejected rows). */
  salvageOptions?: Partial<SalvageOptions>;
}

/** SQLSTATE classes that mean "the connection or server failed", not "this data is bad". */
const CONNECTION_CLASSES = ['08', '57', '53', '58'];

/** Map a failure of a load to a typed error: connectivity (retryable) or a data error with its SQLSTATE. */
export function loadError(err: unknown, opts: PostgresOptions, unit: UnitSpec): Error {
  if (err instanceof FerryError) return err;
  const e = err as { code?: unknown; message?: unknown; detail?: unknown; where?: unknown };
  const sqlstate = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : null;
  if (!sqlstate || CONNECTION_CLASSES.includes(sqlstate.slice(0, 2))) {
    const c = classifyDriverError(err, { dialect: 'postgresql', target: describeTarget(opts), database: opts.database, password: opts.password });
    if (c.code !== 'connection_failed' || !sqlstate) return c;
  }
  const detail = typeof e.detail === 'string' ? ` (${e.detail})` : '';
  return new FerryError('unit_load_failed', `Loading ${unit.target_schema}.${unit.target_table} unit ${unit.unit_id} failed: ${String(e.message)}${detail}`, {
    status: 422,
    retryable: false,
    details: { sqlstate, where: typeof e.where === 'string' ? e.where.slice(0, 500) : null },
  });
}

/** How the unit's earlier rows are cleared; whether COPY may use FREEZE. */
async function clearUnit(client: pg.Client, unit: UnitSpec, target: string, fresh: boolean): Promise<{ truncated: boolean }> {
  const key = keyColumns(unit);
  if (key) {
    if (fresh) return { truncated: false };
    const where = rangePredicate(unit.range, key.target, quoteDouble);
    await client.query(`DELETE FROM ${target}${where ? ' WHERE ' + where : ''}`);
    return { truncated: false };
  }
  // Whole-table unit: TRUNCATE (and COPY FREEZE) unless a foreign key references the table,
  // or it is partitioned, in which case a DELETE does the same job.
  const r = await client.query<{ ok: boolean }>(
    `SELECT c.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = c.oid AND f.contype = 'f') AS ok
       FROM pg_class c WHERE c.oid = $1::regclass`, [target]);
  if (r.rows[0]?.ok === true || String(r.rows[0]?.ok) === 't') {
    await client.query(`TRUNCATE ${target}`);
    return { truncated: true };
  }
  await client.query(`DELETE FROM ${target}`);
  return { truncated: false };
}

/** COPY ... FROM STDIN statement for the unit's target columns. */
export function copyInSql(unit: UnitSpec, format: 'text' | 'binary', freeze: boolean): string {
  const target = qualified(unit.target_schema, unit.target_table, quoteDouble);
  const cols = unit.columns.map((c) => quoteDouble(c.target)).join(', ');
  return `COPY ${target} (${cols}) FROM STDIN (FORMAT ${format}${freeze ? ', FREEZE' : ''})`;
}

/**
 * The format of a COPY stream from its first bytes: binary data starts with "PGCOPY\n\xff\r\n\0",
 * which text COPY data never does (0xff is not UTF-8). The frames are handed back whole.
 */
export async function sniffFormat(frames: AsyncIterable<Buffer>, fallback: 'text' | 'binary'): Promise<{ format: 'text' | 'binary'; frames: AsyncIterable<Buffer> }> {
  const it = frames[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < BINARY_SIGNATURE.length) {
    const r = await it.next();
    if (r.done) { done = true; break; }
    head.push(r.value);
    size += r.value.length;
  }
  const first = head.length === 1 ? head[0]! : Buffer.concat(head);
  const format = size === 0 ? fallback : first.subarray(0, BINARY_SIGNATURE.length).equals(BINARY_SIGNATURE) ? 'binary' : 'text';
  const rest = async function* (): AsyncGenerator<Buffer> {
    yield* head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  };
  return { format, frames: rest() };
}

/**
 * Load one unit from its frames in one transaction. Returns the rows loaded, the bytes read
 * and (salvage only) the rejected rows. Throws FerryError('unit_load_failed') with the SQLSTATE
 * for bad data without salvage, a ConnectorError for connectivity, FerryError('cancelled') on abort.
 */
export async function loadUnit(connection: WireConnection, unit: UnitSpec, frames: AsyncIterable<Buffer>, options: LoadOptions): Promise<LoadUnitResult> {
  const opts = resolveConnectionSpec(connection);
  if (opts.dialect !== 'postgresql') throw new FerryError('invalid_target', `the load target must be PostgreSQL, not ${opts.dialect}`);
  const client = await connectPostgres(opts);
  const target = qualified(unit.target_schema, unit.target_table, quoteDouble);
  const counters = { rows: 0, bytes: 0 };
  let format = options.format;
  let input: AsyncIterable<Buffer> = frames;
  const counted = async function* (): AsyncGenerator<Buffer> {
    for await (const frame of input) {
      counters.bytes += frame.length;
      if (format === 'text' && !options.salvage) counters.rows += countLines(frame);
      options.onProgress?.({ ...counters });
      yield frame;
    }
  };
  let ok = false;
  try {
    await client.query('BEGIN');
    const { truncated } = await clearUnit(client, unit, target, options.fresh ?? false);
    ({ format, frames: input } = await sniffFormat(frames, options.format));
    let result: LoadUnitResult;
    if (options.salvage) {
      const key = keyColumns(unit);
      const s = await salvageLoad(client, copyInSql(unit, format, false), counted(), {
        format, keyIndex: key?.index ?? -1, signal: options.signal, ...options.salvageOptions,
        onRows: (rows) => { counters.rows = rows; options.onProgress?.({ ...counters }); },
      });
      result = { rows: s.rows, bytes: counters.bytes, rejected: s.rejected };
    } else {
      const stream = client.query(copyFrom(copyInSql(unit, format, truncated)));
      await pipeline(Readable.from(counted()), stream, options.signal ? { signal: options.signal } : {});
      result = { rows: stream.rowCount, bytes: counters.bytes, rejected: [] };
    }
    options.signal?.throwIfAborted();
    await client.query('COMMIT');
    ok = true;
    return result;
  } catch (err) {
    if (options.signal?.aborted) throw new FerryError('cancelled', `loading unit ${unit.unit_id} was cancelled`, { status: 409, retryable: true });
    throw loadError(err, opts, unit);
  } finally {
    if (!ok) await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}
