import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinaryFrameBuilder, binaryKind, binaryRowWriter } from '../../../node-agent/src/datapath/copy-binary.ts';
import { rowEncoder } from '../../../node-agent/src/datapath/copy-text.ts';
import { PG_SESSION_SQL } from '../../../node-agent/src/datapath/pg-connect.ts';

const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };
const DB = `ferry_t_${randomBytes(5).toString('hex')}`;
let client: pg.Client;
let seq = 0;

/** Frames of the binary encoding of rows [i, value] (id int4, value of the column under test). */
function binaryFrames(type: string, transformation: string, values: readonly unknown[], frameBytes = 1 << 20): Buffer[] {
  const write = binaryRowWriter([{ target_type: 'integer', transformation: 'none' }, { target_type: type, transformation }]);
  if (!write) throw new Error(`no binary writer for ${type}/${transformation}`);
  const b = new BinaryFrameBuilder(frameBytes);
  const frames: Buffer[] = [];
  values.forEach((v, i) => {
    const f = write(b, [i, v]);
    if (f) frames.push(Buffer.from(f));
  });
  frames.push(b.flush());
  return frames;
}

function textFrame(type: string, transformation: string, values: readonly unknown[]): Buffer {
  const enc = rowEncoder([{ target_type: 'integer', transformation: 'none' }, { target_type: type, transformation }]);
  return Buffer.from(values.map((v, i) => enc([i, v])).join(''), 'utf8');
}

async function copyIn(table: string, format: 'text' | 'binary', frames: Buffer[]): Promise<void> {
  await pipeline(Readable.from(frames), client.query(copyFrom(`COPY ${table} FROM STDIN (FORMAT ${format})`)));
}

/** Load the values both ways into fresh tables; the text forms PostgreSQL reads back, per format. */
async function both(type: string, transformation: string, values: readonly unknown[]): Promise<{ text: unknown[]; binary: unknown[] }> {
  const n = ++seq;
  await client.query(`CREATE TABLE t${n}_t (i int, v ${type}); CREATE TABLE t${n}_b (i int, v ${type})`);
  await copyIn(`t${n}_t`, 'text', [textFrame(type, transformation, values)]);
  await copyIn(`t${n}_b`, 'binary', binaryFrames(type, transformation, values));
  const read = async (t: string) => (await client.query(`SELECT v::text AS v FROM ${t} ORDER BY i`)).rows.map((r: { v: unknown }) => r.v);
  return { text: await read(`t${n}_t`), binary: await read(`t${n}_b`) };
}

async function rejects(type: string, transformation: string, value: unknown): Promise<{ text: boolean; binary: boolean }> {
  const n = ++seq;
  await client.query(`CREATE TABLE r${n} (i int, v ${type})`);
  const fails = async (format: 'text' | 'binary') => {
    try {
      await copyIn(`r${n}`, format, format === 'text' ? [textFrame(type, transformation, [value])] : binaryFrames(type, transformation, [value]));
      return false;
    } catch {
      return true;
    }
  };
  return { text: await fails('text'), binary: await fails('binary') };
}

beforeAll(async () => {
  const admin = new pg.Client({ ...PG, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DB}`);
  await admin.end();
  client = new pg.Client({ ...PG, database: DB });
  await client.connect();
  await client.query(PG_SESSION_SQL);
});

afterAll(async () => {
  await client?.end();
  const admin = new pg.Client({ ...PG, database: 'postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.end();
});

const CASES: { type: string; transformation?: string; values: unknown[]; expect?: unknown[] }[] = [
  { type: 'smallint', values: [0, -32768, 32767, '12', ' -7 ', 5n, null] },
  { type: 'integer', values: [-2147483648, 2147483647, '42', 7n, 3.0, '+8'] },
  { type: 'bigint', values: [-9223372036854775808n, 9223372036854775807n, '-9223372036854775808', 123, '  12  ', '9007199254740993'],
    expect: ['-9223372036854775808', '9223372036854775807', '-9223372036854775808', '123', '12', '9007199254740993'] },
  {
    type: 'numeric',
    values: ['0', '-0.5', '0.0000', '-0', '99999999999999999999.999999', '-1234567890123456789012345678901234567890.1234', '1e3', '1.5e-3', '-1E+2',
      'NaN', 'Infinity', '-Infinity', '0.00000000000000000000000000000001', 1.5, 1e300, 12n, -9223372036854775808n, '  3.14  ', '+7', '.5', '5.', '10000', '0.0001', 99990000],
    expect: ['0', '-0.5', '0.0000', '0', '99999999999999999999.999999', '-1234567890123456789012345678901234567890.1234', '1000', '0.0015', '-100',
      'NaN', 'Infinity', '-Infinity', '0.00000000000000000000000000000001', '1.5', '1' + '0'.repeat(300), '12', '-9223372036854775808', '3.14', '7', '0.5', '5', '10000', '0.0001', '99990000'],
  },
  { type: 'numeric(12,2)', values: ['1.005', '-0.005', '1234567890.12', 0.1, '7'], expect: ['1.01', '-0.01', '1234567890.12', '0.10', '7.00'] },
  { type: 'real', values: [1.1, '3.4e38', 'NaN', '-Infinity', 1e-45, 0.1, '  2.5 ', 16777217] },
  { type: 'double precision', values: [1e300, -1e-300, 'inf', '1e308', 0.1, 5n, '-0', 5e-324] },
  { type: 'boolean', values: [true, false, 0, 1, 't', 'yes', 'off', '0', ' TRUE ', 0n, 1n] },
  { type: 'text', values: ['', 'abc', '🚀 emoji 𝄞 中文', 'tab\tnl\n\\bs', Buffer.from('bytes ü'), 42, 12n, true, '\\N', 'x'.repeat(3_000_000)] },
  { type: 'varchar(10)', values: ['abc', 'ten chars!', '中文中文中文中文中文'] },
  { type: 'char(5)', values: ['ab', '', 'abcde'] },
  { type: 'bytea', values: [Buffer.from([0, 255, 0]), '\\x41', 'héllo', Buffer.alloc(0), 123] },
  { type: 'date', values: ['2020-02-29', '1969-07-20', '0001-01-01', '4713-01-01 BC', 'infinity', '-infinity', '2038-01-19 03:14:08', '2100-01-01T10:00:00+02:00', '2020-1-5'] },
  {
    type: 'timestamp without time zone',
    values: ['1969-07-20 20:17:40', '0001-01-01 00:00:00', '1899-12-31 23:59:59.5', '2100-01-01 00:00:00', '294276-12-31 23:59:59.999999',
      '2038-01-19 03:14:08.123456', '2020-01-01 10:00:00.1234565', '2020-01-01 10:00:00.1234575', '0044-03-15 12:00:00 BC', 'infinity', '-infinity',
      '2020-01-01T10:00:00+02:00', '2020-01-01', '2020-01-01 24:00:00', '4713-01-01 00:00:00 BC', '1970-01-01 00:00:00.000001', ' 2021-06-30 12:00 '],
  },
  { type: 'timestamp(0) without time zone', values: ['2020-01-01 10:00:00.5', '2020-01-01 10:00:01.5', '1960-01-01 00:00:00.4999'] },
  { type: 'timestamp with time zone', values: ['2020-01-01 10:00:00+02', '2020-01-01 10:00:00', '1900-01-01 00:00:00-05:30', '0010-01-01 00:00:00+00 BC', 'infinity', '2100-01-01T10:00:00Z', '2000-01-01 00:00:00+0130'] },
  { type: 'time without time zone', values: ['00:00:00', '23:59:59.999999', '24:00:00', '12:30', '2020-01-01 10:11:12', '07:08:09.5'] },
  { type: 'time(0)', values: ['10:00:00.5', '10:00:01.49'] },
  { type: 'interval', values: ['-838:59:59', '838:59:59.000000', '00:00:01.5', '-00:00:01', '25:00:00'] },
  { type: 'uuid', values: ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}', 'a0eebc999c0b4ef8bb6d6bb9bd380a11'] },
  { type: 'json', transformation: 'none', values: ['{"b":1, "a":[1,2]}', '[]', '"🚀"'] },
  { type: 'jsonb', transformation: 'json_to_jsonb', values: ['{"b":1,"a":2,"a":3}', 'null', '{"x":"tab\\t"}'] },
  { type: 'text[]', transformation: 'set_to_array', values: ['a,b', '', 'x"y\\z,{}', 'single'] },
  { type: 'bit(10)', transformation: 'bit_string', values: [Buffer.from([0x02, 0x05]), Buffer.from([0x03, 0xff])] },
  { type: 'bit(3)', values: ['101', '000'] },
  { type: 'bit varying(16)', transformation: 'bit_string', values: [Buffer.from([0xa5])] },
  { type: 'boolean', transformation: 'bool_from_bit', values: [Buffer.from([0]), Buffer.from([1]), Buffer.from([0, 2])] },
  { type: 'boolean', transformation: 'bool_from_int', values: [0n, 1n, 0, 1, '0', '1', null] },
  { type: 'timestamp without time zone', transformation: 'timestamp_from_text', values: ['2020-01-01T10:00:00+02:00', -1n, 4102444800n, 2440587.5, 2415020.5, '1969-07-20 20:17:40.25', 0n] },
  { type: 'timestamp with time zone', transformation: 'timestamp_from_text', values: ['2020-01-01T10:00:00+02:00', -1n, 2488069.5] },
  { type: 'date', transformation: 'timestamp_from_text', values: ['2020-03-01', -86400n, '2020-03-01 23:59:59'] },
  { type: 'time without time zone', transformation: 'timestamp_from_text', values: ['10:11:12', '23:59:59.5'] },
  { type: 'timestamp without time zone', transformation: 'timestamp_from_unixepoch', values: [0n, -2208988800n, 1.5, 253402300799n] },
  { type: 'timestamp without time zone', transformation: 'timestamp_from_julianday', values: [2440587.5, 2451545.25, 1721425.5] },
  { type: 'timestamp without time zone', transformation: 'zero_date_to_null', values: ['0000-00-00 00:00:00', '2020-00-15 00:00:00', '2020-05-05 05:05:05'] },
  { type: 'timestamp with time zone', transformation: 'zero_date_to_neg_infinity', values: ['0000-00-00 00:00:00', '2020-05-05 05:05:05.123'] },
  { type: 'timestamp(0) with time zone', transformation: 'timestamp_as_utc', values: ['0000-00-00 00:00:00', '2038-01-19 03:14:08', '1970-01-01 00:00:01'] },
  { type: 'date', transformation: 'zero_date_to_null', values: ['0000-00-00', '1000-01-01', '9999-12-31'] },
  { type: 'text', transformation: 'strip_nul_bytes', values: ['a\u0000b', '\u0000', 'plain'] },
  { type: 'text', transformation: 'empty_string_to_null', values: ['', 'x', null] },
  { type: 'text', transformation: 'text_from_any', values: [Buffer.from([0xff]), Buffer.from('ok'), 1.5, 12n, 'str'] },
  { type: 'smallint', transformation: 'cast', values: ['2155', 1901] },
  { type: 'text', transformation: 'enum_to_text', values: ['', 'small'] },
];

describe('binary COPY encoding round-trips through PostgreSQL exactly like the text encoding', () => {
  for (const c of CASES) {
    const tr = c.transformation ?? 'none';
    it(`${c.type} (${tr})`, async () => {
      const got = await both(c.type, tr, c.values);
      expect(got.binary).toEqual(got.text);
      expect(got.binary.length).toBe(c.values.length);
      if (c.expect) expect(got.binary).toEqual(c.expect);
    });
  }

  it('keeps the extreme values as PostgreSQL prints them', async () => {
    const ts = await both('timestamp without time zone', 'none', ['0001-01-01 00:00:00', '294276-12-31 23:59:59.999999', '4713-01-01 00:00:00 BC', '1899-12-31 23:59:59.5']);
    expect(ts.binary).toEqual(['0001-01-01 00:00:00', '294276-12-31 23:59:59.999999', '4713-01-01 00:00:00 BC', '1899-12-31 23:59:59.5']);
    const tz = await both('timestamp with time zone', 'none', ['2020-01-01 10:00:00+02']);
    expect(tz.binary).toEqual(['2020-01-01 08:00:00+00']);
    const n = await both('numeric', 'none', ['-0.5', '0', 'NaN', '1e5000']);
    expect(n.binary).toEqual(['-0.5', '0', 'NaN', '1' + '0'.repeat(5000)]);
    // A JS double beyond 2^53 goes in as its exact integer value (the text path writes its shortest decimal form).
    const big = await both('bigint', 'none', [2 ** 60]);
    expect(big.binary).toEqual(['1152921504606846976']);
  });

  it('splits rows over many small frames', async () => {
    const values = Array.from({ length: 5000 }, (_, i) => `row ${i} ${'x'.repeat(i % 97)}`);
    const n = ++seq;
    await client.query(`CREATE TABLE f${n} (i int, v text)`);
    const frames = binaryFrames('text', 'none', values, 4096);
    expect(frames.length).toBeGreaterThan(10);
    await copyIn(`f${n}`, 'binary', frames);
    const { rows } = await client.query(`SELECT count(*)::int AS n, md5(string_agg(v, '|' ORDER BY i)) AS h FROM f${n}`);
    expect(rows[0]).toEqual({ n: 5000, h: (await client.query(`SELECT md5($1) AS h`, [values.join('|')])).rows[0].h });
  });

  it('an empty unit is the header and the trailer alone', async () => {
    const n = ++seq;
    await client.query(`CREATE TABLE e${n} (i int, v text)`);
    await copyIn(`e${n}`, 'binary', binaryFrames('text', 'none', []));
    expect((await client.query(`SELECT count(*)::int AS n FROM e${n}`)).rows[0].n).toBe(0);
  });
});

describe('values PostgreSQL refuses are refused in binary too (the row is reported, never loaded wrong)', () => {
  const BAD: [string, string, unknown][] = [
    ['numeric', 'none', 'abc'], ['numeric', 'none', '1e200000'], ['numeric', 'none', '1e-20000'], ['numeric(3,0)', 'none', '12345'], ['integer', 'none', 1.5], ['integer', 'none', '2147483648'],
    ['smallint', 'none', 40000n], ['bigint', 'none', '9223372036854775808'], ['bigint', 'none', 'twelve'], ['date', 'none', '2020-13-01'],
    ['date', 'none', '2021-02-29'], ['timestamp without time zone', 'none', '2020-01-01 25:00:00'], ['timestamp without time zone', 'none', 'yesterday-ish'],
    ['boolean', 'bool_from_int', 2n], ['boolean', 'none', 'maybe'], ['text', 'none', 'a\u0000b'], ['varchar(3)', 'none', 'abcd'],
    ['double precision', 'none', '1e400'], ['uuid', 'none', 'not-a-uuid'], ['bit(3)', 'none', '10'], ['jsonb', 'none', '{bad'],
    ['timestamp without time zone', 'timestamp_from_unixepoch', 99999999999999n], ['time without time zone', 'none', '24:00:01'],
  ];
  for (const [type, tr, v] of BAD) {
    it(`${type} (${tr}) ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)}`, async () => {
      expect(await rejects(type, tr, v)).toEqual({ text: true, binary: true });
    });
  }
});

describe('binaryKind and unit fallback', () => {
  it('knows the planner spellings of the supported types', () => {
    expect(binaryKind('numeric(12,2)')).toBe('numeric');
    expect(binaryKind('timestamp(0) without time zone')).toBe('timestamp');
    expect(binaryKind('timestamp(6) with time zone')).toBe('timestamptz');
    expect(binaryKind('character varying(64)')).toBe('text');
    expect(binaryKind('character(2)')).toBe('text');
    expect(binaryKind('double precision')).toBe('float8');
    expect(binaryKind('money')).toBeNull();
    expect(binaryKind('inet')).toBeNull();
  });
  it('a unit with one unsupported column has no binary writer', () => {
    expect(binaryRowWriter([{ target_type: 'bigint', transformation: 'none' }, { target_type: 'xml', transformation: 'cast' }])).toBeNull();
    expect(binaryRowWriter([{ target_type: 'text[]', transformation: 'none' }])).toBeNull();
    expect(binaryRowWriter([{ target_type: 'bigint', transformation: 'some_future_kind' }])).toBeNull();
    expect(binaryRowWriter([{ target_type: 'bigint', transformation: 'none' }])).not.toBeNull();
  });
});
