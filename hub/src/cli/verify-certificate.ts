/**
 * `ferry-hub verify-certificate FILE [--public-key KEY]`: check a certificate offline.
 * FILE holds the JWS (compact) as downloaded with `Accept: application/jose`. KEY is a JWK,
 * a JWK set (the hub's /api/v1/certificates/jwks.json) or a PEM public key; without it, the
 * local hub's own key under $FERRY_DATA_DIR/keys is used. Exit 0 when valid, 1 when the
 * certificate is tampered with or does not verify, 2 on usage errors.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { JWK } from 'jose';
import { CertificateError, verifyCertificate } from '../validate/certificate.ts';

type Out = { log: (s: string) => void; error: (s: string) => void };

export function loadPublicKey(file: string): { keys: JWK[] } | KeyObject {
  const text = readFileSync(file, 'utf8').trim();
  if (text.startsWith('-----BEGIN')) return createPublicKey(text);
  const j = JSON.parse(text) as JWK | { keys: JWK[] };
  if ('keys' in j && Array.isArray(j.keys)) return { keys: j.keys };
  const jwk = j as JWK;
  // A private JWK given by mistake still verifies through its public half only.
  const { d: _d, ...pub } = jwk;
  return { keys: [pub] };
}

export async function verifyCertificateCli(args: string[], out: Out = console): Promise<number> {
  let file: string | undefined;
  let keyFile: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--public-key') keyFile = args[++i];
    else if (a?.startsWith('--public-key=')) keyFile = a.slice('--public-key='.length);
    else if (!file) file = a;
    else {
      out.error(`verify-certificate: unexpected argument ${JSON.stringify(a)}`);
      return 2;
    }
  }
  if (!file) {
    out.error('usage: ferry-hub verify-certificate FILE [--public-key KEY]   (KEY: JWK, JWK set or PEM)');
    return 2;
  }
  if (!keyFile) {
    const local = path.join(path.resolve(process.env.FERRY_DATA_DIR ?? './data'), 'keys', 'signing-ed25519.pem');
    if (!existsSync(local)) {
      out.error('verify-certificate: give --public-key KEY (the hub\'s /api/v1/certificates/jwks.json, a JWK or a PEM)');
      return 2;
    }
    keyFile = local;
  }
  let key: { keys: JWK[] } | KeyObject;
  let jws: string;
  try {
    key = loadPublicKey(keyFile);
    jws = readFileSync(file, 'utf8');
  } catch (e) {
    out.error(`verify-certificate: cannot read ${keyFile} or ${file}: ${(e as Error).message}`);
    return 2;
  }
  // A JSON file saved from the API's JSON form carries the JWS under "jws".
  if (jws.trim().startsWith('{')) {
    try {
      const j = JSON.parse(jws) as { jws?: string };
      if (typeof j.jws === 'string') jws = j.jws;
    } catch {
      // not JSON: verification below reports it as malformed
    }
  }
  try {
    const { certificate, kid } = await verifyCertificate(jws, key);
    out.log(`VALID: certificate ${certificate.certificate_id} signed by hub ${certificate.hub.hub_id} (kid ${kid ?? 'none'})`);
    out.log(`outcome: ${certificate.outcome}; migration: ${certificate.migration_id ?? '(on-demand)'}; window ${certificate.window.started_at} .. ${certificate.window.finished_at}`);
    for (const [kind, c] of Object.entries(certificate.checks)) {
      out.log(`  ${kind.padEnd(12)} ${c.status}${c.reason ? ` (${c.reason})` : ''} ${JSON.stringify(c.counts)}`);
    }
    return 0;
  } catch (e) {
    if (e instanceof CertificateError) {
      out.error(`INVALID: ${e.code}: ${e.message}`);
      return 1;
    }
    out.error(`INVALID: ${(e as Error).message}`);
    return 1;
  }
}
