/**
 * Exact decimal-string helpers. Profiling reports numbers as strings so that NUMBER(38) and
 * bigint unsigned values survive JSON; these helpers normalise what drivers hand back.
 */

/** Expand scientific notation and drop redundant zeros/signs: ".5" -> "0.5", "1E+3" -> "1000", "-0" -> "0". */
export function normalizeDecimal(input: string | number | bigint): string {
  let s = typeof input === 'string' ? input.trim() : input.toString();
  if (/^[+-]?(inf|infinity|nan)$/i.test(s)) return s.toLowerCase().replace(/^\+/, '');
  let sign = '';
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s[0] === '-' ? '-' : '';
    s = s.slice(1);
  }
  let exp = 0;
  const e = /e/i.exec(s);
  if (e) {
    exp = Number(s.slice(e.index + 1));
    s = s.slice(0, e.index);
  }
  const [intRaw = '', fracRaw = ''] = s.split('.');
  let digits = intRaw + fracRaw;
  let point = intRaw.length + exp;
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits = digits + '0'.repeat(point - digits.length);
  const intPart = digits.slice(0, point).replace(/^0+/, '') || '0';
  const fracPart = digits.slice(point).replace(/0+$/, '');
  const out = fracPart ? `${intPart}.${fracPart}` : intPart;
  return out === '0' ? '0' : sign + out;
}

/** Digits after the point once trailing zeros are dropped: "1.250" -> 2. */
export function decimalScale(s: string): number {
  const n = normalizeDecimal(s);
  const dot = n.indexOf('.');
  return dot < 0 ? 0 : n.length - dot - 1;
}

export function isIntegral(s: string): boolean {
  return decimalScale(s) === 0;
}

/** Number of a count/sum that drivers may return as string, bigint or number. */
export function toCount(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'bigint') return Number(v);
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

const DECIMAL_LITERAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$|^[+-]?(inf|infinity|nan)$/i;

export function toDecimalOrNull(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'bigint') return normalizeDecimal(v);
  // Only decimal literals are normalised: a TIME min/max such as '-12:30:00.500' is kept as is.
  if (typeof v === 'string') return DECIMAL_LITERAL.test(v.trim()) ? normalizeDecimal(v) : v.trim();
  return String(v);
}
