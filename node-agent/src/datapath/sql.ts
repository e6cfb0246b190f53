/**
 * Identifier quoting and key-range predicates for the dialects the data path reads and writes.
 * Range bounds are inlined as literals (COPY takes no parameters), so they are checked to be
 * plain integers first.
 */
import { FerryError } from '../../../common/src/errors.ts';
import type { KeyRange, UnitSpec } from '../../../common/src/migrate-tasks.ts';

export type Quote = (name: string) => string;

/** PostgreSQL, SQLite and Oracle: "name" with doubled quotes. */
export const quoteDouble: Quote = (name) => '"' + name.replace(/"/g, '""') + '"';
/** MySQL/MariaDB: `name` with doubled backticks. */
export const quoteBacktick: Quote = (name) => '`' + name.replace(/`/g, '``') + '`';

const INTEGER = /^-?\d{1,40}$/;

function bound(v: string): string {
  if (!INTEGER.test(v)) throw new FerryError('invalid_unit', `key range bound ${JSON.stringify(v).slice(0, 60)} is not an integer`);
  return v;
}

/**
 * The WHERE condition of a key range ("" when the range is unbounded). The first range (lo null)
 * also takes rows whose key is NULL, so the ranges of a table together cover every row once.
 * @example rangePredicate({ column: 'id', lo: '1', hi: '10' }, quoteDouble) // '"id" >= 1 AND "id" < 10'
 */
export function rangePredicate(range: KeyRange | null, column: string, quote: Quote): string {
  if (!range) return '';
  const k = quote(column);
  const parts: string[] = [];
  if (range.lo !== null) parts.push(`${k} >= ${bound(range.lo)}`);
  if (range.hi !== null) parts.push(range.lo === null ? `(${k} < ${bound(range.hi)} OR ${k} IS NULL)` : `${k} < ${bound(range.hi)}`);
  return parts.join(' AND ');
}

/**
 * The unit's key column on each side. `KeyRange.column` names the source column (plan_units
 * reads the source); the target column is the one mapped from it, or the same name.
 */
export function keyColumns(unit: UnitSpec): { source: string; target: string; index: number } | null {
  if (!unit.range) return null;
  const name = unit.range.column;
  let index = unit.columns.findIndex((c) => c.source === name);
  if (index < 0) index = unit.columns.findIndex((c) => c.target === name);
  const col = unit.columns[index];
  return col ? { source: col.source, target: col.target, index } : { source: name, target: name, index: -1 };
}

/** "schema"."table" (schema omitted when empty). */
export function qualified(schema: string | null | undefined, table: string, quote: Quote): string {
  return schema ? `${quote(schema)}.${quote(table)}` : quote(table);
}
