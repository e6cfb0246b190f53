import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlDatabase, createPgDatabase, dropMysqlDatabase, dropPgDatabase } from '../connectors/fixtures.ts';
import { pgClient } from './chinook.ts';
import { compareAll, mysqlSource, pgConstraints, pgSource, sqliteSource, type SourceReader } from './compare.ts';
import { loadEdge, type Dialect } from './edge-data.ts';
import { extraDataset } from './edge-extra.ts';
import { approveAll, connection, createPlanned, start, untilStatus, type Req } from './flow.ts';
import { startTargetHub, type TargetHub } from './target-hub.ts';

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

  async function source(d: Dialect): Promise<{ conn: string; reader: SourceReader }> {
    const ds = extraDataset(d);
    if (d === 'sqlite') {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-extra-'));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      const file = path.join(dir, 'extra.sqlite');
      await loadEdge(d, file, ds);
      return { conn: await connection(req, { name: 'extra sqlite', type: 'sqlite', path: file }), reader: sqliteSource(file) };
    }
    if (d === 'postgresql') {
      const db = createPgDatabase();
      cleanup.push(() => dropPgDatabase(db));
      await loadEdge(d, db, ds);
      const c = await pgClient(db);
      cleanup.push(() => c.end());
      return { conn: await connection(req, { name: 'extra pg', connection_string: `postgresql://postgres@127.0.0.1:5432/${db}` }), reader: pgSource(c, 'public') };
    }
    const db = createMysqlDatabase();
    cleanup.push(() => dropMysqlDatabase(db));
    await loadEdge(d, db, ds);
    return { conn: await connection(req, { name: 'extra maria', connection_string: `mysql://root@127.0.0.1:3306/${db}` }), reader: await mysqlSource(db) };
  }

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
