import type { ModuleMigrations } from '../store/db.ts';

export const jobMigrations: ModuleMigrations = {
  module: 'jobs',
  migrations: [
    {
      version: 1,
      description: 'jobs, tasks, logs',
      up: `
        CREATE TABLE jobs (
          id TEXT PRIMARY KEY,
          kind TEXT NOT NULL,
          status TEXT NOT NULL,
          phase TEXT,
          agent_id TEXT,
          resource_type TEXT,
          resource_id TEXT,
          params TEXT NOT NULL DEFAULT '{}',
          progress TEXT NOT NULL DEFAULT '{}',
          result TEXT,
          error TEXT,
          created_at TEXT NOT NULL,
          started_at TEXT,
          finished_at TEXT,
          updated_at TEXT NOT NULL
        );
        CREATE INDEX jobs_status ON jobs(status);
        CREATE INDEX jobs_resource ON jobs(resource_type, resource_id);
        CREATE TABLE job_tasks (
          id TEXT PRIMARY KEY,
          job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
          agent_id TEXT NOT NULL,
          kind TEXT NOT NULL,
          attempt INTEGER NOT NULL,
          status TEXT NOT NULL,
          result TEXT,
          error TEXT,
          created_at TEXT NOT NULL,
          finished_at TEXT
        );
        CREATE INDEX job_tasks_job ON job_tasks(job_id);
        CREATE INDEX job_tasks_status ON job_tasks(status);
        CREATE TABLE job_logs (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
          ts TEXT NOT NULL,
          level TEXT NOT NULL,
          phase TEXT,
          message TEXT NOT NULL,
          fields TEXT
        );
        CREATE INDEX job_logs_job ON job_logs(job_id, id);
      `,
    },
  ],
};
