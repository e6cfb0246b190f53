import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, tempDir, waitFor, type TestHub } from '../integration/agents/harness.ts';

/**
 * Real processes: the agent CLI (bin/ferry-agent.js) enrolls and runs as child processes, the
 * built-in agent is the hub's own child process; the hub side is the agents module in this
 * process (gRPC over loopback), so this test does not depend on the rest of the hub.
 */
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/ferry-agent.js');
const FAST = { FERRY_AGENT_RECONNECT_MIN_MS: '100', FERRY_AGENT_RECONNECT_MAX_MS: '1000', FERRY_AGENT_REVOKED_RETRY_SECONDS: '1', FERRY_LOG_LEVEL: 'info' };

let hub: TestHub;
const dirs: string[] = [];
const children: ChildProcess[] = [];

function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...FAST }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

function runAgent(stateDir: string): { proc: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [BIN, 'run', '--state-dir', stateDir], { env: { ...process.env, ...FAST }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let output = '';
  proc.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  return { proc, output: () => output, exited };
}

beforeAll(async () => {
  hub = await startTestHub({ builtin: true });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await hub.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('agent enrollment with real processes', () => {
  it('the built-in agent child enrolls itself and comes online', async () => {
    const id = await waitFor(() => hub.agents.builtin.agentId, 'built-in agent enrolled', 30_000);
    await waitFor(() => hub.agents.sessions.isOnline(id), 'built-in agent online', 30_000);
    expect(hub.agents.registry.row(id)?.builtin).toBe(1);
    expect(hub.agents.registry.builtinAgent()?.id).toBe(id);
  });

  it('refuses a wrong CA pin, an expired token and a malformed token with clear messages and exit code 1', async () => {
    const { token } = hub.agents.registry.createToken({ autoApprove: true });
    const wrong = token.replace(/\.[0-9a-f]{64}$/, '.' + '0'.repeat(64));
    const a = await cli(['enroll', '--hub', hub.address, '--token', wrong, '--state-dir', tempDir('ferry-e2e-')]);
    expect(a.code).toBe(1);
    expect(a.err).toContain(`hub CA fingerprint mismatch: expected ${'0'.repeat(64)}, got ${hub.agents.pki.caFingerprint()}`);

    const expired = hub.agents.registry.createToken({ expiresInSeconds: -5 }).token;
    const b = await cli(['enroll', '--hub', hub.address, '--token', expired, '--state-dir', tempDir('ferry-e2e-')]);
    expect(b.code).toBe(1);
    expect(b.err).toMatch(/enrollment token etk_\w+ expired at/);

    const c = await cli(['enroll', '--hub', hub.address, '--token', 'nonsense', '--state-dir', tempDir('ferry-e2e-')]);
    expect(c.code).toBe(1);
    expect(c.err).toMatch(/malformed/);
  });

  it('enrolls pending, is approved, runs tasks, survives a hub restart, and is refused after revoke', async () => {
    const stateDir = tempDir('ferry-e2e-agent-');
    dirs.push(stateDir);
    const { token } = hub.agents.registry.createToken({ name: 'remote' });
    const e = await cli(['enroll', '--hub', hub.address, '--token', token, '--state-dir', stateDir, '--name', 'remote-1']);
    expect(e.code).toBe(0);
    const agentId = /agent_id=(agt_\w+)/.exec(e.out)?.[1];
    expect(agentId).toBeDefined();
    expect(e.out).toContain('status=pending');

    const agent = runAgent(stateDir);
    await waitFor(() => agent.output().includes('waiting for approval'), 'agent waits for approval');
    expect(hub.agents.sessions.isOnline(agentId!)).toBe(false);
    await hub.agents.registry.approve(agentId!);
    await waitFor(() => hub.agents.sessions.isOnline(agentId!), 'approved agent online', 30_000);
    expect(hub.agents.registry.row(agentId!)).toMatchObject({ name: 'remote-1', status: 'approved' });

    hub.agents.sessions.assign(agentId!, { task_id: 'tsk_e2e_1', job_id: 'job_e2e', kind: 'echo', payload: { ping: 1 } });
    const r1 = await waitFor(() => hub.events.results.find((x) => x.e.task_id === 'tsk_e2e_1'), 'echo result');
    expect(r1.e).toMatchObject({ ok: true, result: { ping: 1 } });

    // Hub restart on the same ports and data dir, as a deployed hub restarts: the agent
    // reconnects by itself. (Without the data port pinned, it would default to port + 1, which
    // another test's socket may hold meanwhile: EADDRINUSE.)
    const { dataDir, port, dataPort } = hub;
    await hub.stop();
    hub = await startTestHub({ dataDir, port, dataPort: dataPort ?? 'off', builtin: true });
    await waitFor(() => hub.agents.sessions.isOnline(agentId!), 'agent online after hub restart', 30_000);
    hub.agents.sessions.assign(agentId!, { task_id: 'tsk_e2e_2', job_id: 'job_e2e', kind: 'echo', payload: 'again' });
    expect((await waitFor(() => hub.events.results.find((x) => x.e.task_id === 'tsk_e2e_2'), 'echo after restart')).e.result).toBe('again');

    // Revoke: closed at once; the agent keeps running, logs the refusal and is refused on each retry.
    hub.agents.registry.revoke(agentId!);
    expect(hub.agents.sessions.isOnline(agentId!)).toBe(false);
    await waitFor(() => (agent.output().match(new RegExp(`agent ${agentId} was revoked`, 'g')) ?? []).length >= 2, 'two refused reconnects', 30_000);
    expect(hub.agents.sessions.isOnline(agentId!)).toBe(false);
    expect(agent.proc.exitCode).toBeNull();

    agent.proc.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
  });
});
