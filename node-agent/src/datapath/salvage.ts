/**
 * Salvage loading: rows in savepoint batches; a batch the server refuses is rolled back to its
 * savepoint and split in two, down to single rows, each of which becomes a RejectedRow. Good
 * data costs one extra round trip per batch; each bad row costs about log2(batch) small COPYs.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { FerryError } from '../../../common/src/errors.ts';
import type { RejectedRow } from '../../../common/src/migrate-tasks.ts';
import { BINARY_HEADER, BINARY_TRAILER, binaryRowKey, splitBinaryRows, splitTextRows, textRowField } from './copy-rows.ts';

export interface SalvageOptions {
  format: 'text' | 'binary';
  /** Index of the key column among the unit's columns, -1 when none. */
  keyIndex: number;
  /** Rows per savepoint batch. @default 5000 */
  batchRows: number;
  /** Bytes per savepoint batch. @default 4 MiB */
  batchBytes: number;
  /** Give up on the unit past this many rejected rows. @default 10000 */
  maxRejected: number;
  signal?: AbortSignal;
  onRows?: (rowsLoaded: number) => void;
}

/** RejectedRow.row is cut to this many characters. */
export const MAX_REJECTED_ROW_CHARS = 10_000;

export async function salvageLoad(
  client: pg.Client, copySql: string, frames: AsyncIterable<Buffer>, opts: Partial<SalvageOptions> & Pick<SalvageOptions, 'format' | 'keyIndex'>,
): Promise<{ rows: number; rejected: RejectedRow[] }> {
  const batchRows = opts.batchRows ?? 5000;
  const batchBytes = opts.batchBytes ?? 4 * 1024 * 1024;
  const maxRejected = opts.maxRejected ?? 10_000;
  const binary = opts.format === 'binary';
  const rejected: RejectedRow[] = [];
  let loaded = 0;

  const copy = async (rows: Buffer[]): Promise<void> => {
    const parts = binary ? [BINARY_HEADER, ...rows, BINARY_TRAILER] : rows;
    const stream = client.query(copyFrom(copySql));
    await pipeline(Readable.from([Buffer.concat(parts)]), stream);
  };

  const reject = (row: Buffer, err: unknown): void => {
    const e = err as { code?: unknown; message?: unknown; detail?: unknown };
    const text = binary ? row.toString('hex') : row.toString('utf8', 0, row[row.length - 1] === 10 ? row.length - 1 : row.length);
    rejected.push({
      row: text.length > MAX_REJECTED_ROW_CHARS ? text.slice(0, MAX_REJECTED_ROW_CHARS) : text,
      key: opts.keyIndex < 0 ? null : binary ? binaryRowKey(row, opts.keyIndex) : textRowField(row, opts.keyIndex),
      error_code: typeof e.code === 'string' ? e.code : 'unknown',
      message: String(e.message ?? err) + (typeof e.detail === 'string' ? ` (${e.detail})` : ''),
    });
    if (rejected.length > maxRejected) {
      throw new FerryError('too_many_rejected_rows', `more than ${maxRejected} rows were rejected; fix the mapping and retry the unit`, {
        status: 422, details: { first: rejected.slice(0, 5) },
      });
    }
  };

  const tryBatch = async (rows: Buffer[]): Promise<void> => {
    opts.signal?.throwIfAborted();
    await client.query('SAVEPOINT ferry_batch');
    try {
      await copy(rows);
      await client.query('RELEASE SAVEPOINT ferry_batch');
      loaded += rows.length;
      opts.onRows?.(loaded);
      return;
    } catch (err) {
      const e = err as { code?: unknown };
      // Only data errors are worth bisecting; a lost connection fails the unit.
      if (typeof e.code !== 'string' || /^(08|57|53|58)/.test(e.code)) throw err;
      await client.query('ROLLBACK TO SAVEPOINT ferry_batch');
      await client.query('RELEASE SAVEPOINT ferry_batch');
      if (rows.length === 1) {
        reject(rows[0]!, err);
        return;
      }
      const mid = rows.length >> 1;
      await tryBatch(rows.slice(0, mid));
      await tryBatch(rows.slice(mid));
    }
  };

  let batch: Buffer[] = [];
  let bytes = 0;
  for await (const row of binary ? splitBinaryRows(frames) : splitTextRows(frames)) {
    batch.push(row);
    bytes += row.length;
    if (batch.length >= batchRows || bytes >= batchBytes) {
      await tryBatch(batch);
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length) await tryBatch(batch);
  return { rows: loaded, rejected };
}
