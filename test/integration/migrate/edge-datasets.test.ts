import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareAll, pgConstraints } from './compare.ts';
import { edgeDataset, type Dialect } from './edge-data.ts';
import { approveAll, createPlanned, start, untilStatus, type Req } from './flow.ts';
import { loadSource, startTargetHub, type TargetHub } from './target-hub.ts';

type Mapping = { id: string; status: string; confidence: number; source: { table: string; column: string }; target: { type: string }; transformation: string };

/**
 * The generated edge dataset from each source dialect into PostgreSQL through the REST API and
 * the built-in agent; the user reviews the pending mappings (SQLite columns whose values do not
 * match their declared affinity are overridden to text, as the plan's risk advises), then every
 * row is compared outside Ferry with a canonical text per value.
 */
describe('edge datasets from PostgreSQL, MariaDB and SQLite into PostgreSQL', () => {
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

  const source = (d: Dialect) => loadSource(h, d, edgeDataset(d, 7), 'edge');

  async function migrate(d: Dialect, schema: string, review?: (maps: Mapping[], id: string) => Promise<void>) {
    const { conn, reader } = await source(d);
    cleanup.push(() => reader.close());
    const id = await createPlanned(req, { name: `edge ${d}`, source: { connection_id: conn }, target: { connection_id: dstConn, schema }, options: { parallelism: 3, batch_size: 50 } }, { approveAll: false });
    const maps = ((await req('GET', `/api/v1/migrations/${id}/mappings?limit=1000`)).body as { data: Mapping[] }).data;
    if (review) await review(maps, id);
    await approveAll(req, id);
    await start(req, id);
    const done = await untilStatus(req, id, ['completed', 'failed'], 180_000);
    if (done.status !== 'completed') {
      const errs = (await req('GET', `/api/v1/migrations/${id}/errors?limit=20`)).body;
      const v = [(await req("GET", `/api/v1/migrations/${id}/validation/semantic`)).body, (await req("GET", `/api/v1/migrations/${id}/validation/statistical`)).body];
      expect.fail(`${JSON.stringify(done.error)}\n${JSON.stringify(errs).slice(0, 3000)}\n${JSON.stringify(v).slice(0, 8000)}`);
    }
    const tables = edgeDataset(d, 7).tables.map((x) => x.name);
    const { differences, compared } = await compareAll(reader, target, schema, tables);
    expect(differences).toEqual([]);
    for (const x of edgeDataset(d, 7).tables) expect({ table: x.name, rows: compared.get(x.name)?.rows }).toEqual({ table: x.name, rows: x.rows.length });
    const k = await pgConstraints(target, schema);
    expect(k).toMatchObject({ p: tables.length - 1, f: 2, notValid: 0 });
    // The identity of "Order" continues after the source's largest key.
    const ins = await target.query<{ id: string }>(`INSERT INTO "${schema}"."Order" ("select") VALUES ('new') RETURNING "Id" id`);
    expect(ins.rows[0]!.id).toBe('301');
    return { id, maps };
  }

  it('PostgreSQL source: every row equal, keys, identity', async () => {
    const { maps } = await migrate('postgresql', 'edge_pg');
    expect(maps.every((m) => m.transformation === 'none' || m.source.table === 'pg_only')).toBe(true);
  }, 180_000);

  it('MariaDB source: tinyint(1) as boolean, unsigned ranges, zero dates as NULL, every row equal', async () => {
    const { maps } = await migrate('mysql', 'edge_maria');
    const m = (col: string) => maps.find((x) => x.source.table === 'mysql_only' && x.source.column === col);
    expect(m('flag')).toMatchObject({ target: { type: 'boolean' }, transformation: 'bool_from_int' });
    expect(m('u32')?.target.type).toBe('bigint');
    expect(m('zd')?.transformation).toBe('zero_date_to_null');
    expect(m('zdt')?.transformation).toBe('zero_date_to_null');
    const zero = await target.query(`SELECT count(*)::int n FROM edge_maria.mysql_only WHERE zd IS NULL`);
    expect(Number((zero.rows[0] as { n: string }).n)).toBeGreaterThan(0);
  }, 180_000);

  it('SQLite source: values off their declared affinity, overridden to text by the user, every row equal', async () => {
    await migrate('sqlite', 'edge_sqlite', async (maps, id) => {
      for (const col of ['n', 'num', 'untyped']) {
        const mp = maps.find((x) => x.source.table === 'affinity' && x.source.column === col);
        expect(mp, col).toBeDefined();
        if (mp!.target.type === 'text') continue;
        const r = await req('POST', `/api/v1/migrations/${id}/plan/mappings/${mp!.id}/approve`, { approved: true, override_transformation: { type: 'text', transformation: 'text_from_any' }, comment: 'mixed storage classes' });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
      }
    });
  }, 180_000);
});
