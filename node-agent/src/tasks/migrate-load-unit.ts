import type { LoadUnitPayload, LoadUnitResult } from '../../../common/src/migrate-tasks.ts';
import { loadUnit } from '../datapath/pg-loader.ts';
import { throttledProgress } from '../datapath/progress.ts';
import type { TaskHandler } from './types.ts';

/** `migrate.load_unit`: pull the unit's frames from `channel` and load them in one transaction. */
export const migrateLoadUnit: TaskHandler = async (payload, ctx): Promise<LoadUnitResult> => {
  const p = payload as LoadUnitPayload;
  const progress = throttledProgress(ctx);
  const r = await loadUnit(p.connection, p.unit, ctx.openPull(p.channel), {
    format: p.format, salvage: p.salvage ?? false, fresh: p.fresh ?? false, signal: ctx.signal, onProgress: progress.update,
  });
  progress.final(r);
  if (r.rejected.length) ctx.log('warning', `${r.rejected.length} row(s) rejected in unit ${p.unit.unit_id}`, { rejected: r.rejected.length });
  return r;
};
