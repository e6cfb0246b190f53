import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestHub, type ErrorJson, type TestHub } from '../../helpers/test-hub.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ env: { FERRY_ADMIN_PASSWORD: 'correct horse battery' } });
});
afterAll(() => t.stop());

type Pair = { access_token: string; refresh_token: string; token_type: string; expires_in: number };

describe('login and refresh (JWT, seed 004)', () => {
  it('logs in the admin with the first-start password and uses the access token', async () => {
    const r = await t.req('POST', '/api/v1/auth/login', { key: null, body: { email: 'admin', password: 'correct horse battery' } });
    expect(r.status).toBe(200);
    const p = await json<Pair>(r);
    expect(p.token_type).toBe('bearer');
    expect(p.expires_in).toBe(3600);
    expect(p.access_token.split('.')).toHaveLength(3);
    const list = await t.req('GET', '/api/v1/api-keys', { key: p.access_token });
    expect(list.status).toBe(200);
  });

  it('refuses a wrong password with 401 and the documented body', async () => {
    const r = await t.req('POST', '/api/v1/auth/login', { key: null, body: { email: 'admin', password: 'wrong password' } });
    expect(r.status).toBe(401);
    expect((await json<ErrorJson>(r)).error.code).toBe('invalid_credentials');
  });

  it('rotates refresh tokens: a used refresh token stops working', async () => {
    const p = await json<Pair>(await t.req('POST', '/api/v1/auth/login', { key: null, body: { username: 'admin', password: 'correct horse battery' } }));
    const r1 = await t.req('POST', '/api/v1/auth/refresh', { key: null, body: { refresh_token: p.refresh_token } });
    expect(r1.status).toBe(200);
    const p2 = await json<Pair>(r1);
    expect(p2.refresh_token).not.toBe(p.refresh_token);
    const again = await t.req('POST', '/api/v1/auth/refresh', { key: null, body: { refresh_token: p.refresh_token } });
    expect(again.status).toBe(401);
    // an access token is not a refresh token
    const wrongKind = await t.req('POST', '/api/v1/auth/refresh', { key: null, body: { refresh_token: p2.access_token } });
    expect(wrongKind.status).toBe(401);
  });
});

describe('API keys', () => {
  it('issues sk_live_, sk_test_ and sa_ keys once, stores only hashes, and revokes', async () => {
    const kinds = { live: 'sk_live_', test: 'sk_test_', service_account: 'sa_' } as const;
    const made: { id: string; key: string }[] = [];
    for (const [kind, prefix] of Object.entries(kinds)) {
      const r = await t.req('POST', '/api/v1/api-keys', { body: { name: `k-${kind}`, kind, scopes: ['write'] } });
      expect(r.status).toBe(201);
      const k = await json<{ id: string; key: string; prefix: string; scopes: string[] }>(r);
      expect(k.key.startsWith(prefix)).toBe(true);
      expect(k.prefix.length).toBeLessThan(k.key.length);
      const use = await t.req('GET', '/api/v1/connections', { key: k.key });
      expect(use.status).toBe(200);
      made.push(k);
    }
    const listed = await (await t.req('GET', '/api/v1/api-keys?limit=100')).text();
    for (const m of made) expect(listed).not.toContain(m.key);
    const db = new Database(path.join(t.dataDir, 'ferry.db'), { readonly: true });
    const dump = JSON.stringify(db.prepare('SELECT * FROM api_keys').all());
    db.close();
    for (const m of made) expect(dump).not.toContain(m.key);

    const first = made[0]!;
    const del = await t.req('DELETE', `/api/v1/api-keys/${first.id}`);
    expect(del.status).toBe(200);
    expect((await json<{ revoked_at: string | null }>(del)).revoked_at).not.toBeNull();
    const after = await t.req('GET', '/api/v1/connections', { key: first.key });
    expect(after.status).toBe(401);
  });

  it('enforces scopes: write cannot create keys, admin can', async () => {
    const w = await json<{ key: string }>(await t.req('POST', '/api/v1/api-keys', { body: { name: 'writer', scopes: ['write'] } }));
    const r = await t.req('POST', '/api/v1/api-keys', { key: w.key, body: { name: 'escalate', scopes: ['admin'] } });
    expect(r.status).toBe(403);
  });
});

describe('rate limits', () => {
  it('sends X-RateLimit headers and answers 429 with Retry-After past the limit', async () => {
    const small = await startTestHub({ env: { FERRY_RATE_LIMIT_PER_MINUTE: '5' } });
    try {
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 7; i++) {
        last = await small.req('GET', '/api/v1/jobs');
        statuses.push(last.status);
        expect(last.headers.get('x-ratelimit-limit')).toBe('5');
        expect(Number(last.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000 - 1);
      }
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect(statuses[5]).toBe(429);
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(last!.headers.get('x-ratelimit-remaining')).toBe('0');
      expect((await json<ErrorJson>(last!)).error.code).toBe('rate_limit_exceeded');
      // health stays reachable for load balancers
      expect((await small.req('GET', '/api/v1/health', { key: null })).status).toBe(200);
    } finally {
      await small.stop();
    }
  });
});
