/**
 * A small SQL lexer for workloads: it tells code from string literals, quoted identifiers and
 * comments, which is all that splitting a .sql file on `;`, spotting bind parameters and
 * screening captured statements need. It does not parse SQL.
 */

export type SqlDialect = 'postgresql' | 'mysql' | 'sqlite' | 'oracle' | string;

export interface Segment {
  kind: 'code' | 'string' | 'ident' | 'comment';
  text: string;
  /** 1-based line where the segment starts. */
  line: number;
}

export class SqlLexError extends Error {
  readonly code = 'workload_sql_invalid';
  constructor(message: string, readonly line: number) {
    super(message);
  }
}

const DOLLAR_TAG = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/;

/**
 * Cut SQL text into segments. Strings: '...' with '' (and backslash escapes on MySQL or in a
 * PostgreSQL E'...' literal); identifiers: "..." and MySQL `...`; PostgreSQL $tag$...$tag$;
 * comments: -- to end of line, MySQL # to end of line, /* ... *\/ (nested on PostgreSQL).
 * Throws SqlLexError on an unterminated literal or comment.
 */
export function lexSql(sql: string, dialect: SqlDialect = 'postgresql'): Segment[] {
  const out: Segment[] = [];
  let code = '';
  let codeLine = 1;
  let line = 1;
  let i = 0;
  const flush = () => {
    if (code) out.push({ kind: 'code', text: code, line: codeLine });
    code = '';
  };
  const take = (kind: Segment['kind'], end: number) => {
    flush();
    const text = sql.slice(i, end);
    out.push({ kind, text, line });
    for (const ch of text) if (ch === '\n') line++;
    i = end;
    codeLine = line;
  };
  while (i < sql.length) {
    const c = sql[i]!;
    const n = sql[i + 1];
    if (c === '-' && n === '-') {
      const e = sql.indexOf('\n', i);
      take('comment', e < 0 ? sql.length : e);
    } else if (c === '#' && dialect === 'mysql') {
      const e = sql.indexOf('\n', i);
      take('comment', e < 0 ? sql.length : e);
    } else if (c === '/' && n === '*') {
      let depth = 1;
      let j = i + 2;
      while (j < sql.length && depth > 0) {
        if (sql[j] === '*' && sql[j + 1] === '/') {
          depth--;
          j += 2;
        } else if (dialect === 'postgresql' && sql[j] === '/' && sql[j + 1] === '*') {
          depth++;
          j += 2;
        } else j++;
      }
      if (depth > 0) throw new SqlLexError('unterminated /* comment', line);
      take('comment', j);
    } else if (c === "'") {
      const prev = code.slice(-1);
      const backslash = dialect === 'mysql' || ((prev === 'E' || prev === 'e') && !/[A-Za-z0-9_]/.test(code.slice(-2, -1)));
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) throw new SqlLexError('unterminated string literal', line);
        if (backslash && sql[j] === '\\') j += 2;
        else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
        else if (sql[j] === "'") break;
        else j++;
      }
      take('string', j + 1);
    } else if (c === '"' || (c === '`' && dialect === 'mysql')) {
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) throw new SqlLexError(`unterminated ${c} identifier`, line);
        if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      take('ident', j + 1);
    } else if (c === '$' && dialect === 'postgresql' && !/[A-Za-z0-9_]/.test(code.slice(-1)) && DOLLAR_TAG.test(sql.slice(i, i + 66))) {
      const tag = DOLLAR_TAG.exec(sql.slice(i, i + 66))![0];
      const e = sql.indexOf(tag, i + tag.length);
      if (e < 0) throw new SqlLexError(`unterminated ${tag} string`, line);
      take('string', e + tag.length);
    } else {
      if (!code) codeLine = line;
      code += c;
      if (c === '\n') line++;
      i++;
    }
  }
  flush();
  return out;
}

/**
 * The code of a statement with literals blanked and comments removed (for keyword tests);
 * quoted identifiers are kept, or blanked with `idents: false`.
 */
export function codeOnly(sql: string, dialect: SqlDialect = 'postgresql', o: { idents?: boolean } = {}): string {
  return lexSql(sql, dialect)
    .map((s) => (s.kind === 'code' ? s.text : s.kind === 'comment' ? ' ' : s.kind === 'ident' ? (o.idents === false ? '""' : s.text) : "''"))
    .join('');
}

/** The statement without the comments and blanks before its first token. */
export function stripLeadingComments(sql: string, dialect: SqlDialect = 'postgresql'): string {
  const segs = lexSql(sql, dialect);
  let k = 0;
  while (k < segs.length && (segs[k]!.kind === 'comment' || (segs[k]!.kind === 'code' && !segs[k]!.text.trim()))) k++;
  if (k < segs.length && segs[k]!.kind === 'code') segs[k] = { ...segs[k]!, text: segs[k]!.text.trimStart() };
  return segs.slice(k).map((s) => s.text).join('').trim();
}

/**
 * Whether the statement has bind parameters outside literals: PostgreSQL `$1` (also what
 * pg_stat_statements puts in place of constants), `?` on MySQL and SQLite, `:name`/`@name`/`?NNN`
 * on SQLite. Such a statement has no values to run with, so it cannot be compared.
 */
export function hasParameters(sql: string, dialect: SqlDialect = 'postgresql'): boolean {
  let code: string;
  try {
    code = codeOnly(sql, dialect);
  } catch {
    return false;
  }
  if (/(^|[^\w$])\$\d+/.test(code)) return true;
  if ((dialect === 'mysql' || dialect === 'sqlite') && code.includes('?')) return true;
  if (dialect === 'sqlite' && /(^|[\s,(=<>])[:@][A-Za-z_]\w*/.test(code)) return true;
  return false;
}
