import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareAll, pgConstraints } from './compare.ts';
import { type Dialect } from './edge-data.ts';
import { extraDataset } from './edge-extra.ts';
import { approveAll, createPlanned, start, untilStatus, type Req } from './flow.ts';
import { loadSource, startTargetHub, type TargetHub } from './target-hub.ts';

/**
 * Each dialect's own types and objects (edge-extra.ts) into PostgreSQL through the REST API and
 * the built-in agent, all pending mappings approved as proposed, every row compared outside Ferry.
 */
describe('dialect-specific types from PostgreSQL, MariaDB and SQLite into PostgreSQL', () => {
  let h: TargetHub;
  let req: Req;
  let target: pg.Client;
  let dstConn = '';
  let cleanup: (() => unknown)[] = [];

  beforeAll(async () => {
    h = await startTargetHub();
    ({ req, target, dstConn, cleanup } = h);
  }, 120_000);

  afterAll(() => h?.stop());

  const source = (d: Dialect) => loadSource(h, d, extraDataset(d), 'extra');

  async function migrate(d: Dialect, schema: string, sourceBody: Record<string, unknown> = {}) {
    const { conn, reader } = await source(d);
    cleanup.push(() => reader.close());
    const id = await createPlanned(req, { name: `extra ${d}`, source: { connection_id: conn, ...sourceBody }, target: { connection_id: dstConn, schema }, options: { parallelism: 2, batch_size: 40 } }, { approveAll: false });
    await approveAll(req, id);
    await start(req, id);
    const done = await untilStatus(req, id, ['completed', 'failed'], 120_000);
    if (done.status !== 'completed') {
      const errs = (await req('GET', `/api/v1/migrations/${id}/errors?limit=5`)).body;
      const v = [(await req('GET', `/api/v1/migrations/${id}/validation/semantic`)).body, (await req('GET', `/api/v1/migrations/${id}/validation/statistical`)).body, (await req('GET', `/api/v1/migrations/${id}/validation/structural`)).body];
      expect.fail(`${JSON.stringify(done.error)}\n${JSON.stringify(errs).slice(0, 3000)}\n${JSON.stringify(v).slice(0, 6000)}`);
    }
    const ds = extraDataset(d);
    const { differences, compared } = await compareAll(reader, target, schema, ds.tables.map((x) => x.name));
    expect(differences).toEqual([]);
    for (const x of ds.tables) expect({ table: x.name, rows: compared.get(x.name)?.rows }).toEqual({ table: x.name, rows: x.rows.length });
    const k = await pgConstraints(target, schema);
    expect(k.notValid).toBe(0);
    return { id, k };
  }

  it('PostgreSQL: arrays, enum, domain, interval, inet, json, timetz, varbit, generated column', async () => {
    const { k } = await migrate('postgresql', 'extra_pg', { schemas: ['public'] });
    expect(k).toMatchObject({ p: 1, u: 1 });
    const ins = await target.query<{ id: string }>(`INSERT INTO extra_pg.more DEFAULT VALUES RETURNING id`);
    expect(ins.rows[0]!.id).toBe('151');
  }, 120_000);

  it('MariaDB: enum, set, json, bit, time beyond 24 h, float, char, decimal(65,30), latin1, generated column, cascade', async () => {
    const { k } = await migrate('mysql', 'extra_maria');
    expect(k).toMatchObject({ p: 2, f: 1 });
    const fk = await target.query<{ d: string }>(`SELECT pg_get_constraintdef(oid) d FROM pg_constraint WHERE contype = 'f' AND connamespace = 'extra_maria'::regnamespace`);
    expect(fk.rows[0]!.d).toMatch(/ON DELETE CASCADE/);
  }, 120_000);

  it('SQLite: WITHOUT ROWID text key, AUTOINCREMENT, epoch DATETIME, a name with a space, cascade', async () => {
    const { k } = await migrate('sqlite', 'extra_sqlite');
    expect(k).toMatchObject({ p: 2, f: 1 });
  }, 120_000);
});
