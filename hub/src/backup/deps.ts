import type { Logger } from '../../../common/src/logger.ts';
import type { Relay } from '../agents/relay.ts';
import type { ConnectionStore } from '../connections/store.ts';
import type { ActiveBackups } from './ingest.ts';
import type { InventoryStore } from './inventory.ts';
import type { RepositoryRegistry } from './repositories.ts';
import type { BackupStore } from './store.ts';

/** Job kinds of the backup module (the job engine's `kind`). */
export const BACKUP_JOB_KINDS = {
  backup: 'backup',
  restore: 'restore',
  verify: 'verify',
  prune: 'prune',
  gc: 'gc',
  policyRun: 'backup_policy_run',
} as const;

/** Agent task kinds the backup jobs hand out (node-agent/src/tasks/backup-index.ts). */
export const BACKUP_TASKS = {
  disk: 'backup.disk',
  database: 'backup.database',
  restoreDisk: 'restore.disk',
  restoreDatabase: 'restore.database',
  inventory: 'inventory.scan',
} as const;

export interface BackupDeps {
  store: BackupStore;
  repos: RepositoryRegistry;
  relay: Relay;
  active: ActiveBackups;
  connections: ConnectionStore;
  inventory: InventoryStore;
  log: Logger;
  now: () => Date;
  /**
   * The hub's built-in agent. It uploads chunks plain (the hub compresses): on the hub's own host
   * the bytes cost nothing to move, and compressing on the hub keeps the agent, which also reads
   * and hashes, from being the slower half. Remote agents compress before sending.
   */
  builtinAgentId: () => string | undefined;
}
