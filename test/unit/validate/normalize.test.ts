import { describe, expect, it } from 'vitest';
import { canonical, roundDecimal } from '../../../node-agent/src/validate/normalize.ts';
import { normFor, canonicalPgType } from '../../../hub/src/validate/tables.ts';
import { translateQuery, isOrdered } from '../../../hub/src/validate/checks/behavioral.ts';

describe('canonical values across dialects', () => {
  it('compares numerics as exact decimals whatever the driver hands back', () => {
    const n = normFor('numeric(10,2)');
    for (const v of ['0.99', 0.99, '0.990', '.99']) expect(canonical(v, n)).toBe('0.99');
    expect(canonical('1.005', n)).toBe('1.01');
    expect(canonical('-0.00', n)).toBe('0');
    expect(canonical(12345678901234567890n, normFor('numeric'))).toBe('12345678901234567890');
    expect(canonical('0042', normFor('bigint'))).toBe('42');
    expect(roundDecimal('-2.5', 0)).toBe('-3');
  });

  it('renders booleans from 0/1, t/f and true/false alike', () => {
    const b = normFor('boolean');
    expect([1, '1', 't', true, 1n].map((v) => canonical(v, b))).toEqual(['t', 't', 't', 't', 't']);
    expect([0, '0', 'f', false].map((v) => canonical(v, b))).toEqual(['f', 'f', 'f', 'f']);
  });

  it('compares timestamps at the mapped precision and time zones as instants', () => {
    const ts0 = normFor('timestamp(0) without time zone');
    expect(canonical('2009-01-01 00:00:00', ts0)).toBe('2009-01-01 00:00:00');
    expect(canonical('2009-01-01T00:00:00.4', ts0)).toBe('2009-01-01 00:00:00');
    expect(canonical('2009-01-01 23:59:59.6', ts0)).toBe('2009-01-02 00:00:00');
    const ts = normFor('timestamp');
    expect(canonical('2009-01-01 00:00:00.120000', ts)).toBe('2009-01-01 00:00:00.12');
    expect(canonical('1969-12-31 23:59:59.999999', ts)).toBe('1969-12-31 23:59:59.999999');
    const tz = normFor('timestamptz');
    expect(canonical('2009-01-01 02:00:00+02', tz)).toBe(canonical('2009-01-01 00:00:00', tz));
    expect(canonical(1230768000, { ...ts0, epoch: 'unixepoch' })).toBe('2009-01-01 00:00:00');
    expect(canonical('0000-00-00 00:00:00', normFor('timestamp', 'zero_date_to_null'))).toBeNull();
  });

  it('renders bytes as hex from a Buffer and from PostgreSQL bytea text', () => {
    const b = normFor('bytea');
    expect(canonical(Buffer.from([0, 255]), b)).toBe(canonical('\\x00ff', b));
  });

  it('keeps NULL apart from the empty string, unless the mapping turns one into the other', () => {
    expect(canonical('', normFor('text'))).toBe('');
    expect(canonical('', normFor('text', 'empty_string_to_null'))).toBeNull();
    expect(canonical('ab  ', normFor('character(4)'))).toBe('ab');
  });

  it('spells PostgreSQL types one way', () => {
    expect(canonicalPgType('varchar(70)')).toBe('character varying(70)');
    expect(canonicalPgType('timestamp(6)')).toBe('timestamp without time zone');
    expect(canonicalPgType('INT4')).toBe('integer');
  });
});

describe('behavioral query translation', () => {
  const tables = [{ label: 'public.Album', source: { schema: 'main', table: 'Album', columns: [{ name: 'AlbumId', norm: { kind: 'int' as const } }, { name: 'Title', norm: { kind: 'text' as const } }], key: [0], key_integer: true }, target: { schema: 'public', table: 'Album', columns: [{ name: 'AlbumId', norm: { kind: 'int' as const } }, { name: 'Title', norm: { kind: 'text' as const } }], key: [0], key_integer: true }, foreign_keys: [] }];
  it('quotes mapped identifiers, rewrites LIMIT a,b and IFNULL, leaves literals alone', () => {
    expect(translateQuery("SELECT `Title`, IFNULL(AlbumId, 0) FROM Album WHERE Title = 'Album' LIMIT 5, 10", 'mysql', tables)).toEqual({
      sql: `SELECT "Title", COALESCE("AlbumId", 0) FROM "Album" WHERE "Title" = 'Album' LIMIT 10 OFFSET 5`,
    });
  });
  it('reports what it cannot translate as not comparable, and refuses writes', () => {
    expect(translateQuery("SELECT strftime('%Y', x) FROM Album", 'sqlite', tables)).toHaveProperty('not_comparable');
    expect(translateQuery('DELETE FROM Album', 'sqlite', tables)).toHaveProperty('not_comparable');
    expect(isOrdered('SELECT a FROM t ORDER BY a')).toBe(true);
    expect(isOrdered('SELECT * FROM (SELECT a FROM t ORDER BY a LIMIT 3) s')).toBe(false);
  });
});
