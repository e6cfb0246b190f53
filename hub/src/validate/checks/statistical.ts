/** Statistical check, hub side: compare both sides' statistics, column by column. */
import type { StatisticalResult, TableStats } from '../../../../node-agent/src/validate/contract.ts';
import type { ValidationTable } from '../tables.ts';
import type { KindReport, Sides, StatDifference } from '../report.ts';

function floatClose(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  const x = Number(a);
  const y = Number(b);
  // Float sums depend on summation order; 1e-9 relative is far tighter than any real change.
  return x === y || Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
}

export function compareStats(tables: ValidationTable[], s: StatisticalResult, t: StatisticalResult): Omit<KindReport, 'kind' | 'started_at' | 'finished_at'> {
  const diffs: StatDifference[] = [];
  const rows: { table: string; rows_source: number; rows_target: number }[] = [];
  let columns = 0;
  tables.forEach((vt, ti) => {
    const a = s.tables[ti] as TableStats;
    const b = t.tables[ti] as TableStats;
    rows.push({ table: vt.label, rows_source: a.rows, rows_target: b.rows });
    if (a.rows !== b.rows) diffs.push({ table: vt.label, column: null, metric: 'rows', source: a.rows, target: b.rows });
    a.columns.forEach((ca, ci) => {
      columns++;
      const cb = b.columns[ci]!;
      const name = vt.target.columns[ci]!.name;
      const isFloat = ['float4', 'float8'].includes(vt.target.columns[ci]!.norm.kind);
      for (const metric of ['nulls', 'distinct', 'min', 'max', 'sum', 'total_length'] as const) {
        const x = ca[metric];
        const y = cb[metric];
        const same = metric === 'sum' && isFloat ? floatClose(x as string | null, y as string | null) : x === y;
        if (!same) diffs.push({ table: vt.label, column: name, metric, source: x, target: y });
      }
    });
  });
  return {
    status: diffs.length ? 'failed' : 'passed',
    counts: { tables: tables.length, columns, rows_source: rows.reduce((n, r) => n + r.rows_source, 0), rows_target: rows.reduce((n, r) => n + r.rows_target, 0), differences: diffs.length },
    details: { tables: rows, differences: diffs },
  };
}

export async function runStatistical(sides: Sides, tables: ValidationTable[]) {
  const [s, t] = await Promise.all([
    sides.source<StatisticalResult>('validate.statistical', { tables: tables.map((x) => x.source) }),
    sides.target<StatisticalResult>('validate.statistical', { tables: tables.map((x) => x.target) }),
  ]);
  return compareStats(tables, s, t);
}
