import { pgIdent, pgQualified, type CatalogColumn } from '../../../../common/src/catalog.ts';
import type { ColumnPlan } from '../profile-plan.ts';
import { MAX_DISTINCT } from '../profile-plan.ts';

const INTS = new Set(['smallint', 'integer', 'bigint']);
const FLOATS = new Set(['real', 'double precision']);
const TEXTS = new Set(['text', 'character varying', 'character', 'name', 'citext', 'varchar', 'char']);

/** Which aggregates describe a PostgreSQL column (see profile-plan.ts). */
export function planPgColumn(c: CatalogColumn): ColumnPlan {
  const q = pgIdent(c.name);
  const metrics: ColumnPlan['metrics'] = [{ metric: 'nonnull', sql: `count(${q})` }];
  if (INTS.has(c.base_type) || FLOATS.has(c.base_type) || c.base_type === 'numeric') {
    metrics.push({ metric: 'min', sql: `min(${q})::text` }, { metric: 'max', sql: `max(${q})::text` });
  }
  if (c.base_type === 'numeric' || FLOATS.has(c.base_type)) {
    metrics.push({ metric: 'non_integral', sql: `count(*) filter (where ${q} <> trunc(${q}))` });
  }
  if (c.base_type === 'numeric') {
    metrics.push({ metric: 'max_scale', sql: `max(length(rtrim(split_part(${q}::text, '.', 2), '0')))` });
  }
  if (TEXTS.has(c.base_type)) {
    metrics.push(
      { metric: 'max_length', sql: `max(char_length(${q}))` },
      { metric: 'empty_strings', sql: `count(*) filter (where ${q} = '')` },
    );
  }
  if (c.base_type === 'bytea') metrics.push({ metric: 'max_length', sql: `max(octet_length(${q}))` });
  if (c.base_type === 'boolean' || c.base_type === 'smallint' || (c.base_type === 'character' && c.length === 1)) {
    metrics.push(
      { metric: 'distinct_count', sql: `count(distinct ${q})` },
      { metric: 'distinct_list', sql: `case when count(distinct ${q}) <= ${MAX_DISTINCT} then array_agg(distinct ${q}::text) filter (where ${q} is not null) end` },
    );
  }
  return { column: c.name, metrics };
}

export function pgProfileFrom(schema: string, table: string, sampleRows: number | undefined): string {
  const t = pgQualified(schema, table);
  return sampleRows && sampleRows > 0 ? `(select * from ${t} limit ${Math.floor(sampleRows)}) s` : t;
}
