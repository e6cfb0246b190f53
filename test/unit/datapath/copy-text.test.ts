import { describe, expect, it } from 'vitest';
import { columnEncoder, escapeCopyText, rowEncoder, unescapeCopyText } from '../../../node-agent/src/datapath/copy-text.ts';

const enc = (target_type: string, transformation = 'none') => columnEncoder({ target_type, transformation });

describe('escapeCopyText', () => {
  it('escapes backslash, newline, carriage return and tab', () => {
    expect(escapeCopyText('a\\b')).toBe('a\\\\b');
    expect(escapeCopyText('a\nb')).toBe('a\\nb');
    expect(escapeCopyText('a\rb')).toBe('a\\rb');
    expect(escapeCopyText('a\tb')).toBe('a\\tb');
    expect(escapeCopyText('\\N')).toBe('\\\\N');
    expect(escapeCopyText('\\.')).toBe('\\\\.');
  });
  it('leaves plain text, Unicode outside the BMP and NUL alone', () => {
    expect(escapeCopyText('plain')).toBe('plain');
    expect(escapeCopyText('🚀 𝄞 Ω')).toBe('🚀 𝄞 Ω');
    expect(escapeCopyText('a\u0000b')).toBe('a\u0000b');
  });
  it('round-trips through unescapeCopyText', () => {
    for (const s of ['', 'x', 'a\tb\nc\rd\\e', '🚀\t', '\\N']) expect(unescapeCopyText(escapeCopyText(s))).toBe(s);
    expect(unescapeCopyText('\\N')).toBeNull();
  });
  it('escapes a 1 MB value with specials spread through it', () => {
    const big = ('x'.repeat(999) + '\n').repeat(1000);
    const out = escapeCopyText(big);
    expect(out.length).toBe(big.length + 1000);
    expect(unescapeCopyText(out)).toBe(big);
  });
});

describe('columnEncoder: plain values', () => {
  it('NULL and undefined are \\N; empty string stays empty', () => {
    expect(enc('text')(null)).toBe('\\N');
    expect(enc('text')(undefined)).toBe('\\N');
    expect(enc('text')('')).toBe('');
  });
  it('keeps extreme numerics exact (strings from drivers, BigInt from SQLite)', () => {
    expect(enc('numeric(26,6)')('99999999999999999999.999999')).toBe('99999999999999999999.999999');
    expect(enc('bigint')('-9223372036854775808')).toBe('-9223372036854775808');
    expect(enc('bigint')(-9223372036854775808n)).toBe('-9223372036854775808');
    expect(enc('bigint')(9223372036854775807n)).toBe('9223372036854775807');
    expect(enc('integer')(-2147483648)).toBe('-2147483648');
    expect(enc('double precision')(0.1)).toBe('0.1');
    expect(enc('double precision')(1e300)).toBe('1e+300');
    expect(enc('double precision')(Number.POSITIVE_INFINITY)).toBe('Infinity');
  });
  it('writes bytea as escaped hex and binary to text as UTF-8', () => {
    expect(enc('bytea')(Buffer.from([0, 1, 0xfe, 0xff]))).toBe('\\\\x0001feff');
    expect(enc('bytea')(Buffer.alloc(0))).toBe('\\\\x');
    expect(enc('bytea')('AB')).toBe('\\\\x4142');
    expect(enc('text')(Buffer.from('h\u00e9\t', 'utf8'))).toBe('h\u00e9\\t');
  });
  it('writes booleans as t/f and keeps dates as the driver text', () => {
    expect(enc('boolean')(true)).toBe('t');
    expect(enc('boolean')(false)).toBe('f');
    expect(enc('date')('1899-12-31')).toBe('1899-12-31');
    expect(enc('timestamp(0) without time zone')('2099-01-19 03:14:08')).toBe('2099-01-19 03:14:08');
  });
  it('writes a JS Date in UTC, with +00 for timestamptz', () => {
    expect(enc('timestamp with time zone')(new Date(Date.UTC(1950, 0, 2, 3, 4, 5, 60)))).toBe('1950-01-02 03:04:05.060+00');
    expect(enc('timestamp without time zone')(new Date(Date.UTC(2040, 0, 2)))).toBe('2040-01-02 00:00:00');
  });
  it('writes objects as JSON text', () => {
    expect(enc('jsonb', 'json_to_jsonb')({ a: 'x\ty' })).toBe('{"a":"x\\\\ty"}');
    expect(enc('jsonb', 'json_to_jsonb')('{"b": 1}')).toBe('{"b": 1}');
  });
});

describe('columnEncoder: transformations', () => {
  it('bool_from_int: 0/1 in every driver shape; other values pass for the server to reject', () => {
    const e = enc('boolean', 'bool_from_int');
    expect([0, 1, 0n, 1n, '0', '1', null].map(e)).toEqual(['f', 't', 'f', 't', 'f', 't', '\\N']);
    expect(e(2)).toBe('2');
  });
  it('bool_from_bit and bit_string read MySQL BIT bytes', () => {
    expect(enc('boolean', 'bool_from_bit')(Buffer.from([1]))).toBe('t');
    expect(enc('boolean', 'bool_from_bit')(Buffer.from([0]))).toBe('f');
    expect(enc('bit(10)', 'bit_string')(Buffer.from([0x02, 0x05]))).toBe('1000000101');
    expect(enc('bit(3)', 'bit_string')(Buffer.from([0x05]))).toBe('101');
  });
  it('zero dates become NULL or -infinity; real dates pass', () => {
    const n = enc('date', 'zero_date_to_null');
    expect(n('0000-00-00')).toBe('\\N');
    expect(n('2020-00-15')).toBe('\\N');
    expect(n('2020-05-00')).toBe('\\N');
    expect(n('0000-00-00 00:00:00')).toBe('\\N');
    expect(n('1969-07-20')).toBe('1969-07-20');
    expect(enc('timestamp(0) without time zone', 'zero_date_to_neg_infinity')('0000-00-00 00:00:00')).toBe('-infinity');
    expect(enc('timestamp(0) with time zone', 'zero_date_to_null')('2040-01-01 00:00:00')).toBe('2040-01-01 00:00:00+00');
  });
  it('timestamp_as_utc appends the UTC offset', () => {
    expect(enc('timestamp(6) with time zone', 'timestamp_as_utc')('1960-01-01 12:00:00.123456')).toBe('1960-01-01 12:00:00.123456+00');
  });
  it('empty_string_to_null and strip_nul_bytes', () => {
    expect(enc('text', 'empty_string_to_null')('')).toBe('\\N');
    expect(enc('text', 'empty_string_to_null')(' ')).toBe(' ');
    expect(enc('text', 'strip_nul_bytes')('a\u0000b\u0000\t')).toBe('ab\\t');
  });
  it('timestamp_from_text: zone-less text passes, offsets become UTC wall-clock time', () => {
    const e = enc('timestamp without time zone', 'timestamp_from_text');
    expect(e('2020-01-01 10:00:00')).toBe('2020-01-01 10:00:00');
    expect(e('2020-01-01T10:00:00.123+02:00')).toBe('2020-01-01 08:00:00.123');
    expect(e('1900-03-01T00:30:00Z')).toBe('1900-03-01 00:30:00');
    expect(e('2100-12-31 23:00:00-0130')).toBe('2101-01-01 00:30:00');
    expect(e(86400n)).toBe('1970-01-02 00:00:00');
    expect(enc('timestamp with time zone', 'timestamp_from_text')('2020-01-01T10:00:00+02:00')).toBe('2020-01-01T10:00:00+02:00');
  });
  it('timestamp_from_unixepoch: before 1970, after 2038, fractional seconds', () => {
    const e = enc('timestamp without time zone', 'timestamp_from_unixepoch');
    expect(e(-1n)).toBe('1969-12-31 23:59:59');
    expect(e(-2208988800n)).toBe('1900-01-01 00:00:00');
    expect(e(4102444800n)).toBe('2100-01-01 00:00:00');
    expect(e(1.25)).toBe('1970-01-01 00:00:01.25');
    expect(e(-62167219200n)).toBe('0001-01-01 00:00:00 BC');
    expect(enc('timestamp with time zone', 'timestamp_from_unixepoch')(0n)).toBe('1970-01-01 00:00:00+00');
    expect(e(10n ** 15n)).toBe('1000000000000000');
  });
  it('timestamp_from_julianday', () => {
    const e = enc('timestamp without time zone', 'timestamp_from_julianday');
    expect(e(2440587.5)).toBe('1970-01-01 00:00:00');
    expect(e(2451545.0)).toBe('2000-01-01 12:00:00');
    expect(e(2415020.5)).toBe('1900-01-01 00:00:00');
  });
  it('set_to_array and text_from_any', () => {
    expect(enc('text[]', 'set_to_array')('a,b"c')).toBe('{"a","b\\\\"c"}');
    expect(enc('text[]', 'set_to_array')('')).toBe('{}');
    const t = enc('text', 'text_from_any');
    expect(t(12n)).toBe('12');
    expect(t(1.5)).toBe('1.5');
    expect(t(Buffer.from('ok'))).toBe('ok');
    expect(t(Buffer.from([0xff, 0x00]))).toBe('\\\\xff00');
    expect(t(null)).toBe('\\N');
  });
  it('enum_to_text, set_to_text and geometry_to_wkt copy the text', () => {
    expect(enc('text', 'enum_to_text')('small')).toBe('small');
    expect(enc('text', 'set_to_text')('a,b')).toBe('a,b');
    expect(enc('text', 'geometry_to_wkt')('POINT(1 2)')).toBe('POINT(1 2)');
  });
});

describe('rowEncoder', () => {
  it('joins fields with tabs and ends with a newline', () => {
    const r = rowEncoder([
      { target_type: 'bigint', transformation: 'none' },
      { target_type: 'text', transformation: 'none' },
      { target_type: 'boolean', transformation: 'bool_from_int' },
    ]);
    expect(r([1n, 'a\nb', 1])).toBe('1\ta\\nb\tt\n');
    expect(r([null, '', null])).toBe('\\N\t\t\\N\n');
  });
});
