import type { CatalogColumn } from '../../../../common/src/catalog.ts';
import { MAX_DISTINCT, type ColumnPlan } from '../profile-plan.ts';
import { oracleIdent } from './values.ts';

const NUMERIC = new Set(['number', 'float', 'binary_float', 'binary_double']);
const TEXT = new Set(['varchar2', 'nvarchar2', 'char', 'nchar', 'varchar']);

/** Which aggregates describe an Oracle column (see profile-plan.ts). LONG columns cannot be aggregated. */
export function planOracleColumn(c: CatalogColumn): ColumnPlan {
  const q = oracleIdent(c.name);
  const t = c.base_type;
  if (t === 'long' || t === 'long raw') return { column: c.name, metrics: [] };
  const metrics: ColumnPlan['metrics'] = [{ metric: 'nonnull', sql: `count(${q})` }];
  if (NUMERIC.has(t)) {
    metrics.push({ metric: 'min', sql: `to_char(min(${q}))` }, { metric: 'max', sql: `to_char(max(${q}))` });
    metrics.push({ metric: 'non_integral', sql: `sum(case when ${q} <> trunc(${q}) then 1 else 0 end)` });
  }
  if (t === 'number' || t === 'float') {
    metrics.push({
      metric: 'max_scale',
      sql: `max(case when ${q} <> trunc(${q}) then length(to_char(abs(${q}) - trunc(abs(${q})))) - 1 else 0 end)`,
    });
  }
  if (TEXT.has(t) || t === 'clob' || t === 'nclob') {
    const len = t.endsWith('clob') ? `dbms_lob.getlength(${q})` : `length(${q})`;
    metrics.push(
      { metric: 'max_length', sql: `max(${len})` },
      // Oracle cannot store '': the column reads NULL instead, so there are none by construction
      { metric: 'empty_strings', sql: '0' },
      { metric: 'nul_bytes', sql: `sum(case when instr(${q}, chr(0)) > 0 then 1 else 0 end)` },
    );
  }
  if (t === 'raw' || t === 'blob') {
    metrics.push({ metric: 'max_length', sql: t === 'blob' ? `max(dbms_lob.getlength(${q}))` : `max(length(${q}))` });
  }
  if ((t === 'number' && c.precision !== null && c.precision <= 3 && (c.scale ?? 0) === 0) || ((t === 'char' || t === 'nchar') && c.length === 1)) {
    metrics.push(
      { metric: 'distinct_count', sql: `count(distinct ${q})` },
      {
        metric: 'distinct_list',
        sql: `case when count(distinct ${q}) <= ${MAX_DISTINCT} then listagg(distinct to_char(${q}), ',') within group (order by to_char(${q})) end`,
      },
    );
  }
  return { column: c.name, metrics };
}

export function oracleProfileFrom(owner: string, table: string, sampleRows: number | undefined): string {
  const t = `${oracleIdent(owner)}.${oracleIdent(table)}`;
  return sampleRows && sampleRows > 0 ? `(select * from ${t} where rownum <= ${Math.floor(sampleRows)})` : t;
}
