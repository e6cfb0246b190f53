/**
 * Behavioral check ("time-travel testing"), hub side: translate each read query of the source's
 * dialect for the PostgreSQL target (simple cases only), run the workload on both sides in a
 * snapshot, compare results as multisets (ordered when the query has ORDER BY). A query that
 * cannot be translated, or that the target rejects as untranslated syntax, is `not_comparable`:
 * never passed.
 */
import type { BehavioralResult, QueryDigest } from '../../../../node-agent/src/validate/contract.ts';
import type { KindReport, QueryReport, Sides } from '../report.ts';
import type { ValidationTable } from '../tables.ts';
import { codeOnly, hasParameters, stripLeadingComments } from '../../../../node-agent/src/validate/sql-text.ts';
import type { WorkloadQuery } from '../workload.ts';

export type { WorkloadQuery } from '../workload.ts';

/** Differing rows listed per failed query (each way). */
const FIRST_ROWS = 5;

const UNTRANSLATABLE: Record<string, RegExp> = {
  mysql: /\b(GROUP_CONCAT|DATE_FORMAT|STR_TO_DATE|SQL_CALC_FOUND_ROWS|STRAIGHT_JOIN|FOUND_ROWS|UNIX_TIMESTAMP|FROM_UNIXTIME|IF\s*\()|@/i,
  sqlite: /\b(strftime|julianday|datetime\s*\(|date\s*\(|printf|group_concat|total\s*\()|\bGLOB\b/i,
  oracle: /\b(ROWNUM|NVL2?|DECODE|SYSDATE|CONNECT\s+BY|TO_CHAR)\b|\(\+\)/i,
  postgresql: /$^/,
};

/** Split SQL into string literals (kept) and code (translated). */
function mapCode(sql: string, f: (code: string) => string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const q = sql.indexOf("'", i);
    if (q < 0) {
      out += f(sql.slice(i));
      break;
    }
    out += f(sql.slice(i, q));
    let j = q + 1;
    while (j < sql.length && !(sql[j] === "'" && sql[j + 1] !== "'")) j += sql[j] === "'" ? 2 : 1;
    out += sql.slice(q, j + 1);
    i = j + 1;
  }
  return out;
}

/**
 * Translate a read query from the source dialect for the target. Identifiers that name mapped
 * tables and columns become the target's (quoted when needed). Returns the reason when the query
 * is not comparable.
 */
export function translateQuery(sql: string, dialect: string, tables: ValidationTable[]): { sql: string } | { not_comparable: string } {
  let s: string;
  try {
    s = stripLeadingComments(sql, dialect).replace(/;\s*$/, '');
  } catch (e) {
    return { not_comparable: `cannot read the query: ${(e as Error).message}` };
  }
  if (!/^(select|with)\b/i.test(s)) return { not_comparable: 'only read queries (SELECT or WITH) are compared' };
  if (codeOnly(s, dialect).includes(';')) return { not_comparable: 'one statement per query' };
  const bad = (UNTRANSLATABLE[dialect] ?? /$^/).exec(s);
  if (bad) return { not_comparable: `${dialect} construct "${bad[0].trim()}" has no automatic PostgreSQL translation` };
  if (dialect === 'postgresql') return { sql: s };
  const names = new Map<string, string>();
  for (const t of tables) {
    names.set(t.source.table.toLowerCase(), t.target.table);
    t.source.columns.forEach((c, i) => names.set(c.name.toLowerCase(), t.target.columns[i]!.name));
  }
  const ident = (n: string) => {
    const to = names.get(n.toLowerCase()) ?? n;
    return /^[a-z_][a-z0-9_]*$/.test(to) ? to : '"' + to.replace(/"/g, '""') + '"';
  };
  const out = mapCode(s, (code) => {
    let c = code;
    if (dialect === 'mysql') c = c.replace(/`([^`]+)`/g, (_m, n: string) => ident(n));
    c = c.replace(/"([^"]+)"/g, (_m, n: string) => ident(n));
    c = c.replace(/\bIFNULL\s*\(/gi, 'COALESCE(');
    c = c.replace(/\bLIMIT\s+(\d+)\s*,\s*(\d+)/gi, 'LIMIT $2 OFFSET $1');
    // Bare identifiers: unquoted words that name a mapped table or column.
    return c.replace(/(?<!["\w.$])([A-Za-z_][A-Za-z0-9_$]*)(?![\w"(])/g, (m, n: string) => (names.has(n.toLowerCase()) ? ident(n) : m));
  });
  return { sql: out };
}

export function isOrdered(sql: string): boolean {
  // ORDER BY at the top level, after the last closing parenthesis (not inside a subquery or window).
  const tail = sql.slice(sql.lastIndexOf(')') + 1);
  return /\border\s+by\b/i.test(tail) || (!sql.includes(')') && /\border\s+by\b/i.test(sql));
}

// SQLSTATEs that mean "this SQL is not PostgreSQL", not "the data or schema differ".
const NOT_TRANSLATED = new Set(['42601', '42883', '42725', '0A000']);

function rowsDiff(a: QueryDigest, b: QueryDigest): { missing: (string | null)[][]; extra: (string | null)[][] } {
  const missing: (string | null)[][] = [];
  const extra: (string | null)[][] = [];
  for (const [k, n] of Object.entries(a.counts)) if ((b.counts[k] ?? 0) < n && missing.length < FIRST_ROWS) missing.push(a.sample[k]!);
  for (const [k, n] of Object.entries(b.counts)) if ((a.counts[k] ?? 0) < n && extra.length < FIRST_ROWS) extra.push(b.sample[k]!);
  return { missing, extra };
}

export async function runBehavioral(sides: Sides, tables: ValidationTable[], workload: WorkloadQuery[]): Promise<Omit<KindReport, 'kind' | 'started_at' | 'finished_at'>> {
  // A statement with bind parameters (pg_stat_statements normalises constants to $n) has no
  // values to run with: not comparable, never passed.
  const plan = workload.map((q) => ({
    q,
    ordered: isOrdered(q.sql),
    tr: hasParameters(q.sql, sides.sourceDialect) ? { not_comparable: 'parameterised' } : translateQuery(q.sql, sides.sourceDialect, tables),
  }));
  const comparable = plan.filter((p) => 'sql' in p.tr);
  const [s, t] = await Promise.all([
    sides.source<BehavioralResult>('validate.behavioral', { queries: comparable.map((p) => ({ name: p.q.name, sql: p.q.sql, ordered: p.ordered })) }),
    sides.target<BehavioralResult>('validate.behavioral', { queries: comparable.map((p) => ({ name: p.q.name, sql: (p.tr as { sql: string }).sql, ordered: p.ordered })) }),
  ]);
  const reports: QueryReport[] = plan.map((p, idx) => {
    const base = { name: p.q.name, source: p.q.source ?? 'request', ordered: p.ordered, source_sql: p.q.sql };
    if ('not_comparable' in p.tr) return { ...base, status: 'not_comparable', reason: p.tr.not_comparable, target_sql: null, translated: false, rows_source: null, rows_target: null, ms_source: null, ms_target: null };
    const i = comparable.findIndex((c) => c === plan[idx]);
    const a = s.queries[i]!;
    const b = t.queries[i]!;
    const r = { ...base, target_sql: p.tr.sql, translated: p.tr.sql !== stripLeadingComments(p.q.sql, sides.sourceDialect).replace(/;\s*$/, ''), rows_source: a.ok ? a.rows : null, rows_target: b.ok ? b.rows : null, ms_source: a.ms, ms_target: b.ms, snapshot_source: a.snapshot, snapshot_target: b.snapshot };
    if (!a.ok) return { ...r, status: 'error', reason: `source: ${a.error_code}: ${a.error}` };
    if (!b.ok) {
      if (NOT_TRANSLATED.has(b.error_code ?? '')) return { ...r, status: 'not_comparable', reason: `target rejects the translated query: ${b.error_code}: ${b.error}` };
      return { ...r, status: 'failed', reason: `target: ${b.error_code}: ${b.error}` };
    }
    if (a.digest === b.digest && a.rows === b.rows) return { ...r, status: 'passed' };
    const d = rowsDiff(a, b);
    const why = a.rows !== b.rows ? `${a.rows} rows on the source, ${b.rows} on the target` : p.ordered && !d.missing.length && !d.extra.length ? 'same rows in a different order' : 'result sets differ';
    return { ...r, status: 'failed', reason: why, missing_rows: d.missing, extra_rows: d.extra };
  });
  const n = (st: QueryReport['status']) => reports.filter((r) => r.status === st).length;
  const failed = n('failed') + n('error');
  return {
    status: failed ? 'failed' : n('not_comparable') ? 'inconclusive' : 'passed',
    counts: { queries: reports.length, passed: n('passed'), failed: n('failed'), errors: n('error'), not_comparable: n('not_comparable') },
    details: { queries: reports },
  };
}
