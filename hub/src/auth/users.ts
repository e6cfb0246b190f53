import { newId } from '../../../common/src/ids.ts';
import type { Db } from '../store/db.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import type { Scope } from './scopes.ts';

export interface User {
  id: string;
  email: string;
  scopes: Scope[];
}

/** The admin user. Ferry has one user today; the table is ready for more. */
export const ADMIN_EMAIL = 'admin';

export class UserStore {
  constructor(private readonly db: Db) {}

  ensureAdmin(): User {
    const row = this.db.prepare('SELECT id, email, scopes FROM users WHERE email = ?').get(ADMIN_EMAIL) as
      | { id: string; email: string; scopes: string }
      | undefined;
    if (row) return { id: row.id, email: row.email, scopes: JSON.parse(row.scopes) as Scope[] };
    const id = newId('user');
    this.db
      .prepare('INSERT INTO users (id, email, password_hash, scopes, created_at) VALUES (?, ?, NULL, ?, ?)')
      .run(id, ADMIN_EMAIL, JSON.stringify(['admin']), new Date().toISOString());
    return { id, email: ADMIN_EMAIL, scopes: ['admin'] };
  }

  hasPassword(email: string): boolean {
    const row = this.db.prepare('SELECT password_hash FROM users WHERE email = ?').get(email) as
      | { password_hash: string | null }
      | undefined;
    return !!row?.password_hash;
  }

  async setPassword(email: string, password: string): Promise<void> {
    const h = await hashPassword(password);
    const r = this.db.prepare('UPDATE users SET password_hash = ? WHERE email = ?').run(h, email);
    if (r.changes === 0) throw new Error(`no user ${email}`);
  }

  /** The user when the password matches; null otherwise (unknown user and wrong password look the same). */
  async verify(email: string, password: string): Promise<User | null> {
    const row = this.db.prepare('SELECT id, email, scopes, password_hash FROM users WHERE email = ?').get(email) as
      | { id: string; email: string; scopes: string; password_hash: string | null }
      | undefined;
    if (!row?.password_hash) {
      // Spend the same time as a real check so the answer does not reveal which users exist.
      await hashPassword(password);
      return null;
    }
    if (!(await verifyPassword(password, row.password_hash))) return null;
    return { id: row.id, email: row.email, scopes: JSON.parse(row.scopes) as Scope[] };
  }

  getById(id: string): User | null {
    const row = this.db.prepare('SELECT id, email, scopes FROM users WHERE id = ?').get(id) as
      | { id: string; email: string; scopes: string }
      | undefined;
    return row ? { id: row.id, email: row.email, scopes: JSON.parse(row.scopes) as Scope[] } : null;
  }
}
