import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UnitColumn } from '../../../common/src/migrate-tasks.ts';
import { col, createMyDb, createPgDb, pgRun, transfer, unit } from './helpers.ts';

const COLS: UnitColumn[] = [
  col('id', 'bigint'), col('select', 'text'), col('n', 'numeric(26,6)'), col('big', 'bigint'), col('u', 'numeric(20,0)', 'cast'),
  col('i', 'integer'), col('f', 'double precision'), col('flag', 'boolean', 'bool_from_int'), col('d', 'date', 'zero_date_to_null'),
  col('ts', 'timestamp(6) without time zone', 'zero_date_to_null'), col('tsu', 'timestamp(0) with time zone', 'timestamp_as_utc'),
  col('b', 'bytea'), col('t', 'text'), col('e', 'varchar(10)'), col('j', 'jsonb', 'json_to_jsonb'), col('bits', 'bit(10)', 'bit_string'),
  col('bit1', 'boolean', 'bool_from_bit'), col('en', 'text', 'enum_to_text'), col('st', 'text[]', 'set_to_array'), col('tm', 'interval', 'cast'),
];

const PG_DDL = `CREATE TABLE "Order" (id bigint, "select" text, n numeric(26,6), big bigint, u numeric(20,0), i integer, f double precision,
  flag boolean, d date, ts timestamp(6), tsu timestamptz(0), b bytea, t text, e varchar(10), j jsonb, bits bit(10), bit1 boolean, en text, st text[], tm interval);
  CREATE TABLE pair (a int, b int, v text)`;

/** Source rows rendered on the MariaDB side, in the form the PostgreSQL side renders the loaded rows. */
const MY_EXPECT = `SELECT CAST(id AS CHAR), \`select\`, CAST(n AS CHAR), CAST(big AS CHAR), CAST(u AS CHAR), CAST(i AS CHAR),
  CASE WHEN flag IS NULL THEN NULL WHEN flag = 1 THEN 'true' ELSE 'false' END,
  CASE WHEN CAST(d AS CHAR) LIKE '0000%' THEN NULL ELSE CAST(d AS CHAR) END,
  CASE WHEN CAST(ts AS CHAR) LIKE '0000%' THEN NULL ELSE DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f') END,
  DATE_FORMAT(tsu, '%Y-%m-%d %H:%i:%s'), LOWER(HEX(b)), MD5(t), e, LPAD(BIN(bits), 10, '0'), CAST(bit1 AS UNSIGNED), en, st, CAST(tm AS CHAR)
  FROM \`Order\` ORDER BY id`;
const PG_GOT = `SELECT id::text, "select", n::text, big::text, u::text, i::text, flag::text, d::text, to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US') AS ts_,
  to_char(tsu AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS tsu_, encode(b, 'hex'), md5(t), e, bits::text, bit1::int::text, en, array_to_string(st, ','), tm::text
  FROM "Order" ORDER BY "Order".id`;

describe('MariaDB -> PostgreSQL data path', () => {
  let my: Awaited<ReturnType<typeof createMyDb>>;
  let dst: Awaited<ReturnType<typeof createPgDb>>;

  beforeAll(async () => {
    my = await createMyDb();
    dst = await createPgDb();
    await my.run(`CREATE TABLE \`Order\` (id BIGINT PRIMARY KEY, \`select\` TEXT, n DECIMAL(26,6), big BIGINT, u BIGINT UNSIGNED, i INT, f DOUBLE,
      flag TINYINT(1), d DATE, ts DATETIME(6), tsu TIMESTAMP NULL, b BLOB, t LONGTEXT, e VARCHAR(10), j JSON, bits BIT(10), bit1 BIT(1),
      en ENUM('small','large'), st SET('a','b','c'), tm TIME) CHARACTER SET utf8mb4`);
    await my.run(`INSERT INTO \`Order\` VALUES
      (-9223372036854775808, 'min', 99999999999999999999.999999, -9223372036854775808, 18446744073709551615, -2147483648, 1e300, 1,
       '1000-01-01', '1899-12-31 23:59:59.999999', '1970-01-01 00:00:01', X'00FF00', 'tab\\there\\nnl\\\\bs\\rcr', '', '{"a": [1, {"b": null}]}', b'1000000101', b'1', 'small', 'a,c', '-01:00:00'),
      (9223372036854775807, 'max', -99999999999999999999.999999, 9223372036854775807, 0, 2147483647, -1e-300, 0,
       '9999-12-31', '2099-01-19 03:14:08', '2038-01-19 03:14:07', X'', '🚀 emoji 𝄞 中文', NULL, NULL, b'0', b'0', 'large', '', '838:59:59'),
      (0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '0000-00-00', '0000-00-00 00:00:00', NULL, NULL, NULL, NULL, 'null', NULL, NULL, NULL, NULL, NULL),
      (1, '\\\\N', 0.000001, 0, 1, 0, 0.1, 1, '1969-07-20', '1969-07-20 20:17:40', '2001-02-03 04:05:06', X'5C4E', '\\\\.', 'a', '"x"', b'1', b'1', '', 'b', '00:00:00')`);
    await my.run('SET SESSION max_recursive_iterations = 100000');
    await my.run(`INSERT INTO \`Order\` (id, \`select\`, t, b, n, flag) WITH RECURSIVE g(x) AS (SELECT 2 UNION ALL SELECT x + 1 FROM g WHERE x < 2000)
      SELECT x, CONCAT('row ', x), REPEAT(MD5(x), 1 + x % 7), UNHEX(MD5(x)), x * 1.5, x % 2 FROM g`);
    await my.run(`INSERT INTO \`Order\` (id, t) VALUES (2001, REPEAT('y', 1048576))`);
    await my.run(`CREATE TABLE pair (a INT, b INT, v TEXT, PRIMARY KEY (a, b))`);
    await my.run(`INSERT INTO pair VALUES (1, 1, 'x'), (1, 2, NULL), (2, 1, '')`);
    await pgRun(dst.name, PG_DDL);
  });
  afterAll(async () => {
    await my?.drop();
    await dst?.drop();
  });

  for (const format of ['text', 'binary'] as const) it(`copies the edge dataset equal row for row, with the mapped transformations (${format})`, async () => {
    const r = await transfer(my.conn, dst.conn, unit('Order', COLS, null, { srcSchema: my.name }), format);
    expect(r.rejected).toEqual([]);
    expect(r.wire).toBe(format);
    expect(r.rows).toBe(2004);
    const want = (await my.run(MY_EXPECT)).map((row) => row.map((v) => (v === null ? null : String(v))));
    const got = (await pgRun(dst.name, PG_GOT)).map((row) => Object.values(row).map((v) => (v === null ? null : String(v))));
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(got[i], `row ${i} (id ${String(want[i]![0])})`).toEqual(want[i]);
    const [floats] = await pgRun(dst.name, `SELECT f::text AS f FROM "Order" WHERE id = 1`);
    expect(floats!.f).toBe('0.1');
    const [json] = await pgRun(dst.name, `SELECT j::text AS j FROM "Order" WHERE id = -9223372036854775808`);
    expect(json!.j).toBe('{"a": [1, {"b": null}]}');
  });

  for (const format of ['text', 'binary'] as const) it(`reads a composite-key table as one unit, twice without duplicates (${format})`, async () => {
    const u = unit('pair', [col('a', 'integer'), col('b', 'integer'), col('v', 'text')], null, { srcSchema: my.name });
    await transfer(my.conn, dst.conn, u, format);
    expect((await transfer(my.conn, dst.conn, u, format)).wire).toBe(format);
    const rows = await pgRun(dst.name, `SELECT a, b, v FROM pair ORDER BY a, b`);
    expect(rows).toEqual([{ a: 1, b: 1, v: 'x' }, { a: 1, b: 2, v: null }, { a: 2, b: 1, v: '' }]);
  });

  it('falls back to text for a unit with a column that has no binary form, and the loader follows', async () => {
    const u = unit('pair', [col('a', 'integer'), col('b', 'integer'), col('v', 'xml', 'cast')], null, { srcSchema: my.name, target: 'pair_xml' });
    await pgRun(dst.name, 'CREATE TABLE pair_xml (a int, b int, v xml)');
    const r = await transfer(my.conn, dst.conn, u, 'binary');
    expect(r.wire).toBe('text');
    expect(r.rows).toBe(3);
  });

  it('a bad value in a binary unit is rejected by the target and reported by salvage, the rest loads', async () => {
    await my.run('CREATE TABLE bad (id INT PRIMARY KEY, d VARCHAR(20))');
    await my.run("INSERT INTO bad VALUES (1, '2020-01-01'), (2, 'not a date'), (3, '2021-12-31')");
    await pgRun(dst.name, 'CREATE TABLE bad (id int, d date)');
    const u = unit('bad', [col('id', 'integer'), col('d', 'date', 'cast')], { column: 'id', lo: null, hi: null }, { srcSchema: my.name });
    await expect(transfer(my.conn, dst.conn, u, 'binary')).rejects.toMatchObject({ code: 'unit_load_failed' });
    const r = await transfer(my.conn, dst.conn, u, 'binary', { salvage: true });
    expect(r.rejected.map((x) => x.key)).toEqual(['2']);
    expect(await pgRun(dst.name, 'SELECT id, d::text AS d FROM bad ORDER BY id')).toEqual([{ id: 1, d: '2020-01-01' }, { id: 3, d: '2021-12-31' }]);
  });
});
