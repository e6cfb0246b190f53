import { GEAR } from './gear.ts';
import { ChunkerOptionsError, toBuffer, type ByteSource, type Chunk } from './source.ts';

/** Options of the content-defined chunker (FastCDC with normalized chunking, level 2). */
export interface CdcOptions {
  /** @default 16384 */
  min?: number;
  /** Target average, a power of two. @default 65536 (measured: docs/repository-format.md) */
  avg?: number;
  /** @default 262144 */
  max?: number;
}

export interface CdcParams {
  min: number;
  avg: number;
  max: number;
  /** Mask used before `avg` bytes: two more bits than log2(avg), so cuts there are rarer. */
  maskS: number;
  /** Mask used after `avg` bytes: two fewer bits, so cuts come sooner. */
  maskL: number;
}

export const DEFAULT_CDC = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 } as const;

/**
 * The hash is 32 bits and shifts left, so bit k depends on the last k+1 bytes: masks take the
 * top bits, which see the whole 32-byte window.
 */
function topBitsMask(bits: number): number {
  return bits >= 32 ? 0xffffffff : (((1 << bits) - 1) << (32 - bits)) >>> 0;
}

export function compileCdcOptions(options: CdcOptions = {}): CdcParams {
  const min = options.min ?? DEFAULT_CDC.min;
  const avg = options.avg ?? DEFAULT_CDC.avg;
  const max = options.max ?? DEFAULT_CDC.max;
  const bits = Math.log2(avg);
  if (!Number.isInteger(bits) || bits < 8 || bits > 28) {
    throw new ChunkerOptionsError(`cdc avg ${avg} is not a power of two between 256 and 268435456`);
  }
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 64 || min >= avg || max <= avg) {
    throw new ChunkerOptionsError(`cdc sizes must satisfy 64 <= min < avg < max (got ${min}/${avg}/${max})`);
  }
  return { min, avg, max, maskS: topBitsMask(bits + 2), maskL: topBitsMask(bits - 2) };
}

/**
 * Length of the first chunk of `buf[start, end)`. The caller guarantees that either
 * `end - start >= max` or the stream ended, so the answer never depends on how the source was
 * split into pieces.
 */
export function findCut(buf: Uint8Array, start: number, end: number, p: CdcParams): number {
  const n = end - start;
  if (n <= p.min) return n;
  const limit = Math.min(n, p.max);
  const normal = Math.min(limit, p.avg);
  const gear = GEAR;
  const maskS = p.maskS;
  const maskL = p.maskL;
  let h = 0;
  // The first min bytes are skipped (FastCDC's cut-point skipping); the window is 32 bytes, so
  // hashing from min-32 gives the same hash at min as hashing from 0 would, for less work.
  let i = start + Math.max(0, p.min - 32);
  const minEnd = start + p.min;
  for (; i < minEnd; i++) h = ((h << 1) + gear[buf[i]!]!) | 0;
  const normalEnd = start + normal;
  for (; i < normalEnd; i++) {
    h = ((h << 1) + gear[buf[i]!]!) | 0;
    if ((h & maskS) === 0) return i - start + 1;
  }
  const limitEnd = start + limit;
  for (; i < limitEnd; i++) {
    h = ((h << 1) + gear[buf[i]!]!) | 0;
    if ((h & maskL) === 0) return i - start + 1;
  }
  return limit;
}

/**
 * Cuts a byte stream into content-defined chunks: an insertion or deletion changes only the
 * chunks around it, and boundaries resynchronise after it. Memory: a working buffer of
 * 2 * max plus the piece being read.
 */
export async function* cdcChunks(source: ByteSource, options: CdcOptions = {}): AsyncGenerator<Chunk> {
  const p = compileCdcOptions(options);
  let work = Buffer.allocUnsafe(2 * p.max);
  let start = 0; // first unconsumed byte in work
  let end = 0; // one past the last filled byte
  let offset = 0;
  function* drain(final: boolean): Generator<Chunk> {
    while (end - start >= p.max || (final && end > start)) {
      const len = findCut(work, start, end, p);
      yield { offset, data: Buffer.from(work.subarray(start, start + len)) };
      offset += len;
      start += len;
    }
  }
  for await (const raw of source) {
    const piece = toBuffer(raw);
    let pos = 0;
    while (pos < piece.length) {
      if (start > 0 && work.length - end < piece.length - pos) {
        work.copy(work, 0, start, end);
        end -= start;
        start = 0;
      }
      const n = Math.min(work.length - end, piece.length - pos);
      piece.copy(work, end, pos, pos + n);
      end += n;
      pos += n;
      yield* drain(false);
    }
  }
  yield* drain(true);
  work = Buffer.alloc(0);
}
