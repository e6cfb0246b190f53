import type { CatalogColumn } from '../../../../common/src/catalog.ts';
import { MAX_DISTINCT, type ColumnPlan } from '../profile-plan.ts';

export function myIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

const INTS = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'year']);
const FLOATS = new Set(['float', 'double', 'real']);
const TEXTS = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set', 'json']);
const BINARIES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'bit']);
const DATES = new Set(['date', 'datetime', 'timestamp']);

/** Which aggregates describe a MySQL/MariaDB column (see profile-plan.ts). */
export function planMysqlColumn(c: CatalogColumn): ColumnPlan {
  const q = myIdent(c.name);
  const metrics: ColumnPlan['metrics'] = [{ metric: 'nonnull', sql: `count(${q})` }];
  const numeric = INTS.has(c.base_type) || FLOATS.has(c.base_type) || c.base_type === 'decimal';
  // TIME too: the planner maps negative or >= 24 h values (durations) to interval.
  if (numeric || c.base_type === 'time') metrics.push({ metric: 'min', sql: `cast(min(${q}) as char)` }, { metric: 'max', sql: `cast(max(${q}) as char)` });
  if (c.base_type === 'decimal' || FLOATS.has(c.base_type)) {
    metrics.push({ metric: 'non_integral', sql: `sum(${q} <> floor(${q}))` });
  }
  if (c.base_type === 'decimal') {
    metrics.push({
      metric: 'max_scale',
      sql: `max(case when ${q} <> floor(${q}) then length(trim(trailing '0' from substring_index(cast(${q} as char), '.', -1))) else 0 end)`,
    });
  }
  if (TEXTS.has(c.base_type)) {
    metrics.push(
      { metric: 'max_length', sql: `max(char_length(${q}))` },
      { metric: 'empty_strings', sql: `sum(${q} = '')` },
      { metric: 'nul_bytes', sql: `sum(locate(x'00', cast(${q} as binary)) > 0)` },
    );
  }
  if (BINARIES.has(c.base_type)) metrics.push({ metric: 'max_length', sql: `max(length(${q}))` });
  if (DATES.has(c.base_type)) {
    // month()/dayofmonth() are 0 for '0000-00-00' and for partial zero dates such as '2020-00-15'
    metrics.push({ metric: 'zero_dates', sql: `sum(month(${q}) = 0 or dayofmonth(${q}) = 0)` });
  }
  if (c.base_type === 'tinyint' || c.base_type === 'bit' || c.base_type === 'enum') {
    const v = c.base_type === 'bit' ? `cast(${q} + 0 as char)` : `cast(${q} as char)`;
    metrics.push(
      { metric: 'distinct_count', sql: `count(distinct ${q})` },
      { metric: 'distinct_list', sql: `if(count(distinct ${q}) <= ${MAX_DISTINCT}, group_concat(distinct ${v} order by ${v} separator ','), null)` },
    );
  }
  return { column: c.name, metrics };
}

export function mysqlProfileFrom(schema: string, table: string, sampleRows: number | undefined): string {
  const t = `${myIdent(schema)}.${myIdent(table)}`;
  return sampleRows && sampleRows > 0 ? `(select * from ${t} limit ${Math.floor(sampleRows)}) s` : t;
}
