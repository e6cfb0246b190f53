import { normalizeDecimal } from '../decimal.ts';

/**
 * Decoding of Oracle values into the text PostgreSQL's COPY accepts. Reads select numbers,
 * dates and timestamps through TO_CHAR (oracleSelectExpr) so no client time zone or float
 * conversion can touch them.
 */

/** Oracle NUMBER text (".5", "-.25", "1.0E+125", "12") -> exact plain decimal ("0.5", ...). */
export function decodeOracleNumber(v: string | number | null | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' && !Number.isSafeInteger(v) && Number.isInteger(v)) {
    // A JS number past 2^53 has already lost digits; callers must fetch NUMBER as string.
    throw new RangeError(`Oracle NUMBER ${v} was fetched as a JS number and is no longer exact`);
  }
  const s = String(v).trim();
  if (s === '~') return 'Infinity';
  if (s === '-~') return '-Infinity';
  return normalizeDecimal(s);
}

/**
 * "SYYYY-MM-DD HH24:MI:SS[.FF]" text (as oracleSelectExpr reads a DATE or TIMESTAMP) ->
 * PostgreSQL timestamp text. Oracle years before 1 are negative (-4712 = 4713 BC; there is no year 0).
 * @example oracleDateTextToTimestamp(' 2009-01-03 00:00:00') // '2009-01-03 00:00:00'
 * @example oracleDateTextToTimestamp('-0044-03-15 12:00:00') // '0044-03-15 12:00:00 BC'
 */
export function oracleDateTextToTimestamp(v: string | null | undefined): string | null {
  if (v === null || v === undefined) return null;
  const m = /^\s*([+-]?)(\d{1,4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?)?\s*(.*)$/.exec(v);
  if (!m) throw new RangeError(`Not an Oracle date text: ${v}`);
  const [, sign, y = '', mo, d, hh = '00', mi = '00', ss = '00', frac = '', tz = ''] = m;
  const fraction = frac.replace(/0+$/, '');
  const time = `${hh}:${mi}:${ss}${fraction === '.' ? '' : fraction}`;
  const zone = tz.trim() ? tz.trim() : '';
  if (sign === '-') {
    // Oracle year -44 is 44 BC: the same number PostgreSQL prints with BC
    return `${y.padStart(4, '0')}-${mo}-${d} ${time}${zone ? ' ' + zone : ''} BC`;
  }
  return `${y.padStart(4, '0')}-${mo}-${d} ${time}${zone ? zone.replace(/^(?=[+-])/, '') : ''}`;
}

/**
 * A JS Date as node-oracledb returns a DATE (built from the stored fields in the client's local
 * time zone) -> timestamp text without zone, reading the same local fields back.
 */
export function oracleDateObjectToTimestamp(d: Date | null | undefined): string | null {
  if (!d) return null;
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const year = d.getFullYear();
  const head = year <= 0 ? `${p(1 - year, 4)}` : p(year, 4);
  const ms = d.getMilliseconds();
  const base = `${head}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  return `${base}${ms ? '.' + p(ms, 3).replace(/0+$/, '') : ''}${year <= 0 ? ' BC' : ''}`;
}

/**
 * Oracle stores '' as NULL, so a NULL read from a character column may have been an empty
 * string in the application's eyes. `nullAsEmpty` is the mapping's choice for NOT NULL targets.
 */
export function decodeOracleString(v: string | null | undefined, opts: { nullAsEmpty?: boolean } = {}): string | null {
  if (v === null || v === undefined || v === '') return opts.nullAsEmpty ? '' : null;
  return v;
}

/** CHAR(n)/NCHAR(n) values come blank-padded; PostgreSQL char(n) pads on its own. */
export function trimCharPadding(v: string | null): string | null {
  return v === null ? null : v.replace(/ +$/, '');
}

export function oracleIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/**
 * The select-list expression that reads a column as exact text. Numbers via TO_CHAR with the
 * TM9 text-minimum format (no rounding); dates and timestamps with a signed year.
 */
export function oracleSelectExpr(column: string, baseType: string): string {
  const q = oracleIdent(column);
  const t = baseType.toLowerCase();
  if (t === 'number' || t === 'float') return `to_char(${q}, 'TM9')`;
  if (t === 'binary_float' || t === 'binary_double') return `to_char(${q})`;
  if (t === 'date') return `to_char(${q}, 'SYYYY-MM-DD HH24:MI:SS')`;
  if (t === 'timestamp with time zone') return `to_char(${q}, 'SYYYY-MM-DD HH24:MI:SS.FF9 TZH:TZM')`;
  if (t === 'timestamp with local time zone') return `to_char(sys_extract_utc(cast(${q} as timestamp with time zone)), 'SYYYY-MM-DD HH24:MI:SS.FF9') || ' +00:00'`;
  if (t.startsWith('timestamp')) return `to_char(${q}, 'SYYYY-MM-DD HH24:MI:SS.FF9')`;
  return q;
}
