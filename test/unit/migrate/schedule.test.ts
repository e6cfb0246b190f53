import { describe, expect, it } from 'vitest';
import { MigrationScheduler, mayRun, nextWindowStart, windowOpen } from '../../../hub/src/migrate/schedule.ts';
import type { Migration } from '../../../hub/src/migrate/types.ts';

const utc = (s: string) => new Date(`2026-02-15T${s}:00Z`);

describe('maintenance windows', () => {
  const night = { start: '02:00', end: '06:00', timezone: 'UTC' };
  const overMidnight = { start: '22:00', end: '04:00', timezone: 'UTC' };

  it('is open inside the window and closed at its end', () => {
    expect(windowOpen(night, utc('01:59'))).toBe(false);
    expect(windowOpen(night, utc('02:00'))).toBe(true);
    expect(windowOpen(night, utc('05:59'))).toBe(true);
    expect(windowOpen(night, utc('06:00'))).toBe(false);
  });

  it('spans midnight when the end is before the start', () => {
    expect(windowOpen(overMidnight, utc('23:30'))).toBe(true);
    expect(windowOpen(overMidnight, utc('03:59'))).toBe(true);
    expect(windowOpen(overMidnight, utc('12:00'))).toBe(false);
  });

  it('reads the clock in the window time zone', () => {
    const ny = { start: '02:00', end: '06:00', timezone: 'America/New_York' };
    // 07:30 UTC is 02:30 in New York in February (UTC-5).
    expect(windowOpen(ny, utc('07:30'))).toBe(true);
    expect(windowOpen(ny, utc('03:00'))).toBe(false);
  });

  it('finds the next opening, the next day when today is past', () => {
    expect(nextWindowStart(night, utc('07:00')).toISOString()).toBe('2026-02-16T02:00:00.000Z');
    expect(nextWindowStart(night, utc('01:00')).toISOString()).toBe('2026-02-15T02:00:00.000Z');
  });

  it('honours start_at before anything else', () => {
    const m = { schedule: { start_at: '2026-02-15T03:00:00Z', maintenance_window: night } } as Pick<Migration, 'schedule'>;
    expect(mayRun(m, utc('02:30'))).toBe(false);
    expect(mayRun(m, utc('03:00'))).toBe(true);
    expect(mayRun(m, utc('06:30'))).toBe(false);
  });
});

describe('MigrationScheduler', () => {
  it('wakes a waiting migration only once the injected clock reaches its window', () => {
    let now = utc('01:00');
    const m = { id: 'mig_x', status: 'paused', pause_reason: 'maintenance_window', schedule: { start_at: null, maintenance_window: { start: '02:00', end: '06:00', timezone: 'UTC' } } } as unknown as Migration;
    const woken: string[] = [];
    const s = new MigrationScheduler({ waiting: () => (woken.includes(m.id) ? [] : [m]), wake: (x) => woken.push(x.id) }, () => now);
    expect(s.tick()).toEqual([]);
    now = utc('02:01');
    expect(s.tick()).toEqual(['mig_x']);
    expect(woken).toEqual(['mig_x']);
  });
});
