import { describe, expect, it } from 'vitest';
import { affinityOf, mapSqliteColumn } from '../../../../hub/src/migrate/planner/index.ts';
import { col, notNull, profile, table } from './fixtures.ts';

const invoice = table('main', 'Invoice', [notNull(col('InvoiceId', 'integer'))], { primary_key: { name: 'PK_Invoice', columns: ['InvoiceId'] } });
const map = (c: ReturnType<typeof col>, p?: Parameters<typeof mapSqliteColumn>[1]) => mapSqliteColumn(c, p, invoice);
const prof = (over: Parameters<typeof profile>[3]) => profile('main', 'Invoice', 'c', over);

describe('sqlite rules', () => {
  it('follows the documented affinity rules', () => {
    expect(affinityOf('INTEGER')).toBe('integer');
    expect(affinityOf('NVARCHAR(70)')).toBe('text');
    expect(affinityOf('BLOB')).toBe('blob');
    expect(affinityOf('')).toBe('blob');
    expect(affinityOf('DOUBLE')).toBe('real');
    expect(affinityOf('NUMERIC(10,2)')).toBe('numeric');
    expect(affinityOf('DATETIME')).toBe('numeric');
  });

  it('maps INTEGER PRIMARY KEY (the rowid) to bigint', () => {
    const r = map(notNull(col('InvoiceId', 'integer')));
    expect(r.type).toBe('bigint');
    expect(r.confidence).toBeGreaterThanOrEqual(0.95);
  });

  it('maps NUMERIC(10,2) to numeric(10,2), and flags extra decimal places', () => {
    expect(map(col('c', 'numeric(10,2)')).type).toBe('numeric(10,2)');
    const r = map(col('c', 'numeric(10,2)'), prof({ max_scale: 5, storage_classes: { real: 10 } }));
    expect(r.confidence).toBeLessThan(0.95);
    expect(r.risks.map((x) => x.type)).toContain('precision_loss');
  });

  it('maps TEXT and VARCHAR(n), widening to text when values exceed the declared length', () => {
    expect(map(col('c', 'text')).type).toBe('text');
    expect(map(col('c', 'nvarchar(70)'), prof({ max_length: 70 })).type).toBe('varchar(70)');
    const r = map(col('c', 'nvarchar(70)'), prof({ max_length: 300 }));
    expect(r.type).toBe('text');
    expect(r.risks[0]?.type).toBe('data_truncation');
  });

  it('maps BOOLEAN to boolean when the profile shows 0/1 only', () => {
    const yes = map(col('c', 'boolean'), prof({ distinct_values: ['0', '1'], storage_classes: { integer: 100 } }));
    expect([yes.type, yes.transformation]).toEqual(['boolean', 'bool_from_int']);
    const no = map(col('c', 'boolean'), prof({ distinct_values: ['0', '1', '7'], all_integral: true, min: '0', max: '7' }));
    expect(no.type).toBe('smallint');
    expect(no.risks[0]?.type).toBe('affinity_mismatch');
  });

  it('maps DATETIME stored as text to timestamp with a text-parsing transformation, and integers as epoch', () => {
    const text = map(col('c', 'datetime'), prof({ storage_classes: { text: 100 } }));
    expect([text.type, text.transformation]).toEqual(['timestamp without time zone', 'timestamp_from_text']);
    const epoch = map(col('c', 'timestamp'), prof({ storage_classes: { integer: 100 } }));
    expect(epoch.transformation).toBe('timestamp_from_unixepoch');
    expect(map(col('c', 'date')).type).toBe('date');
  });

  it('lowers confidence and adds an affinity_mismatch risk when stored values do not match', () => {
    const ok = map(col('c', 'int'), prof({ storage_classes: { integer: 98, null: 2 }, all_integral: true, min: '1', max: '5' }));
    expect(ok.risks).toEqual([]);
    expect(ok.type).toBe('integer');
    const bad = map(col('c', 'int'), prof({ storage_classes: { integer: 98, text: 2 } }));
    expect(bad.confidence).toBeLessThanOrEqual(0.5);
    expect(bad.risks.find((r) => r.type === 'affinity_mismatch')?.severity).toBe('high');
    const lenient = map(col('c', 'text'), prof({ storage_classes: { text: 9, integer: 1 } }));
    expect(lenient.risks.find((r) => r.type === 'affinity_mismatch')?.severity).toBe('low');
  });

  it('maps an integer column to bigint without a profile, narrower with one', () => {
    expect(map(col('c', 'integer')).type).toBe('bigint');
    expect(map(col('c', 'integer'), prof({ all_integral: true, min: '0', max: '3000000000' })).type).toBe('bigint');
    expect(map(col('c', 'integer'), prof({ all_integral: true, min: '0', max: '300' })).type).toBe('integer');
  });
});
