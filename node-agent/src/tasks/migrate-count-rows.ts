import type { CountRowsPayload, CountRowsResult } from '../../../common/src/migrate-tasks.ts';
import { countRows } from '../datapath/plan-units.ts';
import type { TaskHandler } from './types.ts';

/** `migrate.count_rows`: exact COUNT(*) per table, on a source or the target. */
export const migrateCountRows: TaskHandler = async (payload): Promise<CountRowsResult> => {
  const p = payload as CountRowsPayload;
  return { counts: await countRows(p.connection, p.tables) };
};
