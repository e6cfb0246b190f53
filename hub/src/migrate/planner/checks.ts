/**
 * CHECK constraints into PostgreSQL. Expressions are re-tokenised: column references (quoted in
 * any dialect's style, or bare) become the quoted target names; literals, numbers, operators and a
 * short list of keywords and functions pass; anything else means the check is not converted
 * (reported as a risk) rather than guessed.
 */
import { pgIdent } from '../../../../common/src/catalog.ts';
import type { Dialect } from '../../../../common/src/catalog.ts';

const KEYWORDS = new Set([
  'and', 'or', 'not', 'in', 'is', 'null', 'between', 'like', 'true', 'false', 'case', 'when', 'then', 'else', 'end',
  'length', 'char_length', 'upper', 'lower', 'trim', 'abs', 'coalesce', 'substr', 'round',
]);
const TOKEN = /\s+|'(?:[^'\\]|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|[A-Za-z_][A-Za-z0-9_$#]*|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|<>|!=|<=|>=|\|\||::|[=<>+\-*/%(),.]/y;

export type CheckResult = { expression: string } | { skip: 'redundant' } | { skip: 'unsupported'; reason: string };

/**
 * @param columns source column name -> target column name
 * @param notNull source columns declared NOT NULL (Oracle reports those as checks: redundant)
 */
export function translateCheck(dialect: Dialect, expression: string, columns: Map<string, string>, notNull: Set<string>): CheckResult {
  let text = expression.trim();
  const wrapped = /^check\s*\(([\s\S]*)\)(\s+not\s+valid)?$/i.exec(text);
  if (wrapped && wrapped[1] !== undefined) text = wrapped[1].trim();
  if (/^\(?\s*json_valid\s*\(/i.test(text)) return { skip: 'redundant' };
  const byLower = new Map<string, string>();
  for (const [s, t] of columns) byLower.set(s.toLowerCase(), t);
  const notNullMatch = /^\(?\s*("?)([A-Za-z_][\w$#]*)\1\s+is\s+not\s+null\s*\)?$/i.exec(text);
  if (notNullMatch && notNullMatch[2] && [...notNull].some((c) => c.toLowerCase() === notNullMatch[2]!.toLowerCase())) {
    return { skip: 'redundant' };
  }
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(text);
    if (!m) return { skip: 'unsupported', reason: `unexpected text at "${text.slice(pos, pos + 20)}"` };
    const tok = m[0];
    pos = TOKEN.lastIndex;
    if (/^\s+$/.test(tok)) { out.push(' '); continue; }
    if (tok.startsWith("'")) {
      if (tok.includes('\\')) return { skip: 'unsupported', reason: 'backslash escape in a string literal' };
      out.push(tok);
      continue;
    }
    if (tok.startsWith('"') || tok.startsWith('`') || tok.startsWith('[')) {
      const name = tok.slice(1, -1).replace(/""/g, '"').replace(/``/g, '`');
      const target = columns.get(name) ?? (dialect === 'postgresql' ? undefined : byLower.get(name.toLowerCase()));
      if (target === undefined) return { skip: 'unsupported', reason: `unknown identifier ${tok}` };
      out.push(pgIdent(target));
      continue;
    }
    if (/^[A-Za-z_]/.test(tok)) {
      // Bare names fold: to lower case in PostgreSQL, to upper case in Oracle, not at all in MySQL/SQLite.
      const target = columns.get(dialect === 'postgresql' ? tok.toLowerCase() : dialect === 'oracle' ? tok.toUpperCase() : tok)
        ?? byLower.get(tok.toLowerCase());
      if (target !== undefined) { out.push(pgIdent(target)); continue; }
      if (KEYWORDS.has(tok.toLowerCase())) { out.push(tok.toUpperCase()); continue; }
      if (dialect === 'postgresql') { out.push(tok); continue; }
      return { skip: 'unsupported', reason: `unknown word ${tok}` };
    }
    if (tok === '::' && dialect !== 'postgresql') return { skip: 'unsupported', reason: 'cast syntax' };
    out.push(tok);
  }
  const expr = out.join('').replace(/\s+/g, ' ').trim();
  return { expression: expr };
}
