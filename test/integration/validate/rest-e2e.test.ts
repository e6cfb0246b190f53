import { execSync } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestHub, type TestHub } from '../../helpers/test-hub.ts';
import { createPgDatabase, dropPgDatabase, loadPgChinook, psql } from '../connectors/fixtures.ts';

let th: TestHub;
let src: string;
let dst: string;

beforeAll(async () => {
  src = createPgDatabase();
  loadPgChinook(src);
  dst = createPgDatabase();
  execSync(`pg_dump -h 127.0.0.1 -U postgres ${src} | psql -q -h 127.0.0.1 -U postgres -d ${dst} -v ON_ERROR_STOP=1`, { stdio: ['ignore', 'ignore', 'inherit'] });
  psql(dst, `UPDATE track SET name = 'Damaged' WHERE track_id = 7;`);
  th = await startTestHub({ listen: true, builtin: true });
});
afterAll(async () => {
  await th?.stop();
  dropPgDatabase(src);
  dropPgDatabase(dst);
});

async function api(method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(th.url + p, { method, headers: { authorization: `Bearer ${th.adminKey}`, 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
}

describe('validation through the REST API and the built-in agent', () => {
  it('runs a validation job, reports the changed row, and serves a certificate that verifies with the JWK set', async () => {
    const conn = async (name: string, database: string) =>
      (await json<{ id: string }>(await api('POST', '/api/v1/connections', { name, type: 'postgresql', host: '127.0.0.1', port: 5432, user: 'postgres', database }))).id;
    const s = await conn('src', src);
    const t = await conn('dst', dst);
    const tables = ['track', 'album', 'artist'].map((x) => ({ source: `public.${x}`, target: `public.${x}` }));
    const r = await api('POST', '/api/v1/validations', { source_connection_id: s, target_connection_id: t, tables, kinds: ['statistical', 'semantic', 'referential'] });
    expect(r.status).toBe(202);
    const v = await json<{ id: string; job_id: string }>(r);
    let got: { status: string; outcome: string | null; results: Record<string, { status: string; details: { tables?: { table: string; first_changed?: { key: unknown; columns: string[] }[] }[] } }> | null } = { status: 'queued', outcome: null, results: null };
    for (let i = 0; i < 240 && !['completed', 'failed'].includes(got.status); i++) {
      await new Promise((res) => setTimeout(res, 250));
      got = await json(await api('GET', `/api/v1/validations/${v.id}`));
    }
    expect(got.status).toBe('completed');
    expect(got.outcome).toBe('failed');
    const track = got.results!.semantic!.details.tables!.find((x) => x.table === 'public.track')!;
    expect(track.first_changed).toEqual([{ key: { track_id: '7' }, columns: ['name'] }]);
    expect(got.results!.referential!.status).toBe('passed');
    expect(got.results!.structural!.status).toBe('not_run');

    const jws = await (await api('GET', `/api/v1/validations/${v.id}/certificate`, undefined, { accept: 'application/jose' })).text();
    const set = await json<{ keys: { x: string; kid: string }[] }>(await fetch(th.url + '/api/v1/certificates/jwks.json'));
    const [h, p, sig] = jws.split('.') as [string, string, string];
    const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: set.keys[0]!.x }, format: 'jwk' });
    expect(verify(null, Buffer.from(`${h}.${p}`), pub, Buffer.from(sig, 'base64url'))).toBe(true);
    const cert = JSON.parse(Buffer.from(p, 'base64url').toString()) as { outcome: string; checks: Record<string, { status: string }> };
    expect(cert.outcome).toBe('failed');
    expect(cert.checks.semantic!.status).toBe('failed');
    expect(cert.checks.behavioral).toMatchObject({ status: 'not_run', reason: 'not requested' });
    const html = await (await api('GET', `/api/v1/validations/${v.id}/certificate?format=html`)).text();
    expect(html).toContain('Behavioral Equivalence Certificate');
  });

  it('answers 404 for an unknown migration and 422 without a mapping', async () => {
    expect((await api('GET', '/api/v1/migrations/mig_nope/validation')).status).toBe(404);
    expect((await api('GET', '/api/v1/migrations/mig_nope/certificate')).status).toBe(404);
    expect((await api('POST', '/api/v1/validations', { source_connection_id: 'a' })).status).toBe(422);
  });
});
