/**
 * Running target DDL. With `ignore_existing`, a statement failing because its object already
 * exists is skipped, so a redo after a crash in the middle of the schema phase goes through.
 */
import { FerryError } from '../../../common/src/errors.ts';
import type { ExecSqlPayload, ExecSqlResult } from '../../../common/src/migrate-tasks.ts';
import { resolveConnectionSpec } from '../connectors/connection-spec.ts';
import { connectPostgres } from './pg-connect.ts';

/** duplicate_table, duplicate_object, duplicate_schema (plus duplicate_column and duplicate_function for ALTER/CREATE redo). */
export const ALREADY_EXISTS = new Set(['42P07', '42710', '42P06', '42701', '42723']);

function sqlState(err: unknown): string | null {
  const c = (err as { code?: unknown }).code;
  return typeof c === 'string' ? c : null;
}

export async function execSql(p: ExecSqlPayload, signal?: AbortSignal): Promise<ExecSqlResult> {
  const opts = resolveConnectionSpec(p.connection);
  if (opts.dialect !== 'postgresql') throw new FerryError('invalid_target', `exec_sql runs on a PostgreSQL target, not ${opts.dialect}`);
  const client = await connectPostgres(opts);
  let executed = 0;
  let skipped = 0;
  const tx = p.transaction ?? false;
  try {
    if (tx) await client.query('BEGIN');
    for (const [i, sql] of p.statements.entries()) {
      signal?.throwIfAborted();
      try {
        if (tx && p.ignore_existing) await client.query('SAVEPOINT ferry_stmt');
        await client.query(sql);
        if (tx && p.ignore_existing) await client.query('RELEASE SAVEPOINT ferry_stmt');
        executed++;
      } catch (err) {
        const code = sqlState(err);
        if (p.ignore_existing && code && ALREADY_EXISTS.has(code)) {
          if (tx) await client.query('ROLLBACK TO SAVEPOINT ferry_stmt');
          skipped++;
          continue;
        }
        throw new FerryError('sql_failed', `statement ${i + 1} failed: ${(err as Error).message}`, {
          status: 422, details: { sqlstate: code, statement: sql.slice(0, 500), index: i },
        });
      }
    }
    if (tx) await client.query('COMMIT');
    return { executed, skipped };
  } catch (err) {
    if (tx) await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}
