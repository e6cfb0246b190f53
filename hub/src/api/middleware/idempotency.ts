import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Db, ModuleMigrations } from '../../store/db.ts';
import type { ApiEnv } from '../env.ts';
import { sendError } from '../errors.ts';

export const idempotencyMigrations: ModuleMigrations = {
  module: 'idempotency',
  migrations: [
    {
      version: 1,
      description: 'stored first responses of idempotent POSTs',
      up: `CREATE TABLE idempotency_keys (
        principal TEXT NOT NULL,
        key TEXT NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        body_hash TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('in_progress','done')),
        status INTEGER,
        content_type TEXT,
        body TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (principal, key)
      )`,
    },
  ],
};

interface Row {
  method: string;
  path: string;
  body_hash: string;
  state: 'in_progress' | 'done';
  status: number | null;
  content_type: string | null;
  body: string | null;
  created_at: number;
}

/**
 * X-Idempotency-Key on a POST: the first response (below 500) is stored for 24 h per credential
 * and key and replayed for any repeat with the same method, path and body. The same key with a
 * different request is a client bug and answered 422; a repeat while the first is still running
 * is answered 409 rather than run twice.
 */
export function idempotency(db: Db, opts: { ttlMs?: number; now?: () => number } = {}): MiddlewareHandler<ApiEnv> {
  const ttl = opts.ttlMs ?? 24 * 3600_000;
  const now = opts.now ?? Date.now;
  const get = db.prepare('SELECT * FROM idempotency_keys WHERE principal = ? AND key = ?');
  const claim = db.prepare(
    `INSERT INTO idempotency_keys (principal, key, method, path, body_hash, state, created_at)
     VALUES (?, ?, ?, ?, ?, 'in_progress', ?)`,
  );
  const finish = db.prepare(
    `UPDATE idempotency_keys SET state='done', status=?, content_type=?, body=? WHERE principal=? AND key=?`,
  );
  const drop = db.prepare('DELETE FROM idempotency_keys WHERE principal = ? AND key = ?');
  const expire = db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?');
  let lastExpire = 0;

  return async (c, next) => {
    const key = c.req.header('x-idempotency-key');
    if (c.req.method !== 'POST' || !key) return next();
    if (key.length > 255) return sendError(c, 400, 'bad_request', 'X-Idempotency-Key must be at most 255 characters');
    const principal = c.get('principal')?.id ?? 'anonymous';
    const t = now();
    if (t - lastExpire > 60_000) {
      expire.run(t - ttl);
      lastExpire = t;
    }
    const raw = await c.req.text();
    const bodyHash = createHash('sha256').update(raw).digest('hex');
    const existing = get.get(principal, key) as Row | undefined;
    if (existing && existing.created_at >= t - ttl) {
      if (existing.method !== c.req.method || existing.path !== c.req.path || existing.body_hash !== bodyHash) {
        return sendError(c, 422, 'idempotency_key_reused', 'This X-Idempotency-Key was used for a different request', {
          original_path: existing.path,
        });
      }
      if (existing.state === 'in_progress') {
        return sendError(c, 409, 'idempotency_in_progress', 'The first request with this X-Idempotency-Key is still being processed');
      }
      c.header('Idempotent-Replayed', 'true');
      return c.body(existing.body ?? '', (existing.status ?? 200) as 200, {
        'Content-Type': existing.content_type ?? 'application/json',
      });
    }
    if (existing) drop.run(principal, key);
    claim.run(principal, key, c.req.method, c.req.path, bodyHash, t);
    try {
      await next();
    } catch (e) {
      drop.run(principal, key);
      throw e;
    }
    if (c.res.status >= 500 || c.res.status === 429) {
      drop.run(principal, key);
      return;
    }
    const body = await c.res.clone().text();
    finish.run(c.res.status, c.res.headers.get('content-type'), body, principal, key);
  };
}
