import type { PlanUnitsPayload, PlanUnitsResult } from '../../../common/src/migrate-tasks.ts';
import { planUnits } from '../datapath/plan-units.ts';
import type { TaskHandler } from './types.ts';

/** `migrate.plan_units`: key ranges of about rows_per_unit rows per table (null = whole table). */
export const migratePlanUnits: TaskHandler = async (payload, ctx): Promise<PlanUnitsResult> => {
  const r = await planUnits(payload as PlanUnitsPayload);
  ctx.log('info', `cut ${r.tables.length} table(s) into ${r.tables.reduce((n, t) => n + (t.ranges?.length ?? 1), 0)} unit(s)`);
  return r;
};
