import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UnitColumn } from '../../../common/src/migrate-tasks.ts';
import { col, createPgDb, pgRun, transfer, unit } from './helpers.ts';

/** Edge dataset: every value here once broke some copy tool. */
const SCHEMA = `
CREATE TABLE "Order" (
  id bigint NOT NULL, "select" text, n numeric(26,6), big bigint, i integer, f double precision, flag boolean,
  d date, ts timestamp(6), tstz timestamptz, b bytea, t text, e varchar(10), j jsonb, iv interval, arr int[]
);
CREATE TABLE pair (a int NOT NULL, b int NOT NULL, v text, PRIMARY KEY (a, b));
CREATE TABLE nopk (x text, y int);`;

const SEED = `
INSERT INTO "Order" VALUES
 (-9223372036854775808, 'min key', 99999999999999999999.999999, -9223372036854775808, -2147483648, 1e300, true,
  '0001-01-01', '1899-12-31 23:59:59.999999', '1901-06-01 00:00:00+05', '\\x00ff00', E'tab\\there\\nnewline\\\\back\\rcr', '', '{"a":[1,2,{"b":null}]}', '-1 days 02:00', '{1,NULL,3}'),
 (9223372036854775807, 'max key', -99999999999999999999.999999, 9223372036854775807, 2147483647, -1e-300, false,
  '9999-12-31', '2099-01-19 03:14:08', '2262-04-11 23:47:16.854775+00', '', '🚀 emoji 𝄞 and 中文', NULL, NULL, NULL, '{}'),
 (0, NULL, NULL, NULL, NULL, 'NaN', NULL, '1969-12-31', '1970-01-01 00:00:00', NULL, NULL, NULL, NULL, 'null', NULL, NULL),
 (1, '\\N', 0.000001, 0, 0, 'Infinity', true, '2038-01-20', '2038-01-19 03:14:08', '1969-07-20 20:17:40+00', '\\x5c4e', '\\.', 'a', '"x"', '1 year', NULL);
INSERT INTO "Order" (id, "select", t, b, n)
  SELECT g, 'row ' || g, repeat(md5(g::text), 1 + g % 7), decode(md5(g::text), 'hex'), g * 1.5 FROM generate_series(2, 3000) g;
INSERT INTO "Order" (id, t) VALUES (3001, repeat('x', 1048576));
INSERT INTO pair SELECT g / 10, g % 10, 'v' || g FROM generate_series(1, 500) g;
INSERT INTO nopk SELECT CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || g END, g FROM generate_series(1, 200) g;
INSERT INTO nopk VALUES ('dup', 1), ('dup', 1);`;

const ORDER_COLS: UnitColumn[] = [
  col('id', 'bigint'), col('select', 'text'), col('n', 'numeric(26,6)'), col('big', 'bigint'), col('i', 'integer'),
  col('f', 'double precision'), col('flag', 'boolean'), col('d', 'date'), col('ts', 'timestamp(6) without time zone'),
  col('tstz', 'timestamp with time zone'), col('b', 'bytea'), col('t', 'text'), col('e', 'character varying(10)'),
  col('j', 'jsonb'), col('iv', 'interval'), col('arr', 'integer[]'),
];

async function digest(db: string, table: string, order: string): Promise<{ n: number; md5: string }> {
  const [r] = await pgRun(db, `SELECT count(*)::int AS n, md5(string_agg(md5(x::text), '' ORDER BY ${order})) AS md5 FROM ${table} x`);
  return { n: r!.n as number, md5: String(r!.md5) };
}

describe('PostgreSQL -> PostgreSQL data path', () => {
  let src: Awaited<ReturnType<typeof createPgDb>>;
  let dst: Awaited<ReturnType<typeof createPgDb>>;

  beforeAll(async () => {
    src = await createPgDb();
    dst = await createPgDb();
    await pgRun(src.name, SCHEMA);
    await pgRun(src.name, SEED);
    await pgRun(dst.name, SCHEMA.replace('PRIMARY KEY (a, b)', 'UNIQUE (a, b)'));
  });
  afterAll(async () => {
    await src?.drop();
    await dst?.drop();
  });

  for (const format of ['binary', 'text'] as const) {
    it(`copies the edge dataset equal row for row (${format})`, async () => {
      const order = unit('Order', ORDER_COLS, null);
      const r = await transfer(src.conn, dst.conn, order, format);
      expect(r.rows).toBe(3004);
      expect(r.read.rows).toBe(3004);
      expect(r.rejected).toEqual([]);
      expect(await digest(dst.name, '"Order"', 'id')).toEqual(await digest(src.name, '"Order"', 'id'));

      const pair = unit('pair', [col('a', 'integer'), col('b', 'integer'), col('v', 'text')]);
      await transfer(src.conn, dst.conn, pair, format);
      expect(await digest(dst.name, 'pair', 'a, b')).toEqual(await digest(src.name, 'pair', 'a, b'));

      const nopk = unit('nopk', [col('x', 'text'), col('y', 'integer')]);
      await transfer(src.conn, dst.conn, nopk, format);
      expect(await digest(dst.name, 'nopk', 'x::text, y')).toEqual(await digest(src.name, 'nopk', 'x::text, y'));
    });
  }

  it('loads the same key-range unit twice without duplicates', async () => {
    const ranged = unit('Order', ORDER_COLS, { column: 'id', lo: '100', hi: '200' });
    await pgRun(dst.name, 'TRUNCATE "Order"');
    const a = await transfer(src.conn, dst.conn, ranged, 'text');
    const b = await transfer(src.conn, dst.conn, ranged, 'binary');
    expect(a.rows).toBe(100);
    expect(b.rows).toBe(100);
    const [c] = await pgRun(dst.name, 'SELECT count(*)::int AS n, count(DISTINCT id)::int AS d, min(id)::int AS lo, max(id)::int AS hi FROM "Order"');
    expect(c).toEqual({ n: 100, d: 100, lo: 100, hi: 199 });
  });

  it('passes empty-string-to-NULL through the source query', async () => {
    await pgRun(dst.name, 'TRUNCATE "Order"');
    const cols = ORDER_COLS.map((c) => (c.source === 'e' ? { ...c, transformation: 'empty_string_to_null' } : c));
    await transfer(src.conn, dst.conn, unit('Order', cols), 'text');
    const rows = await pgRun(dst.name, `SELECT count(*)::int AS n FROM "Order" WHERE e = ''`);
    expect(rows[0]!.n).toBe(0);
    const nulls = await pgRun(dst.name, `SELECT count(*)::int AS n FROM "Order" WHERE e IS NULL`);
    const srcNulls = await pgRun(src.name, `SELECT count(*)::int AS n FROM "Order" WHERE e IS NULL OR e = ''`);
    expect(nulls[0]!.n).toBe(srcNulls[0]!.n);
  });
});
