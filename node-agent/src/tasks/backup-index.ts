import { backupDisk } from './backup-disk.ts';
import { inventoryScan } from './backup-inventory.ts';
import { restoreDisk } from './restore-disk.ts';
import type { TaskHandler } from './types.ts';

/**
 * The backup module's agent task handlers by kind, for tasks/registry.ts to register:
 * `for (const [k, h] of Object.entries(backupTasks)) registerTask(k, h)`.
 */
export const backupTasks: Record<string, TaskHandler> = {
  'backup.disk': backupDisk,
  'restore.disk': restoreDisk,
  'inventory.scan': inventoryScan,
  // The pg tools are only spawned when a database backup runs; the module is small either way.
  'backup.database': async (payload, ctx) => (await import('./backup-database.ts')).backupDatabase(payload, ctx),
  'restore.database': async (payload, ctx) => (await import('./restore-database.ts')).restoreDatabase(payload, ctx),
};
