import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UnitColumn } from '../../../common/src/migrate-tasks.ts';
import { planUnits } from '../../../node-agent/src/datapath/plan-units.ts';
import { col, createPgDb, pgRun, tempSqlite, transfer, unit } from './helpers.ts';

const COLS: UnitColumn[] = [
  col('id', 'bigint'), col('select', 'text'), col('n', 'numeric(26,6)', 'cast'), col('big', 'bigint'), col('f', 'double precision'),
  col('flag', 'boolean', 'bool_from_int'), col('ts_text', 'timestamp without time zone', 'timestamp_from_text'),
  col('ts_epoch', 'timestamp without time zone', 'timestamp_from_unixepoch'), col('ts_jd', 'timestamp without time zone', 'timestamp_from_julianday'),
  col('b', 'bytea'), col('t', 'text', 'strip_nul_bytes'), col('e', 'text'), col('anyv', 'text', 'text_from_any'),
];

describe('SQLite -> PostgreSQL data path', () => {
  const lite = tempSqlite();
  let dst: Awaited<ReturnType<typeof createPgDb>>;
  let rows: unknown[][] = [];

  beforeAll(async () => {
    const db = new Database(lite.file);
    db.exec(`CREATE TABLE "Order" (id INTEGER PRIMARY KEY, "select" TEXT, n TEXT, big INTEGER, f REAL, flag BOOLEAN, ts_text TIMESTAMP,
      ts_epoch INTEGER, ts_jd REAL, b BLOB, t TEXT, e TEXT, anyv);
      CREATE TABLE nopk (x TEXT, y INTEGER);`);
    const ins = db.prepare(`INSERT INTO "Order" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`).safeIntegers(true);
    ins.run(-9223372036854775808n, 'min', '99999999999999999999.999999', -9223372036854775808n, 1e300, 1, '1899-12-31 23:59:59.5',
      -2208988800n, 2415020.5, Buffer.from([0, 255, 0]), 'nul\u0000inside\ttab\nnl\\bs', '', 12n);
    ins.run(9223372036854775807n, 'max', '-0.000001', 9223372036854775807n, -1e-300, 0, '2100-01-01T10:00:00+02:00',
      4102444800n, 2488069.5, Buffer.alloc(0), '🚀 emoji 𝄞 中文', null, 1.5);
    ins.run(0n, null, null, null, null, null, null, null, null, null, null, null, Buffer.from([0xff]));
    ins.run(1n, '\\N', '0', 0n, 0.1, 1, '1969-07-20 20:17:40', -1n, 2440587.5, Buffer.from('\\N'), '\\.', 'a', 'text');
    const many = db.transaction(() => {
      for (let i = 2n; i <= 3000n; i++) ins.run(i, `row ${i}`, `${i}.5`, i * 1000n, Number(i) / 7, Number(i % 2n), '2020-02-29 12:00:00', i, null, Buffer.from(String(i)), 'x'.repeat(Number(i % 50n)), null, null);
      ins.run(3001n, null, null, null, null, null, null, null, null, null, 'z'.repeat(1048576), null, null);
    });
    many();
    db.exec(`INSERT INTO nopk VALUES ('a', 1), ('a', 1), (NULL, NULL), ('', 0)`);
    rows = db.prepare('SELECT * FROM "Order" ORDER BY id').raw(true).safeIntegers(true).all() as unknown[][];
    db.close();
    dst = await createPgDb();
    await pgRun(dst.name, `CREATE TABLE "Order" (id bigint, "select" text, n numeric(26,6), big bigint, f double precision, flag boolean,
      ts_text timestamp, ts_epoch timestamp, ts_jd timestamp, b bytea, t text, e text, anyv text); CREATE TABLE nopk (x text, y bigint)`);
  });
  afterAll(async () => {
    await dst?.drop();
    lite.drop();
  });

  for (const format of ['text', 'binary'] as const) it(`copies the edge dataset in key-range units, every row equal (${format})`, async () => {
    await pgRun(dst.name, 'TRUNCATE "Order"');
    const plan = await planUnits({ connection: lite.conn, rows_per_unit: 700, tables: [{ schema: 'main', table: 'Order', key_column: 'id', row_estimate: null }] });
    let loaded = 0;
    for (const range of plan.tables[0]!.ranges!) {
      const r = await transfer(lite.conn, dst.conn, unit('Order', COLS, range, { srcSchema: 'main' }), format);
      expect(r.rejected).toEqual([]);
      // An empty text range sends no frame at all.
      expect(r.wire ?? (r.rows === 0 ? format : null)).toBe(format);
      loaded += r.rows;
    }
    expect(loaded).toBe(rows.length);
    const got = await pgRun(dst.name, `SELECT id::text, "select", n::text, big::text, f::text, flag, to_char(ts_text, 'YYYY-MM-DD HH24:MI:SS.US') AS a,
      to_char(ts_epoch, 'YYYY-MM-DD HH24:MI:SS') AS c, to_char(ts_jd, 'YYYY-MM-DD HH24:MI:SS') AS d, encode(b, 'hex') AS b, t, e, anyv FROM "Order" ORDER BY "Order".id`);
    expect(got.length).toBe(rows.length);
    const byId = new Map(got.map((g) => [g.id as string, g]));
    const edge = (id: string) => byId.get(id)!;
    expect(edge('-9223372036854775808')).toMatchObject({
      select: 'min', n: '99999999999999999999.999999', big: '-9223372036854775808', f: '1e+300', flag: true, a: '1899-12-31 23:59:59.500000',
      c: '1900-01-01 00:00:00', d: '1900-01-01 00:00:00', b: '00ff00', t: 'nulinside\ttab\nnl\\bs', e: '', anyv: '12',
    });
    expect(edge('9223372036854775807')).toMatchObject({
      n: '-0.000001', big: '9223372036854775807', f: '-1e-300', flag: false, a: '2100-01-01 08:00:00.000000', c: '2100-01-01 00:00:00', d: '2100-01-01 00:00:00',
      b: '', t: '🚀 emoji 𝄞 中文', e: null, anyv: '1.5',
    });
    expect(edge('0')).toMatchObject({ select: null, n: null, flag: null, a: null, b: null, e: null, anyv: '\\xff' });
    expect(edge('1')).toMatchObject({ select: '\\N', n: '0.000000', f: '0.1', a: '1969-07-20 20:17:40.000000', c: '1969-12-31 23:59:59', d: '1970-01-01 00:00:00', b: '5c4e', t: '\\.' });
    for (const r of rows.slice(3, -2)) {
      const g = byId.get(String(r[0]))!;
      expect([g.select, g.n, g.big, g.f, g.flag, g.t]).toEqual([r[1], `${String(r[2])}00000`, String(r[3]), String(r[4]), r[5] === 1n, r[10]]);
    }
    const [big] = await pgRun(dst.name, `SELECT length(t) AS n FROM "Order" WHERE id = 3001`);
    expect(big!.n).toBe(1048576);
  });

  for (const format of ['text', 'binary'] as const) it(`copies a table without a key as one unit, twice without duplicates (${format})`, async () => {
    const u = unit('nopk', [col('x', 'text'), col('y', 'bigint')], null, { srcSchema: 'main' });
    await transfer(lite.conn, dst.conn, u, format);
    expect((await transfer(lite.conn, dst.conn, u, format)).wire).toBe(format);
    expect(await pgRun(dst.name, 'SELECT x, y::int AS y FROM nopk ORDER BY x NULLS LAST, y')).toEqual([
      { x: '', y: 0 }, { x: 'a', y: 1 }, { x: 'a', y: 1 }, { x: null, y: null },
    ]);
  });
});
