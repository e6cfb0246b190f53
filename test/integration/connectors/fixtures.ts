import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Loading the shared datasets into fresh, uniquely named databases on the local servers. */
export const CHINOOK_DIR = path.resolve(import.meta.dirname, '../../../../shared/datasets/chinook');

export function uniqueName(prefix = 'ferry_t'): string {
  return `${prefix}_${crypto.randomBytes(5).toString('hex')}`;
}

export function psql(db: string, sql: string): string {
  return execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-qAt'], {
    input: sql, encoding: 'utf8', maxBuffer: 64 << 20,
  });
}

export function mysqlCli(db: string | null, sql: string): string {
  const args = ['--protocol=tcp', '-h127.0.0.1', '-uroot', '--default-character-set=utf8mb4', '-N', '-B'];
  if (db) args.push(db);
  return execFileSync('mysql', args, { input: sql, encoding: 'utf8', maxBuffer: 64 << 20 });
}

export function createPgDatabase(): string {
  const db = uniqueName();
  psql('postgres', `create database ${db};`);
  return db;
}

export function dropPgDatabase(db: string): void {
  psql('postgres', `drop database if exists ${db} with (force);`);
}

/** Chinook_PostgreSql.sql without its DROP/CREATE DATABASE and \c lines. */
export function loadPgChinook(db: string): void {
  const sql = fs.readFileSync(path.join(CHINOOK_DIR, 'Chinook_PostgreSql.sql'), 'utf8')
    .split('\n')
    .filter((l) => !/^\s*(DROP DATABASE|CREATE DATABASE|\\c)\b/i.test(l))
    .join('\n');
  psql(db, sql);
}

export function createMysqlDatabase(): string {
  const db = uniqueName();
  mysqlCli(null, `create database \`${db}\` character set utf8mb4;`);
  return db;
}

export function dropMysqlDatabase(db: string): void {
  mysqlCli(null, `drop database if exists \`${db}\`;`);
}

/** Chinook_MySql.sql with its DROP/CREATE DATABASE and USE rewritten to our database. */
export function loadMysqlChinook(db: string): void {
  const sql = fs.readFileSync(path.join(CHINOOK_DIR, 'Chinook_MySql.sql'), 'utf8')
    .split('\n')
    .filter((l) => !/^\s*(DROP DATABASE|CREATE DATABASE|USE)\b/i.test(l))
    .join('\n');
  mysqlCli(db, sql);
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-conn-'));
}

export function copySqliteChinook(dir: string): string {
  const file = path.join(dir, 'chinook.sqlite');
  fs.copyFileSync(path.join(CHINOOK_DIR, 'Chinook_Sqlite.sqlite'), file);
  return file;
}
