import type { ModuleMigrations } from '../store/db.ts';

/** Tables of the migrations module (seed 002). JSON columns hold plan, catalog, options and phases. */
export const migrationMigrations: ModuleMigrations = {
  module: 'migrations',
  migrations: [
    {
      version: 1,
      description: 'migrations, mappings, units, row errors, job links, metrics archive',
      up: `
        CREATE TABLE migrations (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          description TEXT,
          status TEXT NOT NULL,
          phase TEXT,
          source_connection_id TEXT NOT NULL,
          source_inline INTEGER NOT NULL DEFAULT 0,
          source_schemas TEXT NOT NULL DEFAULT '[]',
          exclude_tables TEXT NOT NULL DEFAULT '[]',
          target_connection_id TEXT NOT NULL,
          target_inline INTEGER NOT NULL DEFAULT 0,
          target_schema TEXT NOT NULL,
          options TEXT NOT NULL,
          schedule TEXT NOT NULL,
          notifications TEXT NOT NULL DEFAULT '{}',
          plan TEXT,
          catalog TEXT,
          plan_generated_at TEXT,
          phases TEXT NOT NULL,
          created_objects TEXT NOT NULL DEFAULT '[]',
          error TEXT,
          pause_reason TEXT,
          cancel TEXT,
          created_by TEXT,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          started_at TEXT,
          finished_at TEXT
        );
        CREATE INDEX migrations_status ON migrations(status);
        CREATE INDEX migrations_created ON migrations(created_at);
        CREATE TABLE migration_mappings (
          migration_id TEXT NOT NULL REFERENCES migrations(id) ON DELETE CASCADE,
          mapping_id TEXT NOT NULL,
          ord INTEGER NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('approved','pending_review','rejected')),
          override TEXT,
          comment TEXT,
          applied_type TEXT,
          decided_by TEXT,
          decided_at TEXT,
          PRIMARY KEY (migration_id, mapping_id)
        );
        CREATE TABLE migration_units (
          migration_id TEXT NOT NULL REFERENCES migrations(id) ON DELETE CASCADE,
          unit_id TEXT NOT NULL,
          table_index INTEGER NOT NULL,
          source_schema TEXT NOT NULL,
          source_table TEXT NOT NULL,
          target_schema TEXT NOT NULL,
          target_table TEXT NOT NULL,
          range TEXT,
          status TEXT NOT NULL CHECK (status IN ('pending','running','done','failed')),
          attempts INTEGER NOT NULL DEFAULT 0,
          salvage INTEGER NOT NULL DEFAULT 0,
          rows INTEGER NOT NULL DEFAULT 0,
          bytes INTEGER NOT NULL DEFAULT 0,
          rejected INTEGER NOT NULL DEFAULT 0,
          last_error TEXT,
          started_at TEXT,
          finished_at TEXT,
          PRIMARY KEY (migration_id, unit_id)
        );
        CREATE INDEX migration_units_status ON migration_units(migration_id, status);
        CREATE TABLE migration_errors (
          id TEXT PRIMARY KEY,
          migration_id TEXT NOT NULL REFERENCES migrations(id) ON DELETE CASCADE,
          unit_id TEXT,
          tbl TEXT NOT NULL,
          row_text TEXT,
          row_key TEXT,
          code TEXT NOT NULL,
          message TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('open','resolved','retried')),
          created_at TEXT NOT NULL,
          resolved_at TEXT,
          comment TEXT,
          retry_job_id TEXT
        );
        CREATE INDEX migration_errors_mig ON migration_errors(migration_id, created_at);
        CREATE TABLE migration_jobs (
          migration_id TEXT NOT NULL REFERENCES migrations(id) ON DELETE CASCADE,
          job_id TEXT NOT NULL,
          kind TEXT NOT NULL,
          phase TEXT,
          created_at TEXT NOT NULL,
          PRIMARY KEY (migration_id, job_id)
        );
        CREATE TABLE migration_table_counts (
          migration_id TEXT NOT NULL REFERENCES migrations(id) ON DELETE CASCADE,
          target_table TEXT NOT NULL,
          source_rows INTEGER,
          target_rows INTEGER,
          PRIMARY KEY (migration_id, target_table)
        );
        CREATE TABLE migration_metrics_archive (
          migration_id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          deleted_at TEXT NOT NULL,
          metrics TEXT NOT NULL
        );
      `,
    },
  ],
};
