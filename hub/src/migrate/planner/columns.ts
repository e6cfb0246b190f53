/**
 * One column's mapping: the dialect rule, then the checks every dialect shares (NUL bytes,
 * values longer than a bounded target), then the human-readable transformation.
 */
import type { CatalogColumn, CatalogTable, ColumnProfile, Dialect } from '../../../../common/src/catalog.ts';
import type { RuleResult, TransformationKind } from './types.ts';
import type { ColumnRule } from './rules/common.ts';
import { boundedLength, isTextLike, round2 } from './rules/common.ts';
import { mapColumn as mapPostgres } from './rules/postgres.ts';
import { mapColumn as mapMysql } from './rules/mysql.ts';
import { mapColumn as mapSqlite } from './rules/sqlite.ts';
import { mapColumn as mapOracle } from './rules/oracle.ts';

export const RULES: Record<Dialect, ColumnRule> = {
  postgresql: mapPostgres,
  mysql: mapMysql,
  sqlite: mapSqlite,
  oracle: mapOracle,
};

/**
 * Type text allowed into DDL: built-in spellings with modifiers and array brackets, or a
 * (schema-qualified) plain type name. Types are written unquoted, so this is also the guard
 * against SQL in a user override.
 */
const WORD = '(?: (?:with|without|time|zone|varying|precision|day|to|second|minute|hour|month|year))';
const TYPE_RE = new RegExp(`^(?:"char"|[a-z_][a-z0-9_$]*(?:\\.[a-z_][a-z0-9_$]*)?${WORD}*)(?:\\(\\s*-?\\d+(?:\\s*,\\s*-?\\d+)?\\s*\\))?${WORD}*(?:\\[\\d*\\])*$`);

export function isValidTargetType(type: string): boolean {
  return type.length <= 100 && TYPE_RE.test(type);
}

export function mapOneColumn(dialect: Dialect, col: CatalogColumn, profile: ColumnProfile | undefined, table: CatalogTable): RuleResult {
  let r = RULES[dialect](col, profile, table);
  if (!isValidTargetType(r.type)) {
    r = {
      type: 'text',
      transformation: 'cast',
      confidence: 0.4,
      reason: `source type ${col.native_type} does not spell a PostgreSQL type: copied as text`,
      risks: [...r.risks, {
        severity: 'high',
        type: 'unsupported_object',
        description: `Type ${col.native_type} is not converted; values are copied as their text form.`,
        mitigation: 'Override the type.',
      }],
    };
  }
  const nul = profile?.nul_bytes ?? 0;
  if (nul > 0 && (isTextLike(r.type) || r.type === 'jsonb' || r.type === 'json')) {
    r = {
      ...r,
      transformation: 'strip_nul_bytes',
      confidence: round2(Math.min(r.confidence, 0.5)),
      reason: `${r.reason}; ${nul} value(s) contain NUL, which PostgreSQL text cannot store`,
      risks: [...r.risks, {
        severity: 'high',
        type: 'nul_bytes',
        description: `${nul} value(s) contain a NUL character; PostgreSQL text rejects it, so NULs are removed by default.`,
        mitigation: 'Approve stripping NUL characters, or override the type to bytea to keep the exact bytes.',
      }],
    };
  }
  const limit = boundedLength(r.type);
  const max = profile?.max_length ?? null;
  if (limit !== null && max !== null && max > limit) {
    r = {
      ...r,
      confidence: round2(Math.min(r.confidence, 0.5)),
      reason: `${r.reason}; values reach ${max} characters`,
      risks: [...r.risks, {
        severity: 'high',
        type: 'data_truncation',
        description: `values up to ${max} characters do not fit ${r.type}; PostgreSQL rejects them rather than truncating.`,
        mitigation: `Override the type to varchar(${max}) or text.`,
      }],
    };
  }
  return r;
}

/** SQL-ish description of what the data path does to the source value (for people, not for execution). */
export function describeTransformation(kind: TransformationKind, column: string, type: string): string {
  const T = type.toUpperCase();
  switch (kind) {
    case 'none':
      return column;
    case 'cast':
    case 'timestamp_from_text':
    case 'bit_string':
      return `CAST(${column} AS ${T})`;
    case 'bool_from_int':
      return `(${column} <> 0)`;
    case 'bool_from_bit':
      return `(${column} = b'1')`;
    case 'zero_date_to_null':
      return `CAST(NULLIF(${column}, '0000-00-00') AS ${T})`;
    case 'zero_date_to_neg_infinity':
      return `CASE WHEN ${column} = '0000-00-00' THEN '-infinity' ELSE CAST(${column} AS ${T}) END`;
    case 'empty_string_to_null':
      return `NULLIF(${column}, '')`;
    case 'timestamp_as_utc':
      return `CAST(CONVERT_TZ(${column}, @@session.time_zone, '+00:00') || '+00' AS ${T})`;
    case 'timestamp_from_unixepoch':
      return `to_timestamp(${column}) AT TIME ZONE 'UTC'`;
    case 'timestamp_from_julianday':
      return `to_timestamp((${column} - 2440587.5) * 86400) AT TIME ZONE 'UTC'`;
    case 'enum_to_text':
    case 'set_to_text':
    case 'text_from_any':
      return `CAST(${column} AS TEXT)`;
    case 'set_to_array':
      return `string_to_array(${column}, ',')`;
    case 'json_to_jsonb':
      return `CAST(${column} AS JSONB)`;
    case 'geometry_to_wkt':
      return `ST_AsText(${column})`;
    case 'strip_nul_bytes':
      return `REPLACE(${column}, CHR(0), '')`;
  }
}
