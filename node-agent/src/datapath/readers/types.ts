import type { UnitSpec } from '../../../../common/src/migrate-tasks.ts';
import type { DriverOptions } from '../../connectors/connection-spec.ts';

export interface ReadOptions {
  /** binary: requested; readers fall back to text for a unit they cannot encode in binary (see readers/index.ts). */
  format: 'text' | 'binary';
  /** @default 1 MiB */
  frameBytes?: number;
  signal?: AbortSignal;
}

/** Rows and bytes of the frames yielded so far (rows of a binary PostgreSQL read arrive at its end). */
export interface ReadCounters {
  rows: number;
  bytes: number;
}

/** A dialect's reader: yields COPY frames and keeps `counters` current. */
export type DialectReader<O extends DriverOptions> = (
  opts: O, unit: UnitSpec, options: ReadOptions, counters: ReadCounters,
) => AsyncGenerator<Buffer>;
