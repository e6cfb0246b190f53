/**
 * Cutting tables into key ranges. Ranges of one table are contiguous and half-open
 * [lo, hi); the first has lo null and the last hi null, so together they cover every row,
 * including rows added beyond the bounds seen at planning time.
 */
import type { KeyRange, PlanUnitsPayload, PlanUnitsResult } from '../../../common/src/migrate-tasks.ts';
import { asText, openSession, sessionTable, type SqlSession } from './sql-session.ts';

/**
 * Split [min, max] into about ceil(rows / rowsPerUnit) equal key intervals.
 * @example cutRanges('id', 1n, 100n, 100, 50) // [{lo:null,hi:'51'},{lo:'51',hi:null}]
 */
export function cutRanges(column: string, min: bigint, max: bigint, rows: number, rowsPerUnit: number): KeyRange[] {
  const span = max - min + 1n;
  let units = BigInt(Math.max(1, Math.ceil(rows / Math.max(1, rowsPerUnit))));
  if (units > span) units = span;
  if (units <= 1n) return [{ column, lo: null, hi: null }];
  const step = (span + units - 1n) / units;
  const ranges: KeyRange[] = [];
  let lo: bigint | null = null;
  for (let b = min + step; b <= max; b += step) {
    ranges.push({ column, lo: lo === null ? null : lo.toString(), hi: b.toString() });
    lo = b;
  }
  ranges.push({ column, lo: lo === null ? null : lo.toString(), hi: null });
  return ranges;
}

async function tableRanges(s: SqlSession, t: PlanUnitsPayload['tables'][number], rowsPerUnit: number): Promise<KeyRange[] | null> {
  if (!t.key_column) return null;
  const k = s.quote(t.key_column);
  const from = sessionTable(s, t.schema, t.table);
  // An estimate below one unit is recounted: a wrong small estimate (stale statistics, or a
  // profile's sample size passed as the table's rows) would put a big table in one unit and
  // serialise its whole transfer, while counting a table that really is small costs little.
  const needCount = t.row_estimate === null || t.row_estimate === undefined || t.row_estimate < rowsPerUnit;
  const [row] = await s.rows(`SELECT ${asText(s, `MIN(${k})`)}, ${asText(s, `MAX(${k})`)}${needCount ? ', COUNT(*)' : ''} FROM ${from}`);
  const [min, max, count] = row ?? [];
  if (min === null || min === undefined || max === null || max === undefined) return [{ column: t.key_column, lo: null, hi: null }];
  if (!/^-?\d+$/.test(min) || !/^-?\d+$/.test(max)) return null; // not an integer key after all: whole table
  const rows = needCount ? Number(count ?? 0) : Number(t.row_estimate);
  return cutRanges(t.key_column, BigInt(min), BigInt(max), rows, rowsPerUnit);
}

export async function planUnits(payload: PlanUnitsPayload): Promise<PlanUnitsResult> {
  const s = await openSession(payload.connection);
  try {
    const tables: PlanUnitsResult['tables'] = [];
    for (const t of payload.tables) {
      tables.push({ schema: t.schema, table: t.table, ranges: await tableRanges(s, t, payload.rows_per_unit) });
    }
    return { tables };
  } finally {
    await s.close();
  }
}

/** Exact row counts. */
export async function countRows(connection: PlanUnitsPayload['connection'], tables: { schema: string; table: string }[]): Promise<{ schema: string; table: string; rows: number }[]> {
  const s = await openSession(connection);
  try {
    const out: { schema: string; table: string; rows: number }[] = [];
    for (const t of tables) {
      const [row] = await s.rows(`SELECT COUNT(*) FROM ${sessionTable(s, t.schema, t.table)}`);
      out.push({ schema: t.schema, table: t.table, rows: Number(row?.[0] ?? 0) });
    }
    return out;
  } finally {
    await s.close();
  }
}
