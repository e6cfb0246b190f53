import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compactVerify, createLocalJWKSet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateSigningKey, type SigningKey } from '../../../hub/src/identity/signing-key.ts';
import { verifyCertificateCli } from '../../../hub/src/cli/verify-certificate.ts';
import { jwks, overallOutcome, signCertificate, verifyCertificate, type Certificate } from '../../../hub/src/validate/certificate.ts';
import { renderCertificateHtml } from '../../../hub/src/validate/render-html.ts';

function sample(): Certificate {
  const checks = {
    structural: { status: 'passed' as const, counts: { tables: 11, differences: 0 } },
    statistical: { status: 'passed' as const, counts: { tables: 11, columns: 64, differences: 0 } },
    referential: { status: 'passed' as const, counts: { foreign_keys: 11, orphans: 0 } },
    semantic: { status: 'passed' as const, counts: { rows: 15607, missing: 0, extra: 0, changed: 0 } },
    behavioral: { status: 'not_run' as const, reason: 'no workload given', counts: {} },
  };
  return {
    format: 'ferry-certificate/1',
    certificate_id: 'cert_abc',
    issued_at: '2026-02-02T14:30:00.000Z',
    migration_id: 'mig_abc',
    validation_id: 'val_abc',
    source: { dialect: 'postgresql', server_version: 'PostgreSQL 15', database: 'src', schema_digest: 'a'.repeat(64) },
    target: { dialect: 'postgresql', server_version: 'PostgreSQL 15', database: 'dst', schema_digest: 'b'.repeat(64) },
    plan_digest: 'c'.repeat(64),
    window: { started_at: '2026-02-02T14:00:00.000Z', finished_at: '2026-02-02T14:29:00.000Z' },
    outcome: overallOutcome(checks),
    checks,
    hub: { hub_id: 'hub_x', kid: 'k' },
  };
}

let dir: string;
let key: SigningKey;
let jws: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-cert-'));
  key = await loadOrCreateSigningKey(path.join(dir, 'keys'));
  jws = await signCertificate({ ...sample(), hub: { hub_id: 'hub_x', kid: key.kid } }, key);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Flip one byte of the JWS at `i` to another base64url character. */
function tamper(s: string, i: number): string {
  const c = s[i] === 'A' ? 'B' : 'A';
  return s.slice(0, i) + c + s.slice(i + 1);
}

describe('equivalence certificate', () => {
  it('states passed only when every kind that ran passed, and kinds not run with their reason', () => {
    const c = sample();
    expect(c.outcome).toBe('passed');
    expect(c.checks.behavioral).toEqual({ status: 'not_run', reason: 'no workload given', counts: {} });
    expect(overallOutcome({ ...c.checks, semantic: { status: 'failed', counts: { changed: 1 } } })).toBe('failed');
    expect(overallOutcome({ ...c.checks, referential: { status: 'error', reason: 'x', counts: {} } })).toBe('failed');
  });

  it('is a compact JWS with alg EdDSA that jose verifies against the published JWK set', async () => {
    const [h] = jws.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toMatchObject({ alg: 'EdDSA', kid: key.kid });
    const set = createLocalJWKSet(jwks([key]) as never);
    const { payload } = await compactVerify(jws, set);
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({ migration_id: 'mig_abc', plan_digest: 'c'.repeat(64) });
    const { certificate } = await verifyCertificate(jws, jwks([key]));
    expect(certificate.checks.semantic.counts.rows).toBe(15607);
  });

  it('verifies with node:crypto over the JWS signing input, independently of Ferry and jose', () => {
    const [h, p, s] = jws.split('.') as [string, string, string];
    const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: String(key.publicJwk.x) }, format: 'jwk' });
    expect(verify(null, Buffer.from(`${h}.${p}`, 'ascii'), pub, Buffer.from(s, 'base64url'))).toBe(true);
    // One changed byte of the payload or of the signature fails.
    const payload = Buffer.from(p, 'base64url');
    payload[20] = payload[20]! ^ 1;
    expect(verify(null, Buffer.from(`${h}.${payload.toString('base64url')}`, 'ascii'), pub, Buffer.from(s, 'base64url'))).toBe(false);
    const sig = Buffer.from(s, 'base64url');
    sig[5] = sig[5]! ^ 0x80;
    expect(verify(null, Buffer.from(`${h}.${p}`, 'ascii'), pub, sig)).toBe(false);
  });

  it('rejects any single changed byte of header, payload or signature', async () => {
    const [h, p] = jws.split('.') as [string, string, string];
    for (const i of [3, h.length + 10, h.length + 1 + Math.floor(p.length / 2), jws.length - 10]) {
      await expect(verifyCertificate(tamper(jws, i), jwks([key]))).rejects.toMatchObject({ code: expect.stringMatching(/^certificate_/) });
    }
  });

  it('rejects a certificate signed by another key', async () => {
    const other = await loadOrCreateSigningKey(path.join(dir, 'other'));
    const forged = await signCertificate(sample(), { privateKey: other.privateKey, kid: key.kid });
    await expect(verifyCertificate(forged, jwks([key]))).rejects.toMatchObject({ code: 'certificate_signature_invalid' });
  });

  it('verify-certificate CLI: exit 0 with the JWK set or PEM, 1 on one changed byte, naming why', async () => {
    const f = path.join(dir, 'cert.jws');
    const bad = path.join(dir, 'bad.jws');
    const set = path.join(dir, 'jwks.json');
    const pem = path.join(dir, 'pub.pem');
    writeFileSync(f, jws);
    writeFileSync(bad, tamper(jws, jws.length - 20));
    writeFileSync(set, JSON.stringify(jwks([key])));
    writeFileSync(pem, key.publicKey.export({ type: 'spki', format: 'pem' }));
    const lines: string[] = [];
    const out = { log: (s: string) => lines.push(s), error: (s: string) => lines.push(s) };
    expect(await verifyCertificateCli([f, '--public-key', set], out)).toBe(0);
    expect(lines[0]).toMatch(/^VALID/);
    expect(await verifyCertificateCli([f, '--public-key', pem], out)).toBe(0);
    lines.length = 0;
    expect(await verifyCertificateCli([bad, '--public-key', set], out)).toBe(1);
    expect(lines.join('\n')).toMatch(/INVALID: certificate_signature_invalid/);
    expect(await verifyCertificateCli([], out)).toBe(2);
  });

  it('renders readable HTML naming every kind and escaping values', () => {
    const c = sample();
    c.source.database = '<script>';
    const html = renderCertificateHtml(c, jws);
    for (const k of ['structural', 'statistical', 'referential', 'semantic', 'behavioral', 'no workload given']) expect(html).toContain(k);
    expect(html).not.toContain('<script>');
  });
});
