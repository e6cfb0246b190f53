import path from 'node:path';
import { loadConfig } from '../config/config.ts';
import { applyMigrations, openDb } from '../store/db.ts';
import { authMigrations } from '../auth/migrations.ts';
import { UserStore } from '../auth/users.ts';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    process.stderr.write('New admin password: ');
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** `ferry-hub set-password`: works on the state database directly, hub running or not (SQLite WAL allows it). */
export async function setPassword(_args: string[]): Promise<number> {
  const config = loadConfig();
  const pw = config.FERRY_ADMIN_PASSWORD ?? (await readStdin());
  if (pw.length < 8) {
    console.error('ferry-hub: the password must be at least 8 characters');
    return 2;
  }
  const db = openDb(path.join(config.dataDir, 'ferry.db'));
  try {
    applyMigrations(db, [authMigrations]);
    const users = new UserStore(db);
    users.ensureAdmin();
    await users.setPassword('admin', pw);
    console.log('admin password set');
    return 0;
  } finally {
    db.close();
  }
}
