/**
 * Canonical text of a value for comparison across dialects. Both sides render every value
 * through the same function with the same ColumnNorm, so equality of renderings is equality of
 * values after the mapping (exact decimals, timestamps at the mapped precision, booleans from
 * 0/1). Input is whatever a driver hands back: PostgreSQL COPY text, MySQL strings/numbers/
 * Buffers, SQLite numbers/bigints/strings/Buffers.
 */
import { normalizeDecimal } from '../connectors/decimal.ts';
import type { ColumnNorm } from './contract.ts';

export type Raw = string | number | bigint | boolean | Buffer | Uint8Array | Date | null | undefined;

const TS = /^(-?\d{1,6})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?(?::?\d{2})?)?(\s*BC)?$/i;
const CANON_INT = /^(-?[1-9]\d{0,30}|0)$/;
const CANON_DEC = /^-?(0|[1-9]\d{0,60})(\.\d{1,60})?$/;
const CANON_TS = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?$/;
const TIME = /^(\d{1,3}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?$/;

function asText(v: Raw): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes in a text column (a SQLite blob under text_from_any) as the data path writes them:
 * UTF-8 text, or \\x hex when they are not UTF-8 or hold a NUL (PostgreSQL text cannot).
 */
function bytesAsText(v: Uint8Array): string {
  try {
    const s = utf8Strict.decode(v);
    if (!s.includes('\0')) return s;
  } catch {
    // not UTF-8: hex below
  }
  return '\\x' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
}

/** MySQL BIT(n) bytes as the data path's bit_string writes them: the low `width` bits (all when 0). */
function bitsOf(v: Uint8Array, width: number): string {
  let s = '';
  for (const b of v) s += b.toString(2).padStart(8, '0');
  return width > 0 && s.length > width ? s.slice(s.length - width) : s;
}

/** Round a normalised decimal string to `scale` digits after the point, half away from zero (PostgreSQL numeric). */
export function roundDecimal(s: string, scale: number): string {
  const neg = s.startsWith('-');
  const abs = neg ? s.slice(1) : s;
  const [i = '0', f = ''] = abs.split('.');
  if (f.length <= scale) return s;
  const digits = BigInt(i + f.slice(0, scale)) + (Number(f[scale]) >= 5 ? 1n : 0n);
  let t = digits.toString().padStart(scale + 1, '0');
  t = scale > 0 ? `${t.slice(0, -scale)}.${t.slice(-scale)}` : t;
  const out = normalizeDecimal(t);
  return neg && out !== '0' ? '-' + out : out;
}

/** Microseconds since 1970-01-01 UTC of a date/time text, or null when it does not parse. */
export function parseMicros(text: string): bigint | null {
  const m = TS.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', tz, bc] = m;
  let year = Number(y);
  if (bc) year = 1 - year;
  const dt = new Date(0);
  dt.setUTCFullYear(year, Number(mo) - 1, Number(d));
  dt.setUTCHours(Number(h), Number(mi), Number(s), 0);
  let micros = BigInt(dt.getTime()) * 1000n + BigInt((frac + '000000').slice(0, 6));
  // Digits beyond microseconds round like PostgreSQL's input does.
  if (frac.length > 6 && Number(frac[6]) >= 5) micros += 1n;
  if (tz && tz.toUpperCase() !== 'Z') {
    const sign = tz.startsWith('-') ? -1n : 1n;
    const p = tz.slice(1).replace(/:/g, '');
    const secs = BigInt(Number(p.slice(0, 2)) * 3600 + Number(p.slice(2, 4) || '0') * 60 + Number(p.slice(4, 6) || '0'));
    micros -= sign * secs * 1_000_000n;
  }
  return micros;
}

function roundMicros(micros: bigint, precision: number | null | undefined): bigint {
  const p = precision ?? 6;
  if (p >= 6) return micros;
  const unit = 10n ** BigInt(6 - p);
  const half = unit / 2n;
  // Floor division that works for negative epochs too.
  const q = (micros + half) / unit - ((micros + half) % unit < 0n ? 1n : 0n);
  return q * unit;
}

/** 'YYYY-MM-DD HH:MM:SS[.ffffff]' of microseconds since the epoch (fraction without trailing zeros). */
export function renderMicros(micros: bigint): string {
  let ms = micros / 1000n;
  let us = micros % 1000n;
  if (us < 0n) {
    us += 1000n;
    ms -= 1n;
  }
  const d = new Date(Number(ms));
  const y = d.getUTCFullYear();
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const frac = (pad(d.getUTCMilliseconds(), 3) + pad(Number(us), 3)).replace(/0+$/, '');
  const year = y < 0 ? '-' + pad(-y, 4) : pad(y, 4);
  return `${year}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${frac ? '.' + frac : ''}`;
}

function timestampText(v: Raw, norm: ColumnNorm): string {
  if (typeof v === 'number' || typeof v === 'bigint') {
    const n = Number(v);
    if (norm.epoch === 'julianday') return renderMicros(roundMicros(BigInt(Math.round((n - 2440587.5) * 86_400_000_000)), norm.precision));
    return renderMicros(roundMicros(BigInt(Math.round(n * 1_000_000)), norm.precision));
  }
  const t = asText(v).trim();
  if (/^-?infinity$/i.test(t)) return t.toLowerCase();
  const micros = parseMicros(t);
  return micros === null ? t : renderMicros(roundMicros(micros, norm.precision));
}

function isZeroDate(t: string): boolean {
  return /^0000-00-00/.test(t) || /^\d{4}-00-|^\d{4}-\d{2}-00/.test(t);
}

/**
 * The canonical rendering of one value, or null for SQL NULL (after the mapping's
 * transformations: '' -> NULL, zero dates, NUL bytes).
 */
export function canonical(v: Raw, norm: ColumnNorm): string | null {
  if (v === null || v === undefined) return null;
  if (norm.empty_to_null && (v === '' || (Buffer.isBuffer(v) && v.length === 0))) return null;
  // Fast paths for text already in canonical form (PostgreSQL's output, mostly): the slow
  // general path below gives the same answer for these.
  if (typeof v === 'string') {
    switch (norm.kind) {
      case 'text':
        if (!norm.strip_nul) return v;
        break;
      case 'int':
        if (CANON_INT.test(v)) return v;
        break;
      case 'decimal':
        if (CANON_DEC.test(v)) {
          const dot = v.indexOf('.');
          if (dot < 0) return v;
          if (norm.precision == null || v.length - dot - 1 <= norm.precision) {
            const t = v.replace(/\.?0+$/, '');
            return t === '-0' ? '0' : t;
          }
        }
        break;
      case 'bool':
        if (v === 't' || v === 'f') return v;
        break;
      case 'timestamp':
        if (!norm.zero_date && CANON_TS.test(v) && (v.length === 19 || v.length - 20 <= (norm.precision ?? 6))) return v.length === 19 ? v : v.replace(/\.?0+$/, '');
        break;
    }
  }
  switch (norm.kind) {
    case 'int':
    case 'decimal': {
      if (typeof v === 'boolean') return v ? '1' : '0';
      const t = asText(v);
      let d: string;
      try {
        d = normalizeDecimal(t);
      } catch {
        return t;
      }
      if (!/^-?\d+(\.\d+)?$/.test(d)) return d;
      return norm.kind === 'int' ? roundDecimal(d, 0) : norm.precision != null ? roundDecimal(d, norm.precision) : d;
    }
    case 'float8':
    case 'float4': {
      const n = typeof v === 'boolean' ? Number(v) : Number(asText(v).trim());
      if (Number.isNaN(n)) return /^nan$/i.test(asText(v).trim()) ? 'NaN' : asText(v);
      return String(norm.kind === 'float4' ? Math.fround(n) : n);
    }
    case 'bool': {
      if (typeof v === 'boolean') return v ? 't' : 'f';
      if (Buffer.isBuffer(v)) return v.some((b) => b !== 0) ? 't' : 'f';
      const t = asText(v).trim().toLowerCase();
      if (['t', 'true', '1', 'y', 'yes', 'on'].includes(t)) return 't';
      if (['f', 'false', '0', 'n', 'no', 'off'].includes(t)) return 'f';
      return t;
    }
    case 'bytes': {
      if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('hex');
      const t = asText(v);
      // PostgreSQL bytea text output (hex format).
      return t.startsWith('\\x') ? t.slice(2).toLowerCase() : Buffer.from(t, 'utf8').toString('hex');
    }
    case 'timestamp':
    case 'timestamptz': {
      const t = typeof v === 'string' ? v : null;
      if (t !== null && norm.zero_date && isZeroDate(t)) return norm.zero_date === 'null' ? null : '-infinity';
      return timestampText(v, norm);
    }
    case 'date': {
      const t = typeof v === 'number' || typeof v === 'bigint' ? timestampText(v, norm) : asText(v).trim();
      if (norm.zero_date && isZeroDate(t)) return norm.zero_date === 'null' ? null : '-infinity';
      if (/^-?infinity$/i.test(t)) return t.toLowerCase();
      const micros = parseMicros(t);
      return micros === null ? t : renderMicros(micros).slice(0, 10);
    }
    case 'time': {
      const t = asText(v).trim();
      const m = TIME.exec(t);
      if (!m) return t;
      const [, h = '0', mi = '0', s = '0', frac = ''] = m;
      const micros = BigInt((Number(h) * 3600 + Number(mi) * 60 + Number(s)) * 1_000_000) + BigInt((frac + '000000').slice(0, 6));
      const r = roundMicros(micros, norm.precision);
      const secs = Number(r / 1_000_000n);
      const us = String(Number(r % 1_000_000n)).padStart(6, '0').replace(/0+$/, '');
      const pad = (n: number) => String(n).padStart(2, '0');
      return `${pad(Math.floor(secs / 3600))}:${pad(Math.floor(secs / 60) % 60)}:${pad(secs % 60)}${us ? '.' + us : ''}`;
    }
    case 'json': {
      const t = asText(v);
      try {
        return canonicalJsonText(JSON.parse(t));
      } catch {
        return t;
      }
    }
    case 'uuid':
      return asText(v).trim().toLowerCase().replace(/[{}-]/g, '');
    case 'char': {
      const t = asText(v);
      return (norm.strip_nul ? t.replace(/\0/g, '') : t).replace(/ +$/, '');
    }
    case 'text':
    case 'other': {
      const bytes = Buffer.isBuffer(v) || v instanceof Uint8Array;
      if (bytes && norm.bits !== undefined) return bitsOf(v, norm.bits);
      let t = bytes ? bytesAsText(v) : asText(v);
      if (norm.interval && /^-?\d+:\d{2}:\d{2}\.\d+$/.test(t)) t = t.replace(/\.?0+$/, '');
      return norm.strip_nul ? t.replace(/\0/g, '') : t;
    }
  }
}

function canonicalJsonText(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return '[' + value.map(canonicalJsonText).join(',') + ']';
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return '{' + entries.map(([k, x]) => JSON.stringify(k) + ':' + canonicalJsonText(x)).join(',') + '}';
}
