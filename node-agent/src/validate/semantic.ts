/**
 * Semantic check, one side: per bucket (key range, or key hash) a row count and an
 * order-independent hash; then, for the buckets the hub found different, the rows themselves
 * with their hashes. The hub (hub/src/validate/semantic.ts) bisects and diffs.
 */
import { FerryError } from '../../../common/src/errors.ts';
import type { WireConnection } from '../../../common/src/migrate-tasks.ts';
import type { BucketGrid, BucketsResult, HashedRow, KeyBoundsResult, RowsResult, SideTable } from './contract.ts';
import { keyBucket, rowHash, SumDigest } from './hashing.ts';
import { streamRows, type CanonicalRow, type RowRange } from './rows.ts';

function keyOf(t: SideTable, row: CanonicalRow): CanonicalRow {
  return t.key.map((i) => row[i] ?? null);
}

/** Range of the whole grid, pushed down so a bisection step reads only its part of the table. */
function gridRange(grid: BucketGrid, buckets?: number[]): RowRange | null {
  if (grid.kind !== 'range') return null;
  const lo = BigInt(grid.lo);
  const w = BigInt(grid.width);
  const first = buckets?.length ? Math.min(...buckets) : 0;
  const last = buckets?.length ? Math.max(...buckets) : grid.count - 1;
  return {
    lo: first === 0 && grid.open ? null : (lo + w * BigInt(first)).toString(),
    hi: last === grid.count - 1 ? (grid.open ? null : (grid.hi ?? (lo + w * BigInt(last + 1)).toString())) : (lo + w * BigInt(last + 1)).toString(),
  };
}

function bucketOf(t: SideTable, grid: BucketGrid, row: CanonicalRow): number {
  if (grid.kind === 'hash') return t.key.length ? keyBucket(keyOf(t, row), grid.count) : 0;
  const k = row[t.key[0]!];
  if (k === null || k === undefined) return 0;
  // Number arithmetic while every value is a safe integer; BigInt beyond.
  if (k.length < 16 && grid.lo.length < 16 && grid.width.length < 16) {
    const b = Math.floor((Number(k) - Number(grid.lo)) / Number(grid.width));
    return b < 0 ? 0 : b >= grid.count ? grid.count - 1 : b;
  }
  const b = (BigInt(k) - BigInt(grid.lo)) / BigInt(grid.width);
  return b < 0n ? 0 : b >= BigInt(grid.count) ? grid.count - 1 : Number(b);
}

export async function keyBounds(connection: WireConnection, t: SideTable, signal?: AbortSignal): Promise<KeyBoundsResult> {
  if (!t.key_integer) throw new FerryError('invalid_validation', `table ${t.table} has no integer key`);
  const keyOnly: SideTable = { ...t, columns: [t.columns[t.key[0]!]!], key: [0] };
  let rows = 0;
  let min: bigint | null = null;
  let max: bigint | null = null;
  for await (const batch of streamRows(connection, keyOnly, null, signal)) {
    rows += batch.length;
    for (const [k] of batch) {
      if (k === null || k === undefined) continue;
      const v = BigInt(k);
      if (min === null || v < min) min = v;
      if (max === null || v > max) max = v;
    }
  }
  return { rows, min: min?.toString() ?? null, max: max?.toString() ?? null };
}

export async function semanticBuckets(connection: WireConnection, t: SideTable, grid: BucketGrid, signal?: AbortSignal): Promise<BucketsResult> {
  const t0 = performance.now();
  const digests = Array.from({ length: grid.count }, () => new SumDigest());
  const range = gridRange(grid);
  let rows = 0;
  for await (const batch of streamRows(connection, t, range, signal)) {
    rows += batch.length;
    for (const row of batch) digests[bucketOf(t, grid, row)]!.add(rowHash(row));
  }
  return { rows, buckets: digests.map((d) => ({ count: d.count, hash: d.value() })), ms: Math.round(performance.now() - t0) };
}

export async function semanticRows(connection: WireConnection, t: SideTable, grid: BucketGrid, buckets: number[], limit = 20_000, signal?: AbortSignal): Promise<RowsResult> {
  const want = new Set(buckets);
  const out: HashedRow[] = [];
  // A range grid narrows the read to the span of the wanted buckets.
  const range = gridRange(grid, buckets);
  for await (const batch of streamRows(connection, t, range, signal)) {
    for (const row of batch) {
      if (!want.has(bucketOf(t, grid, row))) continue;
      if (out.length >= limit) return { rows: out, truncated: true };
      out.push({ key: keyOf(t, row), hash: rowHash(row).toString('hex'), values: row });
    }
  }
  return { rows: out, truncated: false };
}
