import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';

/** Small seeded PRNG (mulberry32): the same image on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded random bytes: an AES-128-CTR keystream keyed from the PRNG (fast, and the same every run). */
function randomBytes(next: () => number, n: number): Buffer {
  const key = Buffer.allocUnsafe(16);
  const iv = Buffer.allocUnsafe(16);
  for (let i = 0; i < 16; i += 4) {
    key.writeUInt32LE(Math.floor(next() * 4294967296), i);
    iv.writeUInt32LE(Math.floor(next() * 4294967296), i);
  }
  return createCipheriv('aes-128-ctr', key, iv).update(Buffer.alloc(n));
}

const MIB = 1024 * 1024;

/**
 * A disk-image-like file in 1 MiB extents, as bench/peers/gen_disk_image.py makes them: 30 %
 * zeros, 35 % random, 15 % copies of an earlier extent, 20 % log-like text. `random: 1` makes
 * it all random (no dedup, no compression: for upload-count assertions).
 */
export async function makeImage(file: string, mib: number, seed: number, mix: { random?: number } = {}): Promise<void> {
  const next = rng(seed);
  const fh = await fs.open(file, 'w');
  const written: Buffer[] = [];
  try {
    for (let i = 0; i < mib; i++) {
      const r = mix.random === 1 ? 0.5 : next();
      let data: Buffer;
      if (r < 0.3) data = Buffer.alloc(MIB);
      else if (r < 0.65) data = randomBytes(next, MIB);
      else if (r < 0.8 && written.length) data = written[Math.floor(next() * written.length)]!;
      else {
        const line = `INFO host${Math.floor(next() * 32)} app[${Math.floor(next() * 65535)}]: request served id=${Math.floor(next() * 1e8)}\n`;
        data = Buffer.alloc(MIB, line);
      }
      if (r >= 0.3) written.push(data);
      await fh.write(data, 0, MIB, i * MIB);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Overwrites `percent` % of the 4 KiB blocks with random data: single blocks at random
 * positions (`scattered`) or runs of 64 blocks (`clustered`, 256 KiB). Returns the offsets.
 */
export async function mutate(file: string, seed: number, percent: number, mode: 'scattered' | 'clustered'): Promise<number[]> {
  const next = rng(seed);
  const { size } = await fs.stat(file);
  const blocks = Math.floor(size / 4096);
  const run = mode === 'scattered' ? 1 : 64;
  const count = Math.max(1, Math.floor((blocks * percent) / 100 / run));
  const starts = new Set<number>();
  while (starts.size < count) starts.add(Math.floor(next() * Math.floor(blocks / run)));
  const fh = await fs.open(file, 'r+');
  try {
    for (const s of starts) await fh.write(randomBytes(next, run * 4096), 0, run * 4096, s * run * 4096);
  } finally {
    await fh.close();
  }
  return [...starts].map((s) => s * run * 4096);
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const b of createReadStream(file, { highWaterMark: 4 * MIB })) h.update(b as Buffer);
  return h.digest('hex');
}

/** Digests of the fixed chunks of a file (null for all-zero chunks). */
export async function chunkDigests(file: string, chunkSize: number): Promise<(string | null)[]> {
  const data = await fs.readFile(file);
  const zero = Buffer.alloc(chunkSize);
  const out: (string | null)[] = [];
  for (let off = 0; off < data.length; off += chunkSize) {
    const c = data.subarray(off, Math.min(off + chunkSize, data.length));
    out.push(c.equals(zero.subarray(0, c.length)) ? null : createHash('sha256').update(c).digest('hex'));
  }
  return out;
}
