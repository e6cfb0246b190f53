import { describe, expect, it } from 'vitest';
import { mapSqliteColumn } from '../../../../hub/src/migrate/planner/index.ts';
import { col, notNull, profile, table } from './fixtures.ts';

const t = table('main', 'T', [notNull(col('id', 'integer'))], { primary_key: { name: 'PK_T', columns: ['id'] } });
const prof = (over: Parameters<typeof profile>[3]) => profile('main', 'T', 'c', over);

describe('sqlite NUMERIC(p,s) with values beyond the declared precision', () => {
  it('widens to numeric when a stored value has more than p - s integer digits', () => {
    const r = mapSqliteColumn(col('c', 'numeric(38,10)'), prof({ min: '-1.0e+28', max: '1.0e+28', storage_classes: { real: 5 } }), t);
    expect(r.type).toBe('numeric');
    expect(r.confidence).toBeLessThan(0.95);
    expect(r.risks.map((x) => x.type)).toContain('data_truncation');
  });

  it('keeps numeric(p,s) when every value fits', () => {
    const r = mapSqliteColumn(col('c', 'numeric(10,2)'), prof({ min: '-99999999.99', max: '12.5', max_scale: 2 }), t);
    expect(r.type).toBe('numeric(10,2)');
    expect(r.confidence).toBe(0.95);
  });
});
