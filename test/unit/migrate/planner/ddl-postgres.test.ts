import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { buildPlan, type Plan } from '../../../../hub/src/migrate/planner/index.ts';
import { mysqlShop, oracleChinook, oracleChinookProfiles } from './fixtures.ts';

const dbName = `ferry_t_${randomBytes(6).toString('hex')}`;
const admin = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: 'postgres' });
let db: pg.Client;

beforeAll(async () => {
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  db = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: dbName });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
  await admin.end();
});

async function run(statements: string[]): Promise<void> {
  for (const s of statements) await db.query(s);
}

async function cutover(p: Plan): Promise<void> {
  await run(p.ddl.primary_keys);
  await run(p.ddl.indexes);
  await run(p.ddl.foreign_keys);
  await run(p.ddl.sequences);
  await run(p.ddl.checks);
}

describe('generated DDL on a real PostgreSQL', () => {
  it('creates reserved-word and mixed-case tables, loads rows, adds keys and positions the identity', async () => {
    const p = buildPlan(mysqlShop(), [], { targetSchema: 'Shop', autoApproveAbove: 0.95 });
    await run(p.ddl.create_tables);
    await db.query(`INSERT INTO "Shop"."user" ("id", "User Name", "select") VALUES (1, 'ann', 1), (7, 'bob', 0)`);
    await db.query(`INSERT INTO "Shop"."Order" ("user_id", "order_no", "status", "qty") VALUES (1, 1, 'new', 2), (7, 1, 'paid', 1)`);
    await db.query(`INSERT INTO "Shop"."order line" ("user_id", "order_no", "sku") VALUES (1, 1, 'a'), (7, 1, NULL)`);
    await db.query(`INSERT INTO "Shop"."log" ("code") VALUES ('x')`);
    await cutover(p);
    // Source said the next auto-increment is 500, above max(id)+1 = 8.
    const next = await db.query(`INSERT INTO "Shop"."user" ("User Name") VALUES ('carl') RETURNING "id"`);
    expect(next.rows[0].id).toBe('500');
    await expect(db.query(`INSERT INTO "Shop"."Order" ("user_id", "order_no", "status") VALUES (1, 2, 'lost')`)).rejects.toThrow(/check constraint/);
    await expect(db.query(`INSERT INTO "Shop"."Order" ("user_id", "order_no", "status", "qty") VALUES (1, 3, 'new', 0)`)).rejects.toThrow(/qty_positive/);
    await expect(db.query(`INSERT INTO "Shop"."order line" ("user_id", "order_no") VALUES (9, 9)`)).rejects.toThrow(/foreign key/);
    const defaults = await db.query(`INSERT INTO "Shop"."Order" ("user_id", "order_no") VALUES (7, 2) RETURNING "status"`);
    expect(defaults.rows[0].status).toBe('new');
    const notNull = await db.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = 'Shop' AND is_nullable = 'NO'`);
    expect(notNull.rows[0].n).toBe(8);
  });

  it('runs the Oracle Chinook plan with its self-referencing foreign key', async () => {
    const p = buildPlan(oracleChinook(), oracleChinookProfiles(), { targetSchema: 'chinook', autoApproveAbove: 0.95 });
    await run(p.ddl.create_tables);
    await db.query(`INSERT INTO chinook.employee (employeeid, lastname, reportsto, birthdate) VALUES (1, 'Adams', NULL, '1962-02-18 00:00:00'), (2, 'Edwards', 1, '1958-12-08 13:45:07')`);
    await cutover(p);
    await expect(db.query(`INSERT INTO chinook.employee (employeeid, lastname, reportsto) VALUES (3, 'X', 42)`)).rejects.toThrow(/foreign key/);
    const t = await db.query(`SELECT birthdate::text AS b FROM chinook.employee WHERE employeeid = 2`);
    expect(t.rows[0].b).toBe('1958-12-08 13:45:07');
  });
});
