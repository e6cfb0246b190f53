/**
 * Behavioral validation through the REST API and the built-in agent: a migration carrying its
 * own workload (options.behavioral_workload, changed by PATCH before start) ends with a
 * certificate naming its queries; then the target is damaged outside Ferry and an on-demand
 * validation with an uploaded .sql workload (workload_sql) fails behavioral, naming the query.
 */
import { rmSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryReport } from '../../../hub/src/validate/report.ts';
import { copyChinook, createDatabase, dropDatabase, pgClient } from '../migrate/chinook.ts';
import { createPlanned, start, untilStatus } from '../migrate/flow.ts';
import { removeDir, startHub, waitFor, type MigHub } from '../migrate/helpers.ts';

const WORKLOAD = [
  { name: 'artists', sql: 'SELECT ArtistId, Name FROM Artist ORDER BY ArtistId' },
  { name: 'tracks per genre', sql: 'SELECT GenreId, COUNT(*) AS n, MAX(Milliseconds) AS longest FROM Track GROUP BY GenreId' },
];

describe('behavioral validation of a migration with its own workload', () => {
  let t: MigHub;
  let src: { dir: string; file: string };
  let db: string;
  let client: pg.Client;
  let migId: string;

  beforeAll(async () => {
    src = copyChinook();
    db = await createDatabase();
    client = await pgClient(db);
    t = await startHub({ listen: true, builtin: true });
    await waitFor('built-in agent online', () => {
      const id = t.hub.agents.builtin.agentId;
      return id && t.hub.agents.sessions.isOnline(id) ? id : null;
    }, 60_000);
  }, 90_000);

  afterAll(async () => {
    await t?.stop();
    if (t) removeDir(t.dataDir);
    await client?.end();
    if (db) await dropDatabase(db);
    if (src) rmSync(src.dir, { recursive: true, force: true });
  });

  const req = (method: string, p: string, body?: unknown) => t.req(method, p, body);

  it('runs options.behavioral_workload after cutover; the signed certificate names the queries as passed', async () => {
    const s = (await req('POST', '/api/v1/connections', { name: 'chinook sqlite', type: 'sqlite', path: src.file })).body.id as string;
    const d = (await req('POST', '/api/v1/connections', { name: 'pg target', connection_string: `postgresql://postgres@127.0.0.1:5432/${db}` })).body.id as string;
    migId = await createPlanned(req, {
      name: 'chinook with workload',
      source: { connection_id: s },
      target: { connection_id: d, schema: 'public' },
      options: { batch_size: 1000, validation_kinds: ['structural', 'behavioral'], behavioral_workload: [{ name: 'placeholder', sql: 'SELECT 1' }] },
    });
    const p = await req('PATCH', `/api/v1/migrations/${migId}`, { options: { behavioral_workload: WORKLOAD } });
    expect(p.status).toBe(200);
    expect((p.body.options as { behavioral_workload: unknown }).behavioral_workload).toEqual(WORKLOAD);
    await start(req, migId);
    const m = await untilStatus(req, migId, ['completed', 'failed']);
    expect(m.status, JSON.stringify(m.error)).toBe('completed');

    const b = (await req('GET', `/api/v1/migrations/${migId}/validation/behavioral`)).body as { status: string; details: { queries: QueryReport[] } };
    expect(b.status, JSON.stringify(b.details).slice(0, 2000)).toBe('passed');
    const artists = b.details.queries.find((q) => q.name === 'artists')!;
    expect(artists).toMatchObject({ source: 'migration', status: 'passed', ordered: true, rows_source: 275, rows_target: 275, translated: true });
    expect(artists.target_sql).not.toBe(artists.source_sql);
    expect(typeof artists.ms_source).toBe('number');
    expect(artists.snapshot_source).toBe('sqlite read transaction');
    expect(artists.snapshot_target).toMatch(/^postgresql repeatable read, read only, snapshot /);

    const cert = (await req('GET', `/api/v1/migrations/${migId}/certificate`)).body as { certificate: { outcome: string; checks: { behavioral: { status: string; queries: { name: string; status: string; source: string }[] } } } };
    expect(cert.certificate.checks.behavioral.status).toBe('passed');
    expect(cert.certificate.checks.behavioral.queries).toEqual([
      { name: 'artists', status: 'passed', source: 'migration' },
      { name: 'tracks per genre', status: 'passed', source: 'migration' },
    ]);
  }, 240_000);

  it('documents the upload (workload_sql) and the migration workload in the OpenAPI document', async () => {
    const doc = JSON.stringify((await req('GET', '/api/v1/openapi.json')).body);
    expect(doc).toMatch(/workload_sql[^}]*Upload of a \.sql workload file/);
    expect(doc).toContain('behavioral_workload');
  });

  it('refuses workload and workload_sql together, and a workload file with an unterminated literal', async () => {
    const both = await req('POST', '/api/v1/validations', { migration_id: migId, workload: WORKLOAD, workload_sql: 'SELECT 1' });
    expect(both.status).toBe(422);
    const bad = await req('POST', '/api/v1/validations', { migration_id: migId, workload_sql: "SELECT 1;\nSELECT 'open" });
    expect(bad.status).toBe(422);
    expect(bad.body.error?.message).toMatch(/line 2: unterminated string literal/);
  });

  it('a damaged target fails behavioral, naming the query whose result differs (workload uploaded as a .sql file)', async () => {
    // The plan keeps SQLite's names ("Track"."GenreId"); the workload's bare names are translated.
    const genre = (await client.query<{ g: string | number }>('SELECT "GenreId" AS g FROM "Track" WHERE "TrackId" = 1')).rows[0]!.g;
    await client.query('UPDATE "Track" SET "GenreId" = $1 WHERE "TrackId" = 1', [Number(genre) === 1 ? 2 : 1]);
    const file = `-- Workload of the reporting app; one statement has a parameter.
-- name: artists
SELECT ArtistId, Name FROM Artist ORDER BY ArtistId;
-- name: tracks per genre
SELECT GenreId, COUNT(*) AS n FROM Track WHERE Name <> 'a;b' GROUP BY GenreId;
-- name: one album
SELECT Title FROM Album WHERE AlbumId = ?;
`;
    const r = await req('POST', '/api/v1/validations', { migration_id: migId, kinds: ['behavioral'], workload_sql: file });
    expect(r.status).toBe(202);
    const id = r.body.id as string;
    const v = await waitFor('validation', async () => {
      const g = (await req('GET', `/api/v1/validations/${id}`)).body as { status: string; outcome: string; results: { behavioral: { status: string; details: { queries: QueryReport[] } } } };
      return ['completed', 'failed'].includes(g.status) ? g : null;
    }, 120_000);
    expect(v.status).toBe('completed');
    expect(v.outcome, JSON.stringify(v.results.behavioral.details.queries, null, 1).slice(0, 3000)).toBe('failed');
    const q = v.results.behavioral.details.queries;
    expect(v.results.behavioral.status).toBe('failed');
    expect(q.map((x) => [x.name, x.source, x.status, x.status === 'not_comparable' ? x.reason : null])).toEqual([
      ['artists', 'file', 'passed', null],
      ['tracks per genre', 'file', 'failed', null],
      ['one album', 'file', 'not_comparable', 'parameterised'],
    ]);
    const bad = q[1]!;
    expect(bad.reason).toBe('result sets differ');
    expect(bad.missing_rows!.length).toBeGreaterThan(0);
    expect(bad.extra_rows!.length).toBeGreaterThan(0);
    expect(bad.rows_source).toBe(bad.rows_target);
    // Track 1 moved from genre 1 (Rock, 1297 tracks) to genre 2.
    expect(bad.missing_rows).toContainEqual(['1', '1297']);
    expect(bad.extra_rows).toContainEqual(['1', '1296']);

    // Without a workload in the request, the migration's own is used.
    const again = await req('POST', '/api/v1/validations', { migration_id: migId, kinds: ['behavioral'] });
    const v2 = await waitFor('validation', async () => {
      const g = (await req('GET', `/api/v1/validations/${again.body.id as string}`)).body as { status: string; results: { behavioral: { status: string; details: { queries: QueryReport[] } } } };
      return ['completed', 'failed'].includes(g.status) ? g : null;
    }, 120_000);
    expect(v2.results.behavioral.status).toBe('failed');
    expect(v2.results.behavioral.details.queries.map((x) => [x.name, x.source, x.status])).toEqual([
      ['artists', 'migration', 'passed'],
      ['tracks per genre', 'migration', 'failed'],
    ]);
  }, 180_000);
});
