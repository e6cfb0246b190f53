import type pg from 'pg';
import { createPgDatabase, dropPgDatabase } from '../connectors/fixtures.ts';
import { pgClient } from './chinook.ts';
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
