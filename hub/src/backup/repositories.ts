import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { FerryError, conflict, notFound } from '../../../common/src/errors.ts';
import { newId } from '../../../common/src/ids.ts';
import type { Db } from '../store/db.ts';
import { isRepositoryError, Repository, type RepositoryOptions } from './repository/index.ts';

export interface RepositoryRow {
  id: string;
  name: string;
  type: 'local';
  path: string;
  description: string | null;
  is_default: boolean;
  created_at: string;
}

interface RawRow extends Omit<RepositoryRow, 'is_default'> {
  is_default: number;
}

/** Turns a repository-core error into the API's typed error (same code, the core's status). */
export function toFerryError(e: unknown): unknown {
  if (isRepositoryError(e)) return new FerryError(e.code, e.message, { status: e.status, retryable: e.retryable, cause: e, details: detailsOf(e) });
  return e;
}

function detailsOf(e: { digest?: string; snapshotId?: string }): Record<string, unknown> | undefined {
  const d: Record<string, unknown> = {};
  if (e.digest) d.digest = e.digest;
  if (e.snapshotId) d.snapshot_id = e.snapshotId;
  return Object.keys(d).length ? d : undefined;
}

/**
 * Repositories known to the hub (rows in backup_repositories) and their open `Repository`
 * objects. The hub is the single writer of each repository (repository-format.md invariant 7),
 * so one open instance per repository is kept for the life of the process.
 */
export class RepositoryRegistry {
  private readonly open = new Map<string, Promise<Repository>>();

  constructor(
    private readonly db: Db,
    private readonly opts: { now: () => Date; repoOptions?: RepositoryOptions },
  ) {}

  /** Creates the default repository at `root` the first time the hub starts. */
  async ensureDefault(root: string): Promise<RepositoryRow> {
    const existing = this.db.prepare('SELECT * FROM backup_repositories WHERE is_default = 1').get() as RawRow | undefined;
    if (existing) return view(existing);
    return this.create({ name: 'default', path: root, description: 'Created at first start under the data directory' }, true);
  }

  async create(input: { name: string; path: string; description?: string | null }, isDefault = false): Promise<RepositoryRow> {
    if (!path.isAbsolute(input.path)) throw new FerryError('validation_error', `path ${JSON.stringify(input.path)} must be absolute (a folder on the hub)`, { status: 422, details: { field: 'path' } });
    if (this.db.prepare('SELECT 1 FROM backup_repositories WHERE name = ?').get(input.name)) throw conflict('repository_exists', `A repository named ${JSON.stringify(input.name)} already exists`);
    const root = path.resolve(input.path);
    if (this.db.prepare('SELECT 1 FROM backup_repositories WHERE path = ?').get(root)) throw conflict('repository_exists', `A repository is already registered at ${root}`);
    let repo: Repository;
    try {
      // An existing repository folder (config.json present) is adopted; an empty or new one is initialised.
      if (existsSync(path.join(root, 'config.json'))) repo = await Repository.open(root, this.opts.repoOptions);
      else {
        if (existsSync(root) && readdirSync(root).length > 0) {
          throw new FerryError('validation_error', `${root} is not empty and holds no repository`, { status: 422, details: { field: 'path' } });
        }
        mkdirSync(root, { recursive: true });
        repo = await Repository.init(root, {}, this.opts.repoOptions);
      }
    } catch (e) {
      throw toFerryError(e);
    }
    const row: RawRow = { id: newId('repo'), name: input.name, type: 'local', path: root, description: input.description ?? null, is_default: isDefault ? 1 : 0, created_at: this.opts.now().toISOString() };
    this.db.prepare('INSERT INTO backup_repositories (id, name, type, path, description, is_default, created_at) VALUES (@id, @name, @type, @path, @description, @is_default, @created_at)').run(row);
    this.open.set(row.id, Promise.resolve(repo));
    return view(row);
  }

  list(limit: number, offset: number): { rows: RepositoryRow[]; total: number } {
    const rows = this.db.prepare('SELECT * FROM backup_repositories ORDER BY created_at, id LIMIT ? OFFSET ?').all(limit, offset) as RawRow[];
    const { n } = this.db.prepare('SELECT COUNT(*) n FROM backup_repositories').get() as { n: number };
    return { rows: rows.map(view), total: n };
  }

  get(id: string): RepositoryRow {
    const r = this.db.prepare('SELECT * FROM backup_repositories WHERE id = ?').get(id) as RawRow | undefined;
    if (!r) throw notFound('repository', id);
    return view(r);
  }

  defaultId(): string | null {
    const r = this.db.prepare('SELECT id FROM backup_repositories WHERE is_default = 1').get() as { id: string } | undefined;
    return r?.id ?? null;
  }

  /** The open repository (opened on first use). */
  repo(id: string): Promise<Repository> {
    const row = this.get(id);
    let p = this.open.get(id);
    if (!p) {
      p = Repository.open(row.path, this.opts.repoOptions).catch((e: unknown) => {
        this.open.delete(id);
        throw toFerryError(e);
      });
      this.open.set(id, p);
    }
    return p;
  }

  /** Unregisters a repository; its files stay on disk (deleting backups is what frees space). */
  delete(id: string, inUse: () => number): void {
    this.get(id);
    const n = inUse();
    if (n > 0) throw conflict('repository_in_use', `Repository ${id} still holds ${n} backup(s); delete them first`, { backups: n });
    this.db.prepare('DELETE FROM backup_repositories WHERE id = ?').run(id);
    this.open.delete(id);
  }
}

function view(r: RawRow): RepositoryRow {
  return { ...r, type: 'local', is_default: r.is_default === 1 };
}
