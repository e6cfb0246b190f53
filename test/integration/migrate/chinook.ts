/** Chinook SQLite source and a fresh PostgreSQL target, compared outside Ferry. */
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export const CHINOOK = path.resolve(import.meta.dirname, '../../../../shared/datasets/chinook/Chinook_Sqlite.sqlite');

export function copyChinook(): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-chinook-'));
  const file = path.join(dir, 'chinook.sqlite');
  copyFileSync(CHINOOK, file);
  return { dir, file };
}

export async function createDatabase(): Promise<string> {
  const name = `ferry_t_${randomBytes(5).toString('hex')}`;
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  return name;
}

export async function dropDatabase(name: string): Promise<void> {
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await c.end();
}

export async function pgClient(db: string): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: db, types: { getTypeParser: () => (v: string) => v } as never });
  await c.connect();
  return c;
}

/** One canonical text per value, so SQLite and PostgreSQL renderings of the same value agree. */
function norm(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'number' || typeof v === 'bigint') return String(Number(v));
  const s = String(v);
  if (/^-?\d+(\.\d+)?$/.test(s)) return String(Number(s));
  if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}/.test(s)) return s.replace('T', ' ').replace(/(\.0+)?(Z|[+-]00(:00)?)?$/, '');
  if (Buffer.isBuffer(v)) return v.toString('hex');
  return s;
}

function digest(rows: unknown[][]): string {
  const h = createHash('md5');
  for (const r of rows) h.update(r.map(norm).join('\t') + '\n');
  return h.digest('hex');
}

export interface TableSummary {
  rows: number;
  md5: string;
}

/** Per table: row count and md5 over all rows ordered by every column (the first being the key). */
export function sqliteSummary(file: string): Map<string, TableSummary> {
  const db = new Database(file, { readonly: true });
  const out = new Map<string, TableSummary>();
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[];
  for (const { name } of tables) {
    const cols = (db.prepare(`PRAGMA table_info("${name}")`).all() as { name: string }[]).map((c) => `"${c.name}"`);
    const rows = db.prepare(`SELECT ${cols.join(', ')} FROM "${name}" ORDER BY ${cols.map((_, i) => i + 1).join(', ')}`).raw().all() as unknown[][];
    out.set(name, { rows: rows.length, md5: digest(rows) });
  }
  db.close();
  return out;
}

export async function pgSummary(c: pg.Client, schema: string): Promise<Map<string, TableSummary>> {
  const out = new Map<string, TableSummary>();
  const tables = await c.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name`, [schema]);
  for (const { table_name } of tables.rows) {
    const cols = await c.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, [schema, table_name]);
    const list = cols.rows.map((x) => `"${x.column_name}"`);
    const r = await c.query({ text: `SELECT ${list.join(', ')} FROM "${schema}"."${table_name}" ORDER BY ${list.map((_, i) => i + 1).join(', ')}`, rowMode: 'array' });
    out.set(table_name, { rows: r.rows.length, md5: digest(r.rows as unknown[][]) });
  }
  return out;
}

export async function constraintCounts(c: pg.Client, schema: string): Promise<{ p: number; f: number }> {
  const r = await c.query<{ contype: string; n: string }>(
    `SELECT contype, COUNT(*) n FROM pg_constraint k JOIN pg_namespace s ON s.oid = k.connamespace WHERE s.nspname = $1 GROUP BY contype`,
    [schema],
  );
  const get = (t: string) => Number(r.rows.find((x) => x.contype === t)?.n ?? 0);
  return { p: get('p'), f: get('f') };
}
