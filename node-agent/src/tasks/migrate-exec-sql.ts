import type { ExecSqlPayload, ExecSqlResult } from '../../../common/src/migrate-tasks.ts';
import { execSql } from '../datapath/exec-sql.ts';
import type { TaskHandler } from './types.ts';

/** `migrate.exec_sql`: target DDL, statement by statement (or in one transaction). */
export const migrateExecSql: TaskHandler = async (payload, ctx): Promise<ExecSqlResult> => {
  const p = payload as ExecSqlPayload;
  const r = await execSql(p, ctx.signal);
  ctx.log('info', `executed ${r.executed} statement(s), skipped ${r.skipped} existing`);
  return r;
};
