import { ChunkerOptionsError, toBuffer, type ByteSource, type Chunk } from './source.ts';

/** Options of the fixed-size chunker used for disk images. */
export interface FixedChunkerOptions {
  /**
   * Chunk size in bytes: a power of two between 4 KiB and 64 MiB, so chunks stay aligned to
   * disk blocks and an unchanged block range always produces the same chunk.
   * @default 65536 (chosen by measurement, docs/repository-format.md)
   */
  size?: number;
}

export const DEFAULT_FIXED_CHUNK_SIZE = 64 * 1024;

export function checkFixedSize(size: number): number {
  if (!Number.isInteger(size) || size < 4096 || size > 64 * 1024 * 1024 || (size & (size - 1)) !== 0) {
    throw new ChunkerOptionsError(`fixed chunk size ${size} is not a power of two between 4096 and 67108864`);
  }
  return size;
}

/**
 * Cuts a byte stream into chunks of exactly `size` bytes (the last one may be shorter), at
 * offsets that are multiples of `size` whatever the sizes of the pieces the source yields.
 * Memory: at most one partly filled chunk besides the piece being read.
 */
export async function* fixedChunks(source: ByteSource, options: FixedChunkerOptions = {}): AsyncGenerator<Chunk> {
  const size = checkFixedSize(options.size ?? DEFAULT_FIXED_CHUNK_SIZE);
  let pending: Buffer | null = null;
  let filled = 0;
  let offset = 0;
  for await (const raw of source) {
    const piece = toBuffer(raw);
    let pos = 0;
    while (pos < piece.length) {
      if (pending === null && piece.length - pos >= size) {
        // Whole chunk inside this piece: hand out a copy-free view. Readers allocate a fresh
        // buffer per read, so the view is never overwritten.
        yield { offset, data: piece.subarray(pos, pos + size) };
        offset += size;
        pos += size;
        continue;
      }
      pending ??= Buffer.allocUnsafe(size);
      const n = Math.min(size - filled, piece.length - pos);
      piece.copy(pending, filled, pos, pos + n);
      filled += n;
      pos += n;
      if (filled === size) {
        yield { offset, data: pending };
        offset += size;
        pending = null;
        filled = 0;
      }
    }
  }
  if (pending !== null && filled > 0) yield { offset, data: pending.subarray(0, filled) };
}
