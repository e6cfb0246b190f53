import type { CopyUnitPayload, LoadUnitResult } from '../../../common/src/migrate-tasks.ts';
import { loadUnit } from '../datapath/pg-loader.ts';
import { throttledProgress } from '../datapath/progress.ts';
import { openUnitReader } from '../datapath/readers/index.ts';
import type { TaskHandler } from './types.ts';

/**
 * `migrate.copy_unit`: when one agent reaches both source and target (the built-in agent on a
 * single box), read and load in this process, frames going straight from the reader into the
 * loader. Same encoding, same idempotent load as read_unit + load_unit through the hub's relay,
 * without the two gRPC hops (they doubled a PG -> PG transfer on two cores).
 */
export const migrateCopyUnit: TaskHandler = async (payload, ctx): Promise<LoadUnitResult> => {
  const p = payload as CopyUnitPayload;
  const reader = openUnitReader(p.source, p.unit, { format: p.format, frameBytes: p.frame_bytes, signal: ctx.signal });
  const progress = throttledProgress(ctx);
  const r = await loadUnit(p.target, p.unit, reader.frames, {
    format: p.format,
    salvage: p.salvage ?? false,
    fresh: p.fresh ?? false,
    signal: ctx.signal,
    onProgress: progress.update,
  });
  progress.final(r);
  if (r.rejected.length) ctx.log('warning', `${r.rejected.length} row(s) rejected in unit ${p.unit.unit_id}`, { rejected: r.rejected.length });
  return r;
};
