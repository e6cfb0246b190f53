import { describe, expect, it } from 'vitest';
import { applyRetention, bucketKeys, isoWeek } from '../../../hub/src/backup/retention.ts';

const snaps = (isos: string[]) => isos.map((created_at, i) => ({ id: `s${i}`, created_at }));

describe('retention', () => {
  it('keeps the newest N with keep_last and removes the rest', () => {
    const d = applyRetention(snaps(['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', '2026-01-03T00:00:00Z', '2026-01-04T00:00:00Z']), { keep_last: 2 });
    expect(d.keep).toEqual(['s3', 's2']);
    expect(d.remove).toEqual(['s1', 's0']);
  });

  it('keeps the newest snapshot of each of the last N days', () => {
    const d = applyRetention(
      snaps(['2026-03-01T08:00:00Z', '2026-03-01T20:00:00Z', '2026-03-02T08:00:00Z', '2026-03-02T09:00:00Z', '2026-03-04T10:00:00Z']),
      { keep_daily: 2 },
    );
    expect(d.keep).toEqual(['s4', 's3']);
    expect(d.reasons.s3).toEqual(['daily']);
  });

  it('counts days in the policy time zone', () => {
    // 23:30 UTC on 1 March is already 2 March in Berlin: both snapshots fall on one Berlin day.
    const items = snaps(['2026-03-01T23:30:00Z', '2026-03-02T10:00:00Z']);
    expect(applyRetention(items, { keep_daily: 5 }, 'UTC').keep).toEqual(['s1', 's0']);
    expect(applyRetention(items, { keep_daily: 5 }, 'Europe/Berlin').keep).toEqual(['s1']);
  });

  it('combines rules: a snapshot kept by several rules lists each reason', () => {
    const d = applyRetention(snaps(['2025-12-15T00:00:00Z', '2026-01-20T00:00:00Z', '2026-02-10T00:00:00Z', '2026-02-11T00:00:00Z']), { keep_last: 1, keep_monthly: 3 });
    expect(d.keep).toEqual(['s3', 's1', 's0']);
    expect(d.reasons.s3).toEqual(['last', 'monthly']);
    expect(d.remove).toEqual(['s2']);
  });

  it('keeps weekly by ISO week, across a year boundary', () => {
    expect(isoWeek(2026, 1, 1)).toBe('2026-W01');
    expect(isoWeek(2027, 1, 1)).toBe('2026-W53');
    expect(bucketKeys('2024-12-30T12:00:00Z', 'UTC').weekly).toBe('2025-W01');
    const d = applyRetention(snaps(['2026-01-05T00:00:00Z', '2026-01-06T00:00:00Z', '2026-01-13T00:00:00Z']), { keep_weekly: 5 });
    expect(d.keep).toEqual(['s2', 's1']);
  });

  it('removes nothing when no rule is set', () => {
    const d = applyRetention(snaps(['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z']), {});
    expect(d.remove).toEqual([]);
  });
});
