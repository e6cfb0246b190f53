/**
 * Column defaults into PostgreSQL expressions. Only forms whose meaning is certain are converted
 * (literals and the current date/time functions); anything else is dropped with a risk, because
 * a wrong default silently corrupts future rows while a missing one fails loudly.
 */
import type { Dialect } from '../../../../common/src/catalog.ts';

export type DefaultResult = { sql: string | null; dropped: boolean };

const NOW_FORMS = /^(current_timestamp|now|localtimestamp|sysdate|systimestamp|getdate)(\s*\(\s*\d*\s*\))?$/i;

function quoteLiteral(s: string): string {
  return "'" + s.replace(/'/g, "''") + "'";
}

function unwrapParens(s: string): string {
  let t = s.trim();
  while (t.startsWith('(') && t.endsWith(')')) t = t.slice(1, -1).trim();
  return t;
}

/** Parse a single-quoted SQL literal ('it''s' or MySQL's 'it\'s'); null when not exactly one literal. */
function parseQuoted(s: string): string | null {
  const m = /^(?:_[a-z0-9]+)?'((?:[^'\\]|''|\\.)*)'$/is.exec(s);
  if (!m || m[1] === undefined) return null;
  return m[1].replace(/''/g, "'").replace(/\\(.)/g, '$1');
}

function isZeroDate(v: string): boolean {
  return /^0000-00-00/.test(v);
}

/**
 * @param targetType the mapped PostgreSQL type, so 0/1 become false/true for a boolean column.
 */
export function translateDefault(dialect: Dialect, raw: string | null, targetType: string, nativeType = targetType): DefaultResult {
  if (raw === null) return { sql: null, dropped: false };
  const text = raw.trim();
  if (text === '' || /^null$/i.test(text)) return { sql: null, dropped: false };
  // A generated column (connectors report "generated always as (...) stored|virtual" as its
  // default) is copied as a plain column holding the source's computed values: a DEFAULT of
  // that text is a syntax error, and a generated target column would refuse COPY.
  if (/^generated\s+always\s+as\b/i.test(text)) return { sql: null, dropped: true };
  if (dialect === 'postgresql') {
    // Same dialect: sequence defaults are handled as identity; everything else is kept.
    if (/nextval\(/i.test(text)) return { sql: null, dropped: true };
    if (targetType === nativeType) return { sql: text, dropped: false };
    // The type changed (an enum became text): keep a literal, drop its cast to the old type.
    const lit = /^('(?:[^']|'')*')(::[\w ."[\]]+)?$/.exec(text);
    return lit && lit[1] ? { sql: lit[1], dropped: false } : { sql: null, dropped: true };
  }
  const inner = unwrapParens(text);
  const isBool = targetType === 'boolean';
  if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(inner)) {
    if (isBool) return inner === '0' || inner === '1' ? { sql: inner === '1' ? 'true' : 'false', dropped: false } : { sql: null, dropped: true };
    if (/^(text|varchar|char|character)/.test(targetType)) return { sql: quoteLiteral(inner), dropped: false };
    return { sql: inner, dropped: false };
  }
  if (/^b'[01]'$/i.test(inner) && isBool) return { sql: inner[2] === '1' ? 'true' : 'false', dropped: false };
  if (/^(true|false)$/i.test(inner)) return { sql: inner.toLowerCase(), dropped: false };
  if (NOW_FORMS.test(inner) || /^datetime\s*\(\s*'now'\s*\)$/i.test(inner)) {
    if (targetType === 'date') return { sql: 'CURRENT_DATE', dropped: false };
    if (/^time(\(| |$)/.test(targetType)) return { sql: 'LOCALTIME', dropped: false };
    return { sql: /with time zone/.test(targetType) ? 'CURRENT_TIMESTAMP' : 'LOCALTIMESTAMP', dropped: false };
  }
  if (/^(current_date|curdate\(\)|date\s*\(\s*'now'\s*\))$/i.test(inner)) return { sql: 'CURRENT_DATE', dropped: false };
  const quoted = parseQuoted(inner);
  if (quoted !== null) {
    if (isZeroDate(quoted)) return { sql: null, dropped: true };
    if (isBool) return quoted === '0' || quoted === '1' ? { sql: quoted === '1' ? 'true' : 'false', dropped: false } : { sql: null, dropped: true };
    if (targetType === 'bytea') return { sql: null, dropped: true };
    return { sql: quoteLiteral(quoted), dropped: false };
  }
  // MySQL 8 reports string defaults without quotes; only a text-typed column can take them as literals.
  if (dialect === 'mysql' && /^(text|varchar|char|character)/.test(targetType) && !/[()]/.test(inner)) {
    return { sql: quoteLiteral(inner), dropped: false };
  }
  return { sql: null, dropped: true };
}
