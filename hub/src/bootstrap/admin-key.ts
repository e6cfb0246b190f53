import { newId } from '../../../common/src/ids.ts';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ApiKeyStore } from '../auth/api-keys.ts';
import type { Db } from '../store/db.ts';

/**
 * First start only: create the bootstrap admin API key and write it to `admin.key` (0600). It is
 * never printed; the log says where it is. Later starts leave it alone, even if the file was
 * deleted by the admin (a new key is then made with `ferry-hub create-admin-key`).
 */
export function ensureAdminKey(db: Db, keys: ApiKeyStore, dataDir: string): { file: string; created: boolean } {
  const file = path.join(dataDir, 'admin.key');
  const marker = db.prepare(`SELECT value FROM hub_settings WHERE key = 'admin_key_created'`).get() as { value: string } | undefined;
  if (marker) return { file, created: false };
  const { key } = keys.create({ name: 'bootstrap admin', kind: 'live', scopes: ['admin'] });
  writeFileSync(file, key + '\n', { mode: 0o600, flag: existsSync(file) ? 'w' : 'wx' });
  db.prepare(`INSERT INTO hub_settings (key, value) VALUES ('admin_key_created', ?)`).run(new Date().toISOString());
  return { file, created: true };
}

export const settingsMigrations = {
  module: 'hub',
  migrations: [
    {
      version: 1,
      description: 'hub settings',
      up: `CREATE TABLE hub_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    },
  ],
};

export function hubId(db: Db): string {
  const row = db.prepare(`SELECT value FROM hub_settings WHERE key = 'hub_id'`).get() as { value: string } | undefined;
  if (row) return row.value;
  const id = newId('hub');
  db.prepare(`INSERT INTO hub_settings (key, value) VALUES ('hub_id', ?)`).run(id);
  return id;
}
