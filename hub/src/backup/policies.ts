import { CronExpressionParser } from 'cron-parser';
import { FerryError, notFound } from '../../../common/src/errors.ts';
import { newId } from '../../../common/src/ids.ts';
import type { Db } from '../store/db.ts';
import type { Retention } from './retention.ts';
import type { BackupSource } from './service.ts';

export interface BackupPolicy {
  id: string;
  name: string;
  /** Five-field cron expression, evaluated in `timezone`. */
  schedule: string;
  /** IANA time zone. @default 'UTC' */
  timezone: string;
  enabled: boolean;
  repository_id: string;
  targets: BackupSource[];
  retention: Retention;
  backup_type: 'full' | 'incremental';
  next_run_at: string | null;
  last_run_at: string | null;
  created_at: string;
  updated_at: string;
}

type Raw = Omit<BackupPolicy, 'enabled' | 'targets' | 'retention'> & { enabled: number; targets: string; retention: string };

/** The next time `schedule` fires strictly after `after`, in `timezone`; a bad expression or zone is a 422. */
export function nextRun(schedule: string, timezone: string, after: Date): Date {
  try {
    return CronExpressionParser.parse(schedule, { currentDate: after, tz: timezone }).next().toDate();
  } catch (e) {
    throw new FerryError('validation_error', `schedule ${JSON.stringify(schedule)} in time zone ${timezone} is not a valid cron expression: ${(e as Error).message}`, {
      status: 422,
      details: { field: 'schedule' },
    });
  }
}

export function checkTimezone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return tz;
  } catch {
    throw new FerryError('validation_error', `timezone ${JSON.stringify(tz)} is not an IANA time zone`, { status: 422, details: { field: 'timezone' } });
  }
}

export class PolicyStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date,
  ) {}

  create(p: Pick<BackupPolicy, 'name' | 'schedule' | 'timezone' | 'enabled' | 'repository_id' | 'targets' | 'retention' | 'backup_type'>): BackupPolicy {
    checkTimezone(p.timezone);
    const t = this.now();
    const row: BackupPolicy = { ...p, id: newId('pol'), next_run_at: nextRun(p.schedule, p.timezone, t).toISOString(), last_run_at: null, created_at: t.toISOString(), updated_at: t.toISOString() };
    this.db
      .prepare(
        `INSERT INTO backup_policies (id, name, schedule, timezone, enabled, repository_id, targets, retention, backup_type, next_run_at, last_run_at, created_at, updated_at)
         VALUES (@id, @name, @schedule, @timezone, @enabled, @repository_id, @targets, @retention, @backup_type, @next_run_at, @last_run_at, @created_at, @updated_at)`,
      )
      .run(toRaw(row));
    return row;
  }

  find(id: string): BackupPolicy | undefined {
    const r = this.db.prepare('SELECT * FROM backup_policies WHERE id = ?').get(id) as Raw | undefined;
    return r ? view(r) : undefined;
  }

  get(id: string): BackupPolicy {
    const p = this.find(id);
    if (!p) throw notFound('backup_policy', id);
    return p;
  }

  list(limit: number, offset: number): { rows: BackupPolicy[]; total: number } {
    const rows = (this.db.prepare('SELECT * FROM backup_policies ORDER BY created_at, id LIMIT ? OFFSET ?').all(limit, offset) as Raw[]).map(view);
    const { n } = this.db.prepare('SELECT COUNT(*) n FROM backup_policies').get() as { n: number };
    return { rows, total: n };
  }

  update(id: string, patch: Partial<Pick<BackupPolicy, 'name' | 'schedule' | 'timezone' | 'enabled' | 'repository_id' | 'targets' | 'retention' | 'backup_type'>>): BackupPolicy {
    const cur = this.get(id);
    const next: BackupPolicy = { ...cur, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)), updated_at: this.now().toISOString() };
    checkTimezone(next.timezone);
    if (patch.schedule !== undefined || patch.timezone !== undefined) next.next_run_at = nextRun(next.schedule, next.timezone, this.now()).toISOString();
    this.db
      .prepare(
        `UPDATE backup_policies SET name=@name, schedule=@schedule, timezone=@timezone, enabled=@enabled, repository_id=@repository_id, targets=@targets,
         retention=@retention, backup_type=@backup_type, next_run_at=@next_run_at, updated_at=@updated_at WHERE id=@id`,
      )
      .run(toRaw(next));
    return next;
  }

  /** Records a run and moves next_run_at past `at`. */
  markRun(id: string, at: Date): void {
    const p = this.get(id);
    this.db.prepare('UPDATE backup_policies SET last_run_at = ?, next_run_at = ? WHERE id = ?').run(at.toISOString(), nextRun(p.schedule, p.timezone, at).toISOString(), id);
  }

  due(at: Date): BackupPolicy[] {
    return (this.db.prepare('SELECT * FROM backup_policies WHERE enabled = 1 AND next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at').all(at.toISOString()) as Raw[]).map(view);
  }

  delete(id: string): void {
    this.get(id);
    this.db.prepare('DELETE FROM backup_policies WHERE id = ?').run(id);
  }
}

function toRaw(p: BackupPolicy): Raw {
  return { ...p, enabled: p.enabled ? 1 : 0, targets: JSON.stringify(p.targets), retention: JSON.stringify(p.retention) };
}

function view(r: Raw): BackupPolicy {
  return { ...r, enabled: r.enabled === 1, targets: JSON.parse(r.targets) as BackupSource[], retention: JSON.parse(r.retention) as Retention };
}
