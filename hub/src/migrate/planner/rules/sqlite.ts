/**
 * SQLite -> PostgreSQL column rules. SQLite types are declarations, not constraints: a column's
 * affinity comes from its declared name, and any row may still hold another storage class. The
 * profile's storage classes decide how sure a mapping can be.
 */
import type { CatalogColumn, CatalogTable, ColumnProfile } from '../../../../../common/src/catalog.ts';
import type { RuleResult, RuleRisk, TransformationKind } from '../types.ts';
import { intTypeForRange, integralRange, numericType, onlyZeroOne, provenConfidence, rule } from './common.ts';

export type Affinity = 'integer' | 'text' | 'blob' | 'real' | 'numeric';

/** SQLite's documented affinity rules (section 3.1 of "Datatypes In SQLite"), in their order. */
export function affinityOf(declared: string): Affinity {
  const t = declared.toUpperCase();
  if (t.includes('INT')) return 'integer';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'text';
  if (t.includes('BLOB') || t.trim() === '') return 'blob';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'real';
  return 'numeric';
}

export function isRowidAlias(col: CatalogColumn, table: CatalogTable): boolean {
  if (col.identity?.kind === 'rowid_alias') return true;
  const pk = table.primary_key?.columns;
  return pk?.length === 1 && pk[0] === col.name && col.base_type.toLowerCase() === 'integer';
}

/** Storage classes a target type accepts without conversion trouble. */
function expectedClasses(type: string, transformation: TransformationKind): string[] {
  if (transformation === 'timestamp_from_unixepoch') return ['integer'];
  if (transformation === 'timestamp_from_julianday') return ['real'];
  if (transformation === 'timestamp_from_text') return ['text'];
  if (/^(smallint|integer|bigint)$/.test(type)) return ['integer'];
  if (type === 'boolean') return ['integer'];
  if (/^(numeric|real|double precision)/.test(type)) return ['integer', 'real'];
  if (type === 'bytea') return ['blob'];
  return ['text'];
}

/** Lower confidence and add a risk when stored values do not match the mapped type. */
function checkAffinity(r: RuleResult, profile: ColumnProfile | undefined): RuleResult {
  const classes = profile?.storage_classes;
  if (!classes) return r;
  const ok = expectedClasses(r.type, r.transformation);
  const odd = Object.entries(classes).filter(([k, n]) => k !== 'null' && n > 0 && !ok.includes(k));
  if (odd.length === 0) return r;
  const count = odd.reduce((s, [, n]) => s + n, 0);
  const what = odd.map(([k, n]) => `${n} ${k}`).join(', ');
  const toText = ok.includes('text');
  const risk: RuleRisk = {
    severity: toText ? 'low' : 'high',
    type: 'affinity_mismatch',
    description: toText
      ? `${what} value(s) stored in a column mapped to ${r.type}; they are copied as their text form.`
      : `${what} value(s) do not match ${r.type}; rows whose value does not convert are rejected.`,
    mitigation: toText ? 'None needed unless the text form matters.' : 'Clean the source values, or override the type to text (transformation text_from_any).',
  };
  return {
    ...r,
    confidence: Math.round(Math.min(r.confidence, toText ? 0.85 : count > 0 ? 0.5 : r.confidence) * 100) / 100,
    reason: `${r.reason}; ${what} value(s) of another storage class`,
    risks: [...r.risks, risk],
  };
}

function mapTemporal(col: CatalogColumn, profile: ColumnProfile | undefined, kind: 'timestamp' | 'date' | 'time'): RuleResult {
  const target = kind === 'timestamp' ? 'timestamp without time zone' : kind === 'date' ? 'date' : 'time without time zone';
  const classes = profile?.storage_classes ?? null;
  const n = (k: string): number => classes?.[k] ?? 0;
  const zoneRisk: RuleRisk = {
    severity: 'low',
    type: 'timezone',
    description: 'SQLite date/time text has no zone type; values with an offset or a Z suffix are converted to UTC wall-clock time.',
    mitigation: 'Override the type to timestamptz if the text carries offsets that must be kept.',
  };
  if (classes && kind === 'timestamp' && n('integer') > 0 && n('text') === 0 && n('real') === 0) {
    return rule(target, 'timestamp_from_unixepoch', provenConfidence(profile!), `${col.native_type.toUpperCase()} stored as integers: Unix epoch seconds -> ${target}`);
  }
  if (classes && kind === 'timestamp' && n('real') > 0 && n('text') === 0 && n('integer') === 0) {
    return rule(target, 'timestamp_from_julianday', 0.85, `${col.native_type.toUpperCase()} stored as reals: Julian day numbers -> ${target}`);
  }
  const confidence = classes ? 0.95 : 0.85;
  return rule(target, 'timestamp_from_text', confidence, `${col.native_type.toUpperCase()} stored as ISO-8601 text -> ${target}`, kind === 'date' ? [] : [zoneRisk]);
}

function mapByName(col: CatalogColumn, profile: ColumnProfile | undefined, table: CatalogTable): RuleResult {
  const base = col.base_type.toLowerCase().trim();
  const len = col.length;
  if (isRowidAlias(col, table)) {
    return rule('bigint', 'none', 0.99, 'INTEGER PRIMARY KEY aliases the 64-bit rowid: bigint identity');
  }
  if (base === 'boolean' || base === 'bool') {
    if (onlyZeroOne(profile) && profile) return rule('boolean', 'bool_from_int', provenConfidence(profile), 'BOOLEAN holding only 0/1: boolean');
    if (profile) {
      const r = integralRange(profile);
      return rule(r ? intTypeForRange(r) ?? 'numeric' : 'text', r ? 'cast' : 'text_from_any', 0.8, 'BOOLEAN declared but values other than 0/1 are stored: kept as they are', [{
        severity: 'medium',
        type: 'affinity_mismatch',
        description: 'A BOOLEAN column holds values other than 0/1.',
        mitigation: 'Clean the values and override the type to boolean, or keep the integer/text type.',
      }]);
    }
    return rule('boolean', 'bool_from_int', 0.75, 'BOOLEAN declared; without a profile the 0/1 values are assumed', [{
      severity: 'medium',
      type: 'affinity_mismatch',
      description: 'SQLite does not enforce BOOLEAN: a value other than 0/1 would be rejected.',
      mitigation: 'Profile the column to confirm only 0/1 are stored.',
    }]);
  }
  if (/^(datetime|timestamp)/.test(base)) return mapTemporal(col, profile, 'timestamp');
  if (base === 'date') return mapTemporal(col, profile, 'date');
  if (base === 'time') return mapTemporal(col, profile, 'time');
  if (/^(numeric|decimal)$/.test(base)) {
    if (col.precision === null) return rule('numeric', 'cast', 0.9, `${base.toUpperCase()} without precision -> numeric`);
    const t = numericType(col.precision, col.scale);
    const risks: RuleRisk[] = [];
    const scale = col.scale ?? 0;
    // SQLite does not enforce the declared precision: a stored value whose integer part has
    // more than p - s digits would be rejected by numeric(p,s), so the column is widened.
    const limit = 10 ** Math.max(0, col.precision - scale);
    const widest = Math.max(Math.abs(Number(profile?.min ?? 0)) || 0, Math.abs(Number(profile?.max ?? 0)) || 0);
    if (widest >= limit) {
      return rule('numeric', 'cast', 0.6, `${col.native_type.toUpperCase()} declared, but values up to ${profile?.max ?? profile?.min} exceed it (SQLite does not enforce precision): widened to numeric`, [{
        severity: 'medium',
        type: 'data_truncation',
        description: `values exceed ${t}: PostgreSQL would reject those rows, so the column is numeric without a precision.`,
        mitigation: `Keep numeric, or clean the values and override the type to ${t}.`,
      }]);
    }
    let confidence = 0.95;
    if ((profile?.max_scale ?? 0) > scale) {
      confidence = 0.6;
      risks.push({
        severity: 'medium',
        type: 'precision_loss',
        description: `values carry up to ${profile?.max_scale} decimal places but the column declares ${scale}; numeric rounds them (SQLite stores them as binary reals).`,
        mitigation: `Override the type to numeric to keep every digit.`,
      });
    }
    return rule(t, 'cast', confidence, `${col.native_type.toUpperCase()} -> ${t} (SQLite keeps these as integers or reals; text form is exact)`, risks);
  }
  switch (affinityOf(base)) {
    case 'integer': {
      const r = integralRange(profile);
      if (/^(bigint|int8|unsigned big int)$/.test(base)) return rule('bigint', 'none', 0.99, `${base.toUpperCase()} -> bigint`);
      if (r && profile) {
        const t = intTypeForRange(r);
        if (t && t !== 'smallint') return rule(t, 'none', provenConfidence(profile), `${base.toUpperCase()} values fit in ${t} (${r.min}..${r.max})`);
        if (t === 'smallint') return rule(/smallint|tinyint|int2/.test(base) ? 'smallint' : 'integer', 'none', provenConfidence(profile), `${base.toUpperCase()} values fit in ${t}`);
      }
      return rule('bigint', 'none', 0.95, 'SQLite integers are up to 64-bit whatever the declared name: bigint is always safe');
    }
    case 'text': {
      if (len !== null && /char/.test(base)) {
        const max = profile?.max_length ?? null;
        if (max !== null && max > len) {
          return rule('text', 'none', 0.6, `${col.native_type.toUpperCase()} declared but values reach ${max} characters (SQLite does not enforce lengths): widened to text`, [{
            severity: 'medium',
            type: 'data_truncation',
            description: `values up to ${max} characters exceed the declared length ${len}; the target is text so nothing is truncated or rejected.`,
            mitigation: `Keep text, or override the type to varchar(${max}).`,
          }]);
        }
        const t = /^(n?char|character)$/.test(base) ? `char(${len})` : `varchar(${len})`;
        return rule(t, 'none', profile?.max_length != null ? provenConfidence(profile) + 0.02 : 0.95, `${col.native_type.toUpperCase()} -> ${t}${profile ? '' : ' (SQLite does not enforce the length; not profiled)'}`);
      }
      return rule('text', 'none', 0.99, `${base.toUpperCase()} -> text`);
    }
    case 'blob': {
      if (base.trim() !== '') return rule('bytea', 'none', 0.99, 'BLOB -> bytea');
      const c = profile?.storage_classes;
      if (c) {
        const present = Object.keys(c).filter((k) => k !== 'null' && (c[k] ?? 0) > 0);
        if (present.length === 1 && present[0] === 'integer') return rule('bigint', 'none', 0.85, 'no declared type; only integers stored');
        if (present.length === 1 && present[0] === 'real') return rule('double precision', 'none', 0.85, 'no declared type; only reals stored');
        if (present.length === 1 && present[0] === 'blob') return rule('bytea', 'none', 0.85, 'no declared type; only blobs stored');
      }
      return rule('text', 'text_from_any', 0.5, 'no declared type and mixed or unknown storage classes: copied as text');
    }
    case 'real':
      return rule('double precision', 'none', 0.97, `${base.toUpperCase()} is an 8-byte IEEE float in SQLite`);
    default:
      return rule('numeric', 'cast', 0.85, `${base.toUpperCase()} has NUMERIC affinity: unconstrained numeric`);
  }
}

export function mapColumn(col: CatalogColumn, profile: ColumnProfile | undefined, table: CatalogTable): RuleResult {
  const r = mapByName(col, profile, table);
  return r.transformation === 'text_from_any' ? r : checkAffinity(r, profile);
}
