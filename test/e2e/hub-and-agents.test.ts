import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlDatabase, createPgDatabase, dropMysqlDatabase, dropPgDatabase, mysqlCli } from '../integration/connectors/fixtures.ts';
import { freePort, runBin, startBin, until, type Proc } from '../helpers/processes.ts';

/**
 * The issue's own check, as a new user would do it: real hub process with its built-in agent,
 * a second agent process enrolled with a token and approved, connections tested through it,
 * revocation, and a SIGKILL of the hub with everything still there after the restart.
 */
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ferry-e2e-hub-'));
const agentDir = mkdtempSync(path.join(os.tmpdir(), 'ferry-e2e-agent-'));
const MYSQL_PASSWORD = 'S3cret-Pa55word-XyZ';
const mysqlUser = `ferry_e2e_${process.pid}`;
let http = 0;
let grpc = 0;
let hub: Proc;
let agent: Proc | undefined;
let key = '';
let pgDb = '';
let myDb = '';

const env = () => ({
  FERRY_DATA_DIR: dataDir,
  FERRY_HTTP_PORT: String(http),
  FERRY_GRPC_PORT: String(grpc),
  FERRY_LOG_LEVEL: 'info',
  FERRY_AGENT_TIMEOUT_SECONDS: '6',
});

async function api<T = Record<string, unknown>>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T; text: string }> {
  const r = await fetch(`http://127.0.0.1:${http}${p}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, body: (text ? JSON.parse(text) : {}) as T, text };
}

type Agent = { id: string; status: string; hostname: string; version: string; capabilities: string[]; last_seen: string | null; builtin?: boolean };

let earlierHubOutput = '';
async function startHub() {
  if (hub) earlierHubOutput += hub.output();
  hub = startBin('ferry-hub', [], env());
  await hub.waitFor(/Admin API key: .*admin\.key/);
}

beforeAll(async () => {
  http = await freePort();
  grpc = await freePort();
  pgDb = createPgDatabase();
  myDb = createMysqlDatabase();
  mysqlCli(null, `CREATE USER '${mysqlUser}'@'%' IDENTIFIED BY '${MYSQL_PASSWORD}'; GRANT ALL ON \`${myDb}\`.* TO '${mysqlUser}'@'%';`);
  await startHub();
  key = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
}, 60_000);

afterAll(async () => {
  await agent?.kill('SIGTERM');
  await hub?.kill('SIGTERM');
  dropPgDatabase(pgDb);
  dropMysqlDatabase(myDb);
  mysqlCli(null, `DROP USER IF EXISTS '${mysqlUser}'@'%'`);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(agentDir, { recursive: true, force: true });
});

describe('hub and agents, as a user runs them', () => {
  let remoteId = '';
  let pgConn = '';
  let myConn = '';
  let testJob = '';

  it('starts with the built-in agent online and prints where the admin key is', async () => {
    expect(hub.output()).toContain(path.join(dataDir, 'admin.key'));
    expect(hub.output()).not.toContain(key);
    const online = await until('built-in agent online', async () => {
      const r = await api<{ data: Agent[] }>('GET', '/api/v1/agents');
      return r.body.data.find((a) => a.builtin && a.status === 'online');
    });
    expect(online.capabilities.length).toBeGreaterThan(0);
  });

  it('enrolls a second agent process with a token, approves it, and sees it online', async () => {
    const tok = await api<{ token: string }>('POST', '/api/v1/agents/enrollment-tokens', { expires_in_seconds: 600, max_uses: 1 });
    expect(tok.status).toBe(201);
    const enroll = await runBin('ferry-agent', ['enroll', '--hub', `127.0.0.1:${grpc}`, '--token', tok.body.token, '--state-dir', agentDir]);
    expect(enroll.code, enroll.output).toBe(0);
    const m = /agt_[0-9a-z]+/.exec(enroll.output);
    expect(m).not.toBeNull();
    remoteId = m![0];
    const pending = await api<Agent>('GET', `/api/v1/agents/${remoteId}`);
    expect(pending.body.status).toBe('pending');

    // the token was single-use
    const again = await runBin('ferry-agent', ['enroll', '--hub', `127.0.0.1:${grpc}`, '--token', tok.body.token, '--state-dir', mkdtempSync(path.join(os.tmpdir(), 'ferry-e2e-x-'))]);
    expect(again.code).not.toBe(0);

    agent = startBin('ferry-agent', ['run', '--state-dir', agentDir], { FERRY_LOG_LEVEL: 'info' });
    const approve = await api('POST', `/api/v1/agents/${remoteId}/approve`);
    expect(approve.status).toBe(200);
    const online = await until('remote agent online', async () => {
      const r = await api<Agent>('GET', `/api/v1/agents/${remoteId}`);
      return r.body.status === 'online' ? r.body : undefined;
    }, 45_000);
    expect(online.hostname).toBe(os.hostname());
    expect(online.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(online.last_seen).not.toBeNull();
  });

  it('tests a PostgreSQL and a MariaDB connection through the remote agent', async () => {
    const pg = await api<{ id: string }>('POST', '/api/v1/connections', {
      name: 'pg via remote',
      connection_string: `postgresql://postgres@127.0.0.1:5432/${pgDb}`,
      agent_id: remoteId,
    });
    expect(pg.status).toBe(201);
    pgConn = pg.body.id;
    const my = await api<{ id: string; connection_string: string }>('POST', '/api/v1/connections', {
      name: 'maria via remote',
      connection_string: `mysql://${mysqlUser}:${MYSQL_PASSWORD}@127.0.0.1:3306/${myDb}`,
      agent_id: remoteId,
    });
    expect(my.status).toBe(201);
    expect(my.text).not.toContain(MYSQL_PASSWORD);
    expect(my.body.connection_string).toContain('***');
    myConn = my.body.id;

    const t1 = await api<{ status: string; server_version: string; latency_ms: number; job_id: string }>('POST', `/api/v1/connections/${pgConn}/test`);
    expect(t1.status).toBe(200);
    expect(t1.body.status).toBe('success');
    expect(t1.body.server_version).toMatch(/PostgreSQL|^\d+/);
    expect(t1.body.latency_ms).toBeGreaterThanOrEqual(0);
    testJob = t1.body.job_id;
    const job = await api<{ agent_id: string; status: string }>('GET', `/api/v1/jobs/${testJob}`);
    expect(job.body.status).toBe('completed');

    const t2 = await api<{ status: string; server_version: string }>('POST', `/api/v1/connections/${myConn}/test`);
    expect(t2.body.status).toBe('success');
    expect(t2.body.server_version).toMatch(/MariaDB|^\d+/);
    expect(t2.text).not.toContain(MYSQL_PASSWORD);

    const bad = await api<{ id: string }>('POST', '/api/v1/connections', {
      name: 'wrong password',
      connection_string: `mysql://${mysqlUser}:nope-${MYSQL_PASSWORD}@127.0.0.1:3306/${myDb}`,
      agent_id: remoteId,
    });
    const t3 = await api<{ status: string; error: { code: string; message: string } }>('POST', `/api/v1/connections/${bad.body.id}/test`);
    expect(t3.body.status).toBe('failed');
    expect(t3.body.error.code).toBe('authentication_failed');
    expect(t3.text).not.toContain(MYSQL_PASSWORD);

    const down = await api<{ id: string }>('POST', '/api/v1/connections', { name: 'nothing there', connection_string: 'postgresql://postgres@127.0.0.1:1/x', agent_id: remoteId });
    const t4 = await api<{ status: string; error: { code: string } }>('POST', `/api/v1/connections/${down.body.id}/test`);
    expect(t4.body.error.code).toBe('source_unreachable');
  });

  it('revokes the remote agent: its session closes within 5 s and it cannot reconnect', async () => {
    const del = await api('DELETE', `/api/v1/agents/${remoteId}`);
    expect(del.status).toBe(200);
    const t0 = Date.now();
    await until('revoked', async () => (await api<Agent>('GET', `/api/v1/agents/${remoteId}`)).body.status === 'revoked', 5_000, 100);
    expect(Date.now() - t0).toBeLessThan(5_000);
    await until('agent told it was revoked', async () => /revoked/i.test(agent!.output()), 10_000);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await api<Agent>('GET', `/api/v1/agents/${remoteId}`)).body.status).toBe('revoked');
  });

  it('keeps agents, connections, keys and jobs across a SIGKILL of the hub', async () => {
    const k = await api<{ id: string; key: string }>('POST', '/api/v1/api-keys', { name: 'survivor', scopes: ['read'] });
    await hub.kill('SIGKILL');
    await startHub();
    const agents = await api<{ data: Agent[] }>('GET', '/api/v1/agents');
    expect(agents.body.data.map((a) => a.id)).toContain(remoteId);
    expect(agents.body.data.find((a) => a.id === remoteId)?.status).toBe('revoked');
    await until('built-in agent back online', async () => (await api<{ data: Agent[] }>('GET', '/api/v1/agents')).body.data.find((a) => a.builtin && a.status === 'online'));
    const conns = await api<{ data: { id: string }[] }>('GET', '/api/v1/connections?limit=100');
    expect(conns.body.data.map((c) => c.id)).toEqual(expect.arrayContaining([pgConn, myConn]));
    const keys = await api<{ data: { id: string }[] }>('GET', '/api/v1/api-keys?limit=100');
    expect(keys.body.data.map((x) => x.id)).toContain(k.body.id);
    const survivor = await fetch(`http://127.0.0.1:${http}/api/v1/jobs`, { headers: { authorization: `Bearer ${k.body.key}` } });
    expect(survivor.status).toBe(200);
    const job = await api<{ status: string }>('GET', `/api/v1/jobs/${testJob}`);
    expect(job.body.status).toBe('completed');
  });

  it('never wrote a connection password to any log', () => {
    expect(earlierHubOutput + hub.output()).not.toContain(MYSQL_PASSWORD);
    expect(earlierHubOutput).toContain('hub started');
    expect(agent!.output()).not.toContain(MYSQL_PASSWORD);
  });
});
