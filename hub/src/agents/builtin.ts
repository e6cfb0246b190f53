import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../../common/src/logger.ts';
import type { AgentRegistry } from './registry.ts';

export interface BuiltinAgentOptions {
  registry: AgentRegistry;
  /** `$dataDir/builtin-agent` */
  stateDir: string;
  /** host:port the child dials (loopback); called at start, after the gRPC server is bound. */
  hubAddress: () => string;
  log: Logger;
  /** Passed to the child unchanged (FERRY_AGENT_DISK_PATHS, FERRY_AGENT_RESTORE_PATHS, FERRY_LOG_LEVEL, ...). */
  env?: Record<string, string>;
  /** @default 'inherit' for stdout and stderr: the child's JSON log lines join the hub's. */
  stdio?: StdioOptions;
  /** First restart delay after the child dies; doubles up to 30 s. @default 1000 */
  restartDelayMs?: number;
}

/** bin/ferry-agent.js, from the source tree (hub/src/agents) or from dist/hub/src/agents. */
export function agentBinPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '../../../bin/ferry-agent.js'), path.resolve(here, '../../../../bin/ferry-agent.js')];
  return candidates.find((c) => existsSync(c)) ?? candidates[0]!;
}

/**
 * The hub's built-in agent ("agent 0"): the ordinary agent CLI run as a child process that
 * dials the hub over loopback gRPC with mutual TLS, exactly like a remote agent. Enrolled once
 * with an auto-approved single-use token (marked builtin), restarted when it dies, stopped
 * (SIGTERM, then SIGKILL after 5 s) with the hub.
 */
export class BuiltinAgent {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private delay: number;
  private id: string | undefined;

  constructor(private readonly o: BuiltinAgentOptions) {
    this.delay = o.restartDelayMs ?? 1000;
  }

  get agentId(): string | undefined {
    return this.id;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    this.stopping = false;
    await this.ensureEnrolled();
    this.spawnRun();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  /** Enroll when the state dir has no usable enrollment (first start, or the hub's database was replaced). */
  private async ensureEnrolled(): Promise<void> {
    const dir = this.o.stateDir;
    const known = readAgentId(dir);
    const row = known ? this.o.registry.row(known) : undefined;
    if (row && row.status === 'approved' && row.builtin === 1 && existsSync(path.join(dir, 'agent.crt'))) {
      this.id = row.id;
      return;
    }
    for (const f of ['agent.json', 'agent.key', 'agent.crt', 'ca.pem']) rmSync(path.join(dir, f), { force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { token } = this.o.registry.createToken({ expiresInSeconds: 300, maxUses: 1, autoApprove: true, builtin: true, name: 'built-in agent' });
    const code = await new Promise<number | null>((resolve, reject) => {
      const p = spawn(process.execPath, [agentBinPath(), 'enroll', '--hub', this.o.hubAddress(), '--state-dir', dir, '--name', 'built-in agent'], {
        // The token goes through the environment, not argv, so `ps` does not show it.
        env: { ...process.env, ...this.o.env, FERRY_AGENT_ENROLL_TOKEN: token },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      p.stdout?.on('data', (b: Buffer) => (out += b.toString()));
      p.stderr?.on('data', (b: Buffer) => (out += b.toString()));
      p.on('error', reject);
      p.on('exit', (c) => {
        if (c !== 0) this.o.log.error({ exit_code: c, output: out.slice(-2000) }, 'built-in agent enrollment failed');
        resolve(c);
      });
    });
    if (code !== 0) throw new Error(`built-in agent enrollment failed (exit code ${code}); see the hub log`);
    this.id = readAgentId(dir);
    this.o.log.info({ agent_id: this.id }, 'built-in agent enrolled');
  }

  private spawnRun(): void {
    const startedAt = Date.now();
    const child = spawn(process.execPath, [agentBinPath(), 'run', '--state-dir', this.o.stateDir], {
      env: { ...process.env, ...this.o.env },
      stdio: this.o.stdio ?? ['ignore', 'inherit', 'inherit'],
    });
    this.child = child;
    this.o.log.info({ pid: child.pid, agent_id: this.id }, 'built-in agent started');
    child.on('error', (e) => this.o.log.error({ err: e }, 'built-in agent could not be started'));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      // A run that lasted a minute was healthy: start over from the first delay.
      if (Date.now() - startedAt > 60_000) this.delay = this.o.restartDelayMs ?? 1000;
      this.o.log.warn({ exit_code: code, signal, restart_in_ms: this.delay }, 'built-in agent exited; restarting');
      this.restartTimer = setTimeout(() => {
        if (!this.stopping) this.spawnRun();
      }, this.delay);
      this.delay = Math.min(this.delay * 2, 30_000);
    });
  }
}

function readAgentId(dir: string): string | undefined {
  try {
    const j = JSON.parse(readFileSync(path.join(dir, 'agent.json'), 'utf8')) as { agent_id?: unknown };
    return typeof j.agent_id === 'string' ? j.agent_id : undefined;
  } catch {
    return undefined;
  }
}
