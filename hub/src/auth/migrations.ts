import type { ModuleMigrations } from '../store/db.ts';

export const authMigrations: ModuleMigrations = {
  module: 'auth',
  migrations: [
    {
      version: 1,
      description: 'api keys, users, refresh tokens',
      up: `
        CREATE TABLE api_keys (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          kind TEXT NOT NULL CHECK (kind IN ('live','test','service_account')),
          prefix TEXT NOT NULL,
          hash TEXT NOT NULL UNIQUE,
          scopes TEXT NOT NULL,
          created_at TEXT NOT NULL,
          expires_at TEXT,
          last_used_at TEXT,
          revoked_at TEXT
        );
        CREATE TABLE users (
          id TEXT PRIMARY KEY,
          email TEXT NOT NULL UNIQUE,
          password_hash TEXT,
          scopes TEXT NOT NULL,
          created_at TEXT NOT NULL
        );
        CREATE TABLE refresh_tokens (
          jti TEXT PRIMARY KEY,
          user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
          expires_at TEXT NOT NULL,
          used_at TEXT
        );
      `,
    },
  ],
};
