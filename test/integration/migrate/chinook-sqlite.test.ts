import { rmSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { constraintCounts, copyChinook, createDatabase, dropDatabase, pgClient, pgSummary, sqliteSummary } from './chinook.ts';
import { removeDir, startHub, waitFor, type MigHub } from './helpers.ts';

type Body = Record<string, unknown>;

/**
 * End to end through the built-in agent (a real child process over gRPC): SQLite Chinook into a
 * fresh PostgreSQL database, compared outside Ferry.
 */
describe('SQLite Chinook to PostgreSQL through the built-in agent', () => {
  let t: MigHub;
  let src: { dir: string; file: string };
  let db: string;
  let client: pg.Client;
  let srcConn: string;
  let dstConn: string;
  let expected: Map<string, { rows: number; md5: string }>;

  beforeAll(async () => {
    src = copyChinook();
    expected = sqliteSummary(src.file);
    db = await createDatabase();
    client = await pgClient(db);
    t = await startHub({ listen: true, builtin: true });
    await waitFor('built-in agent online', () => {
      const id = t.hub.agents.builtin.agentId;
      return id && t.hub.agents.sessions.isOnline(id) ? id : null;
    }, 60_000);
    srcConn = ((await t.req('POST', '/api/v1/connections', { name: 'chinook sqlite', type: 'sqlite', path: src.file })).body as { id: string }).id;
    dstConn = ((await t.req('POST', '/api/v1/connections', { name: 'pg target', connection_string: `postgresql://postgres@127.0.0.1:5432/${db}` })).body as { id: string }).id;
  });

  afterAll(async () => {
    await t?.stop();
    if (t) removeDir(t.dataDir);
    await client?.end();
    if (db) await dropDatabase(db);
    rmSync(src.dir, { recursive: true, force: true });
  });

  const get = async (id: string) => (await t.req('GET', `/api/v1/migrations/${id}`)).body as Body & { status: string };

  async function planned(schema: string, options: Record<string, unknown> = {}, hub = t): Promise<string> {
    const r = await hub.req('POST', '/api/v1/migrations', { name: `chinook ${schema}`, source: { connection_id: srcConn }, target: { connection_id: dstConn, schema }, options: { parallelism: 4, batch_size: 500, ...options } });
    expect(r.status).toBe(201);
    const id = (r.body as { id: string }).id;
    const st = await waitFor('plan', async () => {
      const m = await get(id);
      if (m.status === 'failed') throw new Error(`planning failed: ${JSON.stringify(m.error)}`);
      return ['plan_ready', 'approved'].includes(m.status) ? m.status : null;
    });
    if (st === 'plan_ready') {
      const maps = (await hub.req('GET', `/api/v1/migrations/${id}/mappings`)).body as { data: { id: string; status: string }[] };
      const pending = maps.data.filter((m) => m.status !== 'approved').map((m) => ({ id: m.id, status: 'approved' }));
      expect((await hub.req('PATCH', `/api/v1/migrations/${id}/mappings`, { mappings: pending })).status).toBe(200);
      expect((await get(id)).status).toBe('approved');
    }
    return id;
  }

  async function until(id: string, statuses: string[]): Promise<Body & { status: string }> {
    return waitFor(`status ${statuses.join('|')}`, async () => {
      const m = (await t.req('GET', `/api/v1/migrations/${id}`)).body as Body & { status: string };
      if (m.status === 'failed' && !statuses.includes('failed')) throw new Error(`migration failed: ${JSON.stringify(m.error)}`);
      return statuses.includes(m.status) ? m : null;
    }, 180_000);
  }

  async function expectEqual(schema: string) {
    const got = await pgSummary(client, schema);
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [table, want] of expected) expect({ table, ...got.get(table) }).toEqual({ table, ...want });
    const cons = await constraintCounts(client, schema);
    expect(cons.p).toBe(expected.size);
    expect(cons.f).toBe(11);
  }

  it('migrates every row and constraint; logs, metrics and status agree', async () => {
    const id = await planned('chinook_full');
    const r = await t.req('POST', `/api/v1/migrations/${id}/start`, {});
    expect(r.body).toMatchObject({ status: 'running' });
    const done = await until(id, ['completed']);
    await expectEqual('chinook_full');
    const total = [...expected.values()].reduce((n, x) => n + x.rows, 0);
    expect((done.metrics as Body).records_processed).toBe(total);
    expect((done.progress as Body).overall_percent).toBe(100);
    const metrics = (await t.req('GET', `/api/v1/migrations/${id}/metrics`)).body as { by_table: { table: string; records_processed: number }[] };
    expect(metrics.by_table.find((x) => x.table === 'Track')?.records_processed).toBe(expected.get('Track')?.rows);
    const logs = (await t.req('GET', `/api/v1/migrations/${id}/logs?limit=1000`)).body as { data: { message: string; phase: string | null }[] };
    expect(logs.data.some((l) => l.message.includes('Phase cutover completed'))).toBe(true);
    expect(JSON.stringify(logs)).not.toMatch(/password/i);
  });

  it('pauses and resumes to the same result', async () => {
    const id = await planned('chinook_pause', { parallelism: 1, batch_size: 200 });
    await t.req('POST', `/api/v1/migrations/${id}/start`, {});
    await waitFor('data transfer', async () => ((await get(id)).phase === 'data_transfer' ? true : null));
    const p = await t.req('POST', `/api/v1/migrations/${id}/pause`, { reason: 'test' });
    expect(p.body.status).toBe('pausing');
    const paused = await until(id, ['paused']);
    const at = paused.metrics as { units_done: number; units_total: number };
    expect(at.units_done).toBeLessThan(at.units_total);
    expect(paused.pause_reason).toBe('test');
    const r = await t.req('POST', `/api/v1/migrations/${id}/resume`);
    expect(r.body.status).toBe('running');
    expect(String(r.body.resumed_from_checkpoint)).toMatch(/^ckpt_/);
    await until(id, ['completed']);
    await expectEqual('chinook_pause');
  });

  it('cancel with rollback leaves the target without the created tables', async () => {
    const id = await planned('chinook_cancel', { parallelism: 1, batch_size: 200 });
    await t.req('POST', `/api/v1/migrations/${id}/start`, {});
    await waitFor('data transfer', async () => ((await get(id)).phase === 'data_transfer' ? true : null));
    const r = await t.req('POST', `/api/v1/migrations/${id}/cancel`, { reason: 'test', rollback: true });
    expect(r.body).toMatchObject({ status: 'rolling_back', rollback_status: 'initiated' });
    await until(id, ['rolled_back']);
    const left = await client.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'chinook_cancel'`);
    expect(left.rows).toEqual([]);
    const schema = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'chinook_cancel'`);
    expect(schema.rowCount).toBe(0);
  });

  it('resumes after a hub restart on the same data directory and completes', async () => {
    const id = await planned('chinook_restart', { parallelism: 1, batch_size: 100 });
    await t.req('POST', `/api/v1/migrations/${id}/start`, {});
    await waitFor('some units done', async () => {
      const m = await get(id);
      return (m.metrics as { units_done: number }).units_done >= 2 ? true : null;
    });
    const dir = t.dataDir;
    const grpcPort = t.grpcPort;
    await t.stop();
    t = await startHub({ dataDir: dir, listen: true, builtin: true, grpcPort });
    await until(id, ['completed']);
    await expectEqual('chinook_restart');
  }, 300_000);
});
