import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SemanticTable, StatDifference } from '../../../hub/src/validate/report.ts';
import { runValidation } from '../../../hub/src/validate/run.ts';
import { createMysqlDatabase, createPgDatabase, dropMysqlDatabase, dropPgDatabase, mysqlCli, psql, tempDir } from '../connectors/fixtures.ts';
import { directSides, pgConn } from './sides.ts';

// The same rows in each dialect's own types; the PostgreSQL target holds them as a migration would.
const ROWS: [number, string, string, string | null, number, string][] = [
  [1, 'Ann', '10.50', '2009-01-01 00:00:00', 1, 'aa'],
  [2, 'Bob', '0.99', null, 0, 'bb'],
  [3, 'Çé 😀', '-3.00', '2038-01-19 03:14:08', 1, ''],
];
const lit = (s: string | null) => (s === null ? 'NULL' : `'${s.replace(/'/g, "''")}'`);

let pgDb: string;
let myDb: string;
let dir: string;
let sqliteFile: string;

beforeAll(() => {
  pgDb = createPgDatabase();
  psql(pgDb, `CREATE TABLE items (id integer PRIMARY KEY, name varchar(40) NOT NULL, price numeric(10,2), sold_at timestamp(0), active boolean, code bytea);
    INSERT INTO items VALUES ${ROWS.map((r) => `(${r[0]}, ${lit(r[1])}, ${r[2]}, ${lit(r[3])}, ${r[4] ? 'true' : 'false'}, '\\x${Buffer.from(r[5]).toString('hex')}')`).join(', ')};`);
  myDb = createMysqlDatabase();
  mysqlCli(myDb, `CREATE TABLE items (id int PRIMARY KEY, name varchar(40) NOT NULL, price decimal(10,2), sold_at datetime, active tinyint(1), code varbinary(10));
    INSERT INTO items VALUES ${ROWS.map((r) => `(${r[0]}, ${lit(r[1])}, ${r[2]}, ${lit(r[3])}, ${r[4]}, x'${Buffer.from(r[5]).toString('hex')}')`).join(', ')};`);
  dir = tempDir();
  sqliteFile = path.join(dir, 'items.sqlite');
  const db = new Database(sqliteFile);
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, sold_at DATETIME, active BOOLEAN, code BLOB)');
  const ins = db.prepare('INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)');
  for (const r of ROWS) ins.run(r[0], r[1], Number(r[2]), r[3], r[4], Buffer.from(r[5]));
  db.close();
});
afterAll(() => {
  dropPgDatabase(pgDb);
  dropMysqlDatabase(myDb);
  rmSync(dir, { recursive: true, force: true });
});

const workload = [{ name: 'revenue', sql: 'SELECT SUM(price) AS s, COUNT(*) AS n FROM items WHERE active = 1' }];

describe('validation from SQLite and MariaDB sources into PostgreSQL', () => {
  it('finds the same values equal after normalising (decimals, 0/1 booleans, datetimes, blobs)', async () => {
    for (const source of [{ type: 'sqlite' as const, path: sqliteFile }, { type: 'mysql' as const, host: '127.0.0.1', port: 3306, user: 'root', database: myDb }]) {
      const { report } = await runValidation(directSides(source, pgConn(pgDb)), {
        mapping: [{ source: 'items', target: 'public.items' }],
        kinds: ['statistical', 'semantic', 'behavioral'],
        workload: source.type === 'mysql' ? workload : [{ name: 'revenue', sql: 'SELECT SUM(price) AS s, COUNT(*) AS n FROM items WHERE active = 1' }],
      });
      const k = report.kinds;
      expect(k.statistical.status, `${source.type}: ${JSON.stringify(k.statistical.details)}`).toBe('passed');
      expect(k.semantic.status, `${source.type}: ${JSON.stringify(k.semantic.details)}`).toBe('passed');
      expect(k.semantic.counts.rows).toBe(3);
      // "active = 1" is not valid against a PostgreSQL boolean: reported, never passed.
      expect(k.behavioral.status).toBe('inconclusive');
      expect(k.behavioral.counts.not_comparable).toBe(1);
    }
  });

  it('names the changed column and key when the target differs from a SQLite source', async () => {
    psql(pgDb, `UPDATE items SET sold_at = '2009-01-01 00:00:01' WHERE id = 1;`);
    try {
      const { report } = await runValidation(directSides({ type: 'sqlite', path: sqliteFile }, pgConn(pgDb)), { mapping: [{ source: 'items', target: 'public.items' }], kinds: ['statistical', 'semantic'] });
      const t = (report.kinds.semantic.details as { tables: SemanticTable[] }).tables[0]!;
      expect(t.first_changed).toEqual([{ key: { id: '1' }, columns: ['sold_at'] }]);
      const d = (report.kinds.statistical.details as { differences: StatDifference[] }).differences;
      expect(d).toContainEqual({ table: 'public.items', column: 'sold_at', metric: 'min', source: '2009-01-01 00:00:00', target: '2009-01-01 00:00:01' });
    } finally {
      psql(pgDb, `UPDATE items SET sold_at = '2009-01-01 00:00:00' WHERE id = 1;`);
    }
  });
});
