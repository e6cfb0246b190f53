import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export type Db = Database.Database;

/**
 * One schema change of one module. Modules own their tables: each exports its own ordered list
 * (versions 1, 2, 3, ...) and the store applies, per module, those not yet applied, each in a
 * transaction. A module never edits an applied migration; it adds the next version.
 */
export interface Migration {
  version: number;
  description: string;
  up: string | ((db: Db) => void);
}

export interface ModuleMigrations {
  module: string;
  migrations: Migration[];
}

/** Open (creating if needed) the hub's SQLite state database with WAL and foreign keys on. */
export function openDb(file: string): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: a committed unit or key must survive power loss too, not only a process crash.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    module TEXT NOT NULL,
    version INTEGER NOT NULL,
    description TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (module, version)
  )`);
  return db;
}

export function applyMigrations(db: Db, modules: ModuleMigrations[]): { applied: string[] } {
  const applied: string[] = [];
  const done = db.prepare('SELECT version FROM schema_migrations WHERE module = ?');
  const record = db.prepare('INSERT INTO schema_migrations (module, version, description, applied_at) VALUES (?, ?, ?, ?)');
  for (const m of modules) {
    const have = new Set((done.all(m.module) as { version: number }[]).map((r) => r.version));
    const sorted = [...m.migrations].sort((a, b) => a.version - b.version);
    for (const mig of sorted) {
      if (have.has(mig.version)) continue;
      db.transaction(() => {
        if (typeof mig.up === 'string') db.exec(mig.up);
        else mig.up(db);
        record.run(m.module, mig.version, mig.description, new Date().toISOString());
      })();
      applied.push(`${m.module}@${mig.version}`);
    }
  }
  return { applied };
}

/**
 * WHERE clause and named parameters from optional filters: each `[sql, param, value]` whose value
 * is given (not undefined, null or '') adds `sql` (written with `@param`) to the AND list. Column
 * names come from the caller's code, never from request text; values always go as parameters.
 */
export function whereOf(conds: readonly [sql: string, param: string, value: unknown][], base: { sql: string[]; args: Record<string, unknown> } = { sql: [], args: {} }): { where: string; args: Record<string, unknown> } {
  const sql = [...base.sql];
  const args = { ...base.args };
  for (const [clause, param, value] of conds) {
    if (value === undefined || value === null || value === '') continue;
    sql.push(clause);
    args[param] = value;
  }
  return { where: sql.length ? `WHERE ${sql.join(' AND ')}` : '', args };
}

const statementCache = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * A prepared statement reused by SQL text. Compiling SQL costs more than running these small
 * queries, and hot paths (job progress several times a second per task, API polling) ran the same
 * few. Only for get/run/all: an `iterate()` keeps its statement busy until the loop ends.
 */
export function cachedStatement(db: Db, sql: string): Database.Statement {
  let m = statementCache.get(db);
  if (!m) statementCache.set(db, (m = new Map()));
  let st = m.get(sql);
  if (!st) {
    st = db.prepare(sql);
    m.set(sql, st);
  }
  return st;
}
