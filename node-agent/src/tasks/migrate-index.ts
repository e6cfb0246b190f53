import type { TaskHandler } from './types.ts';
import { migrateIntrospect } from './migrate-introspect.ts';
import { migrateExecSql } from './migrate-exec-sql.ts';
import { migratePlanUnits } from './migrate-plan-units.ts';
import { migrateReadUnit } from './migrate-read-unit.ts';
import { migrateLoadUnit } from './migrate-load-unit.ts';
import { migrateCountRows } from './migrate-count-rows.ts';
import { migrateCopyUnit } from './migrate-copy-unit.ts';

/** The migration task handlers by task kind, for the agent's task registry. */
export const MIGRATE_TASK_HANDLERS: Record<string, TaskHandler> = {
  'migrate.introspect': migrateIntrospect,
  'migrate.exec_sql': migrateExecSql,
  'migrate.plan_units': migratePlanUnits,
  'migrate.read_unit': migrateReadUnit,
  'migrate.load_unit': migrateLoadUnit,
  'migrate.count_rows': migrateCountRows,
  'migrate.copy_unit': migrateCopyUnit,
};
