/**
 * End-to-end throughput of the repository on the local disk (docs/repository-format.md,
 * "Format 2 measurements"): a full backup of a seeded disk image through `Repository` (read,
 * fixed 64 KiB chunks, zero test, SHA-256, hasChunks per 4 MiB read, putChunk with 16 in
 * flight, writeSnapshot), an incremental after a scattered 1 % change, and a restore to a file,
 * checked byte for byte.
 *
 *   node --import tsx bench/repository-throughput.ts [image MiB, default 256] [seed, default 1]
 *
 * The image comes from shared/bench/peers/gen_disk_image.py (the same generator the restic and
 * borg anchors used); it is cached in $FERRY_BENCH_DIR (default the OS temp folder).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fixedChunks, isAllZero } from '../common/src/chunking/index.ts';
import * as current from '../hub/src/backup/repository/index.ts';
import type { SnapshotManifest } from '../hub/src/backup/repository/index.ts';

// FERRY_REPOSITORY_MODULE points at another copy of the repository code (e.g. format 1 from
// git history) to measure it on the same machine in the same minute.
const mod = (process.env.FERRY_REPOSITORY_MODULE ? await import(path.resolve(process.env.FERRY_REPOSITORY_MODULE)) : current) as typeof current;
const { Repository, restoreSnapshot, restoreSnapshotToFile } = mod;
type Repository = current.Repository;

const sizeMiB = Number(process.argv[2] ?? 256);
const seed = Number(process.argv[3] ?? 1);
const GEN = process.env.FERRY_GEN_DISK_IMAGE ?? '/work/shared/bench/peers/gen_disk_image.py';
const cacheDir = process.env.FERRY_BENCH_DIR ?? os.tmpdir();
const CHUNK = 64 * 1024;
const READ = 4 * 1024 * 1024;

const base = path.join(cacheDir, `ferry-bench-disk-${sizeMiB}m-s${seed}.img`);
const changed = path.join(cacheDir, `ferry-bench-disk-${sizeMiB}m-s${seed}-scattered1.img`);
if (!existsSync(base)) execFileSync('python3', [GEN, 'create', base, String(sizeMiB), String(seed)], { stdio: 'inherit' });
if (!existsSync(changed)) {
  await fs.copyFile(base, changed);
  execFileSync('python3', [GEN, 'mutate', changed, String(seed), '1', 'scattered'], { stdio: 'inherit' });
}

const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-bench-repo-'));
const total = sizeMiB * 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const mbps = (bytes: number, ms: number): string => (bytes / 1e6 / (ms / 1000)).toFixed(0);
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
/** CPU seconds (user + system, all threads of this process) used by `f`: steadier than wall time on a shared machine. */
async function timed<T>(f: () => Promise<T>): Promise<{ r: T; ms: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t = performance.now();
  const r = await f();
  const c = process.cpuUsage(c0);
  return { r, ms: performance.now() - t, cpu: (c.user + c.system) / 1e6 };
}

async function* readFile(file: string): AsyncGenerator<Buffer> {
  const fh = await fs.open(file, 'r');
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(READ);
      const { bytesRead } = await fh.read(buf, 0, READ, null);
      if (bytesRead === 0) return;
      yield bytesRead === READ ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

async function fileHash(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const b of readFile(file)) h.update(b);
  return h.digest('hex');
}

/** Reading, chunking and hashing alone: the ceiling any repository write path sits under. */
async function readHashOnly(file: string): Promise<number> {
  const t = performance.now();
  for await (const c of fixedChunks(readFile(file), { size: CHUNK })) if (!isAllZero(c.data)) sha(c.data);
  return performance.now() - t;
}

async function backupFile(repo: Repository, id: string, file: string): Promise<{ ms: number; added: number; uploaded: number }> {
  const before = repo.stats().storedBytes;
  const t = performance.now();
  const chunks: (string | null)[] = [];
  const inflight = new Set<Promise<unknown>>();
  let uploaded = 0;
  let batch: { d: string; data: Buffer }[] = [];
  const send = async (): Promise<void> => {
    const have = await repo.hasChunks(batch.map((b) => b.d));
    for (let i = 0; i < batch.length; i++) {
      if (have[i]) continue;
      uploaded++;
      const p = repo.putChunk(batch[i]!.d, batch[i]!.data).finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= 16) await Promise.race(inflight);
    }
    batch = [];
  };
  for await (const c of fixedChunks(readFile(file), { size: CHUNK })) {
    if (isAllZero(c.data)) {
      chunks.push(null);
      continue;
    }
    const d = sha(c.data);
    chunks.push(d);
    batch.push({ d, data: c.data });
    if (batch.length >= READ / CHUNK) await send();
  }
  await send();
  await Promise.all(inflight);
  const m: SnapshotManifest = { format: 1, id, kind: 'disk', createdAt: new Date().toISOString(), size: total, chunkSize: CHUNK, chunks };
  await repo.writeSnapshot(m);
  return { ms: performance.now() - t, added: repo.stats().storedBytes - before, uploaded };
}

async function du(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += (await fs.stat(path.join(e.parentPath, e.name))).size;
  }
  return n;
}

const row = (step: string, x: { ms: number; cpu: number }, extra = '| |'): void =>
  console.log(`| ${step} | ${(x.ms / 1000).toFixed(2)} | ${mbps(total, x.ms)} | ${x.cpu.toFixed(2)} | ${extra}`);

try {
  const root = path.join(work, 'repo');
  const threads = process.env.FERRY_ENCODE_THREADS === undefined ? undefined : Number(process.env.FERRY_ENCODE_THREADS);
  const repo = await Repository.init(root, {}, threads === undefined ? {} : { encodeThreads: threads });
  console.log(`## Repository format ${repo.config.format}, ${sizeMiB} MiB image (seed ${seed}), 64 KiB chunks, zstd ${repo.config.compression.level}, encode threads ${threads ?? 'default'}, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)}`);
  const ceiling = await timed(() => readHashOnly(base));
  console.log(`\nread + chunk + SHA-256 alone (page cache): ${(ceiling.ms / 1000).toFixed(2)} s, ${mbps(total, ceiling.ms)} MB/s, ${ceiling.cpu.toFixed(2)} CPU s\n`);
  console.log('| step | s | MB/s of image | CPU s | chunks uploaded | stored MB added |');
  console.log('|---|---:|---:|---:|---:|---:|');
  const full = await timed(() => backupFile(repo, 'full', base));
  row('full backup', full, `${full.r.uploaded} | ${mb(full.r.added)} |`);
  const inc = await timed(() => backupFile(repo, 'inc-scattered', changed));
  row('incremental, scattered 1 %', inc, `${inc.r.uploaded} | ${mb(inc.r.added)} |`);
  for (const [id, src] of [['full', base], ['inc-scattered', changed]] as const) {
    const out = path.join(work, `${id}.out`);
    const r = await timed(() => restoreSnapshotToFile(repo, id, out));
    const same = (await fileHash(out)) === (await fileHash(src));
    row(`restore ${id} to a file (fsync), ${same ? 'identical' : 'DIFFERENT'}`, r);
    await fs.rm(out);
  }
  const rh = await timed(async () => {
    const h = createHash('sha256');
    for await (const b of restoreSnapshot(repo, 'inc-scattered', { zeros: 'buffer' })) h.update(b.data!);
    return h.digest('hex');
  });
  row(`restore inc-scattered into a hash (no disk write), ${rh.r === (await fileHash(changed)) ? 'identical' : 'DIFFERENT'}`, rh);
  const v = await timed(() => repo.verifySnapshot('inc-scattered'));
  row(`verify inc-scattered (${v.r.checked} chunks, ok=${v.r.ok})`, v);
  const o = await timed(() => Repository.open(root, threads === undefined ? {} : { encodeThreads: threads }));
  row(`open (load ${o.r.stats().packCount} pack indexes)`, o);
  await repo.deleteSnapshot('full');
  const g = await timed(() => repo.gc({ graceMs: 0, now: Date.now() + 60_000 }));
  row(`gc after deleting the full (${g.r.deletedChunks} chunks deleted, ${g.r.packsDeleted} packs deleted, ${g.r.packsRepacked} repacked, ${mb(g.r.reclaimedBytes)} MB freed)`, g);
  const st = repo.stats();
  console.log(
    `\nrepository after gc: ${mb(st.storedBytes)} MB of chunks, ${st.chunkCount} chunks in ${st.packCount} packs (${mb(st.packBytes ?? 0)} MB), ${mb(await du(root))} MB on disk`,
  );
  await (repo as { close?: () => Promise<void> }).close?.();
} finally {
  await fs.rm(work, { recursive: true, force: true });
}
