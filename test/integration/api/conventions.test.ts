import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestHub, type ErrorJson, type TestHub } from '../../helpers/test-hub.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ env: { FERRY_MAX_BODY_BYTES: '4096' } });
});
afterAll(() => t.stop());

function expectErrorBody(b: ErrorJson, code?: string) {
  expect(typeof b.error.code).toBe('string');
  expect(b.error.code).toMatch(/^[a-z_]+$/);
  expect(typeof b.error.message).toBe('string');
  expect(b.error.request_id).toMatch(/\S+/);
  if (code) expect(b.error.code).toBe(code);
}

describe('request ids', () => {
  it('echoes the client X-Request-Id on success and on errors', async () => {
    const ok = await t.req('GET', '/api/v1/health', { headers: { 'x-request-id': 'client-123' } });
    expect(ok.headers.get('x-request-id')).toBe('client-123');
    const bad = await t.req('GET', '/api/v1/jobs/job_nope', { headers: { 'x-request-id': 'client-456' } });
    expect(bad.status).toBe(404);
    expect(bad.headers.get('x-request-id')).toBe('client-456');
    expect((await json<ErrorJson>(bad)).error.request_id).toBe('client-456');
  });

  it('generates one when absent or unsafe', async () => {
    const r = await t.req('GET', '/api/v1/health', { headers: { 'x-request-id': 'bad id with spaces <script>' } });
    expect(r.headers.get('x-request-id')).toMatch(/^req_[0-9a-z]{20}$/);
  });
});

describe('error bodies and status codes', () => {
  it('401 without credentials, with the documented body', async () => {
    const r = await t.req('GET', '/api/v1/connections', { key: null });
    expect(r.status).toBe(401);
    expectErrorBody(await json<ErrorJson>(r), 'authentication_required');
  });

  it('401 for an unknown API key and for a forged JWT', async () => {
    const r1 = await t.req('GET', '/api/v1/connections', { key: 'sk_live_' + 'A'.repeat(32) });
    expect(r1.status).toBe(401);
    expectErrorBody(await json<ErrorJson>(r1), 'invalid_api_key');
    const r2 = await t.req('GET', '/api/v1/connections', { key: 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln' });
    expect(r2.status).toBe(401);
    expectErrorBody(await json<ErrorJson>(r2), 'invalid_token');
  });

  it('403 when the scope is missing', async () => {
    const created = await json<{ key: string }>(await t.req('POST', '/api/v1/api-keys', { body: { name: 'reader', scopes: ['read'] } }));
    const list = await t.req('GET', '/api/v1/connections', { key: created.key });
    expect(list.status).toBe(200);
    const post = await t.req('POST', '/api/v1/connections', { key: created.key, body: { name: 'x', connection_string: 'postgresql://h/db' } });
    expect(post.status).toBe(403);
    expectErrorBody(await json<ErrorJson>(post), 'forbidden');
    const admin = await t.req('GET', '/api/v1/api-keys', { key: created.key });
    expect(admin.status).toBe(403);
  });

  it('404 with a resource-named code for unknown ids, including SQL-looking ones', async () => {
    for (const id of ["conn_1' OR '1'='1", 'conn_x;DROP TABLE connections;--', '%27%20OR%201=1']) {
      const r = await t.req('GET', `/api/v1/connections/${encodeURIComponent(id)}`);
      expect(r.status).toBe(404);
      expectErrorBody(await json<ErrorJson>(r), 'connection_not_found');
    }
    const still = await t.req('GET', '/api/v1/connections');
    expect(still.status).toBe(200);
  });

  it('400 for malformed JSON, 422 for wrong types, 413 for oversized bodies, 415 for other media types', async () => {
    const malformed = await t.req('POST', '/api/v1/api-keys', { rawBody: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expectErrorBody(await json<ErrorJson>(malformed));

    const wrong = await t.req('POST', '/api/v1/api-keys', { body: { name: 42, scopes: 'all' } });
    expect(wrong.status).toBe(422);
    const wb = await json<ErrorJson>(wrong);
    expectErrorBody(wb, 'validation_error');
    expect(JSON.stringify(wb.error.details)).toContain('name');

    const big = await t.req('POST', '/api/v1/api-keys', { body: { name: 'x'.repeat(10_000) } });
    expect(big.status).toBe(413);
    expectErrorBody(await json<ErrorJson>(big), 'payload_too_large');

    const xml = await t.req('POST', '/api/v1/api-keys', { rawBody: '<key/>', headers: { 'content-type': 'application/xml' } });
    expect(xml.status).toBe(415);
    expectErrorBody(await json<ErrorJson>(xml), 'unsupported_media_type');
  });

  it('404 for unknown routes in the same format', async () => {
    const r = await t.req('GET', '/api/v1/no-such-thing');
    expect(r.status).toBe(404);
    expectErrorBody(await json<ErrorJson>(r), 'route_not_found');
  });
});

describe('pagination and sorting', () => {
  it('answers the envelope with has_more, honours limit/offset and sort', async () => {
    for (let i = 0; i < 5; i++) await t.req('POST', '/api/v1/connections', { body: { name: `c${i}`, type: 'sqlite', path: `/tmp/x${i}.db`, agent_id: 'agt_missing' } });
    // agent_id is validated: those failed; create with a registered agent instead
    const conns = await json<{ data: unknown[] }>(await t.req('GET', '/api/v1/connections'));
    expect(conns.data).toHaveLength(0);

    for (let i = 0; i < 5; i++) await t.req('POST', '/api/v1/api-keys', { body: { name: `k${i}`, scopes: ['read'] } });
    const p1 = await json<{ data: { name: string; created_at: string }[]; pagination: { total: number; limit: number; offset: number; has_more: boolean } }>(
      await t.req('GET', '/api/v1/api-keys?limit=2&offset=1'),
    );
    expect(p1.data).toHaveLength(2);
    expect(p1.pagination.limit).toBe(2);
    expect(p1.pagination.offset).toBe(1);
    expect(p1.pagination.total).toBeGreaterThanOrEqual(6);
    expect(p1.pagination.has_more).toBe(true);

    const tooMany = await t.req('GET', '/api/v1/api-keys?limit=101');
    expect(tooMany.status).toBe(422);

    const jobsSorted = await t.req('GET', '/api/v1/jobs?sort=-created_at');
    expect(jobsSorted.status).toBe(200);
    const badSort = await t.req('GET', '/api/v1/jobs?sort=password');
    expect(badSort.status).toBe(400);
    expectErrorBody(await json<ErrorJson>(badSort), 'bad_request');
    const injectSort = await t.req('GET', `/api/v1/jobs?sort=${encodeURIComponent('created_at;DROP TABLE jobs')}`);
    expect(injectSort.status).toBe(422);
  });
});

describe('idempotency', () => {
  it('replays the first response for a repeated key and refuses the key for a different body', async () => {
    const h = { 'x-idempotency-key': 'idem-1' };
    const a = await t.req('POST', '/api/v1/api-keys', { body: { name: 'once', scopes: ['read'] }, headers: h });
    const b = await t.req('POST', '/api/v1/api-keys', { body: { name: 'once', scopes: ['read'] }, headers: h });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    const ja = await json<{ id: string; key: string }>(a);
    const jb = await json<{ id: string; key: string }>(b);
    expect(jb.id).toBe(ja.id);
    const listed = await json<{ data: { name: string }[] }>(await t.req('GET', '/api/v1/api-keys?limit=100'));
    expect(listed.data.filter((k) => k.name === 'once')).toHaveLength(1);

    const c = await t.req('POST', '/api/v1/api-keys', { body: { name: 'other', scopes: ['read'] }, headers: h });
    expect(c.status).toBe(422);
    expectErrorBody(await json<ErrorJson>(c), 'idempotency_key_reused');
  });
});

describe('OpenAPI and docs', () => {
  it('serves an OpenAPI 3.1 document built from the validating schemas', async () => {
    const r = await t.req('GET', '/api/v1/openapi.json', { key: null });
    expect(r.status).toBe(200);
    const doc = await json<{ openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } }>(r);
    expect(doc.openapi).toBe('3.1.0');
    for (const p of ['/api/v1/api-keys', '/api/v1/connections', '/api/v1/connections/{id}/test', '/api/v1/jobs', '/api/v1/progress/{job_id}', '/api/v1/health', '/api/v1/agents']) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
    expect(Object.keys(doc.components.schemas.CreateConnection?.properties ?? {})).toEqual(
      expect.arrayContaining(['name', 'type', 'connection_string', 'password', 'agent_id']),
    );
    const page = await t.req('GET', '/api/docs', { key: null });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/api/v1/connections');
  });
});

describe('health and metrics', () => {
  it('health needs no credential and reports database, repository and agents', async () => {
    const h = await json<{ status: string; version: string; database: { status: string }; repository: { status: string }; agents: { online: number } }>(
      await t.req('GET', '/api/v1/health', { key: null }),
    );
    expect(h.status).toBe('ok');
    expect(h.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(h.database.status).toBe('ok');
    expect(h.repository.status).toBe('ok');
    expect(h.agents.online).toBe(0);
  });

  it('exposes Prometheus metrics counting requests by route', async () => {
    await t.req('GET', '/api/v1/jobs');
    const m = await (await t.req('GET', '/metrics', { key: null })).text();
    expect(m).toMatch(/ferry_http_requests_total\{method="GET",route="\/api\/v1\/jobs",status="200"\} \d+/);
    expect(m).toContain('ferry_agents_online 0');
  });
});
