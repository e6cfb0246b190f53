/**
 * Backup benchmark: Ferry (real hub + built-in agent, bulk data on its local data socket, driven
 * through the REST API)
 * beside restic and borg on the same seeded disk image, in the same run.
 *
 *   node --import tsx bench/backup/run.ts        (npm run bench:backup)
 *
 * Env: BENCH_IMG_MIB (default 256; the issue's anchor is 2048), BENCH_SEED (42),
 *      BENCH_TOOLS ("ferry ferry-qcow2 restic borg borg64k"), BENCH_WORK (bench/work/backup).
 * ferry-qcow2: the same image as a qcow2 read through qemu-nbd, changed through qemu-nbd so
 * its dirty bitmap sees the writes: the incremental reads only the changed extents.
 * BENCH_OUT: the table's file (default bench/results/backup.md).
 * Two series, each on fresh repositories: full backup, incremental after 1 % of the 4 KiB
 * blocks were rewritten (scattered single blocks, or clustered 256 KiB runs: the generator of
 * bench/peers), then a restore of the incremental, checked by SHA-256. Page cache is dropped
 * before each timed step when the kernel allows it. Writes bench/results/backup.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync, copyFileSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../common/src/logger.ts';
import { loadConfig } from '../../hub/src/config/config.ts';
import { createHub, type Hub } from '../../hub/src/hub.ts';
import { sha256File } from '../../test/integration/backup/disk-image.ts';
import { applyChanges, ensureQemu, rawToQcow2 } from './qcow2.ts';
import { dropCaches } from './proc-stats.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MIB = Number(process.env.BENCH_IMG_MIB ?? 256);
const SEED = Number(process.env.BENCH_SEED ?? 42);
const TOOLS = (process.env.BENCH_TOOLS ?? 'ferry ferry-qcow2 restic borg borg64k').split(/\s+/).filter(Boolean);
const WORK = path.resolve(process.env.BENCH_WORK ?? path.join(ROOT, 'bench/work/backup'));
const GEN = [path.join(ROOT, '../shared/bench/peers/gen_disk_image.py'), '/work/shared/bench/peers/gen_disk_image.py'].find((p) => existsSync(p));

interface Row {
  tool: string;
  series: 'scattered' | 'clustered';
  step: 'full' | 'incremental' | 'restore';
  seconds: number;
  repoBytes?: number;
  note?: string;
}

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', ...opts, env: { ...process.env, ...opts.env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
}

function duBytes(p: string): number {
  return Number(execFileSync('du', ['-sb', p], { encoding: 'utf8' }).split('\t')[0]);
}

/** finished_at of the last Ferry job waited for: the end of a Ferry step, whatever the poll interval. */
let jobFinishedAt: number | null = null;

async function timed(fn: () => Promise<void> | void): Promise<number> {
  dropCaches();
  jobFinishedAt = null;
  const wall0 = Date.now();
  const t = process.hrtime.bigint();
  await fn();
  const polled = Number(process.hrtime.bigint() - t) / 1e9;
  return jobFinishedAt !== null ? Math.min(polled, (jobFinishedAt - wall0) / 1000) : polled;
}

function ensureTools(): void {
  const missing = ['restic', 'borg'].filter((t) => TOOLS.some((x) => x.startsWith(t)) && spawnSync('which', [t]).status !== 0);
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(', ')} from Debian...`);
  sh('apt-get', ['update', '-qq']);
  sh('apt-get', ['install', '-y', '-qq', ...missing.map((m) => (m === 'borg' ? 'borgbackup' : m))], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
}

/** Ferry through the REST API of an in-process hub whose built-in agent is a real child process. */
async function startFerry(): Promise<{ hub: Hub; url: string; key: string; agentId: string; dataDir: string }> {
  const dataDir = path.join(WORK, 'ferry-data');
  rmSync(dataDir, { recursive: true, force: true });
  const config = loadConfig({
    FERRY_DATA_DIR: dataDir,
    FERRY_HTTP_PORT: '0',
    FERRY_GRPC_PORT: '0',
    FERRY_BUILTIN_AGENT: 'on',
    FERRY_LOG_LEVEL: 'silent',
    FERRY_RATE_LIMIT_PER_MINUTE: '1000000',
    FERRY_AGENT_DISK_PATHS: path.join(WORK, 'img'),
    FERRY_AGENT_RESTORE_PATHS: path.join(WORK, 'restore'),
  });
  const hub = await createHub(config, { log: createLogger({ level: 'silent', name: 'bench' }), builtinStdio: 'ignore' });
  const { httpPort } = await hub.start();
  const key = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
  for (let i = 0; i < 300; i++) {
    const id = hub.agents.builtin.agentId;
    if (id && hub.agents.sessions.isOnline(id)) return { hub, url: `http://127.0.0.1:${httpPort}`, key, agentId: id, dataDir };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('built-in agent did not come online');
}

async function api(f: { url: string; key: string }, method: string, p: string, body?: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(f.url + p, { method, headers: { authorization: `Bearer ${f.key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const j = (await r.json()) as Record<string, unknown>;
  if (r.status >= 400) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}

async function waitJob(f: { url: string; key: string }, id: string): Promise<Record<string, unknown>> {
  for (;;) {
    const j = await api(f, 'GET', `/api/v1/jobs/${id}`);
    if (j.status === 'completed') {
      if (typeof j.finished_at === 'string') jobFinishedAt = Date.parse(j.finished_at);
      return j;
    }
    if (j.status === 'failed' || j.status === 'cancelled') throw new Error(`job ${id} ${String(j.status)}: ${JSON.stringify(j.error)}`);
    // The hub runs in this process: polling every few ms would take CPU from the step being timed.
    // The step's end is the job's finished_at, so a slow poll costs no precision.
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  if (!GEN) throw new Error('bench/peers/gen_disk_image.py not found beside the repository (../shared/bench/peers)');
  ensureTools();
  rmSync(WORK, { recursive: true, force: true });
  for (const d of ['img', 'restore', 'repos']) mkdirSync(path.join(WORK, d), { recursive: true });
  const base = path.join(WORK, 'base.img');
  const img = path.join(WORK, 'img', 'disk.img');
  console.log(`generating ${MIB} MiB image (seed ${SEED})`);
  sh('python3', [GEN, 'create', base, String(MIB), String(SEED)]);
  const imgBytes = statSync(base).size;
  const rows: Row[] = [];
  if (TOOLS.includes('ferry-qcow2')) ensureQemu();
  const ferry = TOOLS.some((t) => t.startsWith('ferry')) ? await startFerry() : null;
  const env = { RESTIC_PASSWORD: 'bench', RESTIC_CACHE_DIR: path.join(WORK, 'restic-cache'), BORG_BASE_DIR: path.join(WORK, 'borg-base'), BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes' };
  try {
    for (const series of ['scattered', 'clustered'] as const) {
      for (const tool of TOOLS) {
        copyFileSync(base, img);
        const repo = path.join(WORK, 'repos', `${tool}-${series}`);
        const out = path.join(WORK, 'restore', tool);
        rmSync(out, { recursive: true, force: true });
        mkdirSync(out, { recursive: true });
        let backup: () => Promise<void>;
        let restore: () => Promise<string>;
        let repoSize: () => number = () => duBytes(repo);
        let lastBackup = '';
        let afterMutate: () => Promise<void> = async () => undefined;
        let incNote = '';
        if (tool === 'ferry' || tool === 'ferry-qcow2') {
          const f = ferry!;
          const r = await api(f, 'POST', '/api/v1/repositories', { name: `bench-${tool}-${series}`, path: repo });
          let type: 'full' | 'incremental' = 'full';
          const source = tool === 'ferry' ? img : path.join(WORK, 'img', 'disk.qcow2');
          if (tool === 'ferry-qcow2') {
            rmSync(source, { force: true });
            rawToQcow2(img, source);
            afterMutate = async () => void (await applyChanges(base, img, source));
          }
          backup = async () => {
            const b = await api(f, 'POST', '/api/v1/backups', { source: { agent_id: f.agentId, path: source }, type, repository_id: r.id });
            await waitJob(f, String(b.job_id));
            lastBackup = String(b.id);
            if (type === 'incremental') incNote = `, read ${fmtMB(Number((await api(f, 'GET', `/api/v1/backups/${lastBackup}`)).bytes_read))} MB`;
            type = 'incremental';
          };
          restore = async () => {
            const target = path.join(out, 'disk.img');
            const j = await api(f, 'POST', `/api/v1/backups/${lastBackup}/restore`, { target: { agent_id: f.agentId, path: target } });
            await waitJob(f, String(j.job_id));
            return target;
          };
          repoSize = () => duBytes(repo);
        } else if (tool === 'restic') {
          sh('restic', ['init', '-q', '-r', repo], { env });
          backup = async () => sh('restic', ['backup', '-q', '-r', repo, '--host', 'bench', img], { env });
          restore = async () => {
            sh('restic', ['restore', '-q', '-r', repo, 'latest', '--target', out], { env });
            sh('sync', []);
            return path.join(out, img);
          };
        } else {
          const chunker = tool === 'borg64k' ? ['--chunker-params', 'fixed,65536'] : [];
          sh('borg', ['init', '-e', 'none', repo], { env });
          let n = 0;
          backup = async () => sh('borg', ['create', ...chunker, `${repo}::s${n++}`, img], { env });
          restore = async () => {
            sh('borg', ['extract', `${repo}::s${n - 1}`], { env, cwd: out });
            sh('sync', []);
            return path.join(out, img.replace(/^\//, ''));
          };
        }
        const tFull = await timed(backup);
        const afterFull = repoSize();
        rows.push({ tool, series, step: 'full', seconds: tFull, repoBytes: afterFull });
        sh('python3', [GEN, 'mutate', img, String(SEED + 1), '1', series]);
        await afterMutate();
        const tInc = await timed(backup);
        const afterInc = repoSize();
        rows.push({ tool, series, step: 'incremental', seconds: tInc, repoBytes: afterInc, note: `+${fmtMB(afterInc - afterFull)} MB${incNote}` });
        let restored = '';
        const tRes = await timed(async () => {
          restored = await restore();
        });
        const ok = (await sha256File(restored)) === (await sha256File(img));
        rows.push({ tool, series, step: 'restore', seconds: tRes, note: ok ? 'sha256 ok' : 'SHA-256 MISMATCH' });
        rmSync(out, { recursive: true, force: true });
        console.log(rows.slice(-3).map((r) => `${r.tool} ${r.series} ${r.step}: ${r.seconds.toFixed(2)} s ${r.note ?? ''}`).join('\n'));
      }
    }
  } finally {
    await ferry?.hub.stop().catch(() => undefined);
  }
  const md = report(rows, imgBytes);
  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(path.resolve(ROOT, process.env.BENCH_OUT ?? 'bench/results/backup.md'), md);
  console.log(md);
}

function fmtMB(b: number): string {
  return (b / 1e6).toLocaleString('en-US', { maximumFractionDigits: 1 });
}

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim().split('\n')[0]!;
  } catch {
    return 'n/a';
  }
}

function report(rows: Row[], imgBytes: number): string {
  const lines = [
    `# Backup benchmark (${MIB} MiB image)`,
    '',
    `Generated by \`bench/backup/run.ts\` on ${new Date().toISOString()} (${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? '?'}), image ${fmtMB(imgBytes)} MB from`,
    `bench/peers/gen_disk_image.py seed ${SEED}; each series on fresh repositories; incremental after 1 % of the 4 KiB blocks rewritten.`,
    `Ferry: hub + built-in agent (control over gRPC/mTLS, bulk data on the local data socket), REST-driven, fixed 64 KiB chunks, zstd, no encryption; ferry-qcow2 = the image as qcow2 through qemu-nbd, incremental from its dirty bitmap (1 % audit). ${version('restic', ['version'])}; ${version('borg', ['--version'])} (-e none; borg64k = --chunker-params fixed,65536).`,
    `MB = 10^6 bytes; MB/s = image size / seconds; repository = du -sb after the step.`,
    '',
    '| tool | series | step | seconds | MB/s | repository MB | note |',
    '|---|---|---|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.tool} | ${r.series} | ${r.step} | ${r.seconds.toFixed(2)} | ${(imgBytes / 1e6 / r.seconds).toFixed(1)} | ${r.repoBytes !== undefined ? fmtMB(r.repoBytes) : ''} | ${r.note ?? ''} |`);
  }
  return lines.join('\n') + '\n';
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
