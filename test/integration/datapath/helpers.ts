import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import mysql from 'mysql2/promise';
import type { LoadUnitResult, UnitColumn, UnitSpec, WireConnection } from '../../../common/src/migrate-tasks.ts';
import { openUnitReader } from '../../../node-agent/src/datapath/readers/index.ts';
import { loadUnit, type LoadOptions } from '../../../node-agent/src/datapath/pg-loader.ts';

export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };
export const MY = { host: '127.0.0.1', port: 3306, user: 'root' };

export const uniqueName = (prefix = 'ferry_t') => `${prefix}_${randomBytes(5).toString('hex')}`;

export async function pgAdmin<T>(fn: (c: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
  const c = new pg.Client({ ...PG, database });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A fresh PostgreSQL database; returns its wire connection and a drop function. */
export async function createPgDb(): Promise<{ name: string; conn: WireConnection; drop: () => Promise<void> }> {
  const name = uniqueName();
  await pgAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  return {
    name,
    conn: { type: 'postgresql', ...PG, database: name },
    drop: () => pgAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

export async function pgRun(database: string, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  return pgAdmin(async (c) => (await c.query(sql, params)).rows as Record<string, unknown>[], database);
}

export async function createMyDb(): Promise<{ name: string; conn: WireConnection; run: (sql: string) => Promise<unknown[][]>; drop: () => Promise<void> }> {
  const name = uniqueName();
  const c = await mysql.createConnection({ ...MY, multipleStatements: true, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true, timezone: 'Z' });
  await c.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
  await c.query(`USE ${name}`);
  await c.query("SET time_zone = '+00:00', sql_mode = 'NO_ENGINE_SUBSTITUTION'");
  return {
    name,
    conn: { type: 'mysql', ...MY, database: name },
    run: async (sql) => (await c.query({ sql, rowsAsArray: true }))[0] as unknown[][],
    drop: async () => { await c.query(`DROP DATABASE IF EXISTS ${name}`); await c.end(); },
  };
}

export function tempSqlite(): { file: string; conn: WireConnection; drop: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-dp-'));
  const file = path.join(dir, 'src.db');
  return { file, conn: { type: 'sqlite', path: file }, drop: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function col(source: string, target_type: string, transformation = 'none', source_type = '', target = source): UnitColumn {
  return { source, source_type, target, target_type, transformation };
}

export function unit(table: string, columns: UnitColumn[], range: UnitSpec['range'] = null, o: { srcSchema?: string; dstSchema?: string; target?: string } = {}): UnitSpec {
  return {
    unit_id: uniqueName('u'), source_schema: o.srcSchema ?? 'public', source_table: table,
    target_schema: o.dstSchema ?? 'public', target_table: o.target ?? table, columns, range,
  };
}

const PGCOPY = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** Reader -> loader in process, the data path without the hub; `wire` is the format the reader actually produced. */
export async function transfer(src: WireConnection, dst: WireConnection, u: UnitSpec, format: 'text' | 'binary' = 'text', opts: Partial<LoadOptions> = {}): Promise<LoadUnitResult & { read: { rows: number; bytes: number }; wire: 'text' | 'binary' | null }> {
  const reader = openUnitReader(src, u, { format });
  let wire: 'text' | 'binary' | null = null;
  const watched = async function* () {
    for await (const f of reader.frames) {
      wire ??= f.subarray(0, PGCOPY.length).equals(PGCOPY) ? 'binary' : 'text';
      yield f;
    }
  };
  const r = await loadUnit(dst, u, watched(), { format, ...opts });
  return { ...r, read: reader.counters, wire };
}
