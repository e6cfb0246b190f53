/**
 * CPU and wall time of Ferry's own backup steps, split by process: the in-process hub and its
 * built-in agent child. For finding where time goes, not for comparing with peers (run.ts).
 *
 *   BENCH_IMG_MIB=512 node --import tsx bench/backup/profile.ts
 *
 * PROFILE_AGENT=1 writes a V8 CPU profile of the agent to bench/work/profile/cpu (preload
 * cpu-prof-toggle.cjs, covering the timed steps only; inspect with Chrome DevTools or summarize
 * with cpu-top.ts); run the hub
 * side with `node --cpu-prof` for the same on the hub. PROFILE_STEPS picks steps.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProfiledHub } from './profile-hub.ts';
import { dropCaches, meterStep, procCpu } from './proc-stats.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MIB = Number(process.env.BENCH_IMG_MIB ?? 512);
const WORK = path.join(ROOT, 'bench/work/profile');
const GEN = [path.join(ROOT, '../shared/bench/peers/gen_disk_image.py'), '/work/shared/bench/peers/gen_disk_image.py'].find((p) => existsSync(p))!;
async function main(): Promise<void> {
  rmSync(WORK, { recursive: true, force: true });
  for (const d of ['img', 'restore', 'repo']) mkdirSync(path.join(WORK, d), { recursive: true });
  // Kept between runs (the generator is seeded): profiling runs repeat, generating takes ~15 s.
  const base = path.join(WORK, `../profile-base-${MIB}.img`);
  const img = path.join(WORK, 'img', 'disk.img');
  if (!existsSync(base)) spawnSync('python3', [GEN, 'create', base, String(MIB), '42']);
  copyFileSync(base, img);
  const { hub, agentId, pid, api } = await startProfiledHub(ROOT, WORK, 'profile', Boolean(process.env.PROFILE_AGENT));
  let finishedAt = NaN;
  const wait = async (id: string) => {
    for (;;) {
      const j = await api('GET', `/api/v1/jobs/${id}`);
      if (j.status === 'completed') {
        finishedAt = Date.parse(String(j.finished_at));
        return j;
      }
      if (j.status === 'failed') throw new Error(JSON.stringify(j.error));
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const repo = await api('POST', '/api/v1/repositories', { name: 'p', path: process.env.PROFILE_REPO_DIR ?? path.join(WORK, 'repo', 'r') });
  const step = async (name: string, fn: () => Promise<void>) => {
    dropCaches();
    const h0 = process.cpuUsage();
    const a0 = procCpu(pid);
    const t0 = Date.now();
    const meter = meterStep(process.pid, pid, Boolean(process.env.PROFILE_TIMELINE));
    await fn();
    const lines = meter.stop();
    // The job's own end, not when the (slow, so as not to load the hub) poll noticed it.
    const wall = (Math.min(Date.now(), finishedAt) - t0) / 1000;
    const h = process.cpuUsage(h0);
    const a1 = procCpu(pid);
    for (const l of lines) console.log(l);
    console.log(`${name.padEnd(12)} wall ${wall.toFixed(2)} s  hub cpu ${((h.user + h.system) / 1e6).toFixed(2)} s (sys ${(h.system / 1e6).toFixed(2)})  agent cpu ${(a1.user + a1.sys - a0.user - a0.sys).toFixed(2)} s (sys ${(a1.sys - a0.sys).toFixed(2)})`);
  };
  let last = '';
  const backup = (type: string) => async () => {
    const b = await api('POST', '/api/v1/backups', { source: { agent_id: agentId, path: img }, type, repository_id: repo.id });
    await wait(String(b.job_id));
    last = String(b.id);
  };
  const steps = (process.env.PROFILE_STEPS ?? 'full incremental restore').split(/\s+/);
  if (process.env.PROFILE_AGENT) process.kill(pid, 'SIGUSR2'); // starts the agent's profiler
  if (steps.includes('full')) await step('full', backup('full'));
  if (steps.includes('incremental')) {
    spawnSync('python3', [GEN, 'mutate', img, '43', '1', 'scattered']);
    await step('incremental', backup('incremental'));
  }
  if (steps.includes('restore')) {
    await step('restore', async () => {
      const j = await api('POST', `/api/v1/backups/${last}/restore`, { target: { agent_id: agentId, path: path.join(WORK, 'restore', 'disk.img') } });
      const done = await wait(String(j.job_id));
      const agent = (done.result as { agent?: Record<string, unknown> } | null)?.agent;
      if (agent) console.log(`  restore result: ${JSON.stringify(agent)}`);
    });
  }
  if (process.env.PROFILE_AGENT) {
    process.kill(pid, 'SIGUSR2'); // stops it and writes the profile
    await new Promise((r) => setTimeout(r, 1500));
  }
  await hub.stop();
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e);
  process.exit(1);
});
