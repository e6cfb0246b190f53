import type { ReadUnitPayload, ReadUnitResult } from '../../../common/src/migrate-tasks.ts';
import { openUnitReader } from '../datapath/readers/index.ts';
import { throttledProgress } from '../datapath/progress.ts';
import type { TaskHandler } from './types.ts';

/** `migrate.read_unit`: stream the unit's rows as COPY frames to the hub on `channel`. */
export const migrateReadUnit: TaskHandler = async (payload, ctx): Promise<ReadUnitResult> => {
  const p = payload as ReadUnitPayload;
  const reader = openUnitReader(p.connection, p.unit, { format: p.format, frameBytes: p.frame_bytes, signal: ctx.signal });
  const sink = await ctx.openPush(p.channel);
  const progress = throttledProgress(ctx);
  try {
    for await (const frame of reader.frames) {
      await sink.write(frame);
      progress.update(reader.counters);
    }
    await sink.end();
  } catch (err) {
    sink.abort(err instanceof Error ? err.message : String(err));
    throw err;
  }
  progress.final(reader.counters);
  return { rows: reader.counters.rows, bytes: reader.counters.bytes };
};
