import type { Catalog } from '../../../common/src/catalog.ts';
import { notFound } from '../../../common/src/errors.ts';
import { whereOf, type Db } from '../store/db.ts';
import type { MappingStatus, Plan } from './planner/types.ts';
import type { CreatedObject, Migration, MigrationStatus, PhaseName, PhaseRecord } from './types.ts';
import { PHASES } from './types.ts';
import { MigrationWorkStore } from './work-store.ts';

interface MigrationRow {
  id: string;
  name: string;
  description: string | null;
  status: MigrationStatus;
  phase: PhaseName | null;
  source_connection_id: string;
  source_inline: number;
  source_schemas: string;
  exclude_tables: string;
  target_connection_id: string;
  target_inline: number;
  target_schema: string;
  options: string;
  schedule: string;
  notifications: string;
  plan: string | null;
  catalog: string | null;
  plan_generated_at: string | null;
  phases: string;
  created_objects: string;
  error: string | null;
  pause_reason: string | null;
  cancel: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const parse = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

function toMigration(r: MigrationRow): Migration {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    status: r.status,
    phase: r.phase,
    source: { connection_id: r.source_connection_id, inline: r.source_inline === 1, schemas: JSON.parse(r.source_schemas) as string[], exclude_tables: JSON.parse(r.exclude_tables) as string[] },
    target: { connection_id: r.target_connection_id, inline: r.target_inline === 1, schema: r.target_schema },
    options: JSON.parse(r.options) as Migration['options'],
    schedule: JSON.parse(r.schedule) as Migration['schedule'],
    notifications: JSON.parse(r.notifications) as Record<string, unknown>,
    plan: parse<Plan>(r.plan),
    catalog: parse<Catalog>(r.catalog),
    plan_generated_at: r.plan_generated_at,
    phases: JSON.parse(r.phases) as PhaseRecord[],
    created_objects: JSON.parse(r.created_objects) as CreatedObject[],
    error: parse<Migration['error']>(r.error),
    pause_reason: r.pause_reason,
    cancel: parse<Migration['cancel']>(r.cancel),
    created_by: r.created_by,
    created_at: r.created_at,
    updated_at: r.updated_at,
    started_at: r.started_at,
    finished_at: r.finished_at,
  };
}

const JSON_COLS = new Set(['options', 'schedule', 'notifications', 'plan', 'catalog', 'phases', 'created_objects', 'error', 'cancel']);

export function initialPhases(): PhaseRecord[] {
  return PHASES.map((name) => ({ name, status: 'pending', started_at: null, finished_at: null, duration_seconds: null, progress_percent: null }));
}

export interface MigrationFilter {
  status?: MigrationStatus;
  source_id?: string;
  target_id?: string;
  created_after?: string;
  created_before?: string;
}

export interface MappingRow {
  mapping_id: string;
  status: MappingStatus;
  override: { type?: string; transformation?: string } | null;
  comment: string | null;
  applied_type: string | null;
  decided_by: string | null;
  decided_at: string | null;
}

type MigrationPatch = Partial<{
  name: string;
  description: string | null;
  status: MigrationStatus;
  phase: PhaseName | null;
  options: Migration['options'];
  schedule: Migration['schedule'];
  plan: Plan | null;
  catalog: Catalog | null;
  plan_generated_at: string | null;
  phases: PhaseRecord[];
  created_objects: CreatedObject[];
  error: Migration['error'];
  pause_reason: string | null;
  cancel: Migration['cancel'];
  started_at: string | null;
  finished_at: string | null;
}>;

/** SQL for migrations, their mappings and job links (units and row errors: MigrationWorkStore); no behaviour. */
export class MigrationStore extends MigrationWorkStore {
  constructor(
    readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {
    super(db, now);
  }

  insert(m: Migration): void {
    this.db
      .prepare(
        `INSERT INTO migrations (id, name, description, status, phase, source_connection_id, source_inline, source_schemas, exclude_tables,
           target_connection_id, target_inline, target_schema, options, schedule, notifications, plan, catalog, plan_generated_at, phases,
           created_objects, error, pause_reason, cancel, created_by, created_at, updated_at, started_at, finished_at)
         VALUES (@id, @name, @description, @status, @phase, @sid, @sinline, @sschemas, @excl, @tid, @tinline, @tschema, @options, @schedule,
           @notifications, NULL, NULL, NULL, @phases, '[]', NULL, NULL, NULL, @created_by, @created_at, @updated_at, NULL, NULL)`,
      )
      .run({
        id: m.id,
        name: m.name,
        description: m.description,
        status: m.status,
        phase: m.phase,
        sid: m.source.connection_id,
        sinline: m.source.inline ? 1 : 0,
        sschemas: JSON.stringify(m.source.schemas),
        excl: JSON.stringify(m.source.exclude_tables),
        tid: m.target.connection_id,
        tinline: m.target.inline ? 1 : 0,
        tschema: m.target.schema,
        options: JSON.stringify(m.options),
        schedule: JSON.stringify(m.schedule),
        notifications: JSON.stringify(m.notifications),
        phases: JSON.stringify(m.phases),
        created_by: m.created_by,
        created_at: m.created_at,
        updated_at: m.updated_at,
      });
  }

  find(id: string): Migration | null {
    const r = this.db.prepare('SELECT * FROM migrations WHERE id = ?').get(id) as MigrationRow | undefined;
    return r ? toMigration(r) : null;
  }

  get(id: string): Migration {
    const m = this.find(id);
    if (!m) throw notFound('migration', id);
    return m;
  }

  update(id: string, patch: MigrationPatch): void {
    const cols: string[] = ['updated_at = @updated_at'];
    const vals: Record<string, unknown> = { id, updated_at: this.now().toISOString() };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      cols.push(`${k} = @${k}`);
      vals[k] = JSON_COLS.has(k) ? (v === null ? null : JSON.stringify(v)) : v;
    }
    this.db.prepare(`UPDATE migrations SET ${cols.join(', ')} WHERE id = @id`).run(vals);
  }

  /** Compare-and-set on status: true when the row was in one of `from` and is now `to`. */
  transition(id: string, from: readonly MigrationStatus[], to: MigrationStatus, patch: MigrationPatch = {}): boolean {
    const r = this.db
      .prepare(`UPDATE migrations SET status = ?, updated_at = ? WHERE id = ? AND status IN (${from.map(() => '?').join(',')})`)
      .run(to, this.now().toISOString(), id, ...from);
    if (r.changes === 1 && Object.keys(patch).length > 0) this.update(id, patch);
    return r.changes === 1;
  }

  list(f: MigrationFilter, orderBy: string, limit: number, offset: number): { rows: Migration[]; total: number } {
    const { where: w, args } = whereOf([
      ['status = @status', 'status', f.status],
      ['source_connection_id = @source_id', 'source_id', f.source_id],
      ['target_connection_id = @target_id', 'target_id', f.target_id],
      ['created_at > @created_after', 'created_after', f.created_after],
      ['created_at < @created_before', 'created_before', f.created_before],
    ]);
    const total = (this.db.prepare(`SELECT COUNT(*) n FROM migrations ${w}`).get(args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT * FROM migrations ${w} ORDER BY ${orderBy}, id LIMIT @limit OFFSET @offset`).all({ ...args, limit, offset }) as MigrationRow[];
    return { rows: rows.map(toMigration), total };
  }

  byStatus(statuses: readonly MigrationStatus[]): Migration[] {
    const rows = this.db.prepare(`SELECT * FROM migrations WHERE status IN (${statuses.map(() => '?').join(',')}) ORDER BY created_at`).all(...statuses) as MigrationRow[];
    return rows.map(toMigration);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM migrations WHERE id = ?').run(id);
  }

  // ---- phases ----

  setPhase(id: string, name: PhaseName, status: PhaseRecord['status'], percent?: number): void {
    const m = this.get(id);
    const t = this.now();
    const phases = m.phases.map((p) => {
      if (p.name !== name) return p;
      const q = { ...p };
      if (status === 'running' && p.status !== 'running') q.started_at = t.toISOString();
      if (p.status === 'running' && status !== 'running' && p.started_at) {
        q.duration_seconds = (p.duration_seconds ?? 0) + Math.max(0, Math.round((t.getTime() - Date.parse(p.started_at)) / 1000));
      }
      if (status === 'completed' || status === 'skipped') q.finished_at = t.toISOString();
      if (status === 'completed') q.progress_percent = 100;
      if (percent !== undefined) q.progress_percent = percent;
      q.status = status;
      return q;
    });
    this.update(id, { phases, ...(status === 'running' ? { phase: name } : {}) });
  }

  // ---- mappings ----

  replaceMappings(id: string, plan: Plan): void {
    this.db.transaction(() => {
      const old = new Map(this.mappings(id).map((r) => [r.mapping_id, r]));
      this.db.prepare('DELETE FROM migration_mappings WHERE migration_id = ?').run(id);
      const ins = this.db.prepare(
        'INSERT INTO migration_mappings (migration_id, mapping_id, ord, status, override, comment, applied_type, decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      plan.mappings.forEach((m, i) => {
        const o = old.get(m.id);
        ins.run(id, m.id, i, m.status, o?.override ? JSON.stringify(o.override) : null, o?.comment ?? null, o?.applied_type ?? null, o?.decided_by ?? null, o?.decided_at ?? null);
      });
    })();
  }

  mappings(id: string): MappingRow[] {
    const rows = this.db.prepare('SELECT * FROM migration_mappings WHERE migration_id = ? ORDER BY ord').all(id) as (Omit<MappingRow, 'override'> & { override: string | null })[];
    return rows.map((r) => ({ mapping_id: r.mapping_id, status: r.status, override: parse(r.override), comment: r.comment, applied_type: r.applied_type, decided_by: r.decided_by, decided_at: r.decided_at }));
  }

  decideMapping(id: string, mappingId: string, d: { status: MappingStatus; override?: MappingRow['override']; comment?: string | null; by: string | null }): void {
    const sets = ['status = @status', 'decided_by = @by', 'decided_at = @at'];
    if (d.override !== undefined) sets.push('override = @override');
    if (d.comment !== undefined) sets.push('comment = @comment');
    this.db
      .prepare(`UPDATE migration_mappings SET ${sets.join(', ')} WHERE migration_id = @id AND mapping_id = @mid`)
      .run({ id, mid: mappingId, status: d.status, by: d.by, at: this.now().toISOString(), override: d.override ? JSON.stringify(d.override) : null, comment: d.comment ?? null });
  }

  setAppliedTypes(id: string, types: Map<string, string>): void {
    const st = this.db.prepare('UPDATE migration_mappings SET applied_type = ? WHERE migration_id = ? AND mapping_id = ?');
    this.db.transaction(() => {
      for (const [mid, t] of types) st.run(t, id, mid);
    })();
  }

  // ---- units ----

  linkJob(id: string, jobId: string, kind: string, phase: string | null): void {
    this.db.prepare('INSERT OR IGNORE INTO migration_jobs (migration_id, job_id, kind, phase, created_at) VALUES (?, ?, ?, ?, ?)').run(id, jobId, kind, phase, this.now().toISOString());
  }

  jobIds(id: string, kind?: string): string[] {
    const rows = (kind
      ? this.db.prepare('SELECT job_id FROM migration_jobs WHERE migration_id = ? AND kind = ? ORDER BY created_at, rowid').all(id, kind)
      : this.db.prepare('SELECT job_id FROM migration_jobs WHERE migration_id = ? ORDER BY created_at, rowid').all(id)) as { job_id: string }[];
    return rows.map((r) => r.job_id);
  }

  setCounts(id: string, counts: { table: string; source_rows: number | null; target_rows: number | null }[]): void {
    const st = this.db.prepare('INSERT OR REPLACE INTO migration_table_counts (migration_id, target_table, source_rows, target_rows) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const c of counts) st.run(id, c.table, c.source_rows, c.target_rows);
    })();
  }

  counts(id: string): { table: string; source_rows: number | null; target_rows: number | null }[] {
    return this.db.prepare('SELECT target_table "table", source_rows, target_rows FROM migration_table_counts WHERE migration_id = ?').all(id) as never;
  }

  archiveMetrics(id: string, name: string, metrics: unknown): void {
    this.db.prepare('INSERT OR REPLACE INTO migration_metrics_archive (migration_id, name, deleted_at, metrics) VALUES (?, ?, ?, ?)').run(id, name, this.now().toISOString(), JSON.stringify(metrics));
  }
}
