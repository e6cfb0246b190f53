import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase, dropPgDatabase, psql } from '../connectors/fixtures.ts';
import { pgClient } from './chinook.ts';
import { compareAll, pgSource } from './compare.ts';
import { connection, createPlanned, getMig, start, untilStatus, type Req } from './flow.ts';
import { removeDir, startHub, waitFor, type MigHub } from './helpers.ts';

type Err = { id: string; unit_id: string; table: string; row: string; key: string; code: string; message: string; status: string };
type Mapping = { id: string; status: string; source: { table: string; column: string }; target: { type: string } };

/**
 * Through the REST API and the built-in agent, on a hub whose clock the test moves:
 * rows the target rejects become errors (listed with row and reason) while the rest loads; the
 * migration fails at validation; fixing the mapping, retrying and resolving the errors, then
 * starting again from validation, completes it equal to the source. The SSE log stream of a
 * running migration carries log and progress events and ends. A maintenance window that closes
 * pauses the migration (pause_reason maintenance_window) and its reopening resumes it.
 */
const DAY = '2026-06-01';
let offsetMs = 0;
const setClock = (iso: string) => {
  offsetMs = Date.parse(iso) - Date.now();
};
let t: MigHub;
let req: Req;
let srcDb = '';
let dstDb = '';
let src: pg.Client;
let dst: pg.Client;
let srcConn = '';
let dstConn = '';

beforeAll(async () => {
  setClock(`${DAY}T10:00:00Z`);
  srcDb = createPgDatabase();
  psql(srcDb, `
    CREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL, note text);
    INSERT INTO people SELECT g, CASE WHEN g % 97 = 0 THEN 'much too long ' || g ELSE 'p' || (g % 1000) END, CASE WHEN g % 5 = 0 THEN NULL ELSE md5(g::text) END FROM generate_series(1, 2000) g;
    CREATE TABLE events (id bigint PRIMARY KEY, at timestamp, payload text);
    INSERT INTO events SELECT g, timestamp '1999-12-31 23:00:00' + g * interval '1 minute', repeat('x', g % 50) FROM generate_series(1, 120000) g;
  `);
  dstDb = createPgDatabase();
  src = await pgClient(srcDb);
  dst = await pgClient(dstDb);
  t = await startHub({ listen: true, builtin: true, now: () => new Date(Date.now() + offsetMs) });
  req = (m, p, b) => t.req(m, p, b);
  await waitFor('built-in agent online', () => {
    const id = t.hub.agents.builtin.agentId;
    return id && t.hub.agents.sessions.isOnline(id) ? id : null;
  }, 60_000);
  srcConn = await connection(req, { name: 'source', connection_string: `postgresql://postgres@127.0.0.1:5432/${srcDb}` });
  dstConn = await connection(req, { name: 'target', connection_string: `postgresql://postgres@127.0.0.1:5432/${dstDb}` });
}, 120_000);

afterAll(async () => {
  await t?.stop();
  if (t) removeDir(t.dataDir);
  await src?.end();
  await dst?.end();
  if (srcDb) dropPgDatabase(srcDb);
  if (dstDb) dropPgDatabase(dstDb);
});

/** Read an SSE response to its end: the event names and data, in order. */
async function readEvents(res: Response, maxMs: number): Promise<{ event: string; data: string }[]> {
  const out: { event: string; data: string }[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let buf = '';
  const deadline = Date.now() + maxMs;
  for (;;) {
    const r = await Promise.race([reader.read(), new Promise<null>((resolve) => setTimeout(() => resolve(null), Math.max(1, deadline - Date.now())))]);
    if (r === null) {
      await reader.cancel();
      throw new Error(`SSE stream did not end within ${maxMs} ms; got ${out.map((e) => e.event).join(',')}`);
    }
    if (r.done) break;
    buf += dec.decode(r.value, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev = /^event: ?(.*)$/m.exec(block)?.[1] ?? 'message';
      const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.replace(/^data: ?/, '')).join('\n');
      out.push({ event: ev, data });
    }
  }
  return out;
}

describe('rejected rows, retry and resolve; the SSE stream', () => {
  it('records rejected rows as errors, fails at validation, then loads them after a mapping fix and completes from validation', async () => {
    const id = await createPlanned(req, { name: 'narrow', source: { connection_id: srcConn, exclude_tables: ['events'] }, target: { connection_id: dstConn, schema: 'narrow' }, options: { parallelism: 2, batch_size: 500 } });
    const maps = ((await req('GET', `/api/v1/migrations/${id}/mappings`)).body as { data: Mapping[] }).data;
    const name = maps.find((m) => m.source.table === 'people' && m.source.column === 'name') as Mapping;
    const o = await req('POST', `/api/v1/migrations/${id}/plan/mappings/${name.id}/approve`, { approved: true, override_transformation: 'CAST(name AS varchar(5))', comment: 'names are short' });
    expect(o.status, JSON.stringify(o.body)).toBe(200);
    expect(((await req('GET', `/api/v1/migrations/${id}/mappings/${name.id}`)).body as Mapping).target.type).toBe('varchar(5)');

    await start(req, id);
    // The live stream, opened while the migration runs, carries log and progress events and ends with it.
    const sse = await t.hub.app.request(`/api/v1/migrations/${id}/logs?follow=true`, { headers: { authorization: `Bearer ${t.adminKey}`, accept: 'text/event-stream' } });
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events = await readEvents(sse, 120_000);
    const kinds = new Set(events.map((e) => e.event));
    expect(kinds.has('log')).toBe(true);
    expect(kinds.has('progress')).toBe(true);
    expect(events[events.length - 1]?.event).toBe('end');
    const logs = events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data) as { message: string });
    expect(logs.some((l) => /rejected by the target/.test(l.message))).toBe(true);

    const failed = await untilStatus(req, id, ['failed'], 120_000);
    expect(failed.error?.code).toBe('validation_failed');
    const longRows = 2000 / 97 | 0;
    const list = (await req('GET', `/api/v1/migrations/${id}/errors?limit=100`)).body as { data: Err[]; pagination: { total: number } };
    expect(list.pagination.total).toBe(longRows);
    for (const e of list.data) {
      expect(e).toMatchObject({ table: 'people', status: 'open', code: '22001' });
      expect(e.message).toMatch(/too long/);
      expect(e.row).toContain('much too long');
    }
    const loaded = await dst.query<{ n: string }>(`SELECT count(*) n FROM narrow.people`);
    expect(Number(loaded.rows[0]!.n)).toBe(2000 - longRows);
    const one = (await req('GET', `/api/v1/migrations/${id}/errors/${list.data[0]!.id}`)).body as Err;
    expect(one.id).toBe(list.data[0]!.id);

    // The user widens the column, accepts one error as is, and retries the others' units.
    const fix = await req('PATCH', `/api/v1/migrations/${id}/mappings/${name.id}`, { target_type: 'text', status: 'approved', comment: 'names can be long' });
    expect(fix.status, JSON.stringify(fix.body)).toBe(200);
    const res = await req('POST', `/api/v1/migrations/${id}/errors/${list.data[0]!.id}/resolve`, { comment: 'accepted; loaded by the retry below' });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('resolved');
    const units = [...new Set(list.data.map((e) => e.unit_id))];
    for (const u of units) {
      const e = list.data.find((x) => x.unit_id === u && x.id !== list.data[0]!.id) ?? list.data.find((x) => x.unit_id === u)!;
      const r = await req('POST', `/api/v1/migrations/${id}/errors/${e.id}/retry`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.status).toBe('retrying');
      await waitFor('retry job', async () => {
        const j = (await req('GET', `/api/v1/jobs/${String(r.body.job_id)}`)).body as { status: string; error?: unknown };
        if (j.status === 'failed') throw new Error(`retry failed: ${JSON.stringify(j.error)}`);
        return j.status === 'completed' ? j : null;
      }, 60_000);
    }
    const after = (await req('GET', `/api/v1/migrations/${id}/errors?limit=100`)).body as { data: Err[] };
    expect(after.data.filter((e) => e.status === 'open')).toEqual([]);
    expect(after.data.find((e) => e.id === list.data[0]!.id)?.status).toBe('resolved');
    const ty = await dst.query<{ t: string }>(`SELECT format_type(atttypid, atttypmod) t FROM pg_attribute WHERE attrelid = 'narrow.people'::regclass AND attname = 'name'`);
    expect(ty.rows[0]!.t).toBe('text');

    await start(req, id, { start_from_phase: 'validation' });
    const done = await untilStatus(req, id, ['completed', 'failed'], 120_000);
    expect(done.error).toBeNull();
    expect(done.status).toBe('completed');
    const cmp = await compareAll(pgSource(src, 'public'), dst, 'narrow', ['people']);
    expect(cmp.differences).toEqual([]);
    expect((await req('GET', `/api/v1/migrations/${id}/validation`)).body.outcome).toBe('passed');
  }, 240_000);
});

describe('cancel with rollback', () => {
  it('leaves the target as it was: what the migration created is gone, what was there before is untouched', async () => {
    await dst.query(`CREATE SCHEMA keep; CREATE TABLE keep.mine (id int PRIMARY KEY, v text); INSERT INTO keep.mine SELECT g, 'v' || g FROM generate_series(1, 100) g`);
    const before = await dst.query(`SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'keep' ORDER BY 1`);
    const id = await createPlanned(req, { name: 'cancelled', source: { connection_id: srcConn }, target: { connection_id: dstConn, schema: 'keep' }, options: { parallelism: 1, batch_size: 2000 } });
    await start(req, id);
    await waitFor('some units done', async () => {
      const m = await getMig(req, id);
      return m.phase === 'data_transfer' && m.metrics.units_done >= 1 ? m : null;
    }, 60_000);
    const r = await req('POST', `/api/v1/migrations/${id}/cancel`, { reason: 'changed our minds', rollback: true });
    expect(r.body).toMatchObject({ status: 'rolling_back', rollback_status: 'initiated' });
    await untilStatus(req, id, ['rolled_back'], 60_000);
    const after = await dst.query(`SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'keep' ORDER BY 1`);
    expect(after.rows).toEqual(before.rows);
    const rows = await dst.query<{ n: string; s: string }>(`SELECT count(*) n, md5(string_agg(v, ',' ORDER BY id)) s FROM keep.mine`);
    const want = await dst.query<{ s: string }>(`SELECT md5(string_agg('v' || g, ',' ORDER BY g)) s FROM generate_series(1, 100) g`);
    expect(rows.rows[0]).toEqual({ n: '100', s: want.rows[0]!.s });
  }, 120_000);
});

describe('maintenance window on an injected clock', () => {
  it('pauses with pause_reason maintenance_window when the window closes, resumes when it opens, and ends equal', async () => {
    setClock(`${DAY}T10:00:00Z`);
    const id = await createPlanned(req, {
      name: 'windowed',
      source: { connection_id: srcConn, exclude_tables: ['people'] },
      target: { connection_id: dstConn, schema: 'windowed' },
      options: { parallelism: 1, batch_size: 4000, validation_kinds: ['statistical'] },
      schedule: { maintenance_window: { start: '09:00', end: '17:00', timezone: 'UTC' } },
    });
    const s = await start(req, id);
    expect(s.status).toBe('running');
    await waitFor('some units done', async () => {
      const m = await getMig(req, id);
      return m.phase === 'data_transfer' && m.metrics.units_done >= 2 ? m : null;
    }, 60_000);
    setClock(`${DAY}T17:30:00Z`);
    const paused = await untilStatus(req, id, ['paused'], 60_000);
    expect(paused.pause_reason).toBe('maintenance_window');
    expect(paused.metrics.units_done).toBeLessThan(paused.metrics.units_total);
    // Resume outside the window is answered, but the migration stays paused until the window opens.
    const early = await req('POST', `/api/v1/migrations/${id}/resume`);
    expect(early.body.status).toBe('paused');
    expect(t.hub.migrations.scheduler.tick()).toEqual([]);
    expect((await getMig(req, id)).status).toBe('paused');

    setClock('2026-06-02T09:01:00Z');
    expect(t.hub.migrations.scheduler.tick()).toEqual([id]);
    const done = await untilStatus(req, id, ['completed', 'failed'], 120_000);
    expect(done.error).toBeNull();
    expect(done.status).toBe('completed');
    const cmp = await compareAll(pgSource(src, 'public'), dst, 'windowed', ['events']);
    expect(cmp.differences).toEqual([]);
  }, 180_000);
});
