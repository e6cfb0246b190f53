/**
 * Small readers of SQLite's stored CREATE statements for what no pragma reports: CHECK
 * constraints, constraint names, AUTOINCREMENT and partial-index predicates.
 */

/** Strip SQLite identifier quotes: "x", [x], `x`. */
export function unquoteIdent(s: string): string {
  const t = s.trim();
  if ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith('`') && t.endsWith('`'))) return t.slice(1, -1).replace(/""/g, '"');
  if (t.startsWith('[') && t.endsWith(']')) return t.slice(1, -1);
  return t;
}

/** Index just past the parenthesis matching the one at `open`, skipping quoted text. */
function matchParen(sql: string, open: number): number {
  let depth = 0;
  for (let i = open; i < sql.length; i++) {
    const ch = sql[i];
    if (ch === "'" || ch === '"' || ch === '`' || ch === '[') {
      const close = ch === '[' ? ']' : ch;
      i = sql.indexOf(close, i + 1);
      if (i < 0) return sql.length;
      continue;
    }
    if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i + 1;
  }
  return sql.length;
}

const IDENT = String.raw`("(?:[^"]|"")+"|\[[^\]]+\]|\x60[^\x60]+\x60|[\w$]+)`;

/** CHECK constraints of a CREATE TABLE, with their CONSTRAINT name when given. */
export function parseChecks(createSql: string): { name: string | null; expression: string }[] {
  const out: { name: string | null; expression: string }[] = [];
  const re = new RegExp(String.raw`(?:CONSTRAINT\s+${IDENT}\s+)?\bCHECK\s*\(`, 'gi');
  for (let m = re.exec(createSql); m; m = re.exec(createSql)) {
    const open = m.index + m[0].length - 1;
    const end = matchParen(createSql, open);
    out.push({ name: m[1] ? unquoteIdent(m[1]) : null, expression: createSql.slice(open + 1, end - 1).trim() });
    re.lastIndex = end;
  }
  return out;
}

export function primaryKeyName(createSql: string): string | null {
  const m = new RegExp(String.raw`CONSTRAINT\s+${IDENT}\s+PRIMARY\s+KEY`, 'i').exec(createSql);
  return m?.[1] ? unquoteIdent(m[1]) : null;
}

export function hasAutoincrement(createSql: string): boolean {
  return /\bAUTOINCREMENT\b/i.test(createSql);
}

/** The WHERE clause of a CREATE INDEX (partial index), or null. */
export function indexWhere(createSql: string | null): string | null {
  if (!createSql) return null;
  const close = createSql.lastIndexOf(')');
  const m = /\bWHERE\b([\s\S]*)$/i.exec(createSql.slice(close + 1));
  return m?.[1]?.trim() || null;
}
