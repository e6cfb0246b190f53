/**
 * Rows -> COPY frames in the format a unit is read in: binary when the hub asked for it and
 * every column has a binary writer (copy-binary.ts), text otherwise. Decided once per unit,
 * before the first row; the loader tells the two apart by the PGCOPY signature.
 */
import type { UnitColumn } from '../../../common/src/migrate-tasks.ts';
import { BinaryFrameBuilder, binaryRowWriter } from './copy-binary.ts';
import { rowEncoder } from './copy-text.ts';
import { DEFAULT_FRAME_BYTES, TextFrameBuilder } from './frames.ts';

export interface RowFramer {
  /** The format actually produced. */
  readonly format: 'text' | 'binary';
  /** Add one row; returns a full frame when the target size is reached, else null. */
  push(row: readonly unknown[]): Buffer | null;
  /** The last frame (binary: always, with the trailer; text: null when nothing is pending). */
  flush(): Buffer | null;
  /** Rows and bytes of the frames handed out so far. */
  readonly rows: number;
  readonly bytes: number;
}

/**
 * @example const f = rowFramer(unit.columns, 'binary'); for (const r of rows) { const fr = f.push(r); if (fr) send(fr) } send(f.flush())
 */
export function rowFramer(columns: readonly Pick<UnitColumn, 'target_type' | 'transformation'>[], format: 'text' | 'binary', frameBytes = DEFAULT_FRAME_BYTES): RowFramer {
  const write = format === 'binary' ? binaryRowWriter(columns) : null;
  if (write) {
    const b = new BinaryFrameBuilder(frameBytes);
    return {
      format: 'binary',
      push: (row) => write(b, row),
      flush: () => b.flush(),
      get rows() { return b.rows; },
      get bytes() { return b.bytes; },
    };
  }
  const encode = rowEncoder(columns);
  const t = new TextFrameBuilder(frameBytes);
  return {
    format: 'text',
    push: (row) => t.push(encode(row)),
    flush: () => t.flush(),
    get rows() { return t.rows; },
    get bytes() { return t.bytes; },
  };
}
