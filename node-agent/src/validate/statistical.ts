/**
 * Statistical check, one side: row count and per column nulls, distinct estimate, min, max,
 * sum and total length, computed over canonical values while streaming, so both sides use the
 * same comparison rules (code-point order for text, exact decimals for numbers) whatever their
 * collations.
 */
import type { WireConnection } from '../../../common/src/migrate-tasks.ts';
import type { ColumnNorm, ColumnStats, SideTable, StatisticalResult, TableStats } from './contract.ts';
import { DistinctEstimator } from './hashing.ts';
import { streamRows } from './rows.ts';

const NUMERIC = new Set(['int', 'decimal']);

/** Compare two normalised decimal strings exactly. */
export function compareDecimal(a: string, b: string): number {
  const na = a.startsWith('-');
  const nb = b.startsWith('-');
  if (na !== nb) return na ? -1 : 1;
  const [ai = '', af = ''] = (na ? a.slice(1) : a).split('.');
  const [bi = '', bf = ''] = (nb ? b.slice(1) : b).split('.');
  let c = ai.length - bi.length || (ai < bi ? -1 : ai > bi ? 1 : 0);
  if (c === 0) {
    const w = Math.max(af.length, bf.length);
    const x = af.padEnd(w, '0');
    const y = bf.padEnd(w, '0');
    c = x < y ? -1 : x > y ? 1 : 0;
  }
  return na ? -c : c;
}

function compareFor(norm: ColumnNorm): (a: string, b: string) => number {
  if (NUMERIC.has(norm.kind)) return (a, b) => (/^-?\d+(\.\d+)?$/.test(a) && /^-?\d+(\.\d+)?$/.test(b) ? compareDecimal(a, b) : a < b ? -1 : a > b ? 1 : 0);
  if (norm.kind === 'float4' || norm.kind === 'float8') return (a, b) => Number(a) - Number(b);
  return (a, b) => (a < b ? -1 : a > b ? 1 : 0);
}

/** Exact decimal sum as a scaled BigInt. */
class DecimalSum {
  private v = 0n;
  private scale = 0;
  add(s: string): void {
    if (!/^-?\d+(\.\d+)?$/.test(s)) return;
    const neg = s.startsWith('-');
    const [i = '0', f = ''] = (neg ? s.slice(1) : s).split('.');
    if (f.length > this.scale) {
      this.v *= 10n ** BigInt(f.length - this.scale);
      this.scale = f.length;
    }
    const x = BigInt(i + f.padEnd(this.scale, '0'));
    this.v += neg ? -x : x;
  }
  value(): string {
    const neg = this.v < 0n;
    let t = (neg ? -this.v : this.v).toString().padStart(this.scale + 1, '0');
    if (this.scale > 0) t = `${t.slice(0, -this.scale)}.${t.slice(-this.scale)}`.replace(/\.?0+$/, '');
    return (neg && t !== '0' ? '-' : '') + t;
  }
}

class ColumnAcc {
  nulls = 0;
  min: string | null = null;
  max: string | null = null;
  private readonly distinct = new DistinctEstimator();
  private readonly dsum: DecimalSum | null;
  private fsum: number | null;
  private len: number | null;
  private readonly cmp: (a: string, b: string) => number;

  constructor(
    readonly name: string,
    private readonly norm: ColumnNorm,
  ) {
    this.cmp = compareFor(norm);
    this.dsum = NUMERIC.has(norm.kind) ? new DecimalSum() : null;
    this.fsum = norm.kind === 'float4' || norm.kind === 'float8' ? 0 : null;
    this.len = ['text', 'char', 'bytes', 'json', 'other'].includes(norm.kind) ? 0 : null;
  }

  add(v: string | null): void {
    if (v === null) {
      this.nulls++;
      return;
    }
    this.distinct.add(v);
    if (this.min === null || this.cmp(v, this.min) < 0) this.min = v;
    if (this.max === null || this.cmp(v, this.max) > 0) this.max = v;
    this.dsum?.add(v);
    if (this.fsum !== null) this.fsum += Number(v);
    if (this.len !== null) this.len += this.norm.kind === 'bytes' ? v.length / 2 : v.length;
  }

  result(): ColumnStats {
    return {
      name: this.name,
      nulls: this.nulls,
      distinct: this.distinct.estimate(),
      min: this.min,
      max: this.max,
      sum: this.dsum ? this.dsum.value() : this.fsum !== null ? String(this.fsum) : null,
      total_length: this.len,
    };
  }
}

export async function tableStats(connection: WireConnection, t: SideTable, signal?: AbortSignal): Promise<TableStats> {
  const accs = t.columns.map((c) => new ColumnAcc(c.name, c.norm));
  let rows = 0;
  for await (const batch of streamRows(connection, t, null, signal)) {
    rows += batch.length;
    for (const row of batch) for (let i = 0; i < accs.length; i++) accs[i]!.add(row[i] ?? null);
  }
  return { schema: t.schema, table: t.table, rows, columns: accs.map((a) => a.result()) };
}

export async function statistical(connection: WireConnection, tables: SideTable[], signal?: AbortSignal, onTable?: (done: number) => void): Promise<StatisticalResult> {
  const out: TableStats[] = [];
  for (const t of tables) {
    out.push(await tableStats(connection, t, signal));
    onTable?.(out.length);
  }
  return { tables: out };
}
