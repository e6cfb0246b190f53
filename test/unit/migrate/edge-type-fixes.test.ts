import { describe, expect, it } from 'vitest';
import { normFor } from '../../../hub/src/validate/tables.ts';
import { translateDefault } from '../../../hub/src/migrate/planner/defaults.ts';
import { mapMysqlColumn } from '../../../hub/src/migrate/planner/index.ts';
import { toDecimalOrNull } from '../../../node-agent/src/connectors/decimal.ts';
import { planMysqlColumn } from '../../../node-agent/src/connectors/mysql/profile-sql.ts';
import { canonical } from '../../../node-agent/src/validate/normalize.ts';
import { col, profile, table } from './planner/fixtures.ts';

/** Fixes found by migrating the generated edge datasets end to end (test/integration/migrate/edge-extras.test.ts). */
describe('MySQL TIME beyond 00:00..24:00', () => {
  it('is profiled with min/max kept as time text, so the planner can choose interval', () => {
    const plan = planMysqlColumn({ name: 'tm', base_type: 'time' } as Parameters<typeof planMysqlColumn>[0]);
    expect(plan.metrics.map((m) => m.metric)).toEqual(expect.arrayContaining(['min', 'max']));
    expect(toDecimalOrNull('-12:30:00.500')).toBe('-12:30:00.500');
    expect(toDecimalOrNull('838:59:59.000')).toBe('838:59:59.000');
    expect(toDecimalOrNull('1.50E+3')).toBe('1500');
    expect(toDecimalOrNull('007.10')).toBe('7.1');
  });

  it('validation: MySQL TIME text and PostgreSQL interval text agree', () => {
    const n = normFor('interval');
    expect(canonical('838:59:59.000', n)).toBe(canonical('838:59:59', n));
    expect(canonical('-12:30:00.500', n)).toBe(canonical('-12:30:00.5', n));
    expect(canonical('1 day 02:00:00', n)).toBe('1 day 02:00:00');
  });
});

describe('MySQL BIT(n) into bit(n)', () => {
  it('validation renders source bytes as the bit string the target holds', () => {
    const n = normFor('bit(8)', 'bit_string');
    expect(canonical(Buffer.from([0b10100101]), n)).toBe(canonical('10100101', n));
    expect(canonical(Buffer.from([0b101]), normFor('bit(3)', 'bit_string'))).toBe('101');
  });
});

describe('generated columns', () => {
  it('are copied as plain columns: the generation expression is not rendered as a DEFAULT', () => {
    expect(translateDefault('postgresql', 'generated always as ((id * 2)) stored', 'integer')).toEqual({ sql: null, dropped: true });
    expect(translateDefault('mysql', 'generated always as (`id` * 2) virtual', 'integer')).toEqual({ sql: null, dropped: true });
    expect(translateDefault('postgresql', "'x'::text", 'text')).toEqual({ sql: "'x'::text", dropped: false });
  });

  it('a MySQL TIME profile with durations maps to interval', () => {
    const t = table('s', 't', []);
    const prof = profile('s', 't', 'tm', { min: '-12:30:00.500', max: '838:59:59.000' });
    expect(mapMysqlColumn(col('tm', 'time(3)'), prof, t).type).toBe('interval');
    expect(mapMysqlColumn(col('tm', 'time(3)'), profile('s', 't', 'tm', { min: '00:00:00.000', max: '23:59:59.000' }), t).type).toMatch(/^time/);
  });
});
