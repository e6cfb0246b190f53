/** What the migration runners and the service share: stores, engine, relay, clock. */
import type { Logger } from '../../../common/src/logger.ts';
import type { WireConnection } from '../../../common/src/migrate-tasks.ts';
import type { Relay } from '../agents/relay.ts';
import type { ConnectionStore } from '../connections/store.ts';
import type { JobContext, JobEngine } from '../jobs/engine.ts';
import type { ValidationKind } from '../validate/certificate.ts';
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
  /**
   * Post-cutover validation in the given kinds, issuing the certificate (the validate module).
   * Absent in hubs built without it; then only row counts are checked.
   */
  certify?: (ctx: JobContext, migrationId: string, kinds: ValidationKind[]) => Promise<{ id: string; outcome: string }>;
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
