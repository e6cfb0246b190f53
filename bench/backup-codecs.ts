/**
 * Measurements behind docs/repository-format.md: compression codecs, chunker speeds, and fixed
 * chunk sizes against 1 % scattered / clustered changes, on a seeded disk-image-like file with
 * the mix of shared/bench/peers/gen_disk_image.py (1 MiB extents: 30 % zeros, 35 % random,
 * 15 % copies of earlier extents, 20 % log text). Also a full backup and restore through the
 * Repository on the local disk (bench/repository-throughput.ts goes further: incremental, restore,
 * verify, open and gc on a generated image).
 *
 *   node --import tsx bench/backup-codecs.ts [image MiB, default 256]
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { Compressor, Decompressor } from 'zstd-napi';
import { cdcChunks, fixedChunks, isAllZero } from '../common/src/chunking/index.ts';
import { Repository, restoreSnapshot, type SnapshotManifest } from '../hub/src/backup/repository/index.ts';

const MiB = 1 << 20;
const BLK = 4096;
const sizeMiB = Number(process.argv[2] ?? 256);
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-bench-codecs-'));
const image = path.join(dir, 'disk.img');

/** Deterministic pseudo-random stream: AES-128-CTR of zeros under a key derived from a label. */
function randomStream(label: string, size: number): Buffer {
  const key = createHash('sha256').update(label).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

class Lcg {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    this.s = (Math.imul(this.s, 1664525) + 1013904223) >>> 0;
    return this.s / 2 ** 32;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

type Kind = 'zero' | 'random' | 'dup' | 'text';

async function generate(): Promise<Kind[]> {
  const rng = new Lcg(42);
  const levels = ['INFO', 'WARN', 'DEBUG', 'ERROR'];
  const procs = ['sshd', 'nginx', 'postgres', 'kernel', 'cron', 'systemd', 'app'];
  const msgs = ['connection accepted', 'request served', 'checkpoint complete', 'user login', 'cache miss', 'job finished', 'retrying operation', 'config reloaded', 'disk usage ok', 'timeout waiting for lock'];
  const vocab = Array.from(
    { length: 4096 },
    () =>
      `${levels[rng.int(4)]} host${String(rng.int(32)).padStart(2, '0')} ${procs[rng.int(7)]}[${1 + rng.int(65534)}]: ${msgs[rng.int(10)]} id=${rng.int(2 ** 32).toString(16).padStart(8, '0')} took=${rng.int(5000)}ms`,
  );
  const kinds: Kind[] = [];
  const written: number[] = [];
  const fh = await fs.open(image, 'w+');
  for (let i = 0; i < sizeMiB; i++) {
    const r = rng.next();
    let kind: Kind;
    let data: Buffer;
    if (r < 0.3) {
      kind = 'zero';
      data = Buffer.alloc(MiB);
    } else if (r < 0.65) {
      kind = 'random';
      data = randomStream(`extent-${i}`, MiB);
    } else if (r < 0.8 && written.length > 0) {
      kind = 'dup';
      data = Buffer.alloc(MiB);
      await fh.read(data, 0, MiB, written[rng.int(written.length)]! * MiB);
    } else {
      kind = 'text';
      const lines: string[] = [];
      for (let n = 0; n < MiB / 40; n++) lines.push(vocab[rng.int(vocab.length)]!);
      data = Buffer.alloc(MiB, 10);
      Buffer.from(lines.join('\n')).copy(data, 0, 0, MiB);
    }
    await fh.write(data, 0, MiB, i * MiB);
    kinds.push(kind);
    if (kind !== 'zero') written.push(i);
  }
  await fh.close();
  return kinds;
}

/** Blocks rewritten by a 1 % change: single 4 KiB blocks (scattered) or runs of 64 (clustered). */
function mutation(mode: 'scattered' | 'clustered'): Map<number, Buffer> {
  const rng = new Lcg(mode === 'scattered' ? 7 : 8);
  const nblk = (sizeMiB * MiB) / BLK;
  const run = mode === 'scattered' ? 1 : 64;
  const target = Math.floor(nblk / 100 / run);
  const starts = new Set<number>();
  while (starts.size < target) starts.add(rng.int(nblk / run));
  const blocks = new Map<number, Buffer>();
  for (const s of starts) for (let b = s * run; b < s * run + run; b++) blocks.set(b, randomStream(`${mode}-${b}`, BLK));
  return blocks;
}

/** The image as a stream of 1 MiB reads, with a mutation applied on the fly (no second file). */
async function* readImage(changes?: Map<number, Buffer>): AsyncGenerator<Buffer> {
  let offset = 0;
  for await (const piece of createReadStream(image, { highWaterMark: MiB })) {
    const buf = piece as Buffer;
    if (changes) {
      for (let b = offset / BLK; b < (offset + buf.length) / BLK; b++) {
        const c = changes.get(b);
        if (c) c.copy(buf, b * BLK - offset);
      }
    }
    offset += buf.length;
    yield buf;
  }
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const mbps = (bytes: number, ms: number): string => ((bytes / 1e6) / (ms / 1000)).toFixed(0);
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

// ---------------------------------------------------------------------------------------------
const t0 = performance.now();
const kinds = await generate();
const count = (k: Kind): number => kinds.filter((x) => x === k).length;
console.log(`# Ferry backup measurements: ${sizeMiB} MiB image (${count('zero')} zero, ${count('random')} random, ${count('dup')} dup, ${count('text')} text 1 MiB extents), generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log(`node ${process.version}, ${os.cpus().length} CPU(s): ${os.cpus()[0]?.model ?? '?'}\n`);

// ---- 1. codecs on 64 KiB chunks of the image (zero chunks excluded: they are never stored) --
interface Codec {
  name: string;
  compress(b: Buffer): Buffer;
  decompress(b: Buffer): Buffer;
}
function zstd(level: number): Codec {
  const c = new Compressor();
  c.setParameters({ compressionLevel: level });
  const d = new Decompressor();
  return { name: `zstd ${level}`, compress: (b) => c.compress(b), decompress: (b) => d.decompress(b) };
}
const codecs: Codec[] = [
  zstd(1),
  zstd(3),
  zstd(6),
  { name: 'gzip 1', compress: (b) => zlib.gzipSync(b, { level: 1 }), decompress: (b) => zlib.gunzipSync(b) },
  { name: 'gzip 6', compress: (b) => zlib.gzipSync(b, { level: 6 }), decompress: (b) => zlib.gunzipSync(b) },
  {
    name: 'brotli 1',
    compress: (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length } }),
    decompress: (b) => zlib.brotliDecompressSync(b),
  },
  {
    name: 'brotli 4',
    compress: (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length } }),
    decompress: (b) => zlib.brotliDecompressSync(b),
  },
];

// A sample of up to 96 MiB of distinct non-zero chunks keeps brotli's run short.
const sample: { kind: Kind; data: Buffer }[] = [];
{
  const seen = new Set<string>();
  let bytes = 0;
  for await (const c of fixedChunks(readImage(), { size: 64 * 1024 })) {
    if (bytes >= 96 * MiB) break;
    if (isAllZero(c.data)) continue;
    const d = sha(c.data);
    if (seen.has(d)) continue;
    seen.add(d);
    sample.push({ kind: kinds[Math.floor(c.offset / MiB)]!, data: Buffer.from(c.data) });
    bytes += c.data.length;
  }
}
const sampleBytes = sample.reduce((n, s) => n + s.data.length, 0);
const byKind = (k: Kind): Buffer[] => sample.filter((s) => s.kind === k || (k === 'random' && s.kind === 'dup')).map((s) => s.data);
console.log(`## Codecs: ${mb(sampleBytes)} MB of distinct non-zero 64 KiB chunks; a chunk is stored raw when it saves < 1/32`);
console.log('| codec | stored / input | text ratio | random stored raw | compress MB/s (all) | compress MB/s (text) | decompress MB/s |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const codec of codecs) {
  let stored = 0;
  let rawCount = 0;
  const packed: (Buffer | null)[] = [];
  const tc = performance.now();
  for (const s of sample) {
    const p = codec.compress(s.data);
    const keep = p.length <= s.data.length - (s.data.length >> 5);
    packed.push(keep ? p : null);
    stored += 1 + (keep ? p.length : s.data.length);
    if (!keep) rawCount++;
  }
  const compressMs = performance.now() - tc;
  const td = performance.now();
  let out = 0;
  for (const p of packed) if (p) out += codec.decompress(p).length;
  const decompressMs = performance.now() - td;
  const text = byKind('text');
  const textIn = text.reduce((n, b) => n + b.length, 0);
  const textOut = text.reduce((n, b) => n + codec.compress(b).length, 0);
  const randomCount = byKind('random').length;
  const tt = performance.now();
  for (const b of text) codec.compress(b);
  const textMs = performance.now() - tt;
  console.log(
    `| ${codec.name} | ${(stored / sampleBytes).toFixed(3)} | ${(textIn / textOut).toFixed(2)} | ${rawCount}/${randomCount} | ${mbps(sampleBytes, compressMs)} | ${mbps(textIn, textMs)} | ${mbps(out, decompressMs)} (compressed chunks only) |`,
  );
}

// ---- 2. chunker speeds over the image file -------------------------------------------------
console.log('\n## Chunkers over the image file (read from page cache)');
console.log('| chunker | chunks | mean size | MB/s chunking only | MB/s with SHA-256 |');
console.log('|---|---:|---:|---:|---:|');
const total = sizeMiB * MiB;
const chunkers: [string, () => AsyncGenerator<{ data: Buffer }>][] = [
  ['fixed 64 KiB', () => fixedChunks(readImage(), { size: 64 * 1024 })],
  ['FastCDC 16/64/256 KiB', () => cdcChunks(readImage(), { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 })],
  ['FastCDC 64/256/1024 KiB', () => cdcChunks(readImage(), { min: 64 * 1024, avg: 256 * 1024, max: 1024 * 1024 })],
  ['FastCDC 256 KiB/1/4 MiB', () => cdcChunks(readImage(), { min: 256 * 1024, avg: MiB, max: 4 * MiB })],
];
for (const [name, make] of chunkers) {
  let n = 0;
  let t = performance.now();
  for await (const c of make()) n += c.data.length > 0 ? 1 : 0;
  const plain = performance.now() - t;
  t = performance.now();
  for await (const c of make()) sha(c.data);
  const hashed = performance.now() - t;
  console.log(`| ${name} | ${n} | ${((total / n) / 1024).toFixed(0)} KiB | ${mbps(total, plain)} | ${mbps(total, hashed)} |`);
}
{
  const t = performance.now();
  for await (const b of readImage()) void b;
  console.log(`| (reading the file alone) | | | ${mbps(total, performance.now() - t)} | |`);
}

// ---- 3. chunk size against 1 % changes -----------------------------------------------------
const chosen = zstd(1);
const storedSize = (b: Buffer): number => {
  const p = chosen.compress(b);
  return 1 + (p.length <= b.length - (b.length >> 5) ? p.length : b.length);
};
async function chunkSet(make: () => AsyncGenerator<{ data: Buffer }>, have: Set<string>): Promise<{ added: number; chunks: number }> {
  let added = 0;
  let chunks = 0;
  for await (const c of make()) {
    chunks++;
    if (isAllZero(c.data)) continue;
    const d = sha(c.data);
    if (have.has(d)) continue;
    have.add(d);
    added += storedSize(c.data);
  }
  return { added, chunks };
}
const scattered = mutation('scattered');
const clustered = mutation('clustered');
console.log(`\n## Chunk size against 1 % changes (${scattered.size} scattered 4 KiB blocks = ${mb(scattered.size * BLK)} MB; ${clustered.size} blocks in 256 KiB runs); zstd 1, zero chunks not stored`);
console.log('| chunking | full stored MB | scattered 1 %: added MB | clustered 1 %: added MB | chunks per GiB | manifest per GiB |');
console.log('|---|---:|---:|---:|---:|---:|');
const layouts: [string, (changes?: Map<number, Buffer>) => AsyncGenerator<{ data: Buffer }>, number][] = [
  ['fixed 64 KiB', (c) => fixedChunks(readImage(c), { size: 64 * 1024 }), 64 * 1024],
  ['fixed 256 KiB', (c) => fixedChunks(readImage(c), { size: 256 * 1024 }), 256 * 1024],
  ['fixed 1 MiB', (c) => fixedChunks(readImage(c), { size: MiB }), MiB],
  ['fixed 4 MiB', (c) => fixedChunks(readImage(c), { size: 4 * MiB }), 4 * MiB],
  ['FastCDC 256 KiB/1/4 MiB', (c) => cdcChunks(readImage(c), { min: 256 * 1024, avg: MiB, max: 4 * MiB }), 0],
];
for (const [name, make, size] of layouts) {
  const have = new Set<string>();
  const full = await chunkSet(() => make(), have);
  const s = await chunkSet(() => make(scattered), new Set(have));
  const c = await chunkSet(() => make(clustered), new Set(have));
  const perGiB = size > 0 ? 1024 * MiB / size : Math.round((full.chunks * 1024) / sizeMiB);
  console.log(`| ${name} | ${mb(full.added)} | ${mb(s.added)} | ${mb(c.added)} | ${perGiB} | ${mb(perGiB * 67)} |`);
}

// ---- 3b. content-defined chunk sizes on a database dump after a few row updates ----------
/**
 * A COPY-text-like dump. `edit` updates 0.1 % of the rows: a run of recent ones in the middle
 * plus 20 single rows spread out; amounts get longer, so every later byte shifts.
 */
async function* dump(mib: number, edit: boolean): AsyncGenerator<Buffer> {
  const rng = new Lcg(99);
  const notes = ['shipped', 'pending payment', 'returned by customer', 'gift wrap', 'express delivery requested'];
  let row = 0;
  const rows = Math.floor((mib * MiB) / 55);
  const runStart = Math.floor(rows / 2);
  const runEnd = runStart + Math.floor(rows / 1000) - 20;
  const singles = new Set(Array.from({ length: 20 }, (_, i) => Math.floor(((i + 0.5) * rows) / 20)));
  const edited = (r: number): boolean => edit && ((r >= runStart && r < runEnd) || singles.has(r));
  for (let out = 0; out < mib * MiB; ) {
    const lines: string[] = [];
    for (let n = 0; n < 4096; n++, row++) {
      const amount = rng.int(100000) / 100;
      const shown = edited(row) ? (amount * 10 + 0.01).toFixed(2) : amount.toFixed(2);
      lines.push(`${row}\t${rng.int(200000)}\t2026-0${1 + rng.int(9)}-1${rng.int(10)} 1${rng.int(10)}:0${rng.int(10)}:00\t${shown}\t${notes[rng.int(5)]}\n`);
    }
    const b = Buffer.from(lines.join(''));
    out += b.length;
    yield b;
  }
}
const dumpMiB = Math.max(16, sizeMiB / 4);
console.log(`\n## Content-defined chunking of a ${dumpMiB} MiB COPY-text dump, then the same dump with 0.1 % of rows updated (row lengths change)`);
console.log('| chunking | chunks | first dump stored MB | after the update: added MB |');
console.log('|---|---:|---:|---:|');
for (const [name, cut] of [
  ['FastCDC 16/64/256 KiB', (src: AsyncGenerator<Buffer>) => cdcChunks(src, { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 })],
  ['FastCDC 64/256/1024 KiB', (src: AsyncGenerator<Buffer>) => cdcChunks(src, { min: 64 * 1024, avg: 256 * 1024, max: MiB })],
  ['FastCDC 256 KiB/1/4 MiB', (src: AsyncGenerator<Buffer>) => cdcChunks(src, { min: 256 * 1024, avg: MiB, max: 4 * MiB })],
  ['fixed 64 KiB (for contrast)', (src: AsyncGenerator<Buffer>) => fixedChunks(src, { size: 64 * 1024 })],
] as const) {
  const have = new Set<string>();
  const first = await chunkSet(() => cut(dump(dumpMiB, false)), have);
  const second = await chunkSet(() => cut(dump(dumpMiB, true)), have);
  console.log(`| ${name} | ${first.chunks} | ${mb(first.added)} | ${mb(second.added)} |`);
}

// ---- 4. through the Repository: full, scattered incremental, restore -----------------------
console.log('\n## Repository on the local disk (format 2: 64 KiB fixed chunks, zstd 1, pack files with one fsync each, 16 uploads in flight; bench/repository-throughput.ts measures this path in detail)');
const repo = await Repository.init(path.join(dir, 'repo'));
async function backupImage(id: string, changes?: Map<number, Buffer>): Promise<{ ms: number; added: number }> {
  const before = repo.stats().storedBytes;
  const t = performance.now();
  const chunks: (string | null)[] = [];
  const inflight = new Set<Promise<unknown>>();
  for await (const c of fixedChunks(readImage(changes), { size: 64 * 1024 })) {
    if (isAllZero(c.data)) {
      chunks.push(null);
      continue;
    }
    const d = sha(c.data);
    chunks.push(d);
    if ((await repo.hasChunks([d]))[0]) continue;
    const p = repo.putChunk(d, c.data).finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= 16) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const m: SnapshotManifest = { format: 1, id, kind: 'disk', createdAt: new Date().toISOString(), size: total, chunkSize: 64 * 1024, chunks };
  await repo.writeSnapshot(m);
  return { ms: performance.now() - t, added: repo.stats().storedBytes - before };
}
console.log('| step | s | MB/s of image | stored MB added |');
console.log('|---|---:|---:|---:|');
const full = await backupImage('full');
console.log(`| full backup | ${(full.ms / 1000).toFixed(2)} | ${mbps(total, full.ms)} | ${mb(full.added)} |`);
const inc = await backupImage('inc-scattered', scattered);
console.log(`| incremental, scattered 1 % (reads and hashes everything) | ${(inc.ms / 1000).toFixed(2)} | ${mbps(total, inc.ms)} | ${mb(inc.added)} |`);
{
  const t = performance.now();
  const h = createHash('sha256');
  for await (const b of restoreSnapshot(repo, 'inc-scattered', { zeros: 'buffer' })) h.update(b.data!);
  const ms = performance.now() - t;
  const expect = createHash('sha256');
  for await (const b of readImage(scattered)) expect.update(b);
  const same = h.digest('hex') === expect.digest('hex');
  console.log(`| restore to a hash (no disk write), verified ${same ? 'identical' : 'DIFFERENT'} | ${(ms / 1000).toFixed(2)} | ${mbps(total, ms)} | |`);
}
const st = repo.stats();
console.log(`\nrepository: ${mb(st.storedBytes)} MB stored, ${st.chunkCount} chunks, logical ${mb(st.logicalBytes)} MB, ratio ${st.dedupRatio.toFixed(2)}`);
await fs.rm(dir, { recursive: true, force: true });
