import type { Catalog } from '../../../common/src/catalog.ts';
import { notFound } from '../../../common/src/errors.ts';
import { newId } from '../../../common/src/ids.ts';
import type { Db } from '../store/db.ts';
import type { MappingStatus, Plan } from './planner/types.ts';
import type { CreatedObject, Migration, MigrationStatus, PhaseName, PhaseRecord, RowError, UnitRow, UnitStatus } from './types.ts';
import { PHASES } from './types.ts';

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

/** SQL for migrations, their mappings, units, row errors and job links; no behaviour. */
export class MigrationStore {
  constructor(
    readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

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
    const where: string[] = [];
    const args: Record<string, unknown> = {};
    if (f.status) {
      where.push('status = @status');
      args.status = f.status;
    }
    if (f.source_id) {
      where.push('source_connection_id = @source_id');
      args.source_id = f.source_id;
    }
    if (f.target_id) {
      where.push('target_connection_id = @target_id');
      args.target_id = f.target_id;
    }
    if (f.created_after) {
      where.push('created_at > @created_after');
      args.created_after = f.created_after;
    }
    if (f.created_before) {
      where.push('created_at < @created_before');
      args.created_before = f.created_before;
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
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

  insertUnits(units: Omit<UnitRow, 'status' | 'attempts' | 'salvage' | 'rows' | 'bytes' | 'rejected' | 'last_error' | 'started_at' | 'finished_at'>[]): void {
    const st = this.db.prepare(
      `INSERT OR IGNORE INTO migration_units (migration_id, unit_id, table_index, source_schema, source_table, target_schema, target_table, range, status)
       VALUES (@migration_id, @unit_id, @table_index, @source_schema, @source_table, @target_schema, @target_table, @range, 'pending')`,
    );
    this.db.transaction(() => {
      for (const u of units) st.run({ ...u, range: u.range ? JSON.stringify(u.range) : null });
    })();
  }

  units(id: string, status?: UnitStatus[]): UnitRow[] {
    const w = status ? ` AND status IN (${status.map(() => '?').join(',')})` : '';
    const rows = this.db.prepare(`SELECT * FROM migration_units WHERE migration_id = ?${w} ORDER BY table_index, rowid`).all(id, ...(status ?? [])) as (Omit<UnitRow, 'range' | 'salvage'> & { range: string | null; salvage: number })[];
    return rows.map((r) => ({ ...r, range: parse(r.range), salvage: r.salvage === 1 }));
  }

  unit(id: string, unitId: string): UnitRow | null {
    return this.units(id).find((u) => u.unit_id === unitId) ?? null;
  }

  updateUnit(id: string, unitId: string, patch: Partial<Pick<UnitRow, 'status' | 'attempts' | 'salvage' | 'rows' | 'bytes' | 'rejected' | 'last_error' | 'started_at' | 'finished_at'>>): void {
    const cols: string[] = [];
    const vals: Record<string, unknown> = { id, unit: unitId };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      cols.push(`${k} = @${k}`);
      vals[k] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
    }
    if (cols.length) this.db.prepare(`UPDATE migration_units SET ${cols.join(', ')} WHERE migration_id = @id AND unit_id = @unit`).run(vals);
  }

  /** After a crash, units marked running were not committed as far as the hub knows: redo them. */
  resetRunningUnits(id: string): number {
    return this.db.prepare(`UPDATE migration_units SET status = 'pending' WHERE migration_id = ? AND status = 'running'`).run(id).changes;
  }

  unitTotals(id: string): { units: number; done: number; failed: number; rows: number; bytes: number; rejected: number } {
    return this.db
      .prepare(
        `SELECT COUNT(*) units, COALESCE(SUM(status = 'done'), 0) done, COALESCE(SUM(status = 'failed'), 0) failed,
           COALESCE(SUM(CASE WHEN status = 'done' THEN rows ELSE 0 END), 0) rows, COALESCE(SUM(CASE WHEN status = 'done' THEN bytes ELSE 0 END), 0) bytes,
           COALESCE(SUM(rejected), 0) rejected FROM migration_units WHERE migration_id = ?`,
      )
      .get(id) as { units: number; done: number; failed: number; rows: number; bytes: number; rejected: number };
  }

  tableTotals(id: string): { table: string; units: number; done: number; rows: number; bytes: number; errors: number; started_at: string | null; finished_at: string | null }[] {
    return this.db
      .prepare(
        `SELECT u.target_table "table", COUNT(*) units, SUM(u.status = 'done') done, SUM(CASE WHEN u.status = 'done' THEN u.rows ELSE 0 END) rows,
           SUM(CASE WHEN u.status = 'done' THEN u.bytes ELSE 0 END) bytes,
           (SELECT COUNT(*) FROM migration_errors e WHERE e.migration_id = u.migration_id AND e.tbl = u.target_table) errors,
           MIN(u.started_at) started_at, MAX(u.finished_at) finished_at
         FROM migration_units u WHERE u.migration_id = ? GROUP BY u.target_table ORDER BY MIN(u.table_index)`,
      )
      .all(id) as never;
  }

  // ---- row errors ----

  addErrors(id: string, unitId: string | null, table: string, rows: { row: string | null; key: string | null; code: string; message: string }[]): void {
    const st = this.db.prepare(
      `INSERT INTO migration_errors (id, migration_id, unit_id, tbl, row_text, row_key, code, message, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)`,
    );
    const t = this.now().toISOString();
    this.db.transaction(() => {
      for (const r of rows) st.run(newId('err'), id, unitId, table, r.row, r.key, r.code, r.message, t);
    })();
  }

  errors(id: string, f: { status?: string; table?: string; unit_id?: string }, limit: number, offset: number): { rows: RowError[]; total: number } {
    const where = ['migration_id = @id'];
    const args: Record<string, unknown> = { id };
    if (f.status) {
      where.push('status = @status');
      args.status = f.status;
    }
    if (f.table) {
      where.push('tbl = @table');
      args.table = f.table;
    }
    if (f.unit_id) {
      where.push('unit_id = @unit_id');
      args.unit_id = f.unit_id;
    }
    const w = where.join(' AND ');
    const total = (this.db.prepare(`SELECT COUNT(*) n FROM migration_errors WHERE ${w}`).get(args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT * FROM migration_errors WHERE ${w} ORDER BY created_at, id LIMIT @limit OFFSET @offset`).all({ ...args, limit, offset }) as ErrorDbRow[];
    return { rows: rows.map(toRowError), total };
  }

  error(id: string, errorId: string): RowError {
    const r = this.db.prepare('SELECT * FROM migration_errors WHERE migration_id = ? AND id = ?').get(id, errorId) as ErrorDbRow | undefined;
    if (!r) throw notFound('error', errorId);
    return toRowError(r);
  }

  setErrorStatus(id: string, where: { errorId?: string; unitId?: string; onlyOpen?: boolean }, status: RowError['status'], extra: { comment?: string | null; retry_job_id?: string } = {}): number {
    const conds = ['migration_id = @id'];
    if (where.errorId) conds.push('id = @eid');
    if (where.unitId) conds.push('unit_id = @uid');
    if (where.onlyOpen) conds.push(`status = 'open'`);
    return this.db
      .prepare(
        `UPDATE migration_errors SET status = @status, resolved_at = @at${extra.comment !== undefined ? ', comment = @comment' : ''}${extra.retry_job_id ? ', retry_job_id = @job' : ''} WHERE ${conds.join(' AND ')}`,
      )
      .run({ id, eid: where.errorId, uid: where.unitId, status, at: this.now().toISOString(), comment: extra.comment ?? null, job: extra.retry_job_id ?? null }).changes;
  }

  errorCounts(id: string): { open: number; resolved: number; retried: number } {
    const rows = this.db.prepare('SELECT status, COUNT(*) n FROM migration_errors WHERE migration_id = ? GROUP BY status').all(id) as { status: string; n: number }[];
    const out = { open: 0, resolved: 0, retried: 0 };
    for (const r of rows) out[r.status as keyof typeof out] = r.n;
    return out;
  }

  // ---- job links and counts ----

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

interface ErrorDbRow {
  id: string;
  migration_id: string;
  unit_id: string | null;
  tbl: string;
  row_text: string | null;
  row_key: string | null;
  code: string;
  message: string;
  status: RowError['status'];
  created_at: string;
  resolved_at: string | null;
  comment: string | null;
  retry_job_id: string | null;
}

function toRowError(r: ErrorDbRow): RowError {
  return {
    id: r.id,
    migration_id: r.migration_id,
    unit_id: r.unit_id,
    table: r.tbl,
    row: r.row_text,
    key: r.row_key,
    code: r.code,
    message: r.message,
    status: r.status,
    created_at: r.created_at,
    resolved_at: r.resolved_at,
    comment: r.comment,
    retry_job_id: r.retry_job_id,
  };
}
