import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { ApiEnv } from '../env.ts';
import { sendError } from '../errors.ts';

export interface RateLimitOptions {
  /** Requests per window per client. */
  limit: number;
  /** @default 60000 */
  windowMs?: number;
  now?: () => number;
}

/**
 * Fixed-window limit per presented credential (per client address without one). It runs before
 * authentication, so guessing keys is limited too; the key is a hash of the header, never the
 * header itself, so no credential is kept in memory in clear.
 */
export function rateLimit(opts: RateLimitOptions): MiddlewareHandler<ApiEnv> {
  const windowMs = opts.windowMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const windows = new Map<string, { reset: number; count: number }>();
  return async (c, next) => {
    if (c.req.path === '/api/v1/health' || c.req.path === '/metrics') return next();
    const auth = c.req.header('authorization');
    let client: string;
    if (auth) client = 'k:' + createHash('sha256').update(auth).digest('base64url').slice(0, 22);
    else {
      let addr = 'unknown';
      try {
        addr = getConnInfo(c).remote.address ?? 'unknown';
      } catch {
        // app.request() in tests has no socket
      }
      client = 'ip:' + addr;
    }
    const t = now();
    let w = windows.get(client);
    if (!w || w.reset <= t) {
      w = { reset: t + windowMs, count: 0 };
      windows.set(client, w);
      if (windows.size > 10_000) for (const [k, v] of windows) if (v.reset <= t) windows.delete(k);
    }
    w.count++;
    const remaining = Math.max(0, opts.limit - w.count);
    const resetEpoch = Math.ceil(w.reset / 1000);
    const setHeaders = () => {
      c.header('X-RateLimit-Limit', String(opts.limit));
      c.header('X-RateLimit-Remaining', String(remaining));
      c.header('X-RateLimit-Reset', String(resetEpoch));
    };
    if (w.count > opts.limit) {
      const retry = Math.max(1, Math.ceil((w.reset - t) / 1000));
      setHeaders();
      c.header('Retry-After', String(retry));
      return sendError(c, 429, 'rate_limit_exceeded', `Too many requests; retry after ${retry} s`, { limit: opts.limit, retry_after_seconds: retry });
    }
    await next();
    c.res.headers.set('X-RateLimit-Limit', String(opts.limit));
    c.res.headers.set('X-RateLimit-Remaining', String(remaining));
    c.res.headers.set('X-RateLimit-Reset', String(resetEpoch));
  };
}
