import { notFound } from '../../../common/src/errors.ts';
import { cachedStatement, type Db } from '../store/db.ts';
import type { Job, JobLog, JobProgress, JobStatus, LogLevel } from './types.ts';

interface JobRow {
  id: string;
  kind: string;
  status: JobStatus;
  phase: string | null;
  agent_id: string | null;
  resource_type: string | null;
  resource_id: string | null;
  params: string;
  progress: string;
  result: string | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

const toJob = (r: JobRow): Job => ({
  ...r,
  params: JSON.parse(r.params) as Record<string, unknown>,
  progress: JSON.parse(r.progress) as JobProgress,
  result: r.result === null ? null : (JSON.parse(r.result) as unknown),
  error: r.error === null ? null : (JSON.parse(r.error) as Job['error']),
});

export interface JobFilter {
  status?: JobStatus;
  kind?: string;
  agent_id?: string;
  resource_type?: string;
  resource_id?: string;
}

/** SQL for jobs, tasks and logs; no behaviour. */
export class JobStore {
  constructor(private readonly db: Db) {}

  insert(j: Job): void {
    this.db
      .prepare(
        `INSERT INTO jobs (id, kind, status, phase, agent_id, resource_type, resource_id, params, progress, result, error, created_at, started_at, finished_at, updated_at)
         VALUES (@id, @kind, @status, @phase, @agent_id, @resource_type, @resource_id, @params, @progress, @result, @error, @created_at, @started_at, @finished_at, @updated_at)`,
      )
      .run({
        ...j,
        params: JSON.stringify(j.params),
        progress: JSON.stringify(j.progress),
        result: j.result === null || j.result === undefined ? null : JSON.stringify(j.result),
        error: j.error ? JSON.stringify(j.error) : null,
      });
  }

  get(id: string): Job {
    const r = cachedStatement(this.db, 'SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    if (!r) throw notFound('job', id);
    return toJob(r);
  }

  find(id: string): Job | null {
    const r = cachedStatement(this.db, 'SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return r ? toJob(r) : null;
  }

  update(id: string, patch: Partial<Omit<Job, 'id'>>): void {
    const cols: string[] = [];
    const vals: Record<string, unknown> = { id };
    for (const [k, v] of Object.entries(patch)) {
      cols.push(`${k} = @${k}`);
      vals[k] = ['params', 'progress', 'result', 'error'].includes(k) ? (v === null || v === undefined ? null : JSON.stringify(v)) : v;
    }
    if (cols.length === 0) return;
    cachedStatement(this.db, `UPDATE jobs SET ${cols.join(', ')} WHERE id = @id`).run(vals);
  }

  list(f: JobFilter, orderBy: string, limit: number, offset: number): { rows: Job[]; total: number } {
    const where: string[] = [];
    const args: Record<string, unknown> = {};
    for (const k of ['status', 'kind', 'agent_id', 'resource_type', 'resource_id'] as const) {
      if (f[k] !== undefined) {
        where.push(`${k} = @${k}`);
        args[k] = f[k];
      }
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT COUNT(*) n FROM jobs ${w}`).get(args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT * FROM jobs ${w} ORDER BY ${orderBy}, id LIMIT @limit OFFSET @offset`).all({ ...args, limit, offset }) as JobRow[];
    return { rows: rows.map(toJob), total };
  }

  byStatus(statuses: JobStatus[]): Job[] {
    const rows = this.db
      .prepare(`SELECT * FROM jobs WHERE status IN (${statuses.map(() => '?').join(',')}) ORDER BY created_at`)
      .all(...statuses) as JobRow[];
    return rows.map(toJob);
  }

  insertTask(t: { id: string; job_id: string; agent_id: string; kind: string; attempt: number; created_at: string }): void {
    this.db
      .prepare(`INSERT INTO job_tasks (id, job_id, agent_id, kind, attempt, status, created_at) VALUES (@id, @job_id, @agent_id, @kind, @attempt, 'sent', @created_at)`)
      .run(t);
  }

  finishTask(id: string, status: 'done' | 'failed' | 'lost' | 'cancelled', result: unknown, error: unknown, at: string): boolean {
    const r = this.db
      .prepare(`UPDATE job_tasks SET status = ?, result = ?, error = ?, finished_at = ? WHERE id = ? AND status = 'sent'`)
      .run(status, result === undefined ? null : JSON.stringify(result), error === undefined ? null : JSON.stringify(error), at, id);
    return r.changes === 1;
  }

  /** Tasks still marked in flight: after a hub restart their results can no longer be awaited. */
  markAllInFlightLost(at: string): number {
    return this.db.prepare(`UPDATE job_tasks SET status = 'lost', finished_at = ? WHERE status = 'sent'`).run(at).changes;
  }

  tasksOf(jobId: string): { id: string; agent_id: string; kind: string; attempt: number; status: string; created_at: string; finished_at: string | null }[] {
    return this.db
      .prepare('SELECT id, agent_id, kind, attempt, status, created_at, finished_at FROM job_tasks WHERE job_id = ? ORDER BY created_at, id')
      .all(jobId) as never;
  }

  appendLog(l: Omit<JobLog, 'id'>): JobLog {
    const r = cachedStatement(this.db, 'INSERT INTO job_logs (job_id, ts, level, phase, message, fields) VALUES (?, ?, ?, ?, ?, ?)').run(l.job_id, l.timestamp, l.level, l.phase, l.message, l.fields ? JSON.stringify(l.fields) : null);
    return { ...l, id: Number(r.lastInsertRowid) };
  }

  logs(q: { job_ids: string[]; levels?: LogLevel[]; phase?: string; since?: string; afterId?: number; limit: number }): JobLog[] {
    if (q.job_ids.length === 0) return [];
    const where = [`job_id IN (${q.job_ids.map(() => '?').join(',')})`];
    const args: unknown[] = [...q.job_ids];
    if (q.levels) {
      where.push(`level IN (${q.levels.map(() => '?').join(',')})`);
      args.push(...q.levels);
    }
    if (q.phase) {
      where.push('phase = ?');
      args.push(q.phase);
    }
    if (q.since) {
      where.push('ts > ?');
      args.push(q.since);
    }
    if (q.afterId !== undefined) {
      where.push('id > ?');
      args.push(q.afterId);
    }
    const rows = this.db
      .prepare(`SELECT * FROM job_logs WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`)
      .all(...args, q.limit) as { id: number; job_id: string; ts: string; level: LogLevel; phase: string | null; message: string; fields: string | null }[];
    return rows.map((r) => ({
      id: r.id,
      job_id: r.job_id,
      timestamp: r.ts,
      level: r.level,
      phase: r.phase,
      message: r.message,
      ...(r.fields ? { fields: JSON.parse(r.fields) as Record<string, unknown> } : {}),
    }));
  }

  deleteLogs(jobIds: string[]): void {
    if (jobIds.length) this.db.prepare(`DELETE FROM job_logs WHERE job_id IN (${jobIds.map(() => '?').join(',')})`).run(...jobIds);
  }
}
