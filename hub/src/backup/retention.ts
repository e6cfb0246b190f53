/**
 * Retention as pure functions: which snapshots of one chain a policy keeps. Every snapshot is
 * self-contained (its manifest lists all its chunks), so dropping a full never breaks the
 * incrementals after it; retention looks at times only.
 */
export interface Retention {
  /** The newest N. */
  keep_last?: number;
  /** The newest snapshot of each of the last N days that have one. */
  keep_daily?: number;
  /** The newest of each of the last N ISO weeks that have one. */
  keep_weekly?: number;
  /** The newest of each of the last N calendar months that have one. */
  keep_monthly?: number;
}

export interface RetentionItem {
  id: string;
  /** ISO timestamp. */
  created_at: string;
}

export interface RetentionDecision {
  keep: string[];
  remove: string[];
  /** Why each kept snapshot stays: 'last', 'daily', 'weekly', 'monthly'. */
  reasons: Record<string, string[]>;
}

/** Calendar parts of an instant in a time zone (IANA name). */
function parts(iso: string, timeZone: string): { y: number; m: number; d: number } {
  const f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  const p = Object.fromEntries(f.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  return { y: Number(p.year), m: Number(p.month), d: Number(p.day) };
}

/** ISO-8601 week ("2026-W47") of a calendar date. */
export function isoWeek(y: number, m: number, d: number): string {
  const t = new Date(Date.UTC(y, m - 1, d));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day); // Thursday of this week decides its year
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

export function bucketKeys(iso: string, timeZone: string): { daily: string; weekly: string; monthly: string } {
  const { y, m, d } = parts(iso, timeZone);
  const mm = String(m).padStart(2, '0');
  return { daily: `${y}-${mm}-${String(d).padStart(2, '0')}`, weekly: isoWeek(y, m, d), monthly: `${y}-${mm}` };
}

/** True when the retention keeps nothing by rule: then nothing is removed (never "delete all" by omission). */
export function retentionIsEmpty(r: Retention): boolean {
  return !r.keep_last && !r.keep_daily && !r.keep_weekly && !r.keep_monthly;
}

/**
 * Applies `r` to the snapshots of one chain. With an empty retention everything is kept.
 * Buckets are counted newest first and the newest snapshot of a bucket represents it.
 */
export function applyRetention(items: readonly RetentionItem[], r: Retention, timeZone = 'UTC'): RetentionDecision {
  const sorted = [...items].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
  const reasons: Record<string, string[]> = {};
  const mark = (id: string, why: string) => (reasons[id] ??= []).push(why);
  if (retentionIsEmpty(r)) {
    for (const it of sorted) mark(it.id, 'no_rule');
  } else {
    sorted.slice(0, Math.max(0, r.keep_last ?? 0)).forEach((it) => mark(it.id, 'last'));
    for (const [rule, limit] of [
      ['daily', r.keep_daily],
      ['weekly', r.keep_weekly],
      ['monthly', r.keep_monthly],
    ] as const) {
      if (!limit) continue;
      const seen = new Set<string>();
      for (const it of sorted) {
        const key = bucketKeys(it.created_at, timeZone)[rule];
        if (seen.has(key)) continue;
        if (seen.size >= limit) break;
        seen.add(key);
        mark(it.id, rule);
      }
    }
  }
  const keep = sorted.filter((it) => reasons[it.id]).map((it) => it.id);
  const remove = sorted.filter((it) => !reasons[it.id]).map((it) => it.id);
  return { keep, remove, reasons };
}
