import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enroll } from '../../../node-agent/src/enroll/enroll.ts';
import { AgentSession } from '../../../node-agent/src/session/session.ts';
import { json, startTestHub, type ErrorJson, type TestHub } from '../../helpers/test-hub.ts';
import { silentLog, tempDir, testAgentConfig, waitFor } from './harness.ts';

let t: TestHub;
const dirs: string[] = [];
beforeAll(async () => {
  t = await startTestHub({ listen: true });
});
afterAll(async () => {
  await t.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Agent = { id: string; status: string; hostname: string; version: string; capabilities: string[]; last_seen: string | null; builtin: boolean };

describe('/api/v1/agents', () => {
  it('creates a token, lists the pending agent, approves it, shows online/offline, revokes it', async () => {
    const created = await t.req('POST', '/api/v1/agents/enrollment-tokens', { body: { name: 'lab', max_uses: 1 } });
    expect(created.status).toBe(201);
    const tok = await json<{ id: string; token: string; expires_at: string; max_uses: number; auto_approve: boolean; ca_fingerprint: string }>(created);
    expect(tok).toMatchObject({ max_uses: 1, auto_approve: false });
    expect(tok.token.endsWith('.' + tok.ca_fingerprint)).toBe(true);
    expect(tok.ca_fingerprint).toBe(t.hub.agents.pki.caFingerprint());

    const stateDir = tempDir('ferry-agent-state-');
    dirs.push(stateDir);
    const { agentId } = await enroll({ hub: `127.0.0.1:${t.grpcPort}`, token: tok.token, stateDir, hostname: 'db-host-1', version: '9.9.9' });

    const pending = await json<{ data: Agent[]; pagination: { total: number } }>(await t.req('GET', '/api/v1/agents?status=pending'));
    expect(pending.data.map((a) => a.id)).toEqual([agentId]);
    expect(pending.pagination.total).toBe(1);

    const approved = await t.req('POST', `/api/v1/agents/${agentId}/approve`);
    expect(approved.status).toBe(200);
    expect((await json<Agent>(approved)).status).toBe('offline');

    const session = new AgentSession({ stateDir, config: testAgentConfig(), log: silentLog, version: '9.9.9' });
    session.start();
    try {
      await session.waitOnline();
      const shown = await json<Agent>(await t.req('GET', `/api/v1/agents/${agentId}`));
      expect(shown).toMatchObject({ id: agentId, status: 'online', version: '9.9.9', builtin: false });
      expect(shown.capabilities).toEqual(['postgresql', 'mysql', 'sqlite', 'oracle', 'disk']);
      expect(shown.last_seen).not.toBeNull();
      const online = await json<{ data: Agent[] }>(await t.req('GET', '/api/v1/agents?status=online'));
      expect(online.data.map((a) => a.id)).toContain(agentId);

      const revoked = await t.req('DELETE', `/api/v1/agents/${agentId}`);
      expect(revoked.status).toBe(200);
      expect((await json<Agent>(revoked)).status).toBe('revoked');
      expect(t.hub.agents.sessions.isOnline(agentId)).toBe(false);
      await waitFor(() => !session.online, 'agent saw the revoke', 5000);
      const again = await t.req('POST', `/api/v1/agents/${agentId}/approve`);
      expect(again.status).toBe(409);
    } finally {
      await session.stop();
    }
  });

  it('answers 404 for an unknown agent and 422 for a bad token request', async () => {
    const r = await t.req('GET', '/api/v1/agents/agt_nope');
    expect(r.status).toBe(404);
    expect((await json<ErrorJson>(r)).error.code).toBe('agent_not_found');
    const bad = await t.req('POST', '/api/v1/agents/enrollment-tokens', { body: { max_uses: 0 } });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.status).toBeLessThan(500);
    const noBody = await t.req('POST', '/api/v1/agents/enrollment-tokens');
    expect(noBody.status).toBe(201);
    expect(await json(noBody)).toMatchObject({ max_uses: 1, auto_approve: false });
  });
});
