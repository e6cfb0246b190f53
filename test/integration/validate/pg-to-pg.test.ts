import { execSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FkOrphans } from '../../../node-agent/src/validate/contract.ts';
import type { QueryReport, SemanticTable, StatDifference, StructuralDifference } from '../../../hub/src/validate/report.ts';
import { runValidation } from '../../../hub/src/validate/run.ts';
import type { TableMappingInput } from '../../../hub/src/validate/tables.ts';
import { createPgDatabase, dropPgDatabase, loadPgChinook, psql } from '../connectors/fixtures.ts';
import { directSides, pgConn } from './sides.ts';

const TABLES = ['album', 'artist', 'customer', 'employee', 'genre', 'invoice', 'invoice_line', 'media_type', 'playlist', 'playlist_track', 'track'];
const mapping: TableMappingInput[] = TABLES.map((t) => ({ source: `public.${t}`, target: `public.${t}` }));
const workload = [
  { name: 'sales by country', sql: 'SELECT billing_country, SUM(total) AS t, COUNT(*) FROM invoice GROUP BY billing_country' },
  { name: 'top tracks', sql: 'SELECT t.name, SUM(il.unit_price * il.quantity) AS s FROM invoice_line il JOIN track t ON t.track_id = il.track_id GROUP BY t.name ORDER BY s DESC, t.name LIMIT 20' },
  { name: 'an insert', sql: "INSERT INTO genre VALUES (99, 'x')" },
];

let src: string;
let dst: string;

beforeAll(() => {
  src = createPgDatabase();
  loadPgChinook(src);
  dst = createPgDatabase();
  execSync(`pg_dump -h 127.0.0.1 -U postgres ${src} | psql -q -h 127.0.0.1 -U postgres -d ${dst} -v ON_ERROR_STOP=1`, { stdio: ['ignore', 'ignore', 'inherit'] });
});
afterAll(() => {
  dropPgDatabase(src);
  dropPgDatabase(dst);
});

describe('validation of a PostgreSQL copy of Chinook', () => {
  it('passes every kind on an identical copy; behavioral marks the insert not comparable', async () => {
    const { report } = await runValidation(directSides(pgConn(src), pgConn(dst)), { mapping, workload });
    const k = report.kinds;
    expect(k.structural.status, JSON.stringify(k.structural.details)).toBe('passed');
    expect(k.statistical.status, JSON.stringify(k.statistical.details).slice(0, 2000)).toBe('passed');
    expect(k.referential.status).toBe('passed');
    expect(k.referential.counts.foreign_keys).toBeGreaterThanOrEqual(11);
    expect(k.semantic.status).toBe('passed');
    expect(k.semantic.counts.rows).toBe(15607);
    expect(k.behavioral.status).toBe('inconclusive');
    expect(k.behavioral.counts).toMatchObject({ passed: 2, not_comparable: 1, failed: 0 });
  });

  it('catches damage in the kind that must catch it, naming table, column and key', async () => {
    psql(dst, `
      ALTER TABLE customer DROP COLUMN fax;
      UPDATE track SET unit_price = 1.98 WHERE track_id = 1234;
      DELETE FROM playlist_track WHERE playlist_id = 1 AND track_id = 3402;
      SET session_replication_role = replica;
      DELETE FROM invoice_line WHERE invoice_id = 98;
      DELETE FROM invoice WHERE invoice_id = 98;
      SET session_replication_role = origin;
      UPDATE invoice SET billing_country = 'Atlantis' WHERE invoice_id = 1;
    `);
    const { report } = await runValidation(directSides(pgConn(src), pgConn(dst)), { mapping, workload: workload.slice(0, 1) });
    const k = report.kinds;

    const sd = (k.structural.details as { differences: StructuralDifference[] }).differences;
    expect(k.structural.status).toBe('failed');
    expect(sd).toContainEqual(expect.objectContaining({ table: 'public.customer', column: 'fax', object: 'column' }));

    const st = k.statistical.details as { differences: StatDifference[] };
    expect(k.statistical.status).toBe('failed');
    expect(st.differences).toContainEqual(expect.objectContaining({ table: 'public.track', column: 'unit_price', metric: 'sum' }));
    expect(st.differences).toContainEqual(expect.objectContaining({ table: 'public.playlist_track', column: null, metric: 'rows', source: 8715, target: 8714 }));

    // invoice 98's lines were deleted with it: no orphan; the damage is the missing rows, found by semantic.
    expect(k.referential.status).toBe('passed');
    const sem = (k.semantic.details as { tables: SemanticTable[] }).tables;
    expect(k.semantic.status).toBe('failed');
    const track = sem.find((t) => t.table === 'public.track')!;
    expect(track.first_changed).toEqual([{ key: { track_id: '1234' }, columns: ['unit_price'] }]);
    const pt = sem.find((t) => t.table === 'public.playlist_track')!;
    expect(pt.first_missing).toEqual([{ playlist_id: '1', track_id: '3402' }]);
    const inv = sem.find((t) => t.table === 'public.invoice')!;
    expect(inv.first_missing).toEqual([{ invoice_id: '98' }]);
    expect(inv.first_changed).toEqual([{ key: { invoice_id: '1' }, columns: ['billing_country'] }]);
    expect(track.rows_per_second).toBeGreaterThan(0);

    const q = (k.behavioral.details as { queries: QueryReport[] }).queries;
    expect(k.behavioral.status).toBe('failed');
    expect(q[0]).toMatchObject({ name: 'sales by country', status: 'failed' });
    expect(q[0]!.extra_rows!.some((r) => r[0] === 'Atlantis')).toBe(true);
  });

  it('finds an orphaned child after its parent was deleted with FK checks off', async () => {
    psql(dst, `SET session_replication_role = replica; DELETE FROM artist WHERE artist_id = 1; SET session_replication_role = origin;`);
    const { report } = await runValidation(directSides(pgConn(src), pgConn(dst)), { mapping, kinds: ['referential'] });
    const fks = (report.kinds.referential.details as { foreign_keys: FkOrphans[] }).foreign_keys;
    const albumFk = fks.find((f) => f.table === 'public.album' && f.ref_table === 'public.artist')!;
    expect(albumFk.orphans).toBe(2);
    expect(albumFk.first_keys).toEqual([{ album_id: '1', artist_id: '1' }, { album_id: '4', artist_id: '1' }]);
    expect(report.kinds.semantic.status).toBe('not_run');
  });
});
