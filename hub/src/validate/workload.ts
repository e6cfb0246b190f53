/**
 * Behavioral workloads: where the read queries come from and how a .sql file becomes one.
 *
 * Sources, recorded per query in the report: `request` (POST /validations `workload`), `file`
 * (POST /validations `workload_sql`, a .sql file's contents sent as a JSON string), `migration`
 * (the migration's `options.behavioral_workload`), `captured` (the source's pg_stat_statements
 * when nothing was given).
 */
import { FerryError } from '../../../common/src/errors.ts';
import { lexSql, SqlLexError, type SqlDialect } from '../../../node-agent/src/validate/sql-text.ts';
import type { CaptureResult } from '../../../node-agent/src/validate/contract.ts';
import type { Sides } from './report.ts';

export const WORKLOAD_SOURCES = ['request', 'file', 'migration', 'captured'] as const;
export type WorkloadSource = (typeof WORKLOAD_SOURCES)[number];

export interface WorkloadQuery {
  name: string;
  sql: string;
  /** Where the query came from. @default 'request' */
  source?: WorkloadSource;
}

/** Statements captured from the source: the top N read-only ones by calls. @default 20 */
export const DEFAULT_CAPTURE_LIMIT = 20;

const NAME_LINE = /^--\s*name\s*:\s*(.+?)\s*$/i;

/**
 * Split a .sql file into named queries: statements end at `;` outside literals, quoted
 * identifiers, dollar quotes and comments; a `-- name: xyz` comment line names the statement that
 * follows it (and ends the one before, even without its `;`); unnamed statements are `query_<n>` by position; names are made unique
 * with a `_2`, `_3` suffix. Comments before a statement's first token are dropped.
 * @example parseWorkloadSql("-- name: totals\nSELECT sum(total) FROM invoice;\nSELECT 1;")
 *   // [{ name: 'totals', sql: 'SELECT sum(total) FROM invoice' }, { name: 'query_2', sql: 'SELECT 1' }]
 * @throws FerryError `validation_error` (422) naming the line of an unterminated literal or comment.
 */
export function parseWorkloadSql(text: string, dialect: SqlDialect = 'postgresql', source: WorkloadSource = 'file'): WorkloadQuery[] {
  let segs;
  try {
    segs = lexSql(text, dialect);
  } catch (e) {
    if (e instanceof SqlLexError) throw new FerryError('validation_error', `workload_sql line ${e.line}: ${e.message}`, { status: 422, details: { field: 'workload_sql', line: e.line } });
    throw e;
  }
  const out: { name: string | null; sql: string }[] = [];
  let name: string | null = null;
  let body = '';
  let started = false;
  const end = () => {
    const sql = body.trim();
    if (started && sql) out.push({ name, sql });
    name = null;
    body = '';
    started = false;
  };
  for (const s of segs) {
    if (s.kind === 'comment') {
      const m = NAME_LINE.exec(s.text.trim());
      if (m) {
        // A name line always starts the next statement, even when the previous lacks its `;`.
        if (started) end();
        name = m[1]!;
        continue;
      }
      if (started) body += s.text;
      continue;
    }
    if (s.kind !== 'code') {
      started = true;
      body += s.text;
      continue;
    }
    const parts = s.text.split(';');
    parts.forEach((p, k) => {
      if (k > 0) end();
      if (!started && !p.trim()) return;
      if (!started) p = p.trimStart();
      started = true;
      body += p;
    });
  }
  end();
  const used = new Map<string, number>();
  return out.map((q, i) => {
    const base = (q.name ?? `query_${i + 1}`).slice(0, 200);
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    return { name: n === 1 ? base : `${base}_${n}`, sql: q.sql, source };
  });
}

/** Capture the source's most called read-only statements (agent task `validate.capture_workload`). */
export async function captureWorkload(sides: Sides, o: { limit?: number; relation?: { schema: string; name: string } } = {}): Promise<{ workload: WorkloadQuery[]; capture: CaptureResult }> {
  if (sides.sourceDialect !== 'postgresql') {
    return { workload: [], capture: { available: false, reason: `capturing a workload needs a PostgreSQL source with pg_stat_statements; the source is ${sides.sourceDialect}`, statements: [], scanned: 0, excluded: {} } };
  }
  const capture = await sides.source<CaptureResult>('validate.capture_workload', { limit: o.limit ?? DEFAULT_CAPTURE_LIMIT, ...(o.relation ? { relation: o.relation } : {}) });
  // pg_stat_statements' queryid names a statement stably across runs.
  const workload = capture.statements.map((s, i) => ({ name: s.queryid ? `pgss_${s.queryid}` : `captured_${i + 1}`, sql: s.sql, source: 'captured' as const }));
  return { workload, capture };
}
