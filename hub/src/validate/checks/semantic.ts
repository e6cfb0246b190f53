/**
 * Semantic check, hub side. Per table: agree a bucket grid (integer key ranges from both sides'
 * key bounds, else key-hash buckets, else one whole-table bucket), ask both sides for per-bucket
 * counts and order-independent hashes, bisect differing key ranges down to LEAF_ROWS, then pull
 * those rows from both sides and diff them by key (or as multisets of row hashes without a key).
 * Cost is one pass per side plus O(differing rows x log) for the bisection.
 */
import type { BucketGrid, BucketsResult, HashedRow, KeyBoundsResult, RowsResult } from '../../../../node-agent/src/validate/contract.ts';
import type { KindReport, SemanticTable, Sides } from '../report.ts';
import type { ValidationTable } from '../tables.ts';

export interface SemanticOptions {
  /** Rows per top-level key range. @default 10000 */
  rangeRows?: number;
  /** Bisect until a differing range holds at most this many rows. @default 1000 */
  leafRows?: number;
  /** Keys listed per table and category. @default 20 */
  firstN?: number;
  /** Stop collecting row-level differences of a table beyond this many rows read. @default 200000 */
  maxDiffRows?: number;
}

type Key = Record<string, string | null>;

function keyObj(vt: ValidationTable, key: (string | null)[]): Key {
  return Object.fromEntries(vt.target.key.map((ci, i) => [vt.target.columns[ci]!.name, key[i] ?? null]));
}

class TableDiff {
  missing = 0;
  extra = 0;
  changed = 0;
  first_missing: Key[] = [];
  first_extra: Key[] = [];
  first_changed: { key: Key; columns: string[] }[] = [];
  truncated = false;
  rowsRead = 0;
  constructor(
    private readonly vt: ValidationTable,
    private readonly firstN: number,
  ) {}

  /** Rows of the same buckets from both sides: keyed diff, or multiset diff without a key. */
  diff(src: HashedRow[], tgt: HashedRow[]): void {
    this.rowsRead += src.length + tgt.length;
    const keyed = this.vt.target.key.length > 0;
    const id = (r: HashedRow) => (keyed ? JSON.stringify(r.key) : r.hash);
    const t = new Map<string, HashedRow[]>();
    for (const r of tgt) {
      const k = id(r);
      const l = t.get(k);
      if (l) l.push(r);
      else t.set(k, [r]);
    }
    const asKey = (r: HashedRow): Key => (keyed ? keyObj(this.vt, r.key) : Object.fromEntries(this.vt.target.columns.map((c, i) => [c.name, r.values[i] ?? null])));
    for (const r of src) {
      const l = t.get(id(r));
      const other = l?.shift();
      if (l && l.length === 0) t.delete(id(r));
      if (!other) {
        this.missing++;
        if (this.first_missing.length < this.firstN) this.first_missing.push(asKey(r));
      } else if (other.hash !== r.hash) {
        this.changed++;
        const cols = this.vt.target.columns.filter((_, i) => r.values[i] !== other.values[i]).map((c) => c.name);
        if (this.first_changed.length < this.firstN) this.first_changed.push({ key: asKey(r), columns: cols });
      }
    }
    for (const l of t.values()) {
      for (const r of l) {
        this.extra++;
        if (this.first_extra.length < this.firstN) this.first_extra.push(asKey(r));
      }
    }
  }
}

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

async function compareTable(sides: Sides, vt: ValidationTable, o: Required<SemanticOptions>): Promise<SemanticTable> {
  const t0 = performance.now();
  const d = new TableDiff(vt, o.firstN);
  const differing: SemanticTable['differing_ranges'] = [];
  const both = <R>(kind: string, p: (side: 'source' | 'target') => Record<string, unknown>) =>
    Promise.all([sides.source<R>(kind, p('source')), sides.target<R>(kind, p('target'))]);
  const tbl = (side: 'source' | 'target') => vt[side];
  let grid: BucketGrid;
  let method: SemanticTable['method'];
  if (vt.target.key_integer) {
    method = 'key_range';
    const [bs, bt] = await both<KeyBoundsResult>('validate.key_bounds', (s) => ({ table: tbl(s) }));
    const mins = [bs.min, bt.min].filter((x): x is string => x !== null).map(BigInt);
    const maxs = [bs.max, bt.max].filter((x): x is string => x !== null).map(BigInt);
    if (!mins.length) return finish(vt, d, 'key_range', 0, 0, 0, differing, t0);
    const lo = mins.reduce(min);
    const hi = maxs.reduce(max) + 1n;
    const count = Math.max(1, Math.min(4096, Math.ceil(Math.max(bs.rows, bt.rows) / o.rangeRows)));
    const width = max(1n, (hi - lo + BigInt(count) - 1n) / BigInt(count));
    grid = { kind: 'range', lo: lo.toString(), width: width.toString(), count, open: true };
  } else if (vt.target.key.length) {
    method = 'key_hash';
    grid = { kind: 'hash', count: 64 };
  } else {
    method = 'whole_table';
    grid = { kind: 'hash', count: 1 };
  }
  const [ss, ts] = await both<BucketsResult>('validate.semantic_buckets', (s) => ({ table: tbl(s), grid }));
  const bad = ss.buckets.map((b, i) => i).filter((i) => ss.buckets[i]!.count !== ts.buckets[i]!.count || ss.buckets[i]!.hash !== ts.buckets[i]!.hash);

  const pullRows = async (g: BucketGrid, buckets: number[]) => {
    if (d.rowsRead >= o.maxDiffRows) {
      d.truncated = true;
      return;
    }
    const [rs, rt] = await both<RowsResult>('validate.semantic_rows', (s) => ({ table: tbl(s), grid: g, buckets, limit: o.maxDiffRows }));
    if (rs.truncated || rt.truncated) d.truncated = true;
    d.diff(rs.rows, rt.rows);
  };

  if (grid.kind === 'range') {
    const g = grid;
    // Bounds of bucket i; the outer buckets of the open top-level grid are open-ended.
    const bounds = (i: number): [bigint | null, bigint | null] => [
      i === 0 ? null : BigInt(g.lo) + BigInt(g.width) * BigInt(i),
      i === g.count - 1 ? null : BigInt(g.lo) + BigInt(g.width) * BigInt(i + 1),
    ];
    const bisect = async (lo: bigint, hi: bigint, rows: number): Promise<void> => {
      if (rows <= o.leafRows || hi - lo <= 1n) return pullRows({ kind: 'range', lo: lo.toString(), width: (hi - lo).toString(), count: 1, open: false }, [0]);
      const half = (hi - lo + 1n) / 2n;
      const sub: BucketGrid = { kind: 'range', lo: lo.toString(), width: half.toString(), count: 2, open: false, hi: hi.toString() };
      const [a, b] = await both<BucketsResult>('validate.semantic_buckets', (s) => ({ table: tbl(s), grid: sub }));
      for (const i of [0, 1]) {
        const x = a.buckets[i]!;
        const y = b.buckets[i]!;
        if (x.count !== y.count || x.hash !== y.hash) await bisect(lo + half * BigInt(i), min(hi, lo + half * BigInt(i + 1)), Math.max(x.count, y.count));
      }
    };
    for (const i of bad) {
      const [blo, bhi] = bounds(i);
      const x = ss.buckets[i]!;
      const y = ts.buckets[i]!;
      differing.push({ lo: blo?.toString() ?? null, hi: bhi?.toString() ?? null, source_rows: x.count, target_rows: y.count });
      if (blo === null || bhi === null) await pullRows(g, [i]);
      else await bisect(blo, bhi, Math.max(x.count, y.count));
    }
  } else if (bad.length) {
    for (const i of bad) differing.push({ lo: null, hi: null, source_rows: ss.buckets[i]!.count, target_rows: ts.buckets[i]!.count });
    await pullRows(grid, bad);
  }
  return finish(vt, d, method, ss.rows, ts.rows, grid.count, differing, t0);
}

function finish(vt: ValidationTable, d: TableDiff, method: SemanticTable['method'], rs: number, rt: number, ranges: number, differing: SemanticTable['differing_ranges'], t0: number): SemanticTable {
  const seconds = (performance.now() - t0) / 1000;
  return {
    table: vt.label, method, rows_source: rs, rows_target: rt, ranges, differing_ranges: differing.slice(0, 50),
    missing: d.missing, extra: d.extra, changed: d.changed, first_missing: d.first_missing, first_extra: d.first_extra, first_changed: d.first_changed,
    truncated: d.truncated, seconds: Math.round(seconds * 1000) / 1000, rows_per_second: seconds > 0 ? Math.round(Math.max(rs, rt) / seconds) : 0,
  };
}

export async function runSemantic(sides: Sides, tables: ValidationTable[], opts: SemanticOptions = {}): Promise<Omit<KindReport, 'kind' | 'started_at' | 'finished_at'>> {
  const o: Required<SemanticOptions> = { rangeRows: 10_000, leafRows: 1000, firstN: 20, maxDiffRows: 200_000, ...opts };
  const t0 = performance.now();
  const out: SemanticTable[] = [];
  for (const vt of tables) out.push(await compareTable(sides, vt, o));
  const seconds = (performance.now() - t0) / 1000;
  const rows = out.reduce((n, t) => n + Math.max(t.rows_source, t.rows_target), 0);
  const sum = (k: 'missing' | 'extra' | 'changed') => out.reduce((n, t) => n + t[k], 0);
  // A row-count difference the row diff could not attribute (truncated) still fails the check.
  const failed = out.some((t) => t.missing || t.extra || t.changed || t.differing_ranges.length || t.rows_source !== t.rows_target);
  const rps = seconds > 0 ? Math.round(rows / seconds) : 0;
  return {
    status: failed ? 'failed' : 'passed',
    counts: { tables: out.length, rows, missing: sum('missing'), extra: sum('extra'), changed: sum('changed'), tables_differing: out.filter((t) => t.differing_ranges.length).length, rows_per_second: rps },
    details: { tables: out, rows_per_second: rps },
  };
}
