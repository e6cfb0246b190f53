import { notFound } from '../../../common/src/errors.ts';
import { newId } from '../../../common/src/ids.ts';
import type { Db } from '../store/db.ts';

export type BackupStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
export type SourceType = 'disk' | 'vm_disk' | 'database';

/** One backup = one snapshot of one source (a disk, one disk of a VM, or a database). */
export interface Backup {
  id: string;
  repository_id: string;
  snapshot_id: string | null;
  source_type: SourceType;
  /** Chain key: backups with the same key form one chain. */
  source_key: string;
  agent_id: string | null;
  path: string | null;
  vm_id: string | null;
  disk: string | null;
  connection_id: string | null;
  format: string | null;
  type: 'full' | 'incremental';
  parent_id: string | null;
  policy_id: string | null;
  status: BackupStatus;
  size_bytes: number | null;
  chunk_count: number | null;
  /** Chunk bytes the agent sent (not already in the repository), over all attempts. */
  uploaded_bytes: number;
  uploaded_chunks: number;
  /** Bytes this backup added to the repository (compressed chunk files it wrote). */
  stored_bytes_added: number;
  bytes_read: number;
  /** The changed-block tracking audit found chunks the tracking missed; this backup re-read everything. */
  drift_detected: boolean;
  attempts: number;
  job_id: string | null;
  error: { code: string; message: string } | null;
  created_at: string;
  completed_at: string | null;
}

type Raw = Omit<Backup, 'error' | 'drift_detected'> & { error: string | null; drift_detected: number };

export interface BackupFilter {
  repository_id?: string;
  agent_id?: string;
  path?: string;
  vm_id?: string;
  connection_id?: string;
  status?: string;
  type?: string;
  policy_id?: string;
  source_key?: string;
}

const FILTER_COLS = ['repository_id', 'agent_id', 'path', 'vm_id', 'connection_id', 'status', 'type', 'policy_id', 'source_key'] as const;

export function sourceKey(s: { source_type: SourceType; agent_id?: string | null; path?: string | null; vm_id?: string | null; disk?: string | null; connection_id?: string | null }): string {
  if (s.source_type === 'database') return `db:${s.connection_id}`;
  if (s.source_type === 'vm_disk') return `vm:${s.vm_id}:${s.disk}`;
  return `disk:${s.agent_id}:${s.path}`;
}

export class BackupStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date,
  ) {}

  insert(b: Omit<Backup, 'id' | 'created_at' | 'status' | 'snapshot_id' | 'size_bytes' | 'chunk_count' | 'uploaded_bytes' | 'uploaded_chunks' | 'stored_bytes_added' | 'bytes_read' | 'drift_detected' | 'attempts' | 'error' | 'completed_at' | 'job_id'>): Backup {
    const row: Backup = {
      ...b,
      id: newId('bk'),
      snapshot_id: null,
      status: 'pending',
      size_bytes: null,
      chunk_count: null,
      uploaded_bytes: 0,
      uploaded_chunks: 0,
      stored_bytes_added: 0,
      bytes_read: 0,
      drift_detected: false,
      attempts: 0,
      job_id: null,
      error: null,
      created_at: this.now().toISOString(),
      completed_at: null,
    };
    const cols = Object.keys(row);
    this.db.prepare(`INSERT INTO backups (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')})`).run({ ...row, error: null, drift_detected: 0 });
    return row;
  }

  find(id: string): Backup | undefined {
    const r = this.db.prepare('SELECT * FROM backups WHERE id = ?').get(id) as Raw | undefined;
    return r ? view(r) : undefined;
  }

  get(id: string): Backup {
    const b = this.find(id);
    if (!b) throw notFound('backup', id);
    return b;
  }

  update(id: string, patch: Partial<Omit<Backup, 'id'>>): Backup {
    const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
    if (entries.length) {
      const values = Object.fromEntries(entries.map(([k, v]) => [k, k === 'error' ? (v === null ? null : JSON.stringify(v)) : typeof v === 'boolean' ? Number(v) : v]));
      this.db.prepare(`UPDATE backups SET ${entries.map(([k]) => `${k} = @${k}`).join(', ')} WHERE id = @id`).run({ ...values, id });
    }
    return this.get(id);
  }

  /** Adds to the counters (each attempt reports what it sent). */
  addCounters(id: string, c: { uploaded_bytes?: number; uploaded_chunks?: number; stored_bytes_added?: number; bytes_read?: number }): void {
    this.db
      .prepare('UPDATE backups SET uploaded_bytes = uploaded_bytes + ?, uploaded_chunks = uploaded_chunks + ?, stored_bytes_added = stored_bytes_added + ?, bytes_read = bytes_read + ? WHERE id = ?')
      .run(c.uploaded_bytes ?? 0, c.uploaded_chunks ?? 0, c.stored_bytes_added ?? 0, c.bytes_read ?? 0, id);
  }

  list(f: BackupFilter, orderBy: string, limit: number, offset: number): { rows: Backup[]; total: number } {
    const where: string[] = [];
    const args: Record<string, unknown> = {};
    for (const k of FILTER_COLS) {
      if (f[k] !== undefined) {
        where.push(`${k} = @${k}`);
        args[k] = f[k];
      }
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const rows = this.db.prepare(`SELECT * FROM backups ${w} ORDER BY ${orderBy}, id LIMIT @limit OFFSET @offset`).all({ ...args, limit, offset }) as Raw[];
    const { n } = this.db.prepare(`SELECT COUNT(*) n FROM backups ${w}`).get(args) as { n: number };
    return { rows: rows.map(view), total: n };
  }

  /** Completed backups of one source in one repository, oldest first. */
  chain(key: string, repositoryId?: string): Backup[] {
    const rows = repositoryId
      ? (this.db.prepare(`SELECT * FROM backups WHERE source_key = ? AND repository_id = ? AND status = 'completed' ORDER BY created_at, id`).all(key, repositoryId) as Raw[])
      : (this.db.prepare(`SELECT * FROM backups WHERE source_key = ? AND status = 'completed' ORDER BY created_at, id`).all(key) as Raw[]);
    return rows.map(view);
  }

  /** The newest completed backup of a source in a repository: the parent of an incremental. */
  latestCompleted(key: string, repositoryId: string): Backup | undefined {
    const r = this.db
      .prepare(`SELECT * FROM backups WHERE source_key = ? AND repository_id = ? AND status = 'completed' ORDER BY created_at DESC, id DESC LIMIT 1`)
      .get(key, repositoryId) as Raw | undefined;
    return r ? view(r) : undefined;
  }

  countInRepository(repositoryId: string): number {
    return (this.db.prepare('SELECT COUNT(*) n FROM backups WHERE repository_id = ?').get(repositoryId) as { n: number }).n;
  }

  /** Source keys with completed backups in a repository (what prune walks). */
  sourceKeys(repositoryId: string): string[] {
    return (this.db.prepare(`SELECT DISTINCT source_key FROM backups WHERE repository_id = ? AND status = 'completed'`).all(repositoryId) as { source_key: string }[]).map((r) => r.source_key);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM backups WHERE id = ?').run(id);
  }
}

function view(r: Raw): Backup {
  return { ...r, error: r.error ? (JSON.parse(r.error) as Backup['error']) : null, drift_detected: r.drift_detected === 1 };
}
