import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlDatabase, createPgDatabase, dropMysqlDatabase, dropPgDatabase, mysqlCli } from '../integration/connectors/fixtures.ts';
import { pgClient } from '../integration/migrate/chinook.ts';
import { startCluster, type Cluster } from '../integration/migrate/cluster.ts';
import { compareAll, mysqlSource, pgConstraints, sqliteSource, type SourceReader } from '../integration/migrate/compare.ts';
import { connection, createPlanned, getMig, start, untilStatus } from '../integration/migrate/flow.ts';
import { waitFor } from '../integration/migrate/helpers.ts';

/**
 * Real processes again: the HUB is SIGKILLed during data_transfer of a MariaDB source and
 * started again on the same data directory and ports (the agent reconnects by itself); and the
 * agent is SIGKILLed during data_transfer of a SQLite source. Both end exactly equal to the
 * source, compared outside Ferry row by row.
 */
const ROWS = 200_000;
let c: Cluster;
let myDb = '';
let dstDb = '';
let dir = '';
let sqliteFile = '';
let dst: pg.Client;
let dstConn = '';

beforeAll(async () => {
  myDb = createMysqlDatabase();
  mysqlCli(myDb, `
    CREATE TABLE big (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, a int, t varchar(100), n decimal(12,3), ts datetime(6), flag tinyint(1) NOT NULL, b varbinary(16)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
    INSERT INTO big SELECT seq, (seq * 7919) % 100000, CONCAT(MD5(seq), REPEAT('é', seq % 20)), (seq % 1000000) / 7, TIMESTAMPADD(SECOND, seq * 1717, '1960-01-01 00:00:00.250000'), seq % 2, UNHEX(MD5(seq)) FROM seq_1_to_${ROWS};
  `);
  dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-e2e-lite-'));
  sqliteFile = path.join(dir, 'src.sqlite');
  const db = new Database(sqliteFile);
  db.exec(`
    CREATE TABLE big (id INTEGER PRIMARY KEY, a INTEGER, t TEXT, r REAL, b BLOB);
    WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${ROWS})
    INSERT INTO big SELECT n, (n * 7919) % 100000, hex(randomblob(8)) || 'ü😀', n / 8.0, randomblob(12) FROM g;
  `);
  db.close();
  dstDb = createPgDatabase();
  dst = await pgClient(dstDb);
  c = await startCluster();
  dstConn = await connection(c.req, { name: 'pg target', connection_string: `postgresql://postgres@127.0.0.1:5432/${dstDb}`, agent_id: c.agentId });
}, 120_000);

afterAll(async () => {
  await c?.stop();
  await dst?.end();
  if (dstDb) dropPgDatabase(dstDb);
  if (myDb) dropMysqlDatabase(myDb);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function planned(srcConn: string, schema: string): Promise<string> {
  return createPlanned(c.req, {
    name: `kill ${schema}`,
    source: { connection_id: srcConn },
    target: { connection_id: dstConn, schema },
    options: { parallelism: 2, batch_size: 5000, validation_kinds: ['statistical'] },
  });
}

async function midTransfer(id: string, atLeast: number) {
  return waitFor('units part done', async () => {
    const m = await getMig(c.req, id);
    if (m.status === 'failed' || m.status === 'completed') throw new Error(`migration ended before the kill: ${m.status} ${JSON.stringify(m.error)}`);
    return m.phase === 'data_transfer' && m.metrics.units_done >= atLeast && m.metrics.units_done < m.metrics.units_total ? m : null;
  }, 120_000);
}

async function expectEqual(reader: SourceReader, schema: string) {
  const { differences, compared } = await compareAll(reader, dst, schema, ['big']);
  expect(differences).toEqual([]);
  expect(compared.get('big')?.rows).toBe(ROWS);
  const k = await pgConstraints(dst, schema);
  expect(k).toMatchObject({ p: 1, notValid: 0 });
}

describe('migrations survive SIGKILL of the hub and of the agent', () => {
  it('MariaDB source, hub SIGKILLed during data_transfer and restarted: completes, every row once', async () => {
    const srcConn = await connection(c.req, { name: 'maria', connection_string: `mysql://root@127.0.0.1:3306/${myDb}`, agent_id: c.agentId });
    const id = await planned(srcConn, 'after_hub_kill');
    await start(c.req, id);
    const at = await midTransfer(id, 3);
    expect(await c.hub().kill('SIGKILL')).toBeNull();
    await c.startHub();
    await c.agentOnline();
    const done = await untilStatus(c.req, id, ['completed', 'failed'], 240_000);
    expect(done.error).toBeNull();
    expect(done.status).toBe('completed');
    expect(at.metrics.units_done).toBeLessThan(done.metrics.units_total);
    expect(done.metrics.units_done).toBe(done.metrics.units_total);
    const reader = await mysqlSource(myDb);
    try {
      await expectEqual(reader, 'after_hub_kill');
    } finally {
      await reader.close();
    }
    // The identity continues after the source's largest key.
    const ins = await dst.query<{ id: string }>(`INSERT INTO after_hub_kill.big (flag) VALUES (true) RETURNING id`);
    expect(ins.rows[0]!.id).toBe(String(ROWS + 1));
  }, 300_000);

  it('SQLite source, agent SIGKILLed during data_transfer and restarted: completes, every row once', async () => {
    const srcConn = await connection(c.req, { name: 'sqlite', type: 'sqlite', path: sqliteFile, agent_id: c.agentId });
    const id = await planned(srcConn, 'after_agent_kill');
    await start(c.req, id);
    await midTransfer(id, 3);
    expect(await c.agent().kill('SIGKILL')).toBeNull();
    await c.startAgent();
    const done = await untilStatus(c.req, id, ['completed', 'failed'], 240_000);
    expect(done.error).toBeNull();
    expect(done.status).toBe('completed');
    const reader = sqliteSource(sqliteFile);
    try {
      await expectEqual(reader, 'after_agent_kill');
    } finally {
      await reader.close();
    }
  }, 300_000);
});
