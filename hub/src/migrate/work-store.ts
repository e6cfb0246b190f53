import { newId } from '../../../common/src/ids.ts';
import { notFound } from '../../../common/src/errors.ts';
import { whereOf, type Db } from '../store/db.ts';
import type { RowError, UnitRow, UnitStatus } from './types.ts';

const parse = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

/** SQL for a migration's work units and the rows the target rejected; no behaviour. */
export class MigrationWorkStore {
  constructor(
    protected readonly workDb: Db,
    protected readonly workNow: () => Date,
  ) {}

  insertUnits(units: Omit<UnitRow, 'status' | 'attempts' | 'salvage' | 'rows' | 'bytes' | 'rejected' | 'last_error' | 'started_at' | 'finished_at'>[]): void {
    const st = this.workDb.prepare(
      `INSERT OR IGNORE INTO migration_units (migration_id, unit_id, table_index, source_schema, source_table, target_schema, target_table, range, status)
       VALUES (@migration_id, @unit_id, @table_index, @source_schema, @source_table, @target_schema, @target_table, @range, 'pending')`,
    );
    this.workDb.transaction(() => {
      for (const u of units) st.run({ ...u, range: u.range ? JSON.stringify(u.range) : null });
    })();
  }

  units(id: string, status?: UnitStatus[]): UnitRow[] {
    const w = status ? ` AND status IN (${status.map(() => '?').join(',')})` : '';
    const rows = this.workDb.prepare(`SELECT * FROM migration_units WHERE migration_id = ?${w} ORDER BY table_index, rowid`).all(id, ...(status ?? [])) as (Omit<UnitRow, 'range' | 'salvage'> & { range: string | null; salvage: number })[];
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
    if (cols.length) this.workDb.prepare(`UPDATE migration_units SET ${cols.join(', ')} WHERE migration_id = @id AND unit_id = @unit`).run(vals);
  }

  /** After a crash, units marked running were not committed as far as the hub knows: redo them. */
  resetRunningUnits(id: string): number {
    return this.workDb.prepare(`UPDATE migration_units SET status = 'pending' WHERE migration_id = ? AND status = 'running'`).run(id).changes;
  }

  unitTotals(id: string): { units: number; done: number; failed: number; rows: number; bytes: number; rejected: number } {
    return this.workDb
      .prepare(
        `SELECT COUNT(*) units, COALESCE(SUM(status = 'done'), 0) done, COALESCE(SUM(status = 'failed'), 0) failed,
           COALESCE(SUM(CASE WHEN status = 'done' THEN rows ELSE 0 END), 0) rows, COALESCE(SUM(CASE WHEN status = 'done' THEN bytes ELSE 0 END), 0) bytes,
           COALESCE(SUM(rejected), 0) rejected FROM migration_units WHERE migration_id = ?`,
      )
      .get(id) as { units: number; done: number; failed: number; rows: number; bytes: number; rejected: number };
  }

  tableTotals(id: string): { table: string; units: number; done: number; rows: number; bytes: number; errors: number; started_at: string | null; finished_at: string | null }[] {
    return this.workDb
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
    const st = this.workDb.prepare(
      `INSERT INTO migration_errors (id, migration_id, unit_id, tbl, row_text, row_key, code, message, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)`,
    );
    const t = this.workNow().toISOString();
    this.workDb.transaction(() => {
      for (const r of rows) st.run(newId('err'), id, unitId, table, r.row, r.key, r.code, r.message, t);
    })();
  }

  errors(id: string, f: { status?: string; table?: string; unit_id?: string }, limit: number, offset: number): { rows: RowError[]; total: number } {
    const { where: w, args } = whereOf(
      [
        ['status = @status', 'status', f.status],
        ['tbl = @table', 'table', f.table],
        ['unit_id = @unit_id', 'unit_id', f.unit_id],
      ],
      { sql: ['migration_id = @id'], args: { id } },
    );
    const total = (this.workDb.prepare(`SELECT COUNT(*) n FROM migration_errors ${w}`).get(args) as { n: number }).n;
    const rows = this.workDb.prepare(`SELECT * FROM migration_errors ${w} ORDER BY created_at, id LIMIT @limit OFFSET @offset`).all({ ...args, limit, offset }) as ErrorDbRow[];
    return { rows: rows.map(toRowError), total };
  }

  error(id: string, errorId: string): RowError {
    const r = this.workDb.prepare('SELECT * FROM migration_errors WHERE migration_id = ? AND id = ?').get(id, errorId) as ErrorDbRow | undefined;
    if (!r) throw notFound('error', errorId);
    return toRowError(r);
  }

  setErrorStatus(id: string, where: { errorId?: string; unitId?: string; onlyOpen?: boolean }, status: RowError['status'], extra: { comment?: string | null; retry_job_id?: string } = {}): number {
    const conds = ['migration_id = @id'];
    if (where.errorId) conds.push('id = @eid');
    if (where.unitId) conds.push('unit_id = @uid');
    if (where.onlyOpen) conds.push(`status = 'open'`);
    return this.workDb
      .prepare(
        `UPDATE migration_errors SET status = @status, resolved_at = @at${extra.comment !== undefined ? ', comment = @comment' : ''}${extra.retry_job_id ? ', retry_job_id = @job' : ''} WHERE ${conds.join(' AND ')}`,
      )
      .run({ id, eid: where.errorId, uid: where.unitId, status, at: this.workNow().toISOString(), comment: extra.comment ?? null, job: extra.retry_job_id ?? null }).changes;
  }

  errorCounts(id: string): { open: number; resolved: number; retried: number } {
    const rows = this.workDb.prepare('SELECT status, COUNT(*) n FROM migration_errors WHERE migration_id = ? GROUP BY status').all(id) as { status: string; n: number }[];
    const out = { open: 0, resolved: 0, retried: 0 };
    for (const r of rows) out[r.status as keyof typeof out] = r.n;
    return out;
  }

  // ---- job links and counts ----
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
