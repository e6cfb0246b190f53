/**
 * PostgreSQL COPY text format encoding (tab-separated fields, "\N" for NULL, backslash escapes),
 * with each column's planner transformation applied on the way. Values reach here exactly as
 * the drivers were configured to return them: strings for decimals, bigints and dates, BigInt
 * for SQLite integers, Buffer for binary, numbers only where a JS double is exact (int32, floats).
 * Nothing numeric goes through a JS float that was not one already at the source.
 */
import type { TransformationKind } from '../../../hub/src/migrate/planner/types.ts';
import type { UnitColumn } from '../../../common/src/migrate-tasks.ts';
import { epochSecondsToTimestamp, isZeroDate, julianDayToTimestamp, sqliteTextToTimestamp } from './temporal.ts';

/** Encodes one value into one COPY text field, already escaped ("\\N" for NULL). */
export type FieldEncoder = (v: unknown) => string;
/** Encodes one row (array of values in column order) into one COPY text line ending in "\n". */
export type RowEncoder = (row: readonly unknown[]) => string;

export const NULL_FIELD = '\\N';

const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPES = /[\\\n\r\t]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escapeOne = (c: string): string => ESCAPED[c] ?? c;

/**
 * Escape a text value for a COPY text field: backslash, newline, carriage return and tab.
 * NUL cannot be represented (PostgreSQL text cannot hold U+0000): it is left in place so the
 * row is rejected with the server's own error unless the column strips NUL bytes.
 * @example escapeCopyText('a\tb') // 'a\\tb'
 */
export function escapeCopyText(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPES, escapeOne) : s;
}

/** Reverse of escapeCopyText for one field ("\\N" -> null); accepts every escape COPY reads. */
export function unescapeCopyText(field: string): string | null {
  if (field === NULL_FIELD) return null;
  if (field.indexOf('\\') < 0) return field;
  return field.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_m, e: string) => {
    switch (e[0]) {
      case 'b': return '\b';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'v': return '\v';
      case 'x': return String.fromCharCode(parseInt(e.slice(1), 16));
      default: return /^[0-7]/.test(e) ? String.fromCharCode(parseInt(e, 8)) : e;
    }
  });
}

/** What the target column needs to know about a value's text form. */
export type TargetClass = 'bytea' | 'boolean' | 'bit' | 'timestamptz' | 'other';

function targetClass(targetType: string): TargetClass {
  const t = targetType.trim().toLowerCase();
  if (t === 'bytea') return 'bytea';
  if (t === 'boolean' || t === 'bool') return 'boolean';
  if (/^(bit|bit varying|varbit)\b/.test(t)) return 'bit';
  if (/^timestamp(\(\d\))? with time zone$|^timestamptz/.test(t)) return 'timestamptz';
  return 'other';
}

/** Width n of "bit(n)"; 0 for bit varying / unknown. */
function bitWidth(targetType: string): number {
  const m = /^bit\s*\((\d+)\)/i.exec(targetType.trim());
  return m?.[1] ? Number(m[1]) : 0;
}

const HEX_PREFIX = '\\\\x';
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** MySQL BIT(n) bytes as a '0101' string of the target width (the low `width` bits). */
export function bytesToBits(b: Uint8Array, width: number): string {
  let s = '';
  for (const byte of b) s += byte.toString(2).padStart(8, '0');
  return width > 0 && s.length > width ? s.slice(s.length - width) : s;
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** A JS Date (only Oracle/other drivers hand these out) as UTC timestamp text with offset. */
export function dateText(d: Date, cls: TargetClass): string {
  const ms = d.getUTCMilliseconds();
  const y = d.getUTCFullYear();
  const base = `${String(y <= 0 ? 1 - y : y).padStart(4, '0')}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}${ms ? '.' + String(ms).padStart(3, '0') : ''}`;
  return base + (cls === 'timestamptz' ? '+00' : '') + (y <= 0 ? ' BC' : '');
}

/**
 * Any driver value -> escaped COPY field for a target class. Strings are escaped; numbers and
 * bigints never need it; binary becomes bytea hex or UTF-8 text.
 */
function genericField(v: unknown, cls: TargetClass, width: number): string {
  if (v === null || v === undefined) return NULL_FIELD;
  switch (typeof v) {
    case 'string':
      if (cls === 'bytea') return HEX_PREFIX + Buffer.from(v, 'utf8').toString('hex');
      return escapeCopyText(v);
    case 'number':
      if (cls === 'boolean') return v === 0 ? 'f' : v === 1 ? 't' : String(v);
      return String(v);
    case 'bigint':
      if (cls === 'boolean') return v === 0n ? 'f' : v === 1n ? 't' : v.toString();
      return v.toString();
    case 'boolean':
      return v ? 't' : 'f';
    default:
      break;
  }
  if (v instanceof Uint8Array) {
    if (cls === 'bytea') return HEX_PREFIX + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
    if (cls === 'bit') return bytesToBits(v, width);
    return escapeCopyText(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8'));
  }
  if (v instanceof Date) return dateText(v, cls);
  // mysql2 JSON columns without jsonStrings, or anything structured: JSON text (jsonb parses it).
  return escapeCopyText(JSON.stringify(v));
}

/** '{"a","b"}' array literal from a comma-separated MySQL SET value. */
function setToArrayLiteral(s: string): string {
  if (s === '') return '{}';
  return '{' + s.split(',').map((x) => '"' + x.replace(/["\\]/g, '\\$&') + '"').join(',') + '}';
}

/** text_from_any: UTF-8 text, else \\x hex for invalid bytes or NUL; numbers and booleans as text, structures as JSON. */
export function anyToText(v: unknown): string {
  if (v instanceof Uint8Array) {
    try {
      const s = utf8Strict.decode(v);
      // U+0000 is valid UTF-8 but PostgreSQL text cannot store it: such bytes go as hex too.
      if (!s.includes('\0')) return s;
    } catch {
      // not UTF-8: hex below
    }
    return '\\x' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

export function isZeroish(v: unknown): boolean {
  return v === 0 || v === 0n || v === '0' || v === false;
}

/**
 * The field encoder for one column: the planner's transformation, then the text form the target
 * type parses. Unknown transformations fall back to the plain conversion.
 */
export function columnEncoder(col: Pick<UnitColumn, 'target_type' | 'transformation'>): FieldEncoder {
  const cls = targetClass(col.target_type);
  const width = bitWidth(col.target_type);
  const plain: FieldEncoder = (v) => genericField(v, cls, width);
  const transformation = col.transformation as TransformationKind;
  switch (transformation) {
    case 'none':
    case 'cast':
    case 'enum_to_text':
    case 'set_to_text':
    case 'geometry_to_wkt':
    case 'json_to_jsonb':
      if (cls === 'other') {
        // The hot path: most columns are text or numbers that need nothing but escaping.
        return (v) => (typeof v === 'string' ? escapeCopyText(v) : v === null || v === undefined ? NULL_FIELD : genericField(v, cls, width));
      }
      return plain;
    case 'bool_from_int':
      return (v) => {
        if (v === null || v === undefined) return NULL_FIELD;
        if (isZeroish(v)) return 'f';
        if (v === 1 || v === 1n || v === '1' || v === true) return 't';
        return genericField(v, 'other', 0); // e.g. 2: PostgreSQL rejects it and the row is reported
      };
    case 'bool_from_bit':
      return (v) => {
        if (v === null || v === undefined) return NULL_FIELD;
        if (v instanceof Uint8Array) return v.some((b) => b !== 0) ? 't' : 'f';
        return isZeroish(v) ? 'f' : 't';
      };
    case 'bit_string':
      return (v) => (v instanceof Uint8Array ? bytesToBits(v, width) : genericField(v, 'bit', width));
    case 'zero_date_to_null':
    case 'zero_date_to_neg_infinity': {
      const zero = transformation === 'zero_date_to_null' ? NULL_FIELD : '-infinity';
      const utc = cls === 'timestamptz';
      return (v) => {
        if (typeof v !== 'string') return plain(v);
        if (isZeroDate(v)) return zero;
        return utc ? v + '+00' : v;
      };
    }
    case 'timestamp_as_utc':
      return (v) => (typeof v === 'string' ? (isZeroDate(v) ? NULL_FIELD : v + '+00') : plain(v));
    case 'empty_string_to_null':
      return (v) => (v === '' ? NULL_FIELD : plain(v));
    case 'strip_nul_bytes':
      return (v) => (typeof v === 'string' ? escapeCopyText(v.includes('\u0000') ? v.replaceAll('\u0000', '') : v) : plain(v));
    case 'timestamp_from_text':
      // Integers are read as Unix epoch seconds, reals as Julian days (SQLite's own conventions).
      return (v) => {
        if (typeof v === 'string') return escapeCopyText(cls === 'timestamptz' ? v : sqliteTextToTimestamp(v));
        if (typeof v === 'bigint') return epochOrRaw(epochSecondsToTimestamp(v), v, cls);
        if (typeof v === 'number') return epochOrRaw(julianDayToTimestamp(v), v, cls);
        return plain(v);
      };
    case 'timestamp_from_unixepoch':
      return (v) => (typeof v === 'bigint' || typeof v === 'number' ? epochOrRaw(epochSecondsToTimestamp(v), v, cls) : plain(v));
    case 'timestamp_from_julianday':
      return (v) => (typeof v === 'number' ? epochOrRaw(julianDayToTimestamp(v), v, cls) : typeof v === 'bigint' ? epochOrRaw(julianDayToTimestamp(Number(v)), v, cls) : plain(v));
    case 'set_to_array':
      return (v) => (typeof v === 'string' ? escapeCopyText(setToArrayLiteral(v)) : plain(v));
    case 'text_from_any':
      return (v) => (v === null || v === undefined ? NULL_FIELD : escapeCopyText(anyToText(v)));
    default:
      return plain;
  }
}

/** A converted timestamp, with "+00" for timestamptz targets; the raw value (rejected by the server) when out of range. */
function epochOrRaw(ts: string | null, raw: bigint | number, cls: TargetClass): string {
  if (ts === null) return String(raw);
  if (cls !== 'timestamptz') return ts;
  return ts.endsWith(' BC') ? ts.slice(0, -3) + '+00 BC' : ts + '+00';
}

/**
 * The row encoder for a unit's columns, in order.
 * @example rowEncoder([{ target_type: 'text', transformation: 'none' }])(['a\tb']) // 'a\\tb\n'
 */
export function rowEncoder(columns: readonly Pick<UnitColumn, 'target_type' | 'transformation'>[]): RowEncoder {
  const encs = columns.map(columnEncoder);
  const n = encs.length;
  if (n === 0) return () => '\n';
  const first = encs[0]!;
  return (row) => {
    let s = first(row[0]);
    for (let i = 1; i < n; i++) s += '\t' + encs[i]!(row[i]);
    return s + '\n';
  };
}
