import { describe, expect, it } from 'vitest';
import { mapPostgresColumn } from '../../../../hub/src/migrate/planner/index.ts';
import { col, table } from './fixtures.ts';

const t = table('public', 'album', []);
const map = (c: ReturnType<typeof col>) => mapPostgresColumn(c, undefined, t);

describe('postgres rules', () => {
  it('keeps built-in types exactly with confidence 1.0', () => {
    for (const native of ['integer', 'character varying(160)', 'numeric(10,2)', 'timestamp(3) without time zone', 'integer[]', 'jsonb', 'uuid', 'bytea', 'text[]']) {
      const r = map(col('c', native, { base_type: native }));
      expect(r.type).toBe(native);
      expect(r.confidence).toBe(1);
      expect(r.transformation).toBe('none');
    }
  });

  it('maps an enum to text with a CHECK and a type_not_recreated risk', () => {
    const r = map(col('mood', 'mood', { enum_values: ['sad', 'ok'] }));
    expect(r.type).toBe('text');
    expect(r.check_in).toEqual(['sad', 'ok']);
    expect(r.risks[0]?.type).toBe('type_not_recreated');
  });

  it('maps an unknown user-defined type to text with a high risk and low confidence', () => {
    const r = map(col('c', 'my_domain'));
    expect(r.type).toBe('text');
    expect(r.confidence).toBeLessThan(0.6);
    expect(r.risks[0]?.severity).toBe('high');
  });
});
