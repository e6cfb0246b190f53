import { describe, expect, it } from 'vitest';
import { mapOracleColumn } from '../../../../hub/src/migrate/planner/index.ts';
import { col, notNull, profile, table } from './fixtures.ts';

const t = table('HR', 'EMPLOYEES', []);
const map = (c: ReturnType<typeof col>, p?: Parameters<typeof mapOracleColumn>[1]) => mapOracleColumn(c, p, t);

describe('oracle rules', () => {
  it('maps NUMBER without precision to bigint when a full profile proves integral int64 values', () => {
    const r = map(notNull(col('EMP_ID', 'number')), profile('HR', 'EMPLOYEES', 'EMP_ID', { all_integral: true, min: '1', max: '9223372036854775807' }));
    expect(r.type).toBe('bigint');
    expect(r.transformation).toBe('cast');
    expect(r.confidence).toBeGreaterThanOrEqual(0.95);
    expect(r.risks).toEqual([]);
  });

  it('keeps NUMBER without precision as numeric with a lower confidence and a precision risk when not profiled', () => {
    const r = map(col('EMP_ID', 'number'));
    expect(r.type).toBe('numeric');
    expect(r.confidence).toBeLessThan(0.9);
    expect(r.risks.map((x) => x.type)).toContain('precision_loss');
  });

  it('keeps numeric when the profile shows fractional values or values beyond int64', () => {
    expect(map(col('X', 'number'), profile('HR', 'EMPLOYEES', 'X', { all_integral: false, min: '0.5', max: '3' })).type).toBe('numeric');
    const big = map(col('X', 'number'), profile('HR', 'EMPLOYEES', 'X', { all_integral: true, min: '0', max: '9223372036854775808' }));
    expect(big.type).toBe('numeric(38,0)');
  });

  it('chooses bigint from a sample with a lower confidence and a risk', () => {
    const r = map(col('X', 'number'), profile('HR', 'EMPLOYEES', 'X', { all_integral: true, min: '1', max: '10', sampled: true }));
    expect(r.type).toBe('bigint');
    expect(r.confidence).toBeLessThan(0.95);
    expect(r.risks[0]?.type).toBe('precision_loss');
  });

  it('maps NUMBER(p,0) by digit count and NUMBER(p,s) to numeric(p,s)', () => {
    expect(map(col('A', 'number(4)', { precision: 4, scale: 0 })).type).toBe('smallint');
    expect(map(col('A', 'number(9)', { precision: 9, scale: 0 })).type).toBe('integer');
    expect(map(col('A', 'number(18,0)')).type).toBe('bigint');
    expect(map(col('A', 'number(30,0)')).type).toBe('numeric(30,0)');
    expect(map(col('A', 'number(10,2)')).type).toBe('numeric(10,2)');
    expect(map(col('A', 'number(5,-2)', { precision: 5, scale: -2 })).type).toBe('numeric(7,0)');
  });

  it('maps DATE to timestamp(0) because Oracle DATE has a time part', () => {
    const r = map(col('HIRE_DATE', 'date'));
    expect(r.type).toBe('timestamp(0) without time zone');
    expect(r.reason).toMatch(/time/);
  });

  it('maps TIMESTAMP WITH TIME ZONE to timestamptz with a timezone risk, and rounds beyond microseconds', () => {
    const tz = map(col('T', 'timestamp(6) with time zone', { base_type: 'timestamp with time zone', scale: 6 }));
    expect(tz.type).toBe('timestamp(6) with time zone');
    expect(tz.risks.map((x) => x.type)).toContain('timezone');
    const ns = map(col('T', 'timestamp(9)', { base_type: 'timestamp', scale: 9 }));
    expect(ns.type).toBe('timestamp(6) without time zone');
    expect(ns.risks.map((x) => x.type)).toContain('precision_loss');
  });

  it('maps VARCHAR2(n CHAR) and VARCHAR2(n BYTE) to varchar(n), CLOB to text, BLOB and RAW to bytea', () => {
    expect(map(col('N', 'varchar2(40 char)')).type).toBe('varchar(40)');
    expect(map(col('N', 'varchar2(40 byte)')).type).toBe('varchar(40)');
    expect(map(col('N', 'nvarchar2(10)')).type).toBe('varchar(10)');
    expect(map(col('N', 'clob')).type).toBe('text');
    expect(map(col('N', 'blob')).type).toBe('bytea');
    expect(map(col('N', 'raw(16)')).type).toBe('bytea');
  });

  it('reports the empty-string-as-NULL risk on nullable character columns only', () => {
    expect(map(col('N', 'varchar2(40)')).risks.map((x) => x.type)).toContain('empty_string_null');
    expect(map(notNull(col('N', 'varchar2(40)'))).risks.map((x) => x.type)).not.toContain('empty_string_null');
  });

  it('maps an identity NUMBER to bigint and an unknown type to text with an unsupported risk', () => {
    expect(map(col('ID', 'number', { identity: { kind: 'identity', next_value: 10, increment: 1 } })).type).toBe('bigint');
    const r = map(col('G', 'sdo_geometry'));
    expect(r.type).toBe('text');
    expect(r.risks[0]?.type).toBe('unsupported_object');
    expect(r.confidence).toBeLessThan(0.5);
  });
});
