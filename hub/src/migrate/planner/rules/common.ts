/** Helpers shared by the dialect rule files. Pure: values in, values out. */
import type { CatalogColumn, CatalogTable, ColumnProfile } from '../../../../../common/src/catalog.ts';
import type { RuleResult, RuleRisk, TransformationKind } from '../types.ts';

export type ColumnRule = (col: CatalogColumn, profile: ColumnProfile | undefined, table: CatalogTable) => RuleResult;

export function rule(
  type: string,
  transformation: TransformationKind,
  confidence: number,
  reason: string,
  risks: RuleRisk[] = [],
): RuleResult {
  return { type, transformation, confidence: round2(confidence), reason, risks };
}

export function round2(x: number): number {
  return Math.round(Math.min(1, Math.max(0, x)) * 100) / 100;
}

/** Confidence a profile earns: a full scan proves a property, a sample only suggests it. */
export function provenConfidence(profile: ColumnProfile): number {
  return profile.sampled ? 0.9 : 0.97;
}

const INT16 = [-32768n, 32767n] as const;
const INT32 = [-2147483648n, 2147483647n] as const;
const INT64 = [-9223372036854775808n, 9223372036854775807n] as const;

/** Parse an exact decimal string whose value is integral ("12", "-3", "12.000"); null otherwise. */
export function parseIntegral(text: string | null | undefined): bigint | null {
  if (text == null) return null;
  const m = /^\s*([+-]?\d+)(?:\.0*)?\s*$/.exec(text);
  if (!m || m[1] === undefined) return null;
  return BigInt(m[1]);
}

/** Range the profile proves for an integral column, or null when it proves nothing. */
export function integralRange(profile: ColumnProfile | undefined): { min: bigint; max: bigint } | null {
  if (!profile) return null;
  if (profile.rows === profile.nulls) return { min: 0n, max: 0n };
  if (profile.all_integral !== true) return null;
  const min = parseIntegral(profile.min);
  const max = parseIntegral(profile.max);
  if (min === null || max === null) return null;
  return { min, max };
}

function within(r: { min: bigint; max: bigint }, b: readonly [bigint, bigint]): boolean {
  return r.min >= b[0] && r.max <= b[1];
}

export function fitsInt64(r: { min: bigint; max: bigint }): boolean {
  return within(r, INT64);
}

/** Smallest PostgreSQL integer type holding the range; null beyond int64. */
export function intTypeForRange(r: { min: bigint; max: bigint }): string | null {
  if (within(r, INT16)) return 'smallint';
  if (within(r, INT32)) return 'integer';
  if (within(r, INT64)) return 'bigint';
  return null;
}

/** Integer type for a declared decimal digit count (NUMBER(p,0), DECIMAL(p,0)). */
export function intTypeForDigits(p: number): string {
  if (p <= 4) return 'smallint';
  if (p <= 9) return 'integer';
  if (p <= 18) return 'bigint';
  return `numeric(${p},0)`;
}

/** The profile proves every non-null value is 0 or 1. */
export function onlyZeroOne(profile: ColumnProfile | undefined): boolean {
  if (!profile) return false;
  if (profile.distinct_values) {
    return profile.distinct_values.every((v) => v === '0' || v === '1');
  }
  const r = integralRange(profile);
  return r !== null && r.min >= 0n && r.max <= 1n;
}

/** Length of a varchar(n)/char(n) target type, or null for other types. */
export function boundedLength(type: string): number | null {
  const m = /^(?:varchar|character varying|char|character|bpchar)\((\d+)\)$/.exec(type);
  return m && m[1] ? Number(m[1]) : null;
}

export function isTextLike(type: string): boolean {
  return boundedLength(type) !== null || type === 'text' || /^(varchar|character varying)$/.test(type);
}

/** NUMERIC-like declared precision/scale into numeric(p,s), handling Oracle's negative and oversized scales. */
export function numericType(p: number | null, s: number | null): string {
  if (p === null) return 'numeric';
  const scale = s ?? 0;
  if (scale < 0) return `numeric(${p - scale},0)`;
  if (scale > p) return `numeric(${scale},${scale})`;
  return `numeric(${p},${scale})`;
}
