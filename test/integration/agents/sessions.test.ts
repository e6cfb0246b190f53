import * as grpc from '@grpc/grpc-js';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgentProto, type AgentHubClient, type HubMessage__Output } from '../../../proto/src/load.ts';
import { enroll } from '../../../node-agent/src/enroll/enroll.ts';
import { checkHubIdentity } from '../../../node-agent/src/session/credentials.ts';
import { AgentSession } from '../../../node-agent/src/session/session.ts';
import { silentLog, startTestHub, tempDir, testAgentConfig, waitFor, type TestHub } from './harness.ts';

let hub: TestHub;
const dirs: string[] = [];

beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function enrolledAgent(): Promise<{ agentId: string; stateDir: string }> {
  const stateDir = tempDir('ferry-agent-state-');
  dirs.push(stateDir);
  const { token } = hub.agents.registry.createToken({ autoApprove: true });
  const r = await enroll({ hub: hub.address, token, stateDir, hostname: 'h', version: 't' });
  return { agentId: r.agentId, stateDir };
}

function startSession(stateDir: string): AgentSession {
  const s = new AgentSession({ stateDir, config: testAgentConfig(), log: silentLog, version: '0.0.0-test' });
  s.start();
  return s;
}

describe('agent sessions', () => {
  it('runs an assigned task: progress, log and result arrive at the listener', async () => {
    const { agentId, stateDir } = await enrolledAgent();
    const session = startSession(stateDir);
    try {
      await waitFor(() => hub.agents.sessions.isOnline(agentId), 'agent online');
      expect(hub.events.online).toContain(agentId);
      expect(hub.agents.sessions.assign(agentId, { task_id: 'tsk_echo1', job_id: 'job_1', kind: 'echo', payload: { hello: 'world', n: 3 } })).toBe(true);
      const res = await waitFor(() => hub.events.results.find((r) => r.e.task_id === 'tsk_echo1'), 'echo result');
      expect(res.agentId).toBe(agentId);
      expect(res.e).toMatchObject({ ok: true, result: { hello: 'world', n: 3 } });
      expect(hub.events.progress.find((p) => p.e.task_id === 'tsk_echo1')?.e).toMatchObject({ percent: 100, phase: 'echo' });
      expect(hub.events.logs.find((l) => l.e.task_id === 'tsk_echo1')?.e).toMatchObject({ level: 'info', message: 'echo' });

      hub.agents.sessions.assign(agentId, { task_id: 'tsk_unknown', job_id: 'job_1', kind: 'no.such.kind', payload: null });
      const bad = await waitFor(() => hub.events.results.find((r) => r.e.task_id === 'tsk_unknown'), 'unknown kind result');
      expect(bad.e).toMatchObject({ ok: false, error_code: 'unknown_task_kind' });
    } finally {
      await session.stop();
    }
  });

  it('cancels a running task through the channel', async () => {
    const { agentId, stateDir } = await enrolledAgent();
    const session = startSession(stateDir);
    try {
      await waitFor(() => hub.agents.sessions.isOnline(agentId), 'agent online');
      hub.agents.sessions.assign(agentId, { task_id: 'tsk_sleep1', job_id: 'job_2', kind: 'sleep', payload: { ms: 60_000, steps: 600 } });
      await waitFor(() => hub.events.progress.find((p) => p.e.task_id === 'tsk_sleep1'), 'first sleep progress');
      expect(hub.agents.sessions.cancel(agentId, 'tsk_sleep1', 'user asked')).toBe(true);
      const r = await waitFor(() => hub.events.results.find((x) => x.e.task_id === 'tsk_sleep1'), 'cancel result');
      expect(r.e).toMatchObject({ ok: false, error_code: 'cancelled', retryable: true });
      expect(r.e.error_message).toContain('user asked');
    } finally {
      await session.stop();
    }
  });

  it('refuses AgentHub calls without a client certificate', async () => {
    const ca = readFileSync(path.join(hub.dataDir, 'pki', 'ca.crt'));
    const proto = loadAgentProto();
    const client = new proto.AgentHub(hub.address, grpc.credentials.createSsl(ca, null, null, { checkServerIdentity: checkHubIdentity })) as AgentHubClient;
    try {
      const err = await new Promise<grpc.ServiceError>((resolve) => {
        const call = client.Connect();
        call.on('data', () => undefined);
        call.on('error', (e: grpc.ServiceError) => resolve(e));
        call.write({ hello: { agent_id: 'agt_x', hostname: 'h', version: 'v', capabilities: [], inventory_json: '{}' } });
      });
      expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(err.details).toMatch(/^client certificate required/);
      const callErr = await new Promise<grpc.ServiceError | null>((resolve) => client.Call({ method: 'x', payload_json: '{}' }, (e) => resolve(e)));
      expect(callErr?.code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      client.close();
    }
  });

  it('revoke closes the open session at once and every later connection is refused', async () => {
    const { agentId, stateDir } = await enrolledAgent();
    const session = startSession(stateDir);
    try {
      await waitFor(() => hub.agents.sessions.isOnline(agentId), 'agent online');
      hub.agents.sessions.assign(agentId, { task_id: 'tsk_rev', job_id: 'job_3', kind: 'sleep', payload: { ms: 60_000 } });
      hub.agents.registry.revoke(agentId);
      // Closed synchronously by the revoke; the listener hears the in-flight task is lost.
      expect(hub.agents.sessions.isOnline(agentId)).toBe(false);
      const off = hub.events.offline.find((o) => o.agentId === agentId);
      expect(off?.inFlight).toEqual(['tsk_rev']);
      // The agent sees its stream end and retries (refusedRetryMs 500): each attempt is refused.
      const state = JSON.parse(readFileSync(path.join(stateDir, 'agent.json'), 'utf8')) as { agent_id: string };
      const ca = readFileSync(path.join(stateDir, 'ca.pem'));
      const key = readFileSync(path.join(stateDir, 'agent.key'));
      const crt = readFileSync(path.join(stateDir, 'agent.crt'));
      const client = new (loadAgentProto().AgentHub)(hub.address, grpc.credentials.createSsl(ca, key, crt, { checkServerIdentity: checkHubIdentity }));
      const err = await new Promise<grpc.ServiceError>((resolve) => {
        const call = client.Connect();
        call.on('data', (_m: HubMessage__Output) => undefined);
        call.on('error', (e: grpc.ServiceError) => resolve(e));
        call.write({ hello: { agent_id: state.agent_id, hostname: 'h', version: 'v', capabilities: [], inventory_json: '{}' } });
      });
      client.close();
      expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(err.details).toBe(`agent ${agentId} was revoked`);
      // The requirement: the open session is closed within 5 s (here it is closed synchronously above).
      await waitFor(() => !session.online, 'agent session noticed the close', 5000);
      expect(hub.agents.sessions.isOnline(agentId)).toBe(false);
    } finally {
      await session.stop();
    }
  });

  it('reconnects after the hub restarts', async () => {
    const { agentId, stateDir } = await enrolledAgent();
    const session = startSession(stateDir);
    try {
      await waitFor(() => hub.agents.sessions.isOnline(agentId), 'agent online');
      const dataDir = hub.dataDir;
      const port = hub.port;
      const dataPort = hub.dataPort ?? 'off'; // pinned too: port + 1 may be another test's by now
      await hub.stop();
      await waitFor(() => !session.online, 'agent noticed the hub went away');
      hub = await startTestHub({ dataDir, port, dataPort });
      await waitFor(() => hub.agents.sessions.isOnline(agentId), 'agent online again after hub restart');
      hub.agents.sessions.assign(agentId, { task_id: 'tsk_after', job_id: 'job_4', kind: 'echo', payload: 'again' });
      const r = await waitFor(() => hub.events.results.find((x) => x.e.task_id === 'tsk_after'), 'result after restart');
      expect(r.e.result).toBe('again');
    } finally {
      await session.stop();
    }
  });

  it('a heartbeat timeout ends a silent session and reports its in-flight tasks', async () => {
    const { agentId } = await enrolledAgent();
    // A session whose transport never answers stands for an agent that froze.
    const sent: unknown[] = [];
    const s = hub.agents.sessions.open(agentId, { send: (m) => sent.push(m), close: () => undefined });
    hub.agents.sessions.assign(agentId, { task_id: 'tsk_frozen', job_id: 'job_5', kind: 'echo', payload: null });
    s.lastSeen -= 31_000;
    hub.agents.sessions.sweep();
    expect(hub.agents.sessions.isOnline(agentId)).toBe(false);
    expect(hub.events.offline.filter((o) => o.agentId === agentId).at(-1)?.inFlight).toEqual(['tsk_frozen']);
    expect(sent.at(-1)).toMatchObject({ close: { reason: expect.stringMatching(/no heartbeat/) } });
  });
});
