import type { ModuleMigrations } from '../store/db.ts';

export const connectionMigrations: ModuleMigrations = {
  module: 'connections',
  migrations: [
    {
      version: 1,
      description: 'database connections with encrypted passwords',
      up: `CREATE TABLE connections (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        type TEXT NOT NULL CHECK (type IN ('postgresql','mysql','sqlite','oracle')),
        host TEXT,
        port INTEGER,
        database TEXT,
        user TEXT,
        password_sealed TEXT,
        path TEXT,
        options TEXT NOT NULL DEFAULT '{}',
        agent_id TEXT NOT NULL,
        description TEXT,
        last_test TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
    },
  ],
};
