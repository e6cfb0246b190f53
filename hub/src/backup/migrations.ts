import type { ModuleMigrations } from '../store/db.ts';

/** Tables of the backup module: repositories, backups (one per snapshot), policies, agent inventory. */
export const backupMigrations: ModuleMigrations = {
  module: 'backup',
  migrations: [
    {
      version: 1,
      description: 'repositories, backups, policies, inventory',
      up: `
        CREATE TABLE backup_repositories (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL UNIQUE,
          type TEXT NOT NULL,
          path TEXT NOT NULL,
          description TEXT,
          is_default INTEGER NOT NULL DEFAULT 0,
          created_at TEXT NOT NULL
        );
        CREATE TABLE backups (
          id TEXT PRIMARY KEY,
          repository_id TEXT NOT NULL,
          snapshot_id TEXT,
          source_type TEXT NOT NULL,
          source_key TEXT NOT NULL,
          agent_id TEXT,
          path TEXT,
          vm_id TEXT,
          disk TEXT,
          connection_id TEXT,
          format TEXT,
          type TEXT NOT NULL,
          parent_id TEXT,
          policy_id TEXT,
          status TEXT NOT NULL,
          size_bytes INTEGER,
          chunk_count INTEGER,
          uploaded_bytes INTEGER NOT NULL DEFAULT 0,
          uploaded_chunks INTEGER NOT NULL DEFAULT 0,
          stored_bytes_added INTEGER NOT NULL DEFAULT 0,
          bytes_read INTEGER NOT NULL DEFAULT 0,
          attempts INTEGER NOT NULL DEFAULT 0,
          job_id TEXT,
          error TEXT,
          created_at TEXT NOT NULL,
          completed_at TEXT
        );
        CREATE INDEX backups_source ON backups(source_key, created_at);
        CREATE INDEX backups_repository ON backups(repository_id);
        CREATE TABLE backup_policies (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          schedule TEXT NOT NULL,
          timezone TEXT NOT NULL,
          enabled INTEGER NOT NULL DEFAULT 1,
          repository_id TEXT NOT NULL,
          targets TEXT NOT NULL,
          retention TEXT NOT NULL,
          backup_type TEXT NOT NULL,
          next_run_at TEXT,
          last_run_at TEXT,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        );
        CREATE TABLE agent_inventory (
          agent_id TEXT PRIMARY KEY,
          disks TEXT NOT NULL,
          vms TEXT NOT NULL,
          disk_paths TEXT NOT NULL,
          restore_paths TEXT NOT NULL,
          scanned_at TEXT NOT NULL
        );
      `,
    },
    {
      version: 2,
      description: 'backups.drift_detected: the changed-block tracking audit found drift',
      up: `ALTER TABLE backups ADD COLUMN drift_detected INTEGER NOT NULL DEFAULT 0;`,
    },
  ],
};
