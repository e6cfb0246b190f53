import type { ModuleMigrations } from '../store/db.ts';

/**
 * Tables of the agents module. An agent's stored status is pending | approved | revoked;
 * online/offline is derived from the live session (see AgentRegistry.view).
 */
export const agentsMigrations: ModuleMigrations = {
  module: 'agents',
  migrations: [
    {
      version: 1,
      description: 'enrollment tokens and agents',
      up: `
        CREATE TABLE enrollment_tokens (
          id TEXT PRIMARY KEY,
          name TEXT,
          secret_hash TEXT NOT NULL UNIQUE,
          expires_at TEXT NOT NULL,
          max_uses INTEGER NOT NULL,
          uses INTEGER NOT NULL DEFAULT 0,
          auto_approve INTEGER NOT NULL DEFAULT 0,
          builtin INTEGER NOT NULL DEFAULT 0,
          created_at TEXT NOT NULL,
          revoked_at TEXT
        );
        CREATE TABLE agents (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          hostname TEXT NOT NULL DEFAULT '',
          version TEXT NOT NULL DEFAULT '',
          capabilities TEXT NOT NULL DEFAULT '[]',
          inventory TEXT NOT NULL DEFAULT '{}',
          status TEXT NOT NULL CHECK (status IN ('pending','approved','revoked')),
          enrollment_token_id TEXT REFERENCES enrollment_tokens(id),
          csr_pem TEXT NOT NULL,
          cert_pem TEXT,
          cert_fingerprint TEXT UNIQUE,
          cert_expires_at TEXT,
          pickup_secret_hash TEXT NOT NULL,
          builtin INTEGER NOT NULL DEFAULT 0,
          created_at TEXT NOT NULL,
          approved_at TEXT,
          revoked_at TEXT,
          last_seen TEXT
        );
        CREATE INDEX agents_status ON agents(status);
      `,
    },
  ],
};
