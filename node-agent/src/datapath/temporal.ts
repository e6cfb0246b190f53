/**
 * Date/time conversions the data path applies to SQLite values (numbers and ISO-8601 text),
 * producing text PostgreSQL parses exactly. JS Date is used only for calendar arithmetic on
 * whole milliseconds; fractions finer than that are carried as digits, never through floats.
 */

const pad2 = (n: number): string => (n < 10 ? '0' + n : String(n));

/**
 * UTC calendar fields of an epoch in whole ms plus a digit fraction -> "YYYY-MM-DD HH:MM:SS[.f]"
 * (years <= 0 written as BC, PostgreSQL's form). Null when outside what a JS Date holds.
 */
function formatUtc(ms: number, fraction: string): string | null {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  if (Number.isNaN(year)) return null;
  const bc = year <= 0;
  const y = String(bc ? 1 - year : year).padStart(4, '0');
  const f = fraction.replace(/0+$/, '');
  return `${y}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}` +
    (f ? '.' + f : '') + (bc ? ' BC' : '');
}

/**
 * Unix epoch seconds (integer or real) -> timestamp text in UTC, microseconds kept.
 * @example epochSecondsToTimestamp(-1n) // '1969-12-31 23:59:59'
 */
export function epochSecondsToTimestamp(v: bigint | number): string | null {
  if (typeof v === 'bigint') {
    // Seconds beyond what a JS Date holds (±8.64e12 s) are beyond PostgreSQL's range too.
    if (v > 8_640_000_000_000n || v < -8_640_000_000_000n) return null;
    return formatUtc(Number(v) * 1000, '');
  }
  if (!Number.isFinite(v)) return null;
  const sec = Math.floor(v);
  let micros = Math.round((v - sec) * 1e6);
  let whole = sec;
  if (micros >= 1e6) { whole += 1; micros -= 1e6; }
  return formatUtc(whole * 1000, String(micros).padStart(6, '0'));
}

/**
 * Julian day number (SQLite julianday()) -> timestamp text in UTC, to the millisecond as SQLite computes it.
 * @example julianDayToTimestamp(2440587.5) // '1970-01-01 00:00:00'
 */
export function julianDayToTimestamp(jd: number): string | null {
  if (!Number.isFinite(jd)) return null;
  const ms = Math.round((jd - 2440587.5) * 86_400_000);
  const whole = Math.floor(ms / 1000) * 1000;
  return formatUtc(whole, String(ms - whole).padStart(3, '0'));
}

const ISO_WITH_ZONE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)$/;

/**
 * SQLite date/time text -> text for a `timestamp without time zone` column. Text without a zone
 * passes unchanged (PostgreSQL parses every form SQLite's date functions write); text with "Z"
 * or an offset is converted to UTC wall-clock time, since PostgreSQL would silently drop the zone.
 * @example sqliteTextToTimestamp('2020-01-01T10:00:00+02:00') // '2020-01-01 08:00:00'
 */
export function sqliteTextToTimestamp(s: string): string {
  const last = s.charCodeAt(s.length - 1);
  // Fast path (every row of a typical table): no 'Z' suffix and no '+'/'-' after the date part.
  if (last !== 90 && last !== 122 && (s.length <= 19 || (s.indexOf('+', 10) < 0 && s.indexOf('-', 10) < 0))) return s;
  const m = ISO_WITH_ZONE.exec(s.trim());
  if (!m) return s;
  const [, y, mo, d, hh = '00', mi = '00', ss = '00', frac = '', zone = 'Z'] = m;
  let offsetMin = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const digits = zone.slice(1).replace(':', '');
    offsetMin = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0')) * (zone[0] === '-' ? -1 : 1);
  }
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(hh), Number(mi), Number(ss)) - offsetMin * 60_000;
  // Date.UTC maps years 0..99 to 1900..1999; setUTCFullYear undoes that.
  const dt = new Date(utc);
  if (Number(y) < 100) dt.setUTCFullYear(dt.getUTCFullYear() - 1900);
  return formatUtc(dt.getTime(), frac) ?? s;
}

/**
 * MySQL zero dates ('0000-00-00', '2020-00-15', '0000-00-00 00:00:00'): any zero year, month or day part.
 */
export function isZeroDate(s: string): boolean {
  if (s.length < 10 || s.charCodeAt(4) !== 45) return false;
  return s.startsWith('0000') || (s[5] === '0' && s[6] === '0') || (s[8] === '0' && s[9] === '0');
}
