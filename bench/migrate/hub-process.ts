/**
 * A real hub process for benchmarks: `node bin/ferry-hub.js` on a temp FERRY_DATA_DIR and free
 * ports with its built-in agent, driven over HTTP with the bootstrap admin key, plus peak RSS
 * (VmHWM) of the hub and of its agent child read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.join(import.meta.dirname, '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** VmHWM (peak resident set) of a process in MB, null when it is gone. */
export function peakRssMb(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat, clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

/** Direct children of a process (from /proc/<pid>/task/<tid>/children). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const c = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (c) out.push(...c.split(/\s+/).map(Number));
    }
  } catch {
    // the process ended
  }
  return out;
}

export interface HubProcess {
  base: string;
  pid: number;
  req<T = Record<string, unknown>>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** The built-in agent's pid, once it runs ("run" in its command line). */
  agentPid(): number | null;
  stop(): Promise<void>;
}

export async function startHubProcess(logFile: string): Promise<HubProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-hub-'));
  const [http, grpc] = [await freePort(), await freePort()];
  const log = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'bin', 'ferry-hub.js')], {
    cwd: ROOT,
    env: { ...process.env, FERRY_DATA_DIR: dataDir, FERRY_HTTP_PORT: String(http), FERRY_GRPC_PORT: String(grpc), FERRY_BUILTIN_AGENT: 'on', FERRY_LOG_LEVEL: 'warn', FERRY_RATE_LIMIT_PER_MINUTE: '100000' },
    stdio: ['ignore', log, log],
  });
  const base = `http://127.0.0.1:${http}`;
  const keyFile = path.join(dataDir, 'admin.key');
  let key = '';
  const req = async <T>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, body: (text ? JSON.parse(text) : {}) as T };
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the hub exited with ${child.exitCode}; see ${logFile}`);
    if (!key && fs.existsSync(keyFile)) key = fs.readFileSync(keyFile, 'utf8').trim();
    if (key) {
      const agents = await req<{ data?: { status: string }[] }>('GET', '/api/v1/agents').catch(() => null);
      if (agents?.status === 200 && agents.body.data?.some((a) => a.status === 'online')) break;
    }
    if (Date.now() > deadline) throw new Error(`the hub or its built-in agent did not come up within 60 s; see ${logFile}`);
    await sleep(250);
  }
  const pid = child.pid!;
  return {
    base,
    pid,
    req,
    agentPid() {
      for (const c of childPids(pid)) {
        try {
          if (fs.readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('run')) return c;
        } catch {
          // gone
        }
      }
      return null;
    },
    async stop() {
      child.kill('SIGTERM');
      const end = Date.now() + 15_000;
      while (child.exitCode === null && child.signalCode === null && Date.now() < end) await sleep(100);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      fs.closeSync(log);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
