import { describe, expect, it } from 'vitest';
import {
  decodeOracleNumber, decodeOracleString, oracleDateObjectToTimestamp, oracleDateTextToTimestamp, oracleSelectExpr, trimCharPadding,
} from '../../../node-agent/src/connectors/oracle/values.ts';
import { planOracleColumn, oracleProfileFrom } from '../../../node-agent/src/connectors/oracle/profile-sql.ts';
import { buildAggregateSql, readAggregateRow } from '../../../node-agent/src/connectors/profile-plan.ts';
import type { CatalogColumn } from '../../../common/src/catalog.ts';

describe('Oracle value decoding', () => {
  it('decodes NUMBER text exactly, including leading-dot and exponent forms', () => {
    expect(decodeOracleNumber('.5')).toBe('0.5');
    expect(decodeOracleNumber('-.25')).toBe('-0.25');
    expect(decodeOracleNumber('1.0E+25')).toBe('10000000000000000000000000');
    expect(decodeOracleNumber('1.5E-7')).toBe('0.00000015');
    expect(decodeOracleNumber('12345678901234567890123456789012345678')).toBe('12345678901234567890123456789012345678');
    expect(decodeOracleNumber('0.99')).toBe('0.99');
    expect(decodeOracleNumber(null)).toBeNull();
    expect(decodeOracleNumber('~')).toBe('Infinity');
    expect(() => decodeOracleNumber(2 ** 60)).toThrow(RangeError);
  });

  it('turns DATE text into timestamp text, BC years included', () => {
    expect(oracleDateTextToTimestamp(' 2009-01-03 00:00:00')).toBe('2009-01-03 00:00:00');
    expect(oracleDateTextToTimestamp('+1962-02-18 13:45:07')).toBe('1962-02-18 13:45:07');
    expect(oracleDateTextToTimestamp('-0044-03-15 12:00:00')).toBe('0044-03-15 12:00:00 BC');
    expect(oracleDateTextToTimestamp(' 2038-01-19 03:14:08.123456000')).toBe('2038-01-19 03:14:08.123456');
    expect(oracleDateTextToTimestamp(' 2020-05-01 10:00:00.000000000 +02:00')).toBe('2020-05-01 10:00:00+02:00');
    expect(oracleDateTextToTimestamp(null)).toBeNull();
    expect(() => oracleDateTextToTimestamp('14-AUG-03')).toThrow(RangeError);
  });

  it('reads a driver Date back through its local fields', () => {
    expect(oracleDateObjectToTimestamp(new Date(2003, 7, 14, 9, 5, 3))).toBe('2003-08-14 09:05:03');
    expect(oracleDateObjectToTimestamp(new Date(1969, 6, 20, 20, 17, 0, 500))).toBe('1969-07-20 20:17:00.5');
  });

  it('handles Oracle empty strings (stored as NULL) and CHAR padding', () => {
    expect(decodeOracleString(null)).toBeNull();
    expect(decodeOracleString(null, { nullAsEmpty: true })).toBe('');
    expect(decodeOracleString('x', { nullAsEmpty: true })).toBe('x');
    expect(trimCharPadding('AB   ')).toBe('AB');
  });

  it('reads numbers and dates through TO_CHAR so nothing is rounded or shifted', () => {
    expect(oracleSelectExpr('TOTAL', 'number')).toBe(`to_char("TOTAL", 'TM9')`);
    expect(oracleSelectExpr('HireDate', 'date')).toBe(`to_char("HireDate", 'SYYYY-MM-DD HH24:MI:SS')`);
    expect(oracleSelectExpr('NAME', 'varchar2')).toBe('"NAME"');
  });
});

describe('Oracle profiling SQL', () => {
  const col = (name: string, base_type: string, extra: Partial<CatalogColumn> = {}): CatalogColumn => ({
    name, position: 1, native_type: base_type, base_type, length: null, precision: null, scale: null, unsigned: false,
    nullable: true, default: null, identity: null, ...extra,
  });

  it('builds one aggregate query per table with a ROWNUM sample', () => {
    const plans = [col('TOTAL', 'number'), col('NAME', 'varchar2'), col('FLAG', 'char', { length: 1 }), col('BODY', 'long')].map(planOracleColumn);
    const sql = buildAggregateSql(plans, oracleProfileFrom('CHINOOK', 'INVOICE', 1000));
    expect(sql).toContain('from (select * from "CHINOOK"."INVOICE" where rownum <= 1000)');
    expect(sql).toContain(`sum(case when "TOTAL" <> trunc("TOTAL") then 1 else 0 end)`);
    expect(sql).toContain(`instr("NAME", chr(0))`);
    expect(sql).toContain('listagg(distinct to_char("FLAG")');
    expect(sql).not.toContain('"BODY"');
  });

  it('reads the upper-case result row Oracle returns', () => {
    const plans = [col('TOTAL', 'number'), col('FLAG', 'char', { length: 1 })].map(planOracleColumn);
    // aliases as Oracle returns them: upper-cased, NUMBER fetched as text
    const row = { N: '412', M0_0: '412', M0_1: '.99', M0_2: '25.86', M0_3: '380', M0_4: '2', M1_0: '400', M1_1: '1', M1_2: '0', M1_3: '0', M1_4: '2', M1_5: 'N,Y' };
    const { rows, columns } = readAggregateRow(row, plans, 'CHINOOK', 'INVOICE', undefined);
    expect(rows).toBe(412);
    expect(columns[0]).toMatchObject({ nulls: 0, min: '0.99', max: '25.86', all_integral: false, max_scale: 2, sampled: false });
    expect(columns[1]).toMatchObject({ nulls: 12, max_length: 1, empty_strings: 0, nul_bytes: 0, distinct_values: ['N', 'Y'] });
  });
});
