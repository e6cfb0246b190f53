/** What the migration runners and the service share: stores, engine, relay, clock. */
import type { Logger } from '../../../common/src/logger.ts';
import type { WireConnection } from '../../../common/src/migrate-tasks.ts';
import type { Relay } from '../agents/relay.ts';
import type { ConnectionStore } from '../connections/store.ts';
import type { JobEngine } from '../jobs/engine.ts';
import type { JobStore } from '../jobs/store.ts';
import type { MigrationStore } from './store.ts';

export interface MigrationDeps {
  store: MigrationStore;
  connections: ConnectionStore;
  engine: JobEngine;
  jobs: JobStore;
  relay: Relay;
  log: Logger;
  now: () => Date;
  /** How long a task waits for an offline agent (agent restarts mid-transfer). @default engine default */
  agentWaitMs?: number;
}

export interface Side {
  agent_id: string;
  connection: WireConnection;
}

/** The agent and connection spec (password decrypted) for a task payload. Never log the result. */
export function sideOf(connections: ConnectionStore, connectionId: string): Side {
  const { agent_id, spec } = connections.specFor(connectionId);
  return { agent_id, connection: spec };
}
