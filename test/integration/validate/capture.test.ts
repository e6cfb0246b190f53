/**
 * Behavioral workloads captured from the source's pg_stat_statements. The local server may not
 * load the extension (it must be in shared_preload_libraries, which needs a restart this test
 * does not do): the first test asserts what capture says about the real view either way; the
 * rest read a table created with the view's exact columns (CREATE TABLE ... (LIKE the view)) in
 * a fixture schema, so the capture query, filters and reporting run against real rows.
 */
import { execSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryReport } from '../../../hub/src/validate/report.ts';
import { runValidation } from '../../../hub/src/validate/run.ts';
import type { TableMappingInput } from '../../../hub/src/validate/tables.ts';
import { captureWorkload } from '../../../hub/src/validate/workload.ts';
import type { CaptureResult } from '../../../node-agent/src/validate/contract.ts';
import { createPgDatabase, dropPgDatabase, loadPgChinook, psql } from '../connectors/fixtures.ts';
import { directSides, pgConn } from './sides.ts';

const mapping: TableMappingInput[] = ['artist', 'album', 'track', 'genre'].map((t) => ({ source: `public.${t}`, target: `public.${t}` }));
const relation = { schema: 'ferry_pgss_fixture', name: 'pg_stat_statements' };

let src: string;
let dst: string;
let loaded: boolean;

beforeAll(() => {
  src = createPgDatabase();
  loadPgChinook(src);
  dst = createPgDatabase();
  execSync(`pg_dump -h 127.0.0.1 -U postgres ${src} | psql -q -h 127.0.0.1 -U postgres -d ${dst} -v ON_ERROR_STOP=1`, { stdio: ['ignore', 'ignore', 'inherit'] });
  psql(src, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements;');
  loaded = psql(src, 'SHOW shared_preload_libraries;').includes('pg_stat_statements');
  const oid = psql(src, 'SELECT oid FROM pg_database WHERE datname = current_database();').trim();
  // Calls decide the order; the statements Ferry must leave out have the most calls.
  const rows: [string, number, string | number][] = [
    ['UPDATE artist SET name = $1 WHERE artist_id = $2', 9000, oid],
    ['SELECT relname FROM pg_class WHERE relkind = $1', 8000, oid],
    ['SELECT count(*) FROM information_schema.tables', 7000, oid],
    ['select count(*) as n from "public"."track"', 6000, oid],
    ['/* ferry */ SELECT 1', 5500, oid],
    ['WITH gone AS (DELETE FROM genre WHERE genre_id = $1 RETURNING *) SELECT * FROM gone', 5200, oid],
    ['SELECT * FROM album WHERE album_id = $1', 5000, oid],
    ['SELECT count(*) FROM track', 4500, 1],
    ['SELECT name FROM artist ORDER BY name', 4000, oid],
    ['/* report */ SELECT genre_id, count(*) FROM track GROUP BY genre_id', 3000, oid],
    ['SELECT title FROM album WHERE artist_id = 1', 100, oid],
  ];
  psql(src, `CREATE SCHEMA ferry_pgss_fixture;
    CREATE TABLE ferry_pgss_fixture.pg_stat_statements (LIKE public.pg_stat_statements);
    INSERT INTO ferry_pgss_fixture.pg_stat_statements (userid, dbid, toplevel, queryid, query, calls) VALUES
    ${rows.map(([q, calls, db], i) => `(10, ${db}, true, ${1000 + i}, '${q.replace(/'/g, "''")}', ${calls})`).join(',\n')};`);
});
afterAll(() => {
  dropPgDatabase(src);
  dropPgDatabase(dst);
});

describe('a behavioral workload captured from pg_stat_statements', () => {
  it('says what the server allows: captures when the extension is loaded, names shared_preload_libraries when not', async () => {
    const sides = directSides(pgConn(src), pgConn(dst));
    if (loaded) {
      psql(src, 'SELECT name FROM artist ORDER BY name; SELECT name FROM artist ORDER BY name;');
      const { workload, capture } = await captureWorkload(sides);
      expect(capture.available).toBe(true);
      expect(workload.map((q) => q.sql)).toContain('SELECT name FROM artist ORDER BY name');
    } else {
      const { workload, capture } = await captureWorkload(sides);
      expect(capture.available).toBe(false);
      expect(capture.reason).toMatch(/installed in the source database but the server does not load it.*shared_preload_libraries/);
      expect(workload).toEqual([]);
      const { report } = await runValidation(sides, { mapping, kinds: ['behavioral'] });
      expect(report.kinds.behavioral.status).toBe('not_run');
      expect(report.kinds.behavioral.reason).toMatch(/^no workload given; pg_stat_statements is installed .*shared_preload_libraries/);
    }
  });

  it('says so when the extension is not installed in the source database', async () => {
    const { capture } = await captureWorkload(directSides(pgConn(dst), pgConn(dst)));
    expect(capture).toMatchObject({ available: false, statements: [] });
    expect(capture.reason).toMatch(/not installed in the source database/);
  });

  it('takes the top read-only statements by calls, leaves out writes, catalog, Ferry\'s own and other databases', async () => {
    const { workload, capture } = await captureWorkload(directSides(pgConn(src), pgConn(dst)), { limit: 3, relation });
    expect(capture.available).toBe(true);
    expect(capture.scanned).toBe(11);
    expect(capture.excluded).toEqual({ not_read_only: 2, catalog: 2, ferry: 2, other_database: 1 });
    expect(workload).toEqual([
      { name: 'pgss_1006', sql: 'SELECT * FROM album WHERE album_id = $1', source: 'captured' },
      { name: 'pgss_1008', sql: 'SELECT name FROM artist ORDER BY name', source: 'captured' },
      { name: 'pgss_1009', sql: 'SELECT genre_id, count(*) FROM track GROUP BY genre_id', source: 'captured' },
    ]);
    expect(capture.statements.map((s: CaptureResult['statements'][number]) => [s.calls, s.parameterised])).toEqual([[5000, true], [4000, false], [3000, false]]);
  });

  it('runs the captured workload when none is given: parameterised statements are not_comparable, the rest pass', async () => {
    const { report } = await runValidation(directSides(pgConn(src), pgConn(dst)), { mapping, kinds: ['behavioral'], capture: { relation } });
    const b = report.kinds.behavioral;
    const q = (b.details as { queries: QueryReport[] }).queries;
    expect(q.map((x) => [x.name, x.source, x.status, x.reason ?? null])).toEqual([
      ['pgss_1006', 'captured', 'not_comparable', 'parameterised'],
      ['pgss_1008', 'captured', 'passed', null],
      ['pgss_1009', 'captured', 'passed', null],
      ['pgss_1010', 'captured', 'passed', null],
    ]);
    // Parameterised is never passed: the kind cannot be `passed` with one in it.
    expect(b.status).toBe('inconclusive');
    expect(b.counts).toMatchObject({ queries: 4, passed: 3, not_comparable: 1, failed: 0, captured: 4 });
    const artists = q.find((x) => x.name === 'pgss_1008')!;
    expect(artists).toMatchObject({ ordered: true, rows_source: 275, rows_target: 275, translated: false });
    expect(artists.snapshot_source).toMatch(/^postgresql repeatable read, read only, snapshot \d+:\d+:/);
    expect(typeof artists.ms_source).toBe('number');
    expect(typeof artists.ms_target).toBe('number');
  });

  it('a captured query whose result differs on the target fails behavioral, naming it', async () => {
    psql(dst, "UPDATE artist SET name = 'Changed' WHERE artist_id = 3;");
    try {
      const { report } = await runValidation(directSides(pgConn(src), pgConn(dst)), { mapping, kinds: ['behavioral'], capture: { relation } });
      const q = (report.kinds.behavioral.details as { queries: QueryReport[] }).queries;
      expect(report.kinds.behavioral.status).toBe('failed');
      const bad = q.filter((x) => x.status === 'failed');
      expect(bad.map((x) => x.name)).toEqual(['pgss_1008']);
      expect(bad[0]!.missing_rows).toEqual([['Aerosmith']]);
      expect(bad[0]!.extra_rows).toEqual([['Changed']]);
    } finally {
      psql(dst, "UPDATE artist SET name = 'Aerosmith' WHERE artist_id = 3;");
    }
  });
});
