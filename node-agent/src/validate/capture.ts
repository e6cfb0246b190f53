/**
 * Capture a behavioral workload from a PostgreSQL source: the most called read-only statements
 * of the source database in pg_stat_statements. The view only records when the server loads the
 * extension (shared_preload_libraries); installed but not loaded, reading it fails and the
 * capture says so instead of returning nothing silently.
 */
import { FerryError } from '../../../common/src/errors.ts';
import { resolveConnectionSpec } from '../connectors/connection-spec.ts';
import { connectPostgres } from '../datapath/pg-connect.ts';
import type { CapturedStatement, CapturePayload, CaptureResult } from './contract.ts';
import { codeOnly, hasParameters, stripLeadingComments } from './sql-text.ts';

/** Distinct statements read from the view before filtering. */
const SCAN = 2000;

// Statements Ferry itself sends to a source (migration reads, profiling, validation), by shape
// as they appear normalised in pg_stat_statements: an application rarely writes them this way.
const FERRY_SHAPES: RegExp[] = [
  /\/\*\s*ferry\b/i,
  /^select count\(\*\) as n from "/,
  /^SELECT count\(\*\) AS n FROM "[^"]*"\."[^"]*" c\b/,
  / as m\d+_\d+(,|\s+from\b)/,
  /^SELECT MIN\("[^"]*"\)::text, MAX\("[^"]*"\)::text/,
  /^select current_database\(\) as db\b/,
  // validate/rows.ts: every column quoted, a qualified table, at most an integer range on the key.
  /^SELECT "[^"]*"(, "[^"]*")* FROM "[^"]*"\."[^"]*"( WHERE "[^"]*" [<>]=? \$\d+( AND "[^"]*" [<>]=? \$\d+)?)?$/,
];

const WRITES = /\b(insert|update|delete|merge|into)\b|\bfor\s+(update|share|no\s+key\s+update|key\s+share)\b|\b(nextval|setval|pg_advisory\w*|lo_\w+|dblink\w*)\s*\(/i;
const CATALOG = /\bpg_catalog\b|\binformation_schema\b|(^|[^\w$])"?pg_\w+/i;

export type ExclusionReason = 'not_read_only' | 'catalog' | 'ferry' | 'hidden' | 'unparsable';

/**
 * Why a statement is not part of a captured workload, or null when it is: only SELECT and
 * WITH ... SELECT without writes or row locks, not touching pg_catalog/information_schema or
 * pg_* objects, and not one of Ferry's own statements.
 */
export function exclusionOf(sql: string): ExclusionReason | null {
  if (sql.trim() === '<insufficient privilege>') return 'hidden';
  let head: string;
  let code: string;
  let bare: string;
  try {
    head = stripLeadingComments(sql);
    code = codeOnly(sql);
    bare = codeOnly(sql, 'postgresql', { idents: false });
  } catch {
    return 'unparsable';
  }
  if (FERRY_SHAPES.some((r) => r.test(sql) || r.test(head))) return 'ferry';
  if (!/^\(?\s*(select|with)\b/i.test(head)) return 'not_read_only';
  if (WRITES.test(bare)) return 'not_read_only';
  if (CATALOG.test(code)) return 'catalog';
  return null;
}

const quoteIdent = (s: string) => '"' + s.replace(/"/g, '""') + '"';

export async function captureWorkload(p: CapturePayload): Promise<CaptureResult> {
  const o = resolveConnectionSpec(p.connection);
  if (o.dialect !== 'postgresql') {
    return { available: false, reason: `capturing a workload needs a PostgreSQL source with pg_stat_statements; the source is ${o.dialect}`, statements: [], scanned: 0, excluded: {} };
  }
  const limit = Math.max(1, Math.min(1000, Math.floor(p.limit ?? 20)));
  const c = await connectPostgres(o);
  try {
    let relation: string;
    if (p.relation) {
      relation = `${quoteIdent(p.relation.schema)}.${quoteIdent(p.relation.name)}`;
    } else {
      const ext = await c.query<{ schema: string }>(
        "/* ferry */ SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'",
      );
      if (!ext.rows[0]) {
        return { available: false, reason: 'pg_stat_statements is not installed in the source database (CREATE EXTENSION pg_stat_statements, with the library in shared_preload_libraries); give a workload instead', statements: [], scanned: 0, excluded: {} };
      }
      relation = `${quoteIdent(ext.rows[0].schema)}.pg_stat_statements`;
    }
    let rows: { here: string; query: string; queryid: string | null; calls: string }[];
    try {
      rows = (
        await c.query(
          `/* ferry */ SELECT (dbid = (SELECT oid FROM pg_database WHERE datname = current_database()))::text AS here, query,
                  min(queryid)::text AS queryid, sum(calls)::text AS calls
             FROM ${relation} GROUP BY 1, 2 ORDER BY sum(calls) DESC, 2 LIMIT ${SCAN}`,
        )
      ).rows as typeof rows;
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (err.code === '55000') {
        return { available: false, reason: 'pg_stat_statements is installed in the source database but the server does not load it: add it to shared_preload_libraries and restart PostgreSQL, or give a workload', statements: [], scanned: 0, excluded: {} };
      }
      if (err.code === '42501') return { available: false, reason: `cannot read pg_stat_statements: ${err.message ?? 'permission denied'} (grant pg_read_all_stats)`, statements: [], scanned: 0, excluded: {} };
      throw e;
    }
    const excluded: Record<string, number> = {};
    const statements: CapturedStatement[] = [];
    for (const r of rows) {
      const why = r.here !== 'true' ? 'other_database' : exclusionOf(r.query);
      if (why) {
        excluded[why] = (excluded[why] ?? 0) + 1;
        continue;
      }
      if (statements.length < limit) statements.push({ queryid: r.queryid, sql: stripLeadingComments(r.query), calls: Number(r.calls), parameterised: hasParameters(r.query) });
    }
    return { available: true, statements, scanned: rows.length, excluded };
  } catch (e) {
    if (e instanceof FerryError) throw e;
    const err = e as { code?: string; message?: string };
    throw new FerryError('capture_failed', `Reading pg_stat_statements failed: ${err.code ?? ''} ${err.message ?? String(e)}`.trim(), { status: 502 });
  } finally {
    await c.end().catch(() => undefined);
  }
}
