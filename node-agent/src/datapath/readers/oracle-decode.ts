/**
 * Oracle values, as the reader selects them (numbers and dates through TO_CHAR, LOBs fetched as
 * string/Buffer), turned into values copy-text.ts encodes exactly. Pure functions: tested
 * without a server.
 */
import type { UnitColumn } from '../../../../common/src/migrate-tasks.ts';
import {
  decodeOracleNumber, oracleDateTextToTimestamp, oracleSelectExpr, trimCharPadding,
} from '../../connectors/oracle/values.ts';

export type OracleDecoder = (v: unknown) => unknown;

/** Base name of an Oracle native type: "number(10,2)" -> "number", "timestamp(6) with time zone" -> "timestamp with time zone". */
export function oracleBaseType(sourceType: string): string {
  return sourceType.toLowerCase().replace(/\([^)]*\)/g, '').replace(/\s+/g, ' ').trim();
}

const BINARY_SPECIALS: Record<string, string> = { Inf: 'Infinity', '-Inf': '-Infinity', Nan: 'NaN', NaN: 'NaN', '~': 'Infinity', '-~': '-Infinity' };

export function oracleDecoder(sourceType: string): OracleDecoder {
  const t = oracleBaseType(sourceType);
  if (t === 'number' || t === 'float' || t === 'integer') {
    return (v) => (v === null || v === undefined ? null : decodeOracleNumber(v as string));
  }
  if (t === 'binary_float' || t === 'binary_double') {
    return (v) => (typeof v === 'string' ? BINARY_SPECIALS[v.trim()] ?? v.trim() : v ?? null);
  }
  if (t === 'date' || t.startsWith('timestamp')) {
    return (v) => (typeof v === 'string' ? oracleDateTextToTimestamp(v) : v ?? null);
  }
  if (t === 'char' || t === 'nchar') {
    return (v) => (typeof v === 'string' ? trimCharPadding(v) : v ?? null);
  }
  return (v) => (v === undefined ? null : v);
}

/** Decoders for a unit's columns, in order. */
export function oracleRowDecoder(columns: readonly Pick<UnitColumn, 'source_type'>[]): (row: unknown[]) => unknown[] {
  const decs = columns.map((c) => oracleDecoder(c.source_type));
  return (row) => {
    for (let i = 0; i < decs.length; i++) row[i] = decs[i]!(row[i]);
    return row;
  };
}

/** The select-list expression of a unit column (exact text for numbers and dates). */
export function oracleSelect(c: Pick<UnitColumn, 'source' | 'source_type'>): string {
  return oracleSelectExpr(c.source, oracleBaseType(c.source_type));
}
