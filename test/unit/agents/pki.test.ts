import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HubPki, certFingerprint } from '../../../hub/src/agents/pki.ts';
import { generateKeyAndCsr } from '../../../node-agent/src/enroll/csr.ts';
import { formatEnrollmentToken, parseEnrollmentToken } from '../../../proto/src/enrollment-token.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-pki-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hub PKI', () => {
  it('creates the CA and server certificate once, keys 0600, and reloads them', async () => {
    const a = await HubPki.open({ dir, serverNames: ['ferry.example.net', '10.9.8.7', '0.0.0.0'] });
    expect(statSync(path.join(dir, 'ca.key')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'server.key')).mode & 0o777).toBe(0o600);
    const server = new X509Certificate(readFileSync(path.join(dir, 'server.crt')));
    expect(server.subjectAltName).toContain('DNS:ferry.example.net');
    expect(server.subjectAltName).toContain('IP Address:10.9.8.7');
    expect(server.subjectAltName).toContain('DNS:localhost');
    expect(server.subjectAltName).not.toContain('0.0.0.0');
    expect(server.checkIssued(new X509Certificate(a.caPem))).toBe(true);
    const b = await HubPki.open({ dir, serverNames: ['ferry.example.net', '10.9.8.7'] });
    expect(b.caFingerprint()).toBe(a.caFingerprint());
    expect(b.serverChainPem).toBe(a.serverChainPem);
    expect(a.caFingerprint()).toBe(certFingerprint(a.caPem));
  });

  it('signs a CSR as a one-year clientAuth certificate named for the agent', async () => {
    const pki = await HubPki.open({ dir });
    const { csrPem } = await generateKeyAndCsr('whatever the agent claims');
    const issued = await pki.signCsr(csrPem, 'agt_abc');
    const cert = new X509Certificate(issued.pem);
    expect(cert.subject).toBe('CN=agt_abc');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(365);
    expect(pki.verifyIssued(cert.raw)).toBe(true);
    expect(issued.fingerprint).toBe(certFingerprint(cert.raw));
    await expect(pki.signCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----', 'agt_x')).rejects.toThrow(/not a valid/);
  });

  it('does not accept a certificate from another CA as issued', async () => {
    const other = await HubPki.open({ dir: path.join(dir, 'other') });
    const { csrPem } = await generateKeyAndCsr('x');
    const foreign = await other.signCsr(csrPem, 'agt_foreign');
    const pki = await HubPki.open({ dir });
    expect(pki.verifyIssued(new X509Certificate(foreign.pem).raw)).toBe(false);
  });
});

describe('enrollment token format', () => {
  it('round-trips and rejects malformed tokens', () => {
    const t = { secret: 'A'.repeat(32), caFingerprint: 'ab'.repeat(32) };
    expect(parseEnrollmentToken(formatEnrollmentToken(t))).toEqual(t);
    expect(parseEnrollmentToken('fet1.short.' + 'ab'.repeat(32))).toBeNull();
    expect(parseEnrollmentToken('fet2.' + 'A'.repeat(32) + '.' + 'ab'.repeat(32))).toBeNull();
    expect(parseEnrollmentToken('fet1.' + 'A'.repeat(32) + '.' + 'AB'.repeat(32))).toBeNull();
  });
});
