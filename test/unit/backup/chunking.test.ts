import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cdcChunks, ChunkerOptionsError, fixedChunks, GEAR, isAllZero, type Chunk } from '../../../common/src/chunking/index.ts';

/** Deterministic pseudo-random bytes (xorshift32), so tests need no fixtures. */
function prng(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed | 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function* split(data: Buffer, sizes: number[]): Generator<Buffer> {
  let pos = 0;
  let i = 0;
  while (pos < data.length) {
    const n = sizes[i++ % sizes.length]!;
    yield data.subarray(pos, pos + n);
    pos += n;
  }
}

async function collect(it: AsyncIterable<Chunk>): Promise<Chunk[]> {
  const out: Chunk[] = [];
  for await (const c of it) out.push({ offset: c.offset, data: Buffer.from(c.data) });
  return out;
}

const digests = (chunks: Chunk[]): string[] => chunks.map((c) => createHash('sha256').update(c.data).digest('hex'));
const SMALL = { min: 2048, avg: 8192, max: 32768 };

describe('fixed-size chunker', () => {
  it('cuts aligned chunks whatever the sizes of the pieces read', async () => {
    const data = prng(1_000_000, 7);
    for (const sizes of [[1_000_000], [4096], [1, 65535, 100_000, 7], [65536 * 3 + 5]]) {
      const chunks = await collect(fixedChunks(split(data, sizes), { size: 65536 }));
      expect(chunks.map((c) => c.offset)).toEqual(Array.from({ length: 16 }, (_, i) => i * 65536));
      expect(chunks.slice(0, -1).every((c) => c.data.length === 65536)).toBe(true);
      expect(chunks.at(-1)!.data.length).toBe(1_000_000 - 15 * 65536);
      expect(Buffer.concat(chunks.map((c) => c.data)).equals(data)).toBe(true);
    }
  });

  it('refuses a chunk size that is not a power of two', async () => {
    await expect(collect(fixedChunks([Buffer.alloc(10)], { size: 100_000 }))).rejects.toBeInstanceOf(ChunkerOptionsError);
  });

  it('tells all-zero chunks from others', () => {
    expect(isAllZero(Buffer.alloc(65536))).toBe(true);
    expect(isAllZero(Buffer.alloc(9 * 1024 * 1024))).toBe(true);
    const b = Buffer.alloc(9 * 1024 * 1024);
    b[b.length - 1] = 1;
    expect(isAllZero(b)).toBe(false);
  });
});

describe('content-defined chunker (FastCDC)', () => {
  it('derives the same gear table every time', () => {
    expect(GEAR.length).toBe(256);
    expect(new Set(GEAR).size).toBe(256);
    // The table is part of the repository format: a change moves every boundary.
    expect(createHash('sha256').update(GEAR).digest('hex')).toBe('49e544a4780d09bcf2c7db7979e8eb2cc3a9764dd1c6db73ee980e458e5ff92c');
  });

  it('cuts the same boundaries whatever the sizes of the pieces read', async () => {
    const data = prng(3_000_000, 42);
    const reference = digests(await collect(cdcChunks([data], SMALL)));
    for (const sizes of [[1], [4095, 17], [65536], [1_000_001]]) {
      const sizesData = sizes[0] === 1 ? data.subarray(0, 200_000) : data;
      const expected = sizes[0] === 1 ? digests(await collect(cdcChunks([sizesData], SMALL))) : reference;
      expect(digests(await collect(cdcChunks(split(sizesData, sizes), SMALL)))).toEqual(expected);
    }
  });

  it('respects min and max and reassembles the input', async () => {
    const data = prng(2_000_000, 3);
    const chunks = await collect(cdcChunks([data], SMALL));
    expect(chunks.slice(0, -1).every((c) => c.data.length >= SMALL.min && c.data.length <= SMALL.max)).toBe(true);
    expect(Buffer.concat(chunks.map((c) => c.data)).equals(data)).toBe(true);
    const mean = data.length / chunks.length;
    expect(mean).toBeGreaterThan(SMALL.avg / 2);
    expect(mean).toBeLessThan(SMALL.avg * 2);
    // zeros have no content to cut on: every chunk is max-sized
    const zeros = await collect(cdcChunks([Buffer.alloc(SMALL.max * 3)], SMALL));
    expect(zeros.map((c) => c.data.length)).toEqual([SMALL.max, SMALL.max, SMALL.max]);
  });

  it('resynchronises boundaries after an insertion', async () => {
    const data = prng(2_000_000, 11);
    const edited = Buffer.concat([data.subarray(0, 1_000_000), Buffer.from('inserted bytes'), data.subarray(1_000_000)]);
    const before = digests(await collect(cdcChunks([data], SMALL)));
    const after = digests(await collect(cdcChunks([edited], SMALL)));
    const shared = after.filter((d) => before.includes(d)).length;
    // only the chunk(s) around the insertion change
    expect(after.length - shared).toBeLessThanOrEqual(3);
    expect(shared).toBeGreaterThan(before.length - 4);
  });

  it('refuses inconsistent sizes', async () => {
    await expect(collect(cdcChunks([Buffer.alloc(10)], { min: 8192, avg: 4096, max: 16384 }))).rejects.toBeInstanceOf(ChunkerOptionsError);
    await expect(collect(cdcChunks([Buffer.alloc(10)], { min: 1024, avg: 5000, max: 16384 }))).rejects.toBeInstanceOf(ChunkerOptionsError);
  });
});
