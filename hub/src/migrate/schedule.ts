/**
 * Schedule arithmetic (pure: the clock is a parameter) and the scheduler that applies it: a
 * deferred start at `schedule.start_at`, and maintenance windows (work only inside the window;
 * the runner pauses at its end, the scheduler resumes at the next start).
 */
import type { MaintenanceWindow, Migration } from './types.ts';

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** Minutes since local midnight in `timezone` at `now`. */
export function localMinutes(now: Date, timezone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  const h = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const m = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  return h * 60 + m;
}

/** True when `now` is inside the window; a window whose end is before its start spans midnight. */
export function windowOpen(w: MaintenanceWindow, now: Date): boolean {
  const t = localMinutes(now, w.timezone);
  const s = minutesOf(w.start);
  const e = minutesOf(w.end);
  if (s === e) return true;
  return s < e ? t >= s && t < e : t >= s || t < e;
}

/** The next instant (minute precision) the window opens at or after `now`; `now` itself when open. */
export function nextWindowStart(w: MaintenanceWindow, now: Date): Date {
  if (windowOpen(w, now)) return now;
  const t = localMinutes(now, w.timezone);
  let diff = minutesOf(w.start) - t;
  if (diff <= 0) diff += 1440;
  const at = new Date(now.getTime() + diff * 60_000);
  at.setUTCSeconds(0, 0);
  return at;
}

/** True when a migration may do work now: past its start_at and inside its window (if any). */
export function mayRun(m: Pick<Migration, 'schedule'>, now: Date): boolean {
  if (m.schedule.start_at && Date.parse(m.schedule.start_at) > now.getTime()) return false;
  return !m.schedule.maintenance_window || windowOpen(m.schedule.maintenance_window, now);
}

/** Validate "HH:MM" and the zone once, at the API boundary. */
export function checkWindow(w: MaintenanceWindow): string | null {
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(w.start)) return `maintenance_window.start "${w.start}" is not HH:MM`;
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(w.end)) return `maintenance_window.end "${w.end}" is not HH:MM`;
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: w.timezone });
  } catch {
    return `maintenance_window.timezone "${w.timezone}" is not an IANA time zone`;
  }
  return null;
}

export interface SchedulerTarget {
  /** Migrations waiting for start_at or a window. */
  waiting(): Migration[];
  /** Start (or resume) the migration's run now. */
  wake(m: Migration): void;
}

/**
 * Ticks on an interval (or by hand in tests) and wakes migrations whose time has come. The
 * clock is injected, so a test sets the time and calls `tick()` without sleeping.
 */
export class MigrationScheduler {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: SchedulerTarget,
    private readonly now: () => Date,
    private readonly intervalMs = 5_000,
  ) {}

  tick(): string[] {
    const woken: string[] = [];
    const now = this.now();
    for (const m of this.target.waiting()) {
      if (!mayRun(m, now)) continue;
      this.target.wake(m);
      woken.push(m.id);
    }
    return woken;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      try {
        this.tick();
      } catch {
        // A failed wake is retried on the next tick; the migration's own log says why.
      }
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
