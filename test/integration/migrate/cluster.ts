/**
 * A hub process (built-in agent off) and one enrolled agent process, started as a user would
 * (`ferry-hub`, `ferry-agent enroll` with an auto-approve token, `ferry-agent run`), each
 * killable and restartable on the same state.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, runBin, startBin, until, type Proc } from '../../helpers/processes.ts';
import { httpReq, type Req } from './flow.ts';

export interface Cluster {
  req: Req;
  agentId: string;
  hub(): Proc;
  agent(): Proc;
  startHub(): Promise<void>;
  startAgent(): Promise<void>;
  /** Wait until the agent is online as the hub sees it. */
  agentOnline(ms?: number): Promise<void>;
  /** Everything both processes printed, across restarts. */
  output(): string;
  stop(): Promise<void>;
}

export async function startCluster(): Promise<Cluster> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ferry-e2e-mhub-'));
  const agentDir = mkdtempSync(path.join(os.tmpdir(), 'ferry-e2e-magent-'));
  const http = await freePort();
  const grpc = await freePort();
  let key = '';
  let hub: Proc | undefined;
  let agent: Proc | undefined;
  let earlier = '';
  const req = httpReq(() => `http://127.0.0.1:${http}`, () => key);
  const env = { FERRY_DATA_DIR: dataDir, FERRY_HTTP_PORT: String(http), FERRY_GRPC_PORT: String(grpc), FERRY_BUILTIN_AGENT: 'off', FERRY_LOG_LEVEL: 'info', FERRY_AGENT_TIMEOUT_SECONDS: '6' };

  const c: Cluster = {
    req,
    agentId: '',
    hub: () => hub as Proc,
    agent: () => agent as Proc,
    async startHub() {
      if (hub) earlier += hub.output();
      hub = startBin('ferry-hub', [], env);
      await hub.waitFor(/Admin API key: .*admin\.key/, 60_000);
      key = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
      await until('hub answers', async () => (await req('GET', '/api/v1/agents')).status === 200, 30_000);
    },
    async startAgent() {
      if (agent) earlier += agent.output();
      agent = startBin('ferry-agent', ['run', '--state-dir', agentDir], { FERRY_LOG_LEVEL: 'info' });
      await c.agentOnline();
    },
    async agentOnline(ms = 45_000) {
      await until('agent online', async () => (await req('GET', `/api/v1/agents/${c.agentId}`)).body.status === 'online', ms);
    },
    output: () => earlier + (hub?.output() ?? '') + (agent?.output() ?? ''),
    async stop() {
      await agent?.kill('SIGTERM');
      await hub?.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(agentDir, { recursive: true, force: true });
    },
  };

  await c.startHub();
  const tok = await req('POST', '/api/v1/agents/enrollment-tokens', { expires_in_seconds: 600, max_uses: 1, auto_approve: true });
  if (tok.status !== 201) throw new Error(`token: ${tok.status} ${JSON.stringify(tok.body)}`);
  const enroll = await runBin('ferry-agent', ['enroll', '--hub', `127.0.0.1:${grpc}`, '--token', String(tok.body.token), '--state-dir', agentDir]);
  const m = /agt_[0-9a-z]+/.exec(enroll.output);
  if (enroll.code !== 0 || !m) throw new Error(`enroll failed (${enroll.code}): ${enroll.output}`);
  c.agentId = m[0];
  await c.startAgent();
  return c;
}
