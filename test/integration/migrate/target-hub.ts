import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { createMysqlDatabase, createPgDatabase, dropMysqlDatabase, dropPgDatabase } from '../connectors/fixtures.ts';
import { pgClient } from './chinook.ts';
import { mysqlSource, pgSource, sqliteSource, type SourceReader } from './compare.ts';
import { loadEdge, type Dialect, type EdgeDataset } from './edge-data.ts';
import { connection, type Req } from './flow.ts';
import { removeDir, startHub, waitFor, type MigHub } from './helpers.ts';

/** A listening hub with its built-in agent online, a fresh PostgreSQL target database and its connection. */
export interface TargetHub {
  t: MigHub;
  req: Req;
  targetDb: string;
  target: pg.Client;
  dstConn: string;
  /** Stop the hub, drop the target database and run the extra clean-ups, last registered first. */
  stop(): Promise<void>;
  cleanup: (() => unknown)[];
}

export async function startTargetHub(): Promise<TargetHub> {
  const targetDb = createPgDatabase();
  const target = await pgClient(targetDb);
  const t = await startHub({ listen: true, builtin: true });
  const req: Req = (m, p, b) => t.req(m, p, b);
  await waitFor('built-in agent online', () => {
    const id = t.hub.agents.builtin.agentId;
    return id && t.hub.agents.sessions.isOnline(id) ? id : null;
  }, 60_000);
  const dstConn = await connection(req, { name: 'target', connection_string: `postgresql://postgres@127.0.0.1:5432/${targetDb}` });
  const cleanup: (() => unknown)[] = [];
  return {
    t,
    req,
    targetDb,
    target,
    dstConn,
    cleanup,
    async stop() {
      await t.stop();
      removeDir(t.dataDir);
      await target.end();
      dropPgDatabase(targetDb);
      for (const f of cleanup.reverse()) await f();
    },
  };
}

/**
 * Load a generated dataset into a fresh source of dialect `d` (a temp SQLite file, a new
 * PostgreSQL or MariaDB database), register it as a connection, and give a reader for comparing
 * it outside Ferry. Everything made is removed by `h.stop()`.
 */
export async function loadSource(h: TargetHub, d: Dialect, ds: EdgeDataset, label: string): Promise<{ conn: string; reader: SourceReader }> {
  if (d === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), `ferry-${label}-`));
    h.cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, `${label}.sqlite`);
    await loadEdge(d, file, ds);
    return { conn: await connection(h.req, { name: `${label} sqlite`, type: 'sqlite', path: file }), reader: sqliteSource(file) };
  }
  if (d === 'postgresql') {
    const db = createPgDatabase();
    h.cleanup.push(() => dropPgDatabase(db));
    await loadEdge(d, db, ds);
    const c = await pgClient(db);
    h.cleanup.push(() => c.end());
    return { conn: await connection(h.req, { name: `${label} pg`, connection_string: `postgresql://postgres@127.0.0.1:5432/${db}` }), reader: pgSource(c, 'public') };
  }
  const db = createMysqlDatabase();
  h.cleanup.push(() => dropMysqlDatabase(db));
  await loadEdge(d, db, ds);
  return { conn: await connection(h.req, { name: `${label} maria`, connection_string: `mysql://root@127.0.0.1:3306/${db}` }), reader: await mysqlSource(db) };
}
