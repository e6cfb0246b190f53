import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type ErrorJson, type TestHub } from '../../helpers/test-hub.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ env: { FERRY_MAX_BODY_BYTES: '65536' } });
});
afterAll(() => t.stop());

type Case = { name: string; method: string; path: string; body?: unknown; raw?: string; headers?: Record<string, string>; key?: string | null };

const sqlish = ["' OR 1=1 --", '1; DROP TABLE jobs', '"; SELECT * FROM api_keys; --', '../../etc/passwd', '%00', 'x'.repeat(300)];

const cases: Case[] = [
  { name: 'no credentials', method: 'GET', path: '/api/v1/jobs', key: null },
  { name: 'basic auth instead of bearer', method: 'GET', path: '/api/v1/jobs', headers: { authorization: 'Basic YWRtaW46YWRtaW4=' }, key: null },
  { name: 'bearer without token', method: 'GET', path: '/api/v1/jobs', headers: { authorization: 'Bearer' }, key: null },
  { name: 'garbage bearer', method: 'GET', path: '/api/v1/jobs', key: 'not-a-key' },
  { name: 'wrong key', method: 'GET', path: '/api/v1/jobs', key: 'sk_test_' + 'z'.repeat(32) },
  { name: 'malformed JSON', method: 'POST', path: '/api/v1/connections', raw: '{"name": "x",', headers: { 'content-type': 'application/json' } },
  { name: 'JSON array body', method: 'POST', path: '/api/v1/connections', body: [1, 2, 3] },
  { name: 'JSON string body', method: 'POST', path: '/api/v1/connections', body: 'hello' },
  { name: 'null body', method: 'POST', path: '/api/v1/connections', raw: 'null', headers: { 'content-type': 'application/json' } },
  { name: 'empty body', method: 'POST', path: '/api/v1/connections', raw: '', headers: { 'content-type': 'application/json' } },
  { name: 'number for name', method: 'POST', path: '/api/v1/connections', body: { name: 12, type: 'postgresql', host: 'h' } },
  { name: 'unknown type', method: 'POST', path: '/api/v1/connections', body: { name: 'x', type: 'mongodb', host: 'h' } },
  { name: 'port out of range', method: 'POST', path: '/api/v1/connections', body: { name: 'x', type: 'postgresql', host: 'h', port: 99999 } },
  { name: 'port as string', method: 'POST', path: '/api/v1/connections', body: { name: 'x', type: 'postgresql', host: 'h', port: '5432; DROP' } },
  { name: 'unknown field', method: 'POST', path: '/api/v1/connections', body: { name: 'x', type: 'postgresql', host: 'h', evil: true } },
  { name: 'bad connection string', method: 'POST', path: '/api/v1/connections', body: { name: 'x', connection_string: 'not a url' } },
  { name: 'mismatched type and string', method: 'POST', path: '/api/v1/connections', body: { name: 'x', type: 'mysql', connection_string: 'postgresql://u:p@h/db' } },
  { name: 'sqlite without path', method: 'POST', path: '/api/v1/connections', body: { name: 'x', type: 'sqlite' } },
  { name: 'postgres without host', method: 'POST', path: '/api/v1/connections', body: { name: 'x', type: 'postgresql' } },
  { name: 'unknown agent', method: 'POST', path: '/api/v1/connections', body: { name: 'x', type: 'sqlite', path: '/tmp/a.db', agent_id: "agt_' OR '1'='1" } },
  { name: 'oversized body', method: 'POST', path: '/api/v1/connections', body: { name: 'x', description: 'y'.repeat(100_000) } },
  { name: 'text/plain body', method: 'POST', path: '/api/v1/api-keys', raw: 'name=x', headers: { 'content-type': 'text/plain' } },
  { name: 'api key with bad scope', method: 'POST', path: '/api/v1/api-keys', body: { name: 'x', scopes: ['root'] } },
  { name: 'api key with empty name', method: 'POST', path: '/api/v1/api-keys', body: { name: '   ' } },
  { name: 'api key bad expiry', method: 'POST', path: '/api/v1/api-keys', body: { name: 'x', expires_at: 'tomorrow' } },
  { name: 'login without password', method: 'POST', path: '/api/v1/auth/login', body: { email: 'admin' }, key: null },
  { name: 'login with object password', method: 'POST', path: '/api/v1/auth/login', body: { email: 'admin', password: { $ne: '' } }, key: null },
  { name: 'refresh with garbage', method: 'POST', path: '/api/v1/auth/refresh', body: { refresh_token: 'garbage-token-value' }, key: null },
  { name: 'limit not a number', method: 'GET', path: '/api/v1/jobs?limit=abc' },
  { name: 'negative offset', method: 'GET', path: '/api/v1/jobs?offset=-1' },
  { name: 'limit zero', method: 'GET', path: '/api/v1/jobs?limit=0' },
  { name: 'unknown status filter', method: 'GET', path: '/api/v1/jobs?status=exploded' },
  { name: 'unknown log level', method: 'GET', path: '/api/v1/jobs/job_x/logs?level=loud' },
  { name: 'bad since', method: 'GET', path: '/api/v1/jobs/job_x/logs?since=yesterday' },
  { name: 'delete unknown key', method: 'DELETE', path: '/api/v1/api-keys/key_missing' },
  { name: 'test unknown connection', method: 'POST', path: '/api/v1/connections/conn_missing/test' },
  { name: 'unknown agent id', method: 'GET', path: '/api/v1/agents/agt_missing' },
  { name: 'approve unknown agent', method: 'POST', path: '/api/v1/agents/agt_missing/approve' },
  { name: 'enrollment token negative expiry', method: 'POST', path: '/api/v1/agents/enrollment-tokens', body: { expires_in_seconds: -5 } },
  { name: 'method not allowed route', method: 'PUT', path: '/api/v1/connections' },
  ...sqlish.map((s) => ({ name: `sql-looking connection id ${s.slice(0, 20)}`, method: 'GET', path: `/api/v1/connections/${encodeURIComponent(s)}` })),
  ...sqlish.map((s) => ({ name: `sql-looking job id ${s.slice(0, 20)}`, method: 'GET', path: `/api/v1/progress/${encodeURIComponent(s)}` })),
];

describe('malformed requests', () => {
  it.each(cases)('$name → 4xx with the documented error body', async (c) => {
    const r = await t.req(c.method, c.path, { body: c.body, rawBody: c.raw, headers: c.headers, key: c.key });
    expect(r.status, `${c.method} ${c.path}`).toBeGreaterThanOrEqual(400);
    expect(r.status, `${c.method} ${c.path}`).toBeLessThan(500);
    const rid = r.headers.get('x-request-id');
    expect(rid).toBeTruthy();
    const b = (await r.json()) as ErrorJson;
    expect(b.error.code).toMatch(/^[a-z_]+$/);
    expect(b.error.message.length).toBeGreaterThan(0);
    expect(b.error.request_id).toBe(rid);
  });

  it('leaves the hub healthy and its tables intact afterwards', async () => {
    expect((await t.req('GET', '/api/v1/health', { key: null })).status).toBe(200);
    expect((await t.req('GET', '/api/v1/jobs')).status).toBe(200);
    expect((await t.req('GET', '/api/v1/api-keys')).status).toBe(200);
  });
});

describe('features not built yet', () => {
  it.each(['/api/v1/replications', '/api/v1/failover/live', '/api/v1/pipelines', '/api/v1/webhooks'])('%s answers 501 not_implemented', async (p) => {
    const r = await t.req('GET', p);
    expect(r.status).toBe(501);
    expect(((await r.json()) as ErrorJson).error.code).toBe('not_implemented');
  });
});
