import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planUnits, countRows } from '../../../node-agent/src/datapath/plan-units.ts';
import { execSql } from '../../../node-agent/src/datapath/exec-sql.ts';
import { col, createPgDb, pgRun, transfer, unit } from './helpers.ts';

describe('key ranges, idempotent loads and salvage', () => {
  let src: Awaited<ReturnType<typeof createPgDb>>;
  let dst: Awaited<ReturnType<typeof createPgDb>>;
  const cols = [col('id', 'bigint'), col('v', 'text'), col('q', 'integer')];

  beforeAll(async () => {
    src = await createPgDb();
    dst = await createPgDb();
    await pgRun(src.name, `CREATE TABLE t (id bigint PRIMARY KEY, v text, q int);
      INSERT INTO t SELECT g * 7919 % 100003, 'v' || g, g % 50 FROM generate_series(1, 10000) g;
      INSERT INTO t VALUES (-9223372036854775808, 'min', 1), (9223372036854775807, 'max', 2);
      INSERT INTO t VALUES (100004, NULL, NULL), (100005, 'bad', -1), (100006, NULL, 3);
      CREATE TABLE empty (id int PRIMARY KEY);`);
  });
  afterAll(async () => {
    await src?.drop();
    await dst?.drop();
  });

  it('exec_sql creates the target and a redo skips what already exists', async () => {
    const statements = ['CREATE SCHEMA s1', 'CREATE TABLE s1.t (id bigint, v text NOT NULL, q int CHECK (q >= 0))', 'CREATE INDEX t_q ON s1.t (q)'];
    expect(await execSql({ connection: dst.conn, statements })).toEqual({ executed: 3, skipped: 0 });
    expect(await execSql({ connection: dst.conn, statements, ignore_existing: true })).toEqual({ executed: 0, skipped: 3 });
    expect(await execSql({ connection: dst.conn, statements, ignore_existing: true, transaction: true })).toEqual({ executed: 0, skipped: 3 });
    await expect(execSql({ connection: dst.conn, statements })).rejects.toMatchObject({ code: 'sql_failed' });
  });

  it('plan_units recounts a table whose estimate is below one unit (a sample size passed as the row count)', async () => {
    const r = await planUnits({ connection: src.conn, rows_per_unit: 1000, tables: [{ schema: 'public', table: 't', key_column: 'id', row_estimate: 100 }] });
    expect(r.tables[0]!.ranges!.length).toBeGreaterThan(5);
  });

  it('plan_units ranges cover every row exactly once, extreme keys included', async () => {
    const r = await planUnits({ connection: src.conn, rows_per_unit: 1000, tables: [
      { schema: 'public', table: 't', key_column: 'id', row_estimate: null },
      { schema: 'public', table: 'empty', key_column: 'id', row_estimate: 0 },
      { schema: 'public', table: 't', key_column: null, row_estimate: 5 },
    ] });
    const ranges = r.tables[0]!.ranges!;
    expect(ranges.length).toBeGreaterThan(5);
    expect(ranges[0]!.lo).toBeNull();
    expect(ranges.at(-1)!.hi).toBeNull();
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.lo).toBe(ranges[i - 1]!.hi);
    expect(r.tables[1]!.ranges).toEqual([{ column: 'id', lo: null, hi: null }]);
    expect(r.tables[2]!.ranges).toBeNull();

    await pgRun(dst.name, 'CREATE TABLE t (id bigint, v text, q int)');
    let loaded = 0;
    for (const range of ranges) loaded += (await transfer(src.conn, dst.conn, unit('t', cols, range), 'binary')).rows;
    // Redo two units: still no duplicates.
    await transfer(src.conn, dst.conn, unit('t', cols, ranges[0]!), 'text');
    await transfer(src.conn, dst.conn, unit('t', cols, ranges.at(-1)!), 'text', { fresh: false });
    const [s] = await countRows(src.conn, [{ schema: 'public', table: 't' }]);
    const [d] = await countRows(dst.conn, [{ schema: 'public', table: 't' }]);
    expect(loaded).toBe(s!.rows);
    expect(d!.rows).toBe(s!.rows);
    const [dist] = await pgRun(dst.name, 'SELECT count(DISTINCT id)::int AS n, min(id)::text AS lo, max(id)::text AS hi FROM t');
    expect(dist).toEqual({ n: s!.rows, lo: '-9223372036854775808', hi: '9223372036854775807' });
  });

  for (const format of ['text', 'binary'] as const) {
    it(`salvage reports the rows the target rejects and loads the rest (${format})`, async () => {
      const u = unit('t', cols, { column: 'id', lo: '99000', hi: null }, { dstSchema: 's1' });
      // Without salvage the unit fails as a whole with the SQLSTATE.
      await expect(transfer(src.conn, dst.conn, u, format)).rejects.toMatchObject({ code: 'unit_load_failed', details: { sqlstate: '23502' } });
      const r = await transfer(src.conn, dst.conn, u, format, { salvage: true, salvageOptions: { batchRows: 64 } });
      const [expected] = await pgRun(src.name, 'SELECT count(*)::int AS n FROM t WHERE id >= 99000');
      expect(r.rejected.map((x) => [x.key, x.error_code]).sort()).toEqual([['100004', '23502'], ['100005', '23514'], ['100006', '23502']]);
      expect(r.rows).toBe((expected!.n as number) - 3);
      const [got] = await pgRun(dst.name, 'SELECT count(*)::int AS n FROM s1.t');
      expect(got!.n).toBe(r.rows);
      if (format === 'text') expect(r.rejected.find((x) => x.key === '100005')!.row).toBe('100005\tbad\t-1');
      expect(r.rejected[0]!.message.length).toBeGreaterThan(10);
    });
  }
});
