/**
 * Batching of COPY data into frames of about `frameBytes` (default 1 MiB): large enough that
 * per-frame costs (gRPC message, await, progress) vanish, small enough to bound memory.
 */

/** @default 1 MiB */
export const DEFAULT_FRAME_BYTES = 1024 * 1024;

/**
 * Collects encoded row lines (strings) and turns them into one Buffer per frame. Appending to a
 * string builds a rope in V8; the single Buffer.from at the frame boundary flattens and encodes
 * it in one pass, which beats writing each field into a Buffer separately.
 */
export class TextFrameBuilder {
  private pending = '';
  private pendingRows = 0;
  /** Rows and bytes of the frames handed out so far. */
  rows = 0;
  bytes = 0;

  constructor(private readonly frameBytes: number = DEFAULT_FRAME_BYTES) {}

  /** Add one line; returns a full frame when the target size is reached, else null. */
  push(line: string): Buffer | null {
    this.pending += line;
    this.pendingRows++;
    // String length counts UTF-16 units: a frame of non-ASCII text is up to 3x larger in bytes, which is fine.
    return this.pending.length >= this.frameBytes ? this.take() : null;
  }

  /** The rest as a last frame, or null when nothing is pending. */
  flush(): Buffer | null {
    return this.pendingRows > 0 ? this.take() : null;
  }

  private take(): Buffer {
    const buf = Buffer.from(this.pending, 'utf8');
    this.rows += this.pendingRows;
    this.bytes += buf.length;
    this.pending = '';
    this.pendingRows = 0;
    return buf;
  }
}

/**
 * Re-batches a stream of small chunks (socket reads of ~64 kB) into frames of about frameBytes.
 * Frame boundaries need not fall on row boundaries: the loader's COPY reads a byte stream.
 */
export async function* rebatch(chunks: AsyncIterable<Buffer>, frameBytes: number = DEFAULT_FRAME_BYTES): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    parts.push(chunk);
    size += chunk.length;
    if (size >= frameBytes) {
      yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  if (size > 0) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}

/** Number of "\n" bytes in a buffer: rows of COPY text (a newline inside a value is escaped). */
export function countLines(buf: Buffer): number {
  let n = 0;
  let i = buf.indexOf(10);
  while (i >= 0) {
    n++;
    i = buf.indexOf(10, i + 1);
  }
  return n;
}
