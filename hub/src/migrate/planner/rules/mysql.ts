/**
 * MySQL / MariaDB -> PostgreSQL column rules. PostgreSQL has no unsigned or 1-byte integers, no
 * zero dates and no ENUM columns without a type, so those are where the profile and the risks matter.
 */
import type { CatalogColumn, CatalogTable, ColumnProfile } from '../../../../../common/src/catalog.ts';
import type { RuleResult, RuleRisk, TransformationKind } from '../types.ts';
import { fitsInt64, integralRange, numericType, onlyZeroOne, provenConfidence, rule } from './common.ts';

function fractional(col: CatalogColumn): number {
  const m = /\((\d)\)/.exec(col.native_type);
  return m && m[1] ? Number(m[1]) : 0;
}

function encodingRisks(col: CatalogColumn): RuleRisk[] {
  const cs = (col.charset ?? '').toLowerCase();
  if (cs === '' || cs === 'utf8mb4' || cs === 'binary' || cs === 'ascii') return [];
  if (cs === 'utf8' || cs === 'utf8mb3') {
    return [{
      severity: 'low',
      type: 'encoding',
      description: 'utf8mb3 columns cannot hold characters outside the BMP; values read through a utf8mb4 connection arrive unchanged.',
      mitigation: 'None needed for the copy; the target column accepts all of Unicode.',
    }];
  }
  return [{
    severity: 'medium',
    type: 'encoding',
    description: `${cs} columns are converted to UTF-8 by the server (MySQL latin1 is cp1252); UTF-8 bytes stored double-encoded in a ${cs} column arrive as mojibake.`,
    mitigation: 'Read through a utf8mb4 connection; spot-check non-ASCII values after the copy.',
  }];
}

/** Zero dates are invalid in PostgreSQL; what to do depends on the profile and nullability. */
function temporal(col: CatalogColumn, profile: ColumnProfile | undefined, type: string, confidence: number, reason: string, extra: RuleRisk[], base: TransformationKind): RuleResult {
  const zeros = profile?.zero_dates ?? null;
  if (zeros === 0) return rule(type, base, confidence, reason, extra);
  if (zeros === null) {
    return rule(type, 'zero_date_to_null', Math.min(confidence, 0.93), `${reason}; zero dates (if any) become NULL`, [...extra, {
      severity: 'low',
      type: 'zero_date',
      description: "Not profiled: any '0000-00-00' value (allowed by a lax sql_mode) would be loaded as NULL.",
      mitigation: 'Profile the column to confirm there are none.',
    }]);
  }
  if (col.nullable) {
    return rule(type, 'zero_date_to_null', Math.min(confidence, 0.85), `${reason}; ${zeros} zero date(s) become NULL`, [...extra, {
      severity: 'medium',
      type: 'zero_date',
      description: `${zeros} '0000-00-00' value(s) are invalid in PostgreSQL and are loaded as NULL.`,
      mitigation: 'Accept NULL, or override the transformation to zero_date_to_neg_infinity.',
    }]);
  }
  return rule(type, 'zero_date_to_null', 0.3, `${reason}; ${zeros} zero date(s) in a NOT NULL column would be rejected`, [...extra, {
    severity: 'high',
    type: 'zero_date',
    description: `${zeros} '0000-00-00' value(s) in a NOT NULL column: as NULL they violate NOT NULL and those rows are rejected.`,
    mitigation: "Override the transformation to zero_date_to_neg_infinity ('-infinity'), or fix the source rows.",
  }]);
}

function isJsonText(col: CatalogColumn, table: CatalogTable): boolean {
  return table.checks.some((c) => new RegExp(`json_valid\\(\\s*\`?${col.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\`?\\s*\\)`, 'i').test(c.expression));
}

function mapInteger(col: CatalogColumn, profile: ColumnProfile | undefined, base: string): RuleResult {
  const u = col.unsigned;
  const name = `${base}${u ? ' unsigned' : ''}`;
  if (/^tinyint\(1\)/.test(col.native_type) || (base === 'tinyint' && col.precision === 1 && col.length === 1)) {
    if (onlyZeroOne(profile) && profile) {
      return rule('boolean', 'bool_from_int', provenConfidence(profile), `tinyint(1) holding only 0/1${profile.sampled ? ' in a sample' : ''}: boolean`);
    }
    if (profile) {
      return rule('smallint', 'cast', 0.97, 'tinyint(1) holds values other than 0/1: kept as smallint, not boolean');
    }
    return rule('smallint', 'cast', 0.8, 'tinyint(1) is usually a flag, but without a profile only smallint is safe', [{
      severity: 'low',
      type: 'range',
      description: 'tinyint(1) kept as smallint because no profile showed the values are only 0/1.',
      mitigation: 'Profile the column, or override the type to boolean with transformation bool_from_int.',
    }]);
  }
  switch (base) {
    case 'tinyint':
      return rule('smallint', 'cast', 0.99, `${name} -> smallint (PostgreSQL has no 1-byte integer)`);
    case 'smallint':
      return u ? rule('integer', 'cast', 0.98, 'smallint unsigned (0..65535) widened to integer') : rule('smallint', 'none', 0.99, 'same 2-byte integer');
    case 'mediumint':
      return rule('integer', 'cast', 0.99, `${name} fits in integer`);
    case 'int':
    case 'integer':
      return u ? rule('bigint', 'cast', 0.98, 'int unsigned (0..4294967295) widened to bigint') : rule('integer', 'none', 0.99, 'same 4-byte integer');
    default: {
      if (!u) return rule('bigint', 'none', 0.99, 'same 8-byte integer');
      const r = integralRange(profile);
      if (profile && r && fitsInt64(r)) {
        return rule('bigint', 'cast', provenConfidence(profile), `bigint unsigned whose values (max ${r.max}) fit in int64: bigint`);
      }
      if (col.identity) {
        return rule('bigint', 'cast', 0.9, 'auto-increment bigint unsigned: key values practically stay below 2^63, and an identity needs an integer type', [{
          severity: 'low',
          type: 'unsigned_range',
          description: 'An auto-increment value above 9223372036854775807 would be rejected.',
          mitigation: 'Profile the column to confirm the maximum.',
        }]);
      }
      return rule('numeric(20,0)', 'cast', 0.95, 'bigint unsigned can exceed int64: numeric(20,0) holds 0..18446744073709551615', [{
        severity: 'low',
        type: 'unsigned_range',
        description: 'bigint unsigned mapped to numeric(20,0): exact, but slower than bigint and foreign keys must use the same type.',
        mitigation: 'Profile the column; if the maximum fits in int64 the planner chooses bigint.',
      }]);
    }
  }
}

export function mapColumn(col: CatalogColumn, profile: ColumnProfile | undefined, table: CatalogTable): RuleResult {
  const base = col.base_type.toLowerCase();
  const len = col.length;
  switch (base) {
    case 'tinyint':
    case 'smallint':
    case 'mediumint':
    case 'int':
    case 'integer':
    case 'bigint':
      return mapInteger(col, profile, base);
    case 'decimal':
    case 'numeric':
    case 'dec':
    case 'fixed':
      return rule(numericType(col.precision ?? 10, col.scale ?? 0), 'none', 0.99, `DECIMAL(${col.precision ?? 10},${col.scale ?? 0}) is exact in both systems`);
    case 'float':
      return rule('real', 'none', 0.95, 'FLOAT is IEEE single precision in both systems');
    case 'double':
    case 'double precision':
    case 'real':
      return rule('double precision', 'none', 0.98, 'DOUBLE is IEEE double precision in both systems');
    case 'bit': {
      const bits = Number(/^bit\((\d+)\)/.exec(col.native_type)?.[1] ?? col.precision ?? len ?? 1);
      if (bits === 1) return rule('boolean', 'bool_from_bit', 0.97, "BIT(1) is a flag: b'0'/b'1' -> false/true");
      return rule(`bit(${bits})`, 'bit_string', 0.9, `BIT(${bits}) -> bit(${bits}) as a bit string`);
    }
    case 'char':
    case 'nchar':
      return rule(`char(${len ?? 1})`, 'none', 0.98, 'fixed-length characters (MySQL strips trailing spaces on read; PostgreSQL pads)', encodingRisks(col));
    case 'varchar':
    case 'nvarchar':
      return rule(`varchar(${len ?? 255})`, 'none', 0.99, `varchar(${len}) counts characters in both systems`, encodingRisks(col));
    case 'tinytext':
    case 'text':
    case 'mediumtext':
      return rule('text', 'none', 0.99, `${base} -> text`, encodingRisks(col));
    case 'longtext':
      if (isJsonText(col, table)) return rule('jsonb', 'json_to_jsonb', 0.95, 'MariaDB JSON (longtext CHECK json_valid) -> jsonb');
      return rule('text', 'none', 0.99, 'longtext -> text (PostgreSQL text holds up to 1 GB per value)', encodingRisks(col));
    case 'binary':
    case 'varbinary':
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return rule('bytea', 'none', 0.99, `${base} -> bytea`);
    case 'json':
      return rule('jsonb', 'json_to_jsonb', 0.95, 'JSON -> jsonb (key order and duplicate keys are normalised)');
    case 'enum': {
      const values = [...(col.enum_values ?? [])];
      const risks: RuleRisk[] = [];
      if ((profile?.empty_strings ?? 0) > 0 && !values.includes('')) {
        values.push('');
        risks.push({
          severity: 'medium',
          type: 'empty_string_null',
          description: `${profile?.empty_strings} row(s) hold the invalid-enum value '' (index 0); '' is allowed by the target CHECK so they load unchanged.`,
          mitigation: "Clean the rows and drop '' from the CHECK after cutover.",
        });
      }
      const r = rule('text', 'enum_to_text', 0.95, `ENUM of ${values.length} label(s) -> text with a CHECK on the labels`, risks);
      return { ...r, check_in: values };
    }
    case 'set':
      return rule('text', 'set_to_text', 0.9, "SET kept as its comma-separated text, exactly as MySQL returns it (override to text[] with set_to_array)");
    case 'year':
      return rule('smallint', 'none', 0.97, 'YEAR (1901..2155, or 0) -> smallint');
    case 'date':
      return temporal(col, profile, 'date', 0.98, 'DATE -> date', [], 'none');
    case 'datetime':
      return temporal(col, profile, `timestamp(${fractional(col)}) without time zone`, 0.97,
        'DATETIME is wall-clock time with no zone: timestamp without time zone (timestamptz would reinterpret it in the session zone)', [], 'none');
    case 'timestamp':
      return temporal(col, profile, `timestamp(${fractional(col)}) with time zone`, 0.95,
        'TIMESTAMP is an instant stored in UTC: timestamptz, read in UTC', [{
          severity: 'low',
          type: 'timezone',
          description: "MySQL TIMESTAMP is converted to the session time_zone on read; the copy reads it with time_zone '+00:00' so instants are exact.",
          mitigation: 'None needed; set the PostgreSQL TimeZone of applications to what they expect.',
        }], 'timestamp_as_utc');
    case 'time': {
      const t = `time(${fractional(col)}) without time zone`;
      const neg = profile?.min?.startsWith('-') ?? false;
      const big = /^(\d{3,}|2[4-9]|[3-9]\d):/.test(profile?.max ?? '');
      if (neg || big) return rule('interval', 'cast', 0.9, 'TIME values outside 00:00..24:00 are durations: interval');
      return rule(t, 'none', profile ? 0.97 : 0.9, 'TIME -> time', profile ? [] : [{
        severity: 'low',
        type: 'range',
        description: 'MySQL TIME can hold durations (-838:59:59..838:59:59); PostgreSQL time cannot.',
        mitigation: 'Profile the column, or override the type to interval.',
      }]);
    }
    case 'geometry':
    case 'point':
    case 'linestring':
    case 'polygon':
    case 'multipoint':
    case 'multilinestring':
    case 'multipolygon':
    case 'geometrycollection':
      return rule('text', 'geometry_to_wkt', 0.5, `${base} read as WKT text (PostGIS is not assumed on the target)`, [{
        severity: 'medium',
        type: 'unsupported_object',
        description: 'Spatial values are copied as WKT text; SRIDs and spatial indexes are not recreated.',
        mitigation: 'Install PostGIS on the target and override the type to geometry.',
      }]);
    default:
      return rule('text', 'cast', 0.4, `${col.native_type} has no rule: copied as text`, [{
        severity: 'high',
        type: 'unsupported_object',
        description: `MySQL type ${col.native_type} is not converted; values are copied as their text form.`,
        mitigation: 'Override the type, or exclude the column.',
      }]);
  }
}
