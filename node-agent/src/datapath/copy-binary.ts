/**
 * PostgreSQL binary COPY encoding of driver values for the mapped target types, with each
 * column's planner transformation applied exactly as copy-text.ts applies it. PostgreSQL loads
 * binary about twice as fast as text (no text parsing on the server), so SQLite and MySQL
 * sources use this whenever every column of a unit has a binary form here; a unit with any
 * other target type falls back to text as a whole (`binaryRowWriter` returns null).
 *
 * A value the binary form cannot express the way PostgreSQL's text input would (a date in a
 * format other than ISO, "abc" for a number) becomes a field no receive function accepts: the
 * server rejects the row, and salvage reports it, as it would have with text.
 */
import { isUtf8 } from 'node:buffer';
import type { TransformationKind } from '../../../hub/src/migrate/planner/types.ts';
import type { UnitColumn } from '../../../common/src/migrate-tasks.ts';
import { BinaryFrameBuilder } from './binary-frame.ts';
import {
  parseBigInt, parseBool, parseDateTime, parseFloatText, parseIntervalHms, parseSmallInt, parseTimeOfDay,
  putNumericText, putTimestampUsec, USEC_PER_DAY,
} from './binary-parse.ts';
import { anyToText, bytesToBits, dateText, isZeroish } from './copy-text.ts';
import { epochSecondsToTimestamp, isZeroDate, julianDayToTimestamp, sqliteTextToTimestamp } from './temporal.ts';

export { BinaryFrameBuilder } from './binary-frame.ts';

/** Writes one field (length word and value) for a driver value. */
export type BinaryFieldWriter = (w: BinaryFrameBuilder, v: unknown) => void;
/** Writes one tuple; returns a full frame when the builder reached its size, else null. */
export type BinaryRowWriter = (w: BinaryFrameBuilder, row: readonly unknown[]) => Buffer | null;

/** Target types with a binary writer here. */
export type BinaryKind =
  | 'int2' | 'int4' | 'int8' | 'numeric' | 'float4' | 'float8' | 'bool' | 'text' | 'bytea' | 'date' | 'timestamp'
  | 'timestamptz' | 'time' | 'interval' | 'uuid' | 'json' | 'jsonb' | 'text[]' | 'bit';

const KINDS: Record<string, BinaryKind> = {
  smallint: 'int2', int2: 'int2', integer: 'int4', int: 'int4', int4: 'int4', bigint: 'int8', int8: 'int8',
  numeric: 'numeric', decimal: 'numeric', real: 'float4', float4: 'float4', 'double precision': 'float8', float8: 'float8',
  boolean: 'bool', bool: 'bool', text: 'text', 'character varying': 'text', varchar: 'text', character: 'text', char: 'text', bpchar: 'text',
  bytea: 'bytea', date: 'date', timestamp: 'timestamp', 'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz', timestamptz: 'timestamptz', time: 'time', 'time without time zone': 'time',
  interval: 'interval', uuid: 'uuid', json: 'json', jsonb: 'jsonb', 'text[]': 'text[]', bit: 'bit', 'bit varying': 'bit', varbit: 'bit',
};

/** The binary kind of a PostgreSQL type text ("numeric(12,2)" -> numeric), null when unsupported. */
export function binaryKind(targetType: string): BinaryKind | null {
  const base = targetType.trim().toLowerCase().replace(/\s*\([^)]*\)/g, '').replace(/\s+/g, ' ');
  return KINDS[base] ?? null;
}

const TRANSFORMS = new Set<string>([
  'none', 'cast', 'bool_from_int', 'bool_from_bit', 'bit_string', 'zero_date_to_null', 'zero_date_to_neg_infinity',
  'empty_string_to_null', 'timestamp_as_utc', 'timestamp_from_text', 'timestamp_from_unixepoch', 'timestamp_from_julianday',
  'enum_to_text', 'set_to_text', 'set_to_array', 'json_to_jsonb', 'geometry_to_wkt', 'strip_nul_bytes', 'text_from_any',
] satisfies TransformationKind[]);

/** Text PostgreSQL would have been sent for a non-string value (copy-text.ts genericField, unescaped). */
function asText(v: unknown): string {
  switch (typeof v) {
    case 'string': return v;
    case 'number': case 'bigint': return String(v);
    case 'boolean': return v ? 't' : 'f';
    default: break;
  }
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  if (v instanceof Date) return dateText(v, 'other');
  return JSON.stringify(v);
}

const PG_EPOCH_MS = 946_684_800_000;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const SAFE_DIGITS = 15;

function intWriter(kind: 'int2' | 'int4'): BinaryFieldWriter {
  const [min, max, size] = kind === 'int2' ? [-32768, 32767, 2] : [-2147483648, 2147483647, 4];
  const put = (w: BinaryFrameBuilder, n: number) => (size === 2 ? w.int16(n) : w.int32(n));
  return (w, v) => {
    if (v === null || v === undefined) return w.null();
    let n: number | null;
    if (typeof v === 'number') n = Number.isInteger(v) && v >= min && v <= max ? v : null;
    else if (typeof v === 'bigint') n = v >= BigInt(min) && v <= BigInt(max) ? Number(v) : null;
    else n = parseSmallInt(asText(v), min, max);
    if (n === null) w.invalid(size);
    else put(w, n);
  };
}

const int8Writer: BinaryFieldWriter = (w, v) => {
  if (v === null || v === undefined) return w.null();
  if (typeof v === 'bigint') return v >= INT64_MIN && v <= INT64_MAX ? w.int64(v) : w.invalid(8);
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return w.int64n(v);
    // A large integral double: its text form is exact digits, which PostgreSQL would accept.
    if (Number.isInteger(v) && Math.abs(v) < 2 ** 63) return w.int64(BigInt(v));
    return w.invalid(8);
  }
  const s = asText(v);
  if (s.length <= SAFE_DIGITS) {
    const n = parseSmallInt(s, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    if (n !== null) return w.int64n(n);
  }
  const b = parseBigInt(s);
  if (b === null) w.invalid(8);
  else w.int64(b);
};

const numericWriter: BinaryFieldWriter = (w, v) => {
  if (v === null || v === undefined) return w.null();
  if (!putNumericText(w, typeof v === 'string' ? v : asText(v))) w.invalid(8);
};

function floatWriter(kind: 'float4' | 'float8'): BinaryFieldWriter {
  const size = kind === 'float4' ? 4 : 8;
  return (w, v) => {
    if (v === null || v === undefined) return w.null();
    const f = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : parseFloatText(asText(v));
    if (f === null) return w.invalid(size);
    if (size === 4) w.float32(f);
    else w.float64(f);
  };
}

const boolWriter: BinaryFieldWriter = (w, v) => {
  if (v === null || v === undefined) return w.null();
  if (typeof v === 'boolean') return w.bool(v);
  if (v === 0 || v === 0n) return w.bool(false);
  if (v === 1 || v === 1n) return w.bool(true);
  const b = parseBool(asText(v));
  if (b === null) w.invalid(1);
  else w.bool(b);
};

const textWriter: BinaryFieldWriter = (w, v) => {
  if (v === null || v === undefined) return w.null();
  if (typeof v === 'string') return w.text(v);
  // Valid UTF-8 bytes go as they are; others as Buffer#toString decodes them (U+FFFD), like the text path.
  if (v instanceof Uint8Array && isUtf8(v)) return w.bytes_(v);
  w.text(asText(v));
};

const jsonWriter = (version: number): BinaryFieldWriter => (w, v) => {
  if (v === null || v === undefined) return w.null();
  if (v instanceof Uint8Array && isUtf8(v)) return w.bytes_(v, version);
  w.text(typeof v === 'string' ? v : asText(v), version);
};

const byteaWriter: BinaryFieldWriter = (w, v) => {
  if (v === null || v === undefined) return w.null();
  if (v instanceof Uint8Array) return w.bytes_(v);
  w.text(asText(v));
};

function dateWriter(w: BinaryFrameBuilder, v: unknown): void {
  if (v === null || v === undefined) return w.null();
  if (v instanceof Date) {
    const t = v.getTime();
    return Number.isNaN(t) ? w.invalid(4) : w.int32(Math.floor((t - PG_EPOCH_MS) / 86_400_000));
  }
  const p = parseDateTime(asText(v));
  if (p === null) return w.invalid(4);
  w.int32(p.infinite === 1 ? 2147483647 : p.infinite === -1 ? -2147483648 : p.days);
}

function timestampWriter(withZone: boolean): BinaryFieldWriter {
  return (w, v) => {
    if (v === null || v === undefined) return w.null();
    if (v instanceof Date) {
      const t = v.getTime();
      return Number.isNaN(t) ? w.invalid(8) : w.int64n((t - PG_EPOCH_MS) * 1000);
    }
    const p = parseDateTime(asText(v));
    if (p === null) return w.invalid(8);
    if (p.infinite !== 0) return w.int64(p.infinite === 1 ? INT64_MAX : INT64_MIN);
    // timestamp ignores a zone in its input (as timestamp_in does); timestamptz applies it (none = UTC, the loader's session zone).
    const usec = withZone && p.zone !== null ? p.usec - p.zone * 1e6 : p.usec;
    if (!putTimestampUsec(w, p.days, usec)) w.invalid(8);
  };
}

const timeWriter: BinaryFieldWriter = (w, v) => {
  if (v === null || v === undefined) return w.null();
  const p = parseTimeOfDay(asText(v));
  if (p === null || p.usec > USEC_PER_DAY) return w.invalid(8);
  w.int64n(p.usec);
};

const intervalWriter: BinaryFieldWriter = (w, v) => {
  if (v === null || v === undefined) return w.null();
  const us = parseIntervalHms(asText(v));
  if (us === null) return w.invalid(16);
  w.ensure(20);
  w.i32raw(16);
  w.i64raw(us);
  w.i32raw(0); // days
  w.i32raw(0); // months
};

const UUID = /^\{?([0-9a-fA-F]{8})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{12})\}?$/;
const uuidWriter: BinaryFieldWriter = (w, v) => {
  if (v === null || v === undefined) return w.null();
  const s = asText(v).trim();
  const m = UUID.exec(s);
  if (!m || (s[0] === '{') !== (s[s.length - 1] === '}')) return w.invalid(16);
  w.bytes_(Buffer.from(m.slice(1).join(''), 'hex'));
};

const TEXT_OID = 25;
/** text[] of one dimension (set_to_array's output: an array of strings). */
const textArrayWriter: BinaryFieldWriter = (w, v) => {
  if (v === null || v === undefined) return w.null();
  if (!Array.isArray(v)) return w.invalid(12);
  const at = w.beginVar();
  w.i32raw(v.length === 0 ? 0 : 1); // ndim
  w.i32raw(0); // has nulls
  w.i32raw(TEXT_OID);
  if (v.length > 0) {
    w.i32raw(v.length);
    w.i32raw(1); // lower bound
    for (const e of v) w.text(String(e));
  }
  w.endVar(at);
};

function bitWriter(width: number): BinaryFieldWriter {
  return (w, v) => {
    if (v === null || v === undefined) return w.null();
    const bits = v instanceof Uint8Array ? bytesToBits(v, width) : asText(v);
    if (!/^[01]*$/.test(bits)) return w.invalid(4);
    const bytes = Buffer.alloc((bits.length + 7) >> 3);
    for (let i = 0; i < bits.length; i++) if (bits.charCodeAt(i) === 49) bytes[i >> 3]! |= 0x80 >> (i & 7);
    const at = w.beginVar();
    w.i32raw(bits.length);
    w.ensure(bytes.length);
    w.buf.set(bytes, w.pos);
    w.pos += bytes.length;
    w.endVar(at);
  };
}

function kindWriter(kind: BinaryKind, targetType: string): BinaryFieldWriter {
  switch (kind) {
    case 'int2': case 'int4': return intWriter(kind);
    case 'int8': return int8Writer;
    case 'numeric': return numericWriter;
    case 'float4': case 'float8': return floatWriter(kind);
    case 'bool': return boolWriter;
    case 'text': return textWriter;
    case 'json': return jsonWriter(-1);
    case 'jsonb': return jsonWriter(1);
    case 'bytea': return byteaWriter;
    case 'date': return dateWriter;
    case 'timestamp': return timestampWriter(false);
    case 'timestamptz': return timestampWriter(true);
    case 'time': return timeWriter;
    case 'interval': return intervalWriter;
    case 'uuid': return uuidWriter;
    case 'text[]': return textArrayWriter;
    case 'bit': return bitWriter(Number(/\((\d+)\)/.exec(targetType)?.[1] ?? 0));
  }
}

/** The transformation as a value -> value step (copy-text.ts columnEncoder, without the text rendering). */
function transformStep(transformation: TransformationKind, kind: BinaryKind, targetType: string): ((v: unknown) => unknown) | null {
  const tz = kind === 'timestamptz';
  const width = Number(/^bit\s*\((\d+)\)/i.exec(targetType.trim())?.[1] ?? 0);
  const epoch = (ts: string | null, raw: bigint | number) => ts ?? String(raw);
  switch (transformation) {
    case 'none': case 'cast': case 'enum_to_text': case 'set_to_text': case 'geometry_to_wkt': case 'json_to_jsonb':
      return null;
    case 'bool_from_int':
      return (v) => (v === null || v === undefined ? null : isZeroish(v) ? false : v === 1 || v === 1n || v === '1' || v === true ? true : v);
    case 'bool_from_bit':
      return (v) => (v === null || v === undefined ? null : v instanceof Uint8Array ? v.some((b) => b !== 0) : !isZeroish(v));
    case 'bit_string':
      return (v) => (v instanceof Uint8Array ? bytesToBits(v, width) : v);
    case 'zero_date_to_null':
    case 'zero_date_to_neg_infinity': {
      const zero = transformation === 'zero_date_to_null' ? null : '-infinity';
      return (v) => (typeof v === 'string' && isZeroDate(v) ? zero : v);
    }
    case 'timestamp_as_utc':
      return (v) => (typeof v === 'string' && isZeroDate(v) ? null : v);
    case 'empty_string_to_null':
      return (v) => (v === '' ? null : v);
    case 'strip_nul_bytes':
      return (v) => (typeof v === 'string' && v.includes('\u0000') ? v.replaceAll('\u0000', '') : v);
    case 'timestamp_from_text':
      return (v) => {
        if (typeof v === 'string') return tz ? v : sqliteTextToTimestamp(v);
        if (typeof v === 'bigint') return epoch(epochSecondsToTimestamp(v), v);
        if (typeof v === 'number') return epoch(julianDayToTimestamp(v), v);
        return v;
      };
    case 'timestamp_from_unixepoch':
      return (v) => (typeof v === 'bigint' || typeof v === 'number' ? epoch(epochSecondsToTimestamp(v), v) : v);
    case 'timestamp_from_julianday':
      return (v) => (typeof v === 'number' ? epoch(julianDayToTimestamp(v), v) : typeof v === 'bigint' ? epoch(julianDayToTimestamp(Number(v)), v) : v);
    case 'set_to_array':
      return (v) => (typeof v === 'string' ? (v === '' ? [] : v.split(',')) : v);
    case 'text_from_any':
      return (v) => (v === null || v === undefined ? null : anyToText(v));
  }
}

/**
 * The binary field writer of one column, or null when its target type (or the pair of type and
 * transformation) has no binary form here, in which case the unit must be encoded as text.
 */
export function binaryColumnWriter(col: Pick<UnitColumn, 'target_type' | 'transformation'>): BinaryFieldWriter | null {
  const kind = binaryKind(col.target_type);
  if (kind === null || !TRANSFORMS.has(col.transformation)) return null;
  // Array literals other than set_to_array's split would need PostgreSQL's array parser.
  if ((kind === 'text[]') !== (col.transformation === 'set_to_array')) return null;
  const put = kindWriter(kind, col.target_type);
  const step = transformStep(col.transformation as TransformationKind, kind, col.target_type);
  return step ? (w, v) => put(w, step(v)) : put;
}

/**
 * The tuple writer of a unit's columns, or null when any column needs text (decided once per unit, before reading).
 * @example const write = binaryRowWriter(unit.columns); if (write) { const b = new BinaryFrameBuilder(); write(b, row); b.flush() }
 */
export function binaryRowWriter(columns: readonly Pick<UnitColumn, 'target_type' | 'transformation'>[]): BinaryRowWriter | null {
  const puts: BinaryFieldWriter[] = [];
  for (const c of columns) {
    const p = binaryColumnWriter(c);
    if (!p) return null;
    puts.push(p);
  }
  const n = puts.length;
  return (w, row) => {
    w.beginRow(n);
    for (let i = 0; i < n; i++) puts[i]!(w, row[i]);
    return w.endRow();
  };
}
