import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '../../common/src/logger.ts';
import { loadConfig } from '../../hub/src/config/config.ts';
import { createHub, type Hub } from '../../hub/src/hub.ts';
import { agentPid } from './proc-stats.ts';

export interface ProfiledHub {
  hub: Hub;
  agentId: string;
  /** The built-in agent's process. */
  pid: number;
  /** REST call with the admin key; a fresh connection each time (the hub may close idle ones). */
  api(method: string, p: string, body?: unknown): Promise<Record<string, unknown>>;
}

/**
 * An in-process hub for the profiling scripts, data under `work`, with its built-in agent
 * child online. With `profileAgent` the child is started with cpu-prof-toggle.cjs preloaded
 * (SIGUSR2 starts, the next one writes `work/cpu/*.cpuprofile`).
 */
export async function startProfiledHub(root: string, work: string, name: string, profileAgent: boolean): Promise<ProfiledHub> {
  if (profileAgent) {
    process.env.NODE_OPTIONS = `--require ${path.join(root, 'bench/backup/cpu-prof-toggle.cjs')}`;
    process.env.FERRY_PROFILE_DIR = path.join(work, 'cpu');
  }
  const dataDir = path.join(work, 'data');
  const config = loadConfig({
    FERRY_DATA_DIR: dataDir, FERRY_HTTP_PORT: '0', FERRY_GRPC_PORT: '0', FERRY_BUILTIN_AGENT: 'on', FERRY_LOG_LEVEL: 'silent',
    FERRY_RATE_LIMIT_PER_MINUTE: '1000000', FERRY_AGENT_DISK_PATHS: path.join(work, 'img'), FERRY_AGENT_RESTORE_PATHS: path.join(work, 'restore'),
  });
  const hub = await createHub(config, { log: createLogger({ level: 'silent', name }), builtinStdio: 'inherit' });
  const { httpPort } = await hub.start();
  delete process.env.NODE_OPTIONS;
  const url = `http://127.0.0.1:${httpPort}`;
  const key = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
  const api = async (method: string, p: string, body?: unknown) => {
    const r = await fetch(url + p, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', connection: 'close' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const j = (await r.json()) as Record<string, unknown>;
    if (r.status >= 400) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(j)}`);
    return j;
  };
  let agentId = '';
  for (let i = 0; i < 300 && !agentId; i++) {
    const id = hub.agents.builtin.agentId;
    if (id && hub.agents.sessions.isOnline(id)) agentId = id;
    else await new Promise((r) => setTimeout(r, 100));
  }
  const pid = agentPid(work);
  if (!agentId || !pid) throw new Error('the built-in agent did not come online');
  return { hub, agentId, pid, api };
}
