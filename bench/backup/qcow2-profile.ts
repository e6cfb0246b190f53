/**
 * Wall and CPU time of ferry-qcow2 backups through the real hub and its built-in agent, split
 * by process: hub (this process), agent, and the agent's children (qemu-img, qemu-nbd: counted
 * once they have exited). CPU seconds stay comparable on a shared, loaded machine where wall
 * times do not.
 *
 *   BENCH_IMG_MIB=2048 node --import tsx bench/backup/qcow2-profile.ts
 *
 * Env: BENCH_IMG_MIB (2048), BENCH_WORK (/tmp/ferry-qcow2-profile), SERIES ("scattered clustered"),
 * PROFILE_STEP (full or incremental: a V8 CPU profile of the agent during that step, written to
 * BENCH_WORK/cpu; summarize with cpu-top.ts).
 * Per series: a fresh repository, a full backup of the image as qcow2, then 1 % of its 4 KiB
 * blocks rewritten through qemu-nbd (the dirty bitmap records them) and an incremental.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../common/src/logger.ts';
import { loadConfig } from '../../hub/src/config/config.ts';
import { createHub } from '../../hub/src/hub.ts';
import { agentPid, procCpu as procStat } from './proc-stats.ts';
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
async function main(): Promise<void> {
  ensureQemu();
  rmSync(WORK, { recursive: true, force: true });
  for (const d of ['img', 'repo']) mkdirSync(path.join(WORK, d), { recursive: true });
  const base = path.join(WORK, 'base.img');
  const raw = path.join(WORK, 'changed.img');
  const img = path.join(WORK, 'img', 'disk.qcow2');
  spawnSync('python3', [GEN, 'create', base, String(MIB), '42']);
  const profileStep = process.env.PROFILE_STEP;
  if (profileStep) {
    process.env.NODE_OPTIONS = `--require ${path.join(ROOT, 'bench/backup/cpu-prof-toggle.cjs')}`;
    process.env.FERRY_PROFILE_DIR = path.join(WORK, 'cpu');
  }
  const dataDir = path.join(WORK, 'data');
  const config = loadConfig({
    FERRY_DATA_DIR: dataDir, FERRY_HTTP_PORT: '0', FERRY_GRPC_PORT: '0', FERRY_BUILTIN_AGENT: 'on', FERRY_LOG_LEVEL: 'silent',
    FERRY_RATE_LIMIT_PER_MINUTE: '1000000', FERRY_AGENT_DISK_PATHS: path.join(WORK, 'img'), FERRY_AGENT_RESTORE_PATHS: path.join(WORK, 'restore'),
  });
  const hub = await createHub(config, { log: createLogger({ level: 'silent', name: 'qcow2-profile' }), builtinStdio: 'inherit' });
  const { httpPort } = await hub.start();
  delete process.env.NODE_OPTIONS;
  const url = `http://127.0.0.1:${httpPort}`;
  const key = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
  const api = async (method: string, p: string, body?: unknown) => {
    // A fresh connection each call: a kept-alive one may have been closed by the hub during a long pause.
    const r = await fetch(url + p, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', connection: 'close' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const j = (await r.json()) as Record<string, unknown>;
    if (r.status >= 400) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(j)}`);
    return j;
  };
  const wait = async (id: string): Promise<number> => {
    for (;;) {
      const j = await api('GET', `/api/v1/jobs/${id}`);
      if (j.status === 'completed') return Date.parse(String(j.finished_at));
      if (j.status === 'failed') throw new Error(JSON.stringify(j.error));
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  let agentId = '';
  for (let i = 0; i < 300 && !agentId; i++) {
    const id = hub.agents.builtin.agentId;
    if (id && hub.agents.sessions.isOnline(id)) agentId = id;
    else await new Promise((r) => setTimeout(r, 100));
  }
  const pid = agentPid(WORK);
  if (!pid) throw new Error('agent pid not found');
  try {
    for (const series of SERIES) {
      rmSync(img, { force: true });
      rawToQcow2(base, img);
      copyFileSync(base, raw);
      spawnSync('python3', [GEN, 'mutate', raw, '43', '1', series]);
      const repo = await api('POST', '/api/v1/repositories', { name: `q-${series}`, path: path.join(WORK, 'repo', series) });
      for (const type of ['full', 'incremental']) {
        if (type === 'incremental') await applyChanges(base, raw, img);
        if (type === profileStep) process.kill(pid, 'SIGUSR2');
        const h0 = process.cpuUsage();
        const [a0, c0] = procCpu(pid);
        const t0 = Date.now();
        const b = await api('POST', '/api/v1/backups', { source: { agent_id: agentId, path: img }, type, repository_id: repo.id });
        const end = await wait(String(b.job_id));
        // The job's own end, not when the poll noticed it.
        const wall = (Math.min(Date.now(), end) - t0) / 1000;
        const h = process.cpuUsage(h0);
        const [a1, c1] = procCpu(pid);
        if (type === profileStep) process.kill(pid, 'SIGUSR2');
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
