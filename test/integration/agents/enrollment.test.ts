import { rmSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enroll } from '../../../node-agent/src/enroll/enroll.ts';
import { AgentSession } from '../../../node-agent/src/session/session.ts';
import { silentLog, startTestHub, tempDir, testAgentConfig, waitFor, type TestHub } from './harness.ts';

let hub: TestHub;
const dirs: string[] = [];
const dir = () => {
  const d = tempDir('ferry-agent-state-');
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const base = { hostname: 'test-host', version: '0.0.0-test' };

describe('enrollment', () => {
  it('enrolls with an auto-approve token and stores key (0600), CA and certificate', async () => {
    const { token } = hub.agents.registry.createToken({ autoApprove: true });
    const stateDir = dir();
    const r = await enroll({ hub: hub.address, token, stateDir, name: 'auto', ...base });
    expect(r.status).toBe('approved');
    expect(r.agentId).toMatch(/^agt_/);
    expect(statSync(path.join(stateDir, 'agent.key')).mode & 0o777).toBe(0o600);
    expect(existsSync(path.join(stateDir, 'agent.crt'))).toBe(true);
    expect(hub.agents.registry.row(r.agentId)?.status).toBe('approved');
  });

  it('enrolls pending, then run picks up the certificate after approval and comes online', async () => {
    const { token } = hub.agents.registry.createToken({});
    const stateDir = dir();
    const r = await enroll({ hub: hub.address, token, stateDir, ...base });
    expect(r.status).toBe('pending');
    expect(existsSync(path.join(stateDir, 'agent.crt'))).toBe(false);
    const session = new AgentSession({ stateDir, config: testAgentConfig(), log: silentLog, version: '0.0.0-test' });
    session.start();
    try {
      await hub.agents.registry.approve(r.agentId);
      await session.waitOnline();
      await waitFor(() => hub.agents.sessions.isOnline(r.agentId), 'agent online');
      expect(existsSync(path.join(stateDir, 'agent.crt'))).toBe(true);
      expect(hub.agents.registry.row(r.agentId)?.capabilities).toContain('postgresql');
    } finally {
      await session.stop();
    }
    await waitFor(() => !hub.agents.sessions.isOnline(r.agentId), 'agent offline after stop');
  });

  it('refuses a token pinned to another CA with the fingerprint mismatch message', async () => {
    const { token } = hub.agents.registry.createToken({ autoApprove: true });
    const wrong = token.replace(/\.[0-9a-f]{64}$/, '.' + 'ab'.repeat(32));
    await expect(enroll({ hub: hub.address, token: wrong, stateDir: dir(), ...base })).rejects.toThrow(
      `hub CA fingerprint mismatch: expected ${'ab'.repeat(32)}, got ${hub.agents.pki.caFingerprint()}`,
    );
  });

  it('refuses an expired token', async () => {
    const { token } = hub.agents.registry.createToken({ expiresInSeconds: -1 });
    await expect(enroll({ hub: hub.address, token, stateDir: dir(), ...base })).rejects.toThrow(/expired at/);
  });

  it('refuses a used-up token', async () => {
    const { token } = hub.agents.registry.createToken({ maxUses: 1, autoApprove: true });
    await enroll({ hub: hub.address, token, stateDir: dir(), ...base });
    await expect(enroll({ hub: hub.address, token, stateDir: dir(), ...base })).rejects.toThrow(/has been used 1 of 1 times/);
  });

  it('refuses an unknown token', async () => {
    const { token } = hub.agents.registry.createToken({});
    const forged = token.replace(/^fet1\.[0-9A-Za-z]+/, 'fet1.' + 'A'.repeat(32));
    await expect(enroll({ hub: hub.address, token: forged, stateDir: dir(), ...base })).rejects.toThrow(/not known to this hub/);
  });
});
