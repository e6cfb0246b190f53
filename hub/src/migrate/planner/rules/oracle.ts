/**
 * Oracle -> PostgreSQL column rules. Oracle names are upper case; the planner lower-cases them by
 * default. NUMBER without precision is the one decision the profile changes most often.
 */
import type { CatalogColumn, CatalogTable, ColumnProfile } from '../../../../../common/src/catalog.ts';
import type { RuleResult, RuleRisk } from '../types.ts';
import { fitsInt64, intTypeForDigits, integralRange, numericType, provenConfidence, rule } from './common.ts';

const EMPTY_STRING_RISK: RuleRisk = {
  severity: 'low',
  type: 'empty_string_null',
  description: "Oracle stores '' as NULL: rows an application wrote with an empty string arrive as NULL.",
  mitigation: "None needed for equality with the source; review application code that compares with '' after cutover.",
};

/** Fractional-second digits of an Oracle TIMESTAMP (default 6). */
function fractionalDigits(col: CatalogColumn): number {
  const m = /timestamp\s*\((\d)\)/.exec(col.native_type);
  if (m && m[1]) return Number(m[1]);
  return col.scale ?? col.precision ?? 6;
}

function timestampPrecision(col: CatalogColumn, zone: 'with' | 'without'): { type: string; risks: RuleRisk[] } {
  const digits = fractionalDigits(col);
  const p = Math.min(digits, 6);
  const risks: RuleRisk[] = [];
  if (digits > 6) {
    risks.push({
      severity: 'medium',
      type: 'precision_loss',
      description: `TIMESTAMP(${digits}) holds sub-microsecond digits; PostgreSQL keeps microseconds, so the last ${digits - 6} digit(s) are rounded.`,
      mitigation: 'Accept microsecond precision, or override the type to text to keep the exact literal.',
    });
  }
  return { type: `timestamp(${p}) ${zone} time zone`, risks };
}

function mapNumber(col: CatalogColumn, profile: ColumnProfile | undefined): RuleResult {
  const p = col.precision;
  const s = col.scale;
  if (p !== null && (s === 0 || s === null)) {
    return rule(intTypeForDigits(p), 'cast', 0.98, `NUMBER(${p},0) holds integers of at most ${p} digits`);
  }
  if (p !== null && s !== null) {
    return rule(numericType(p, s), 'cast', 0.99, `NUMBER(${p},${s}) is an exact decimal: numeric keeps every digit`);
  }
  // NUMBER or NUMBER(*,0): up to 38 significant digits, integral only when the scale says 0.
  const declaredIntegral = s === 0;
  const r = integralRange(profile);
  if (profile && r && fitsInt64(r)) {
    const proven = profile.sampled ? 'a sample of the values' : 'every value';
    return rule(
      'bigint',
      'cast',
      provenConfidence(profile),
      `${col.native_type.toUpperCase()} without precision, but ${proven} is an integer within int64 (${r.min}..${r.max})`,
      profile.sampled
        ? [{
            severity: 'medium',
            type: 'precision_loss',
            description: 'bigint was chosen from a sample; an unsampled fractional or out-of-range value would be rejected.',
            mitigation: 'Profile the full table, or override the type to numeric.',
          }]
        : [],
    );
  }
  if (profile && r && !fitsInt64(r)) {
    return rule('numeric(38,0)', 'cast', 0.95, `integral values beyond int64 (${r.min}..${r.max}): numeric(38,0) holds them exactly`);
  }
  if (profile && profile.all_integral === false) {
    return rule('numeric', 'cast', 0.95, 'NUMBER without precision holding fractional values: unconstrained numeric keeps them exactly');
  }
  return rule(
    declaredIntegral ? 'numeric(38,0)' : 'numeric',
    'cast',
    0.75,
    `${col.native_type.toUpperCase()} without precision and no profile: kept as exact numeric; likely an integer key`,
    [{
      severity: 'low',
      type: 'precision_loss',
      description: 'Unconstrained NUMBER mapped to numeric: exact, but slower and wider than an integer type, and foreign keys must match it.',
      mitigation: 'Profile the column (integral values within int64 become bigint) or override the type to bigint.',
    }],
  );
}

export function mapColumn(col: CatalogColumn, profile: ColumnProfile | undefined, _table: CatalogTable): RuleResult {
  const base = col.base_type.replace(/\(\d+\)/g, '').replace(/\s+/g, ' ').trim();
  const len = col.length;
  const charRisks = col.nullable ? [EMPTY_STRING_RISK] : [];
  const encodingRisks: RuleRisk[] = [];
  if (col.charset && !/^(al32utf8|utf8|al16utf16|char_cs|nchar_cs)$/i.test(col.charset)) {
    encodingRisks.push({
      severity: 'medium',
      type: 'encoding',
      description: `Column character set ${col.charset} is converted to UTF-8 by the client; characters without a UTF-8 mapping would be replaced.`,
      mitigation: 'Check the source NLS character set; read with NLS_LANG=.AL32UTF8.',
    });
  }
  switch (base) {
    case 'number':
      if (col.identity && col.precision === null) {
        return rule('bigint', 'cast', 0.95, 'identity column: its sequence hands out integers, so bigint');
      }
      return mapNumber(col, profile);
    case 'integer':
    case 'int':
    case 'smallint':
      return mapNumber({ ...col, precision: col.precision, scale: 0 }, profile);
    case 'float': {
      return rule('numeric', 'cast', 0.9, 'Oracle FLOAT is a decimal NUMBER with binary precision: numeric keeps every digit (double precision would round)');
    }
    case 'binary_float':
      return rule('real', 'none', 0.99, 'IEEE single precision in both systems');
    case 'binary_double':
      return rule('double precision', 'none', 0.99, 'IEEE double precision in both systems');
    case 'varchar2':
    case 'nvarchar2':
    case 'varchar':
      return rule(`varchar(${len ?? 4000})`, 'none', 0.99, `${base.toUpperCase()}(${len}) -> varchar(${len}) (character lengths; BYTE limits are never smaller)`, [...charRisks, ...encodingRisks]);
    case 'char':
    case 'nchar':
      return rule(`char(${len ?? 1})`, 'none', 0.99, 'blank-padded fixed length in both systems', [...charRisks, ...encodingRisks]);
    case 'clob':
    case 'nclob':
    case 'long':
      return rule('text', 'none', 0.99, `${base.toUpperCase()} is unbounded character data: text`, [...charRisks, ...encodingRisks]);
    case 'blob':
    case 'raw':
    case 'long raw':
      return rule('bytea', 'none', 0.99, `${base.toUpperCase()} is binary data: bytea`);
    case 'bfile':
      return rule('bytea', 'none', 0.4, 'BFILE points to a file outside the database; its content is read into bytea', [{
        severity: 'high',
        type: 'unsupported_object',
        description: 'BFILE locators reference server files; the file contents, not the locator, are copied.',
        mitigation: 'Confirm the files are readable by the source session, or exclude the column.',
      }]);
    case 'date':
      return rule('timestamp(0) without time zone', 'cast', 0.97, 'Oracle DATE carries a time of day to the second: timestamp(0), not date');
    case 'timestamp': {
      const t = timestampPrecision(col, 'without');
      return rule(t.type, 'cast', t.risks.length ? 0.85 : 0.98, 'TIMESTAMP without zone -> timestamp without time zone', t.risks);
    }
    case 'timestamp with time zone': {
      const t = timestampPrecision(col, 'with');
      return rule(t.type, 'cast', t.risks.length ? 0.85 : 0.95, 'TIMESTAMP WITH TIME ZONE -> timestamptz (same instant)', [...t.risks, {
        severity: 'low',
        type: 'timezone',
        description: 'timestamptz stores the instant in UTC; the original zone name or offset of each value is not kept.',
        mitigation: 'Add a text column for the zone if applications need it.',
      }]);
    }
    case 'timestamp with local time zone': {
      const t = timestampPrecision(col, 'with');
      return rule(t.type, 'cast', t.risks.length ? 0.85 : 0.96, 'TIMESTAMP WITH LOCAL TIME ZONE is an instant normalised to the database zone: timestamptz', t.risks);
    }
    case 'interval year to month':
    case 'interval day to second':
      return rule('interval', 'cast', 0.95, `${base.toUpperCase()} -> interval`);
    case 'rowid':
    case 'urowid':
      return rule('text', 'cast', 0.8, 'ROWIDs are physical addresses: kept as text, meaningless on the target', [{
        severity: 'low',
        type: 'unsupported_object',
        description: 'ROWID values refer to source storage and do not identify rows on the target.',
        mitigation: 'Drop the column after cutover if nothing reads it.',
      }]);
    case 'xmltype':
    case 'sys.xmltype':
      return rule('xml', 'cast', 0.9, 'XMLTYPE -> xml (serialised text)');
    case 'json':
      return rule('jsonb', 'json_to_jsonb', 0.95, 'Oracle JSON -> jsonb');
    case 'boolean':
      return rule('boolean', 'none', 0.99, 'BOOLEAN in both systems');
    default:
      return rule('text', 'cast', 0.4, `${col.native_type} has no PostgreSQL equivalent in the rules: copied as text`, [{
        severity: 'high',
        type: 'unsupported_object',
        description: `Oracle type ${col.native_type} is not converted; values are copied as their text form.`,
        mitigation: 'Override the type, or exclude the column.',
      }]);
  }
}
