import type { CatalogColumn } from '../../../../common/src/catalog.ts';
import { MAX_DISTINCT, type ColumnPlan } from '../profile-plan.ts';

export function sqliteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/** SQLite affinity rules (https://www.sqlite.org/datatype3.html, 3.1). */
export function affinity(declared: string): 'integer' | 'text' | 'blob' | 'real' | 'numeric' {
  const t = declared.toUpperCase();
  if (t.includes('INT')) return 'integer';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'text';
  if (t.includes('BLOB') || t.trim() === '') return 'blob';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'real';
  return 'numeric';
}

export const STORAGE_CLASSES = ['integer', 'real', 'text', 'blob', 'null'] as const;

/**
 * Storage classes are counted for every column (SQLite lets any value into any column); numeric
 * metrics look only at integer/real values, text metrics only at text/blob values.
 */
export function planSqliteColumn(c: CatalogColumn): ColumnPlan {
  const q = sqliteIdent(c.name);
  const num = `case when typeof(${q}) in ('integer', 'real') then ${q} end`;
  const txt = `case when typeof(${q}) = 'text' then ${q} end`;
  const aff = affinity(c.native_type);
  const metrics: ColumnPlan['metrics'] = [{ metric: 'nonnull', sql: `count(${q})` }];
  for (const cls of STORAGE_CLASSES) metrics.push({ metric: `sc_${cls}`, sql: `sum(typeof(${q}) = '${cls}')` });
  if (aff !== 'text' && aff !== 'blob') {
    metrics.push(
      { metric: 'min', sql: `cast(min(${num}) as text)` },
      { metric: 'max', sql: `cast(max(${num}) as text)` },
      { metric: 'non_integral', sql: `sum(typeof(${q}) = 'real' and ${q} <> cast(${q} as integer))` },
      {
        metric: 'max_scale',
        sql: `max(case when typeof(${q}) = 'real' and instr(cast(${q} as text), '.') > 0 and instr(lower(cast(${q} as text)), 'e') = 0 ` +
          `then length(rtrim(substr(cast(${q} as text), instr(cast(${q} as text), '.') + 1), '0')) else 0 end)`,
      },
    );
  }
  metrics.push(
    // length() stops at a NUL in text, so measure the text's bytes through a blob cast only for NUL detection
    { metric: 'max_length', sql: `max(case when typeof(${q}) in ('text', 'blob') then length(${q}) end)` },
    { metric: 'empty_strings', sql: `sum(${txt} = '')` },
    { metric: 'nul_bytes', sql: `sum(typeof(${q}) = 'text' and instr(cast(${q} as blob), x'00') > 0)` },
  );
  if (/bool|tinyint|bit/.test(c.native_type)) {
    metrics.push(
      { metric: 'distinct_count', sql: `count(distinct ${q})` },
      { metric: 'distinct_list', sql: `case when count(distinct ${q}) <= ${MAX_DISTINCT} then group_concat(distinct ${q}) end` },
    );
  }
  return { column: c.name, metrics };
}

export function sqliteProfileFrom(table: string, sampleRows: number | undefined): string {
  const t = sqliteIdent(table);
  return sampleRows && sampleRows > 0 ? `(select * from ${t} limit ${Math.floor(sampleRows)})` : t;
}
