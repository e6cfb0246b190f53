import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin, startBin, until, type Proc } from '../../helpers/processes.ts';
import { json, startTestHub, type TestHub } from '../../helpers/test-hub.ts';
import { constraintCounts, copyChinook, createDatabase, dropDatabase, pgClient, pgSummary, sqliteSummary } from './chinook.ts';

/**
 * Source and target reached by different agents: rows travel source agent -> hub relay ->
 * target agent (read_unit + load_unit), not through one agent's in-process pipe.
 */
describe('a migration between two agents through the hub relay', () => {
  let t: TestHub;
  let remote: Proc;
  let remoteId = '';
  let src: { dir: string; file: string };
  let db = '';
  let client: pg.Client;
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'ferry-relay-agent-'));

  beforeAll(async () => {
    src = copyChinook();
    db = await createDatabase();
    client = await pgClient(db);
    t = await startTestHub({ listen: true, builtin: true });
    const tok = await json<{ token: string }>(await t.req('POST', '/api/v1/agents/enrollment-tokens', { body: { auto_approve: true, max_uses: 1 } }));
    const enrolled = await runBin('ferry-agent', ['enroll', '--hub', `127.0.0.1:${t.grpcPort}`, '--token', tok.token, '--state-dir', stateDir]);
    expect(enrolled.code, enrolled.output).toBe(0);
    remoteId = /agt_[0-9a-z]+/.exec(enrolled.output)![0];
    remote = startBin('ferry-agent', ['run', '--state-dir', stateDir], { FERRY_LOG_LEVEL: 'warn' });
    await until('both agents online', async () => t.hub.agents.sessions.isOnline(remoteId) && t.hub.agents.sessions.isOnline(t.hub.agents.builtin.agentId!), 60_000);
  }, 120_000);

  afterAll(async () => {
    await remote?.kill('SIGTERM');
    await t?.stop();
    await client?.end();
    if (db) await dropDatabase(db);
    rmSync(src.dir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('moves every row from the remote agent to the target agent', async () => {
    const s = await json<{ id: string }>(await t.req('POST', '/api/v1/connections', { body: { name: 'src on remote', type: 'sqlite', path: src.file, agent_id: remoteId } }));
    const d = await json<{ id: string }>(await t.req('POST', '/api/v1/connections', { body: { name: 'pg on builtin', connection_string: `postgresql://postgres@127.0.0.1:5432/${db}` } }));
    const m = await json<{ id: string }>(
      await t.req('POST', '/api/v1/migrations', {
        body: { name: 'relay', source: { connection_id: s.id }, target: { connection_id: d.id, schema: 'public' }, options: { batch_size: 1000, parallelism: 2 } },
      }),
    );
    await until('planned', async () => ['plan_ready', 'approved'].includes((await json<{ status: string }>(await t.req('GET', `/api/v1/migrations/${m.id}`))).status), 60_000);
    const started = await t.req('POST', `/api/v1/migrations/${m.id}/start`, { body: { skip_approval: true } });
    expect(started.status).toBe(200);
    const done = await until(
      'finished',
      async () => {
        const x = await json<{ status: string; error?: unknown }>(await t.req('GET', `/api/v1/migrations/${m.id}`));
        return ['completed', 'failed'].includes(x.status) ? x : undefined;
      },
      120_000,
    );
    expect(done.status, JSON.stringify(done.error)).toBe('completed');

    // Units went through the relay: the job's tasks are read_unit on one agent, load_unit on the other.
    const jobs = await json<{ data: { id: string; kind: string }[] }>(await t.req('GET', '/api/v1/jobs?kind=migration.run'));
    const tasks = t.hub.jobs.tasksOf(jobs.data[0]!.id);
    expect(tasks.filter((x) => x.kind === 'migrate.read_unit').every((x) => x.agent_id === remoteId)).toBe(true);
    expect(tasks.filter((x) => x.kind === 'migrate.load_unit').every((x) => x.agent_id === t.hub.agents.builtin.agentId)).toBe(true);
    expect(tasks.some((x) => x.kind === 'migrate.copy_unit')).toBe(false);
    expect(tasks.filter((x) => x.kind === 'migrate.load_unit').length).toBeGreaterThan(5);
    // Real agent processes moved the rows over the data plane, not over gRPC Push/Pull.
    const moved = t.hub.agents.relay.transport;
    expect(moved.dataPlane.bytesIn).toBeGreaterThan(0);
    expect(moved.dataPlane.bytesOut).toBe(moved.dataPlane.bytesIn);
    expect(moved.grpc.bytesIn + moved.grpc.bytesOut).toBe(0);

    const expected = sqliteSummary(src.file);
    const got = await pgSummary(client, 'public');
    for (const [table, sum] of expected) expect(got.get(table), table).toEqual(sum);
    expect(await constraintCounts(client, 'public')).toEqual({ p: 11, f: 11 });
  }, 180_000);
});
