/**
 * Wall and CPU time of ferry-qcow2 backups through the real hub and its built-in agent, split
 * by process: hub (this process), agent, and the agent's children (qemu-img, qemu-nbd: counted
 * once they have exited). CPU seconds stay comparable on a shared, loaded machine where wall
 * times do not.
 *
 *   BENCH_IMG_MIB=2048 node --import tsx bench/backup/qcow2-profile.ts
 *
 * Env: BENCH_IMG_MIB (2048), BENCH_WORK (/tmp/ferry-qcow2-profile), SERIES ("scattered clustered"),
 * PROFILE_RESTORE=1 (then restore the incremental), DROP_CACHES=1 (cold page cache per step), PRINT_LOGS=1 (the job logs with times), PROFILE_TIMELINE=1, PROFILE_STEP (full, incremental or restore: a V8 CPU profile of the agent during that step, written to
 * BENCH_WORK/cpu; summarize with cpu-top.ts).
 * Per series: a fresh repository, a full backup of the image as qcow2, then 1 % of its 4 KiB
 * blocks rewritten through qemu-nbd (the dirty bitmap records them) and an incremental.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProfiledHub } from './profile-hub.ts';
import { dropCaches, meterStep, procCpu as procStat } from './proc-stats.ts';
import { applyChanges, ensureQemu, rawToQcow2 } from './qcow2.ts';

/** [own CPU, waited-for children's CPU] in seconds. */
function procCpu(pid: number): [number, number] {
  const c = procStat(pid);
  return [c.user + c.sys, c.children];
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MIB = Number(process.env.BENCH_IMG_MIB ?? 2048);
const WORK = path.resolve(process.env.BENCH_WORK ?? '/tmp/ferry-qcow2-profile');
const SERIES = (process.env.SERIES ?? 'scattered clustered').split(/\s+/).filter(Boolean);
const GEN = [path.join(ROOT, '../shared/bench/peers/gen_disk_image.py'), '/work/shared/bench/peers/gen_disk_image.py'].find((p) => existsSync(p))!;
/** Starts or stops the agent's profiler, and this process's (the hub's) when it was started with the toggle preloaded. */
function signalProfilers(agent: number): void {
  process.kill(agent, 'SIGUSR2');
  if (process.listenerCount('SIGUSR2') > 0) process.kill(process.pid, 'SIGUSR2');
}

async function main(): Promise<void> {
  ensureQemu();
  rmSync(WORK, { recursive: true, force: true });
  for (const d of ['img', 'repo', 'restore']) mkdirSync(path.join(WORK, d), { recursive: true });
  const base = path.join(WORK, 'base.img');
  const raw = path.join(WORK, 'changed.img');
  const img = path.join(WORK, 'img', 'disk.qcow2');
  spawnSync('python3', [GEN, 'create', base, String(MIB), '42']);
  const profileStep = process.env.PROFILE_STEP;
  const { hub, agentId, pid, api } = await startProfiledHub(ROOT, WORK, 'qcow2-profile', Boolean(profileStep));
  const wait = async (id: string): Promise<number> => {
    for (;;) {
      const j = await api('GET', `/api/v1/jobs/${id}`);
      if (j.status === 'completed') return Date.parse(String(j.finished_at));
      if (j.status === 'failed') throw new Error(JSON.stringify(j.error));
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    for (const series of SERIES) {
      rmSync(img, { force: true });
      rawToQcow2(base, img);
      copyFileSync(base, raw);
      spawnSync('python3', [GEN, 'mutate', raw, '43', '1', series]);
      const repo = await api('POST', '/api/v1/repositories', { name: `q-${series}`, path: path.join(WORK, 'repo', series) });
      let last = '';
      const ids: Record<string, string> = {};
      // PROFILE_RESTORE=1: restore the incremental; =2: the full and the incremental, alternated twice (patches' cost).
      const restores = process.env.PROFILE_RESTORE === '2' ? ['restore-full', 'restore', 'restore-full', 'restore'] : process.env.PROFILE_RESTORE ? ['restore'] : [];
      const steps = ['full', 'incremental', ...restores];
      for (const type of steps) {
        if (type === 'incremental') await applyChanges(base, raw, img);
        if (type === profileStep) signalProfilers(pid);
        if (process.env.DROP_CACHES) dropCaches();
        const meter = meterStep(process.pid, pid, Boolean(process.env.PROFILE_TIMELINE));
        const h0 = process.cpuUsage();
        const [a0, c0] = procCpu(pid);
        const t0 = Date.now();
        const from = type === 'restore-full' ? ids.full! : last;
        const b = type.startsWith('restore')
          ? { ...(await api('POST', `/api/v1/backups/${from}/restore`, { target: { agent_id: agentId, path: path.join(WORK, 'restore', `${series}.raw`) } })), id: from }
          : await api('POST', '/api/v1/backups', { source: { agent_id: agentId, path: img }, type, repository_id: repo.id });
        if (!type.startsWith('restore')) last = ids[type] = String(b.id);
        const end = await wait(String(b.job_id));
        // The job's own end, not when the poll noticed it.
        const wall = (Math.min(Date.now(), end) - t0) / 1000;
        const h = process.cpuUsage(h0);
        const [a1, c1] = procCpu(pid);
        if (type === profileStep) signalProfilers(pid);
        for (const l of meter.stop()) console.log(l);
        if (process.env.PRINT_LOGS) {
          const logs = (await api('GET', `/api/v1/jobs/${String(b.job_id)}/logs`)).data as { timestamp: string; message: string }[];
          for (const l of logs) console.log(`  +${((Date.parse(l.timestamp) - t0) / 1000).toFixed(3)} s  ${l.message.slice(0, 160)}`);
        }
        const got = await api('GET', `/api/v1/backups/${String(b.id)}`);
        console.log(
          `${series.padEnd(10)} ${type.padEnd(12)} wall ${wall.toFixed(2)} s  hub cpu ${((h.user + h.system) / 1e6).toFixed(2)} s  agent cpu ${(a1 - a0).toFixed(2)} s  qemu cpu ${(c1 - c0).toFixed(2)} s  read ${(Number(got.bytes_read) / 1e6).toFixed(1)} MB`,
        );
      }
    }
  } finally {
    await hub.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
