import type { ColumnProfile } from '../../../common/src/catalog.ts';
import { intOrNull } from './catalog-helpers.ts';
import { toCount, toDecimalOrNull } from './decimal.ts';

/**
 * One aggregate query per table: each dialect says which SQL expression computes which metric
 * for a column, this module assembles the SELECT and reads the single result row back.
 */
export type Metric =
  | 'nonnull' | 'min' | 'max' | 'non_integral' | 'max_scale' | 'max_length' | 'empty_strings' | 'nul_bytes'
  | 'zero_dates' | 'distinct_count' | 'distinct_list' | `sc_${string}`;

export interface ColumnPlan {
  column: string;
  metrics: { metric: Metric; sql: string }[];
}

/** Upper bound of distinct values reported (enough for 0/1, y/n and small enums). */
export const MAX_DISTINCT = 10;

const alias = (col: number, m: number): string => `m${col}_${m}`;

export function buildAggregateSql(plans: readonly ColumnPlan[], from: string, countExpr = 'count(*)'): string {
  const parts = [`${countExpr} as n`];
  plans.forEach((p, i) => p.metrics.forEach((m, j) => parts.push(`${m.sql} as ${alias(i, j)}`)));
  return `select ${parts.join(', ')} from ${from}`;
}

function distinctList(v: unknown): string[] | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.map((x) => String(x)).sort();
  if (Buffer.isBuffer(v)) return distinctList(v.toString('utf8'));
  return String(v).split(',').filter((x) => x.length > 0).sort();
}

/** Read the result row of buildAggregateSql into column profiles. Keys are matched case-insensitively (Oracle upper-cases). */
export function readAggregateRow(
  row: Record<string, unknown>, plans: readonly ColumnPlan[], schema: string, table: string, sampleRows: number | undefined,
): { rows: number; columns: ColumnProfile[] } {
  const lower = new Map(Object.entries(row).map(([k, v]) => [k.toLowerCase(), v]));
  const rows = toCount(lower.get('n'));
  const sampled = sampleRows !== undefined && sampleRows > 0 && rows >= sampleRows;
  const columns = plans.map((p, i): ColumnProfile => {
    const out: ColumnProfile = { schema, table, column: p.column, rows, nulls: 0, sampled };
    let nonnull = rows;
    let distinctCount: number | null = null;
    let list: string[] | null = null;
    p.metrics.forEach((m, j) => {
      const v = lower.get(alias(i, j));
      switch (m.metric) {
        case 'nonnull': nonnull = toCount(v); break;
        case 'min': out.min = toDecimalOrNull(v); break;
        case 'max': out.max = toDecimalOrNull(v); break;
        case 'non_integral': out.all_integral = toCount(v) === 0; break;
        case 'max_scale': out.max_scale = intOrNull(v) ?? 0; break;
        case 'max_length': out.max_length = intOrNull(v); break;
        case 'empty_strings': out.empty_strings = toCount(v); break;
        case 'nul_bytes': out.nul_bytes = toCount(v); break;
        case 'zero_dates': out.zero_dates = toCount(v); break;
        case 'distinct_count': distinctCount = toCount(v); break;
        case 'distinct_list': list = distinctList(v); break;
        default: {
          const cls = m.metric.slice(3);
          const n = toCount(v);
          if (n > 0) out.storage_classes = { ...(out.storage_classes ?? {}), [cls]: n };
          else out.storage_classes ??= {};
        }
      }
    });
    out.nulls = rows - nonnull;
    if (nonnull === 0 && out.all_integral !== undefined) out.all_integral = null;
    if (distinctCount !== null) out.distinct_values = distinctCount <= MAX_DISTINCT ? (list ?? []) : null;
    return out;
  });
  return { rows, columns };
}
