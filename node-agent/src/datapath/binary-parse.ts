/**
 * Text -> PostgreSQL binary values, accepting the text forms PostgreSQL 15's input functions
 * accept for the values sources actually produce (ISO dates and times, plain and exponent
 * decimals, the special float/numeric words). A form outside these returns null: the caller
 * writes a field the server rejects, so the row is reported (salvage) instead of loaded wrong.
 * Stricter than PostgreSQL is allowed here; laxer never is.
 */
import type { BinaryFrameBuilder } from './binary-frame.ts';

const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);

function trimBounds(s: string): [number, number] {
  let a = 0;
  let b = s.length;
  while (a < b && isSpace(s.charCodeAt(a))) a++;
  while (b > a && isSpace(s.charCodeAt(b - 1))) b--;
  return [a, b];
}

/** int2/int4 text (optional sign, decimal digits, surrounding blanks) within [min, max]; null if invalid. */
export function parseSmallInt(s: string, min: number, max: number): number | null {
  const [a, b] = trimBounds(s);
  let i = a;
  let neg = false;
  if (i < b && (s.charCodeAt(i) === 45 || s.charCodeAt(i) === 43)) { neg = s.charCodeAt(i) === 45; i++; }
  if (i >= b || b - i > 12) return null;
  let v = 0;
  for (; i < b; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
  }
  if (neg) v = -v;
  return v < min || v > max ? null : v;
}

const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;
const INT8_TEXT = /^[ \t\n\r\v\f]*[+-]?\d+[ \t\n\r\v\f]*$/;

/** int8 text; null if invalid or out of range. */
export function parseBigInt(s: string): bigint | null {
  if (!INT8_TEXT.test(s)) return null;
  const v = BigInt(s.trim());
  return v < INT8_MIN || v > INT8_MAX ? null : v;
}

const FLOAT_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const FLOAT_WORDS: Record<string, number> = {
  nan: NaN, '+nan': NaN, '-nan': NaN, infinity: Infinity, '+infinity': Infinity, '-infinity': -Infinity, inf: Infinity, '+inf': Infinity, '-inf': -Infinity,
};

/** float4/float8 text; null if invalid or out of the double range. */
export function parseFloatText(s: string): number | null {
  const t = s.trim();
  if (!FLOAT_TEXT.test(t)) {
    const w = FLOAT_WORDS[t.toLowerCase()];
    return w === undefined ? null : w;
  }
  const v = Number(t);
  if (!Number.isFinite(v)) return null;
  // Underflow to zero of a non-zero literal is an error in PostgreSQL.
  if (v === 0 && /[1-9]/.test(t.replace(/[eE].*$/, ''))) return null;
  return v;
}

/** PostgreSQL boolin: t/true/y/yes/on/1 and f/false/n/no/off/0 (prefixes, any case, blanks around). */
export function parseBool(s: string): boolean | null {
  const t = s.trim().toLowerCase();
  if (t.length === 0) return null;
  switch (t[0]) {
    case 't': return 'true'.startsWith(t) ? true : null;
    case 'f': return 'false'.startsWith(t) ? false : null;
    case 'y': return 'yes'.startsWith(t) ? true : null;
    case 'n': return 'no'.startsWith(t) ? false : null;
    case 'o':
      if (t.length >= 2 && 'on'.startsWith(t)) return true;
      if (t.length >= 2 && 'off'.startsWith(t)) return false;
      return null;
    case '1': return t === '1' ? true : null;
    case '0': return t === '0' ? false : null;
    default: return null;
  }
}

const NUMERIC_POS = 0x0000;
const NUMERIC_NEG = 0x4000;
const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const NUMERIC_NINF = 0xf000;
const POW10 = [1, 10, 100, 1000];
let groups = new Uint16Array(64);

function numericSpecial(t: string): number | null {
  switch (t.toLowerCase()) {
    case 'nan': return NUMERIC_NAN;
    case 'infinity': case '+infinity': case 'inf': case '+inf': return NUMERIC_PINF;
    case '-infinity': case '-inf': return NUMERIC_NINF;
    default: return null;
  }
}

/**
 * Write a numeric field (ndigits, weight, sign, dscale, base-10000 digits) for decimal text
 * such as "-12.50", "1e-3" or "NaN", exactly: no digit goes through a float. Returns false
 * (nothing written) when the text is not a numeric PostgreSQL accepts.
 * @example putNumericText(w, '-0.5') // ndigits 1, weight -1, sign NEG, dscale 1, digits [5000]
 */
export function putNumericText(w: BinaryFrameBuilder, s: string): boolean {
  const [a, b] = trimBounds(s);
  let i = a;
  let neg = false;
  const c0 = s.charCodeAt(i);
  if (c0 === 45 || c0 === 43) { neg = c0 === 45; i++; }
  const digitsStart = i;
  let intLen = 0;
  let fracLen = 0;
  let point = -1;
  for (; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) { if (point < 0) intLen++; else fracLen++; continue; }
    if (c === 46 && point < 0) { point = i; continue; }
    break;
  }
  const digitsEnd = i;
  if (intLen + fracLen === 0) {
    const sp = numericSpecial(s.slice(a, b));
    if (sp === null) return false;
    writeNumeric(w, 0, 0, sp, 0);
    return true;
  }
  let exp = 0;
  if (i < b) {
    const c = s.charCodeAt(i);
    if (c !== 101 && c !== 69) return false;
    i++;
    let eneg = false;
    if (i < b && (s.charCodeAt(i) === 45 || s.charCodeAt(i) === 43)) { eneg = s.charCodeAt(i) === 45; i++; }
    if (i >= b) return false;
    for (; i < b; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return false;
      exp = exp * 10 + d;
      if (exp > 1_000_000) return false; // far beyond what the weight and dscale checks below let through
    }
    if (eneg) exp = -exp;
  }
  const dscale = Math.max(0, fracLen - exp);
  if (dscale > 0x3fff) return false;
  // Exponent (power of ten) of the first and last non-zero digit.
  let first = 1 << 30;
  let last = 1 << 30;
  let k = 0;
  for (let j = digitsStart; j < digitsEnd; j++) {
    const c = s.charCodeAt(j);
    if (c === 46) continue;
    if (c !== 48) {
      const x = intLen - 1 - k + exp;
      if (first === 1 << 30) first = x;
      last = x;
    }
    k++;
  }
  if (first === 1 << 30) {
    writeNumeric(w, 0, 0, NUMERIC_POS, dscale);
    return true;
  }
  const weight = first >> 2;
  const ndigits = weight - (last >> 2) + 1;
  if (weight > 32767 || weight < -32768 || ndigits > 0xffff) return false;
  if (groups.length < ndigits) groups = new Uint16Array(ndigits * 2);
  groups.fill(0, 0, ndigits);
  k = 0;
  for (let j = digitsStart; j < digitsEnd; j++) {
    const c = s.charCodeAt(j);
    if (c === 46) continue;
    if (c !== 48) {
      const x = intLen - 1 - k + exp;
      groups[weight - (x >> 2)]! += (c - 48) * POW10[x & 3]!;
    }
    k++;
  }
  writeNumeric(w, ndigits, weight, neg ? NUMERIC_NEG : NUMERIC_POS, dscale);
  for (let g = 0; g < ndigits; g++) w.u16(groups[g]!);
  return true;
}

function writeNumeric(w: BinaryFrameBuilder, ndigits: number, weight: number, sign: number, dscale: number): void {
  w.ensure(12 + ndigits * 2);
  w.i32raw(8 + ndigits * 2);
  w.u16(ndigits);
  w.u16(weight & 0xffff);
  w.u16(sign);
  w.u16(dscale);
}

// ---- dates and times ----

/** Days from 1970-01-01 of a proleptic Gregorian date (astronomical year: 1 BC = 0). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const PG_EPOCH_DAYS = 10957; // 2000-01-01 - 1970-01-01
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number): boolean => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
export const USEC_PER_DAY = 86_400_000_000;

/** Parsed date/time text: days since 2000-01-01, microseconds of the day, zone offset in seconds east (null = none). */
export interface DateTimeParts {
  days: number;
  usec: number;
  zone: number | null;
  hasDate: boolean;
  hasTime: boolean;
  /** 1 = infinity, -1 = -infinity, 0 = a finite value. */
  infinite: 0 | 1 | -1;
}

// YYYY-MM-DD, then optional [T ]HH:MM[:SS[.f]], then optional zone, then optional BC/AD.
const DATE_TIME = /^(\d{4,6})-(\d{1,2})-(\d{1,2})(?:(?:[Tt]| +)(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d*))?)?)? *(?:([Zz]|[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?))? *(BC|bc|AD|ad)?$/;
const TIME_ONLY = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d*))?)? *(?:([Zz]|[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?))?$/;

/** Fractional seconds as PostgreSQL rounds them: rint(strtod(".ffff") * 1e6). */
function fracUsec(f: string | undefined): number {
  if (!f) return 0;
  if (f.length <= 6) return Number(f.padEnd(6, '0'));
  const x = Number('0.' + f) * 1e6;
  let r = Math.round(x);
  if (r - x === 0.5 && r % 2 === 1) r -= 1; // rint: ties to even
  return r;
}

function zoneSeconds(z: string | undefined): number | null | false {
  if (!z) return null;
  if (z === 'Z' || z === 'z') return 0;
  const sign = z[0] === '-' ? -1 : 1;
  const digits = z.slice(1).replaceAll(':', '');
  let h: number;
  let m = 0;
  let sec = 0;
  if (digits.length <= 2) h = Number(digits);
  else if (digits.length === 4 || digits.length === 6) {
    h = Number(digits.slice(0, 2));
    m = Number(digits.slice(2, 4));
    sec = digits.length === 6 ? Number(digits.slice(4, 6)) : 0;
  } else if (digits.length === 3 || digits.length === 5) {
    h = Number(digits.slice(0, 1));
    m = Number(digits.slice(1, 3));
    sec = digits.length === 5 ? Number(digits.slice(3, 5)) : 0;
  } else return false;
  if (h > 15 || m > 59 || sec > 59) return false;
  return sign * (h * 3600 + m * 60 + sec);
}

function timeUsec(hh: string, mi: string, ss: string | undefined, f: string | undefined): number | null {
  const h = Number(hh);
  const m = Number(mi);
  const sec = ss === undefined ? 0 : Number(ss);
  const us = fracUsec(f);
  if (m > 59 || sec > 59) return null;
  if (h > 24 || (h === 24 && (m > 0 || sec > 0 || us > 0))) return null;
  return ((h * 60 + m) * 60 + sec) * 1e6 + us;
}

/**
 * ISO date/time text ("2020-01-01", "1969-07-20 20:17:40.5", "2100-01-01T10:00:00+02:00",
 * "0044-03-15 12:00:00 BC", "infinity"); null when the form is not one of these or a part is out of range.
 */
export function parseDateTime(s: string): DateTimeParts | null {
  const t = s.trim();
  const c = t.charCodeAt(0);
  if (c === 105 || c === 73 || c === 45 || c === 43) {
    const l = t.toLowerCase();
    if (l === 'infinity' || l === '+infinity') return { days: 0, usec: 0, zone: null, hasDate: true, hasTime: true, infinite: 1 };
    if (l === '-infinity') return { days: 0, usec: 0, zone: null, hasDate: true, hasTime: true, infinite: -1 };
  }
  const fast = fastIso(t);
  if (fast !== undefined) return fast;
  const m = DATE_TIME.exec(t);
  if (!m) return null;
  let y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const bc = m[9] === 'BC' || m[9] === 'bc';
  if (y === 0) return null;
  if (bc) y = 1 - y;
  if (mo < 1 || mo > 12 || d < 1) return null;
  if (d > (mo === 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[mo - 1]!)) return null;
  if (y < -4712 || y > 294276) return null;
  let usec = 0;
  if (m[4] !== undefined) {
    const u = timeUsec(m[4], m[5]!, m[6], m[7]);
    if (u === null) return null;
    usec = u;
  }
  const zone = zoneSeconds(m[8]);
  if (zone === false) return null;
  return { days: daysFromCivil(y, mo, d) - PG_EPOCH_DAYS, usec, zone, hasDate: true, hasTime: m[4] !== undefined, infinite: 0 };
}

const dig = (s: string, i: number): number => s.charCodeAt(i) - 48;
const isDig = (s: string, i: number): boolean => { const c = s.charCodeAt(i); return c >= 48 && c <= 57; };

/**
 * The forms every driver writes ("YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS[.ffffff]") without the regex;
 * undefined when the text has another shape (the general parser decides), null when out of range.
 */
function fastIso(t: string): DateTimeParts | null | undefined {
  const n = t.length;
  if (n !== 10 && n < 19) return undefined;
  if (!(isDig(t, 0) && isDig(t, 1) && isDig(t, 2) && isDig(t, 3) && t.charCodeAt(4) === 45 && isDig(t, 5) && isDig(t, 6) &&
    t.charCodeAt(7) === 45 && isDig(t, 8) && isDig(t, 9))) return undefined;
  let usec = 0;
  let hasTime = false;
  if (n >= 19) {
    const sep = t.charCodeAt(10);
    if ((sep !== 32 && sep !== 84) || t.charCodeAt(13) !== 58 || t.charCodeAt(16) !== 58) return undefined;
    if (!(isDig(t, 11) && isDig(t, 12) && isDig(t, 14) && isDig(t, 15) && isDig(t, 17) && isDig(t, 18))) return undefined;
    let us = 0;
    if (n > 19) {
      if (t.charCodeAt(19) !== 46) return undefined;
      for (let i = 20; i < n; i++) if (!isDig(t, i)) return undefined;
      us = fracUsec(t.slice(20));
    }
    const h = dig(t, 11) * 10 + dig(t, 12);
    const mi = dig(t, 14) * 10 + dig(t, 15);
    const sec = dig(t, 17) * 10 + dig(t, 18);
    if (mi > 59 || sec > 59 || h > 24 || (h === 24 && (mi > 0 || sec > 0 || us > 0))) return null;
    usec = ((h * 60 + mi) * 60 + sec) * 1e6 + us;
    hasTime = true;
  }
  const y = dig(t, 0) * 1000 + dig(t, 1) * 100 + dig(t, 2) * 10 + dig(t, 3);
  const mo = dig(t, 5) * 10 + dig(t, 6);
  const d = dig(t, 8) * 10 + dig(t, 9);
  if (y === 0 || mo < 1 || mo > 12 || d < 1 || d > (mo === 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[mo - 1]!)) return null;
  return { days: daysFromCivil(y, mo, d) - PG_EPOCH_DAYS, usec, zone: null, hasDate: true, hasTime, infinite: 0 };
}

/** "HH:MM[:SS[.f]]" with an optional zone, or a full date/time whose time part is taken; null if invalid. */
export function parseTimeOfDay(s: string): { usec: number; zone: number | null } | null {
  const t = s.trim();
  const m = TIME_ONLY.exec(t);
  if (m) {
    const u = timeUsec(m[1]!, m[2]!, m[3], m[4]);
    const zone = zoneSeconds(m[5]);
    return u === null || zone === false ? null : { usec: u, zone };
  }
  const dt = parseDateTime(t);
  return dt && dt.infinite === 0 && dt.hasTime ? { usec: dt.usec, zone: dt.zone } : null;
}

const INTERVAL_HMS = /^(-|\+)?(\d+):(\d{2})(?::(\d{2})(?:\.(\d*))?)?$/;

/** "[-]H+:MM[:SS[.f]]" (MySQL TIME beyond a day or negative) -> microseconds; null for other interval forms. */
export function parseIntervalHms(s: string): number | null {
  const m = INTERVAL_HMS.exec(s.trim());
  if (!m) return null;
  const mi = Number(m[3]);
  const sec = m[4] === undefined ? 0 : Number(m[4]);
  if (mi > 59 || sec > 59) return null;
  const us = ((Number(m[2]) * 60 + mi) * 60 + sec) * 1e6 + fracUsec(m[5]);
  if (!Number.isSafeInteger(us)) return null;
  return m[1] === '-' ? -us : us;
}

/** Lowest and one past the highest timestamp PostgreSQL stores (microseconds since 2000-01-01). */
const MIN_TIMESTAMP = -211813488000000000n;
const END_TIMESTAMP = 9223371331200000000n;

/** Write days * 1 day + usec as an int64 field (exact beyond 2^53 µs); false when outside PostgreSQL's timestamp range. */
export function putTimestampUsec(w: BinaryFrameBuilder, days: number, usec: number): boolean {
  const approx = days * USEC_PER_DAY + usec;
  if (Math.abs(approx) < 9e15) {
    w.int64n(approx);
    return true;
  }
  const v = BigInt(days) * BigInt(USEC_PER_DAY) + BigInt(usec);
  if (v < MIN_TIMESTAMP || v >= END_TIMESTAMP) return false;
  w.int64(v);
  return true;
}
