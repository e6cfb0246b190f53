import { describe, expect, it } from 'vitest';
import { mapMysqlColumn } from '../../../../hub/src/migrate/planner/index.ts';
import { col, notNull, profile, table } from './fixtures.ts';

const t = table('chinook', 'Track', []);
const map = (c: ReturnType<typeof col>, p?: Parameters<typeof mapMysqlColumn>[1], tb = t) => mapMysqlColumn(c, p, tb);
const prof = (over: Parameters<typeof profile>[3]) => profile('chinook', 'Track', 'c', over);

describe('mysql rules', () => {
  it('maps tinyint(1) to boolean only when the profile shows 0/1', () => {
    const yes = map(col('c', 'tinyint(1)'), prof({ distinct_values: ['0', '1'] }));
    expect(yes.type).toBe('boolean');
    expect(yes.transformation).toBe('bool_from_int');
    expect(yes.confidence).toBeGreaterThanOrEqual(0.95);
    const no = map(col('c', 'tinyint(1)'), prof({ distinct_values: ['0', '1', '2'] }));
    expect(no.type).toBe('smallint');
    expect(no.transformation).toBe('cast');
  });

  it('keeps tinyint(1) as smallint with lower confidence when not profiled', () => {
    const r = map(col('c', 'tinyint(1)'));
    expect(r.type).toBe('smallint');
    expect(r.confidence).toBeLessThan(0.95);
  });

  it('widens unsigned integers', () => {
    expect(map(col('c', 'tinyint unsigned')).type).toBe('smallint');
    expect(map(col('c', 'smallint unsigned')).type).toBe('integer');
    expect(map(col('c', 'mediumint unsigned')).type).toBe('integer');
    expect(map(col('c', 'int unsigned')).type).toBe('bigint');
    expect(map(col('c', 'int')).type).toBe('integer');
  });

  it('maps bigint unsigned to numeric(20,0) unless the profile max fits in int64', () => {
    const wide = map(col('c', 'bigint unsigned'));
    expect(wide.type).toBe('numeric(20,0)');
    expect(wide.risks.map((r) => r.type)).toContain('unsigned_range');
    const fits = map(col('c', 'bigint unsigned'), prof({ all_integral: true, min: '0', max: '9223372036854775807' }));
    expect(fits.type).toBe('bigint');
    const over = map(col('c', 'bigint unsigned'), prof({ all_integral: true, min: '0', max: '9223372036854775808' }));
    expect(over.type).toBe('numeric(20,0)');
  });

  it('turns zero dates into NULL with a risk, and flags NOT NULL columns for review', () => {
    const nullable = map(col('c', 'datetime'), prof({ zero_dates: 3 }));
    expect(nullable.transformation).toBe('zero_date_to_null');
    expect(nullable.risks.find((r) => r.type === 'zero_date')?.severity).toBe('medium');
    const strict = map(notNull(col('c', 'date')), prof({ zero_dates: 3 }));
    expect(strict.confidence).toBeLessThan(0.5);
    expect(strict.risks.find((r) => r.type === 'zero_date')?.severity).toBe('high');
    const clean = map(col('c', 'date'), prof({ zero_dates: 0 }));
    expect(clean.transformation).toBe('none');
    expect(clean.risks).toEqual([]);
  });

  it('maps DATETIME to timestamp without time zone and TIMESTAMP to timestamptz with a timezone risk', () => {
    const dt = map(col('c', 'datetime(3)'), prof({ zero_dates: 0 }));
    expect(dt.type).toBe('timestamp(3) without time zone');
    expect(dt.reason).toMatch(/timestamptz would reinterpret/);
    const ts = map(col('c', 'timestamp'), prof({ zero_dates: 0 }));
    expect(ts.type).toBe('timestamp(0) with time zone');
    expect(ts.transformation).toBe('timestamp_as_utc');
    expect(ts.risks.map((r) => r.type)).toContain('timezone');
  });

  it('maps enum to text with a CHECK on its labels, set to text, year to smallint, bit(1) to boolean, json to jsonb', () => {
    const e = map(col('c', "enum('new','paid')", { base_type: 'enum', enum_values: ['new', 'paid'] }));
    expect(e.type).toBe('text');
    expect(e.check_in).toEqual(['new', 'paid']);
    expect(map(col('c', "set('a','b')", { base_type: 'set' })).type).toBe('text');
    expect(map(col('c', 'year')).type).toBe('smallint');
    const b = map(col('c', 'bit(1)'));
    expect([b.type, b.transformation]).toEqual(['boolean', 'bool_from_bit']);
    expect(map(col('c', 'bit(8)')).type).toBe('bit(8)');
    expect(map(col('c', 'json')).type).toBe('jsonb');
  });

  it('recognises MariaDB JSON (longtext with a json_valid check)', () => {
    const tb = table('chinook', 'Doc', [], { checks: [{ name: 'body', expression: 'json_valid(`body`)' }] });
    expect(map(col('body', 'longtext'), undefined, tb).type).toBe('jsonb');
    expect(map(col('note', 'longtext'), undefined, tb).type).toBe('text');
  });

  it('keeps varchar lengths and reports encoding risks for utf8mb3 and latin1', () => {
    expect(map(col('c', 'varchar(64)', { charset: 'utf8mb4' })).type).toBe('varchar(64)');
    expect(map(col('c', 'varchar(64)', { charset: 'utf8mb4' })).risks).toEqual([]);
    expect(map(col('c', 'varchar(64)', { charset: 'utf8mb3' })).risks[0]?.severity).toBe('low');
    const l1 = map(col('c', 'varchar(64)', { charset: 'latin1' })).risks[0];
    expect([l1?.type, l1?.severity]).toEqual(['encoding', 'medium']);
  });

  it('maps decimal exactly and floats to IEEE types', () => {
    expect(map(col('c', 'decimal(10,2)')).type).toBe('numeric(10,2)');
    expect(map(col('c', 'double')).type).toBe('double precision');
    expect(map(col('c', 'float')).type).toBe('real');
  });
});
