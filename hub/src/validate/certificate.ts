/**
 * The Behavioral Equivalence Certificate: a JSON document of what validation proved, signed by
 * the hub's Ed25519 key as a JWS in compact serialization (RFC 7515, `alg: EdDSA` per RFC 8037).
 * The payload is the certificate's canonical JSON (keys sorted), so any JOSE library verifies it
 * and two hubs rendering the same facts produce the same bytes. Format: docs/certificate.md.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { CompactSign, compactVerify, importJWK, type JWK } from 'jose';
import { FerryError } from '../../../common/src/errors.ts';
import { canonicalJson } from '../migrate/planner/digest.ts';
import type { SigningKey } from '../identity/signing-key.ts';

export const CERTIFICATE_FORMAT = 'ferry-certificate/1';
export const CERTIFICATE_TYP = 'ferry-certificate+jws';
export const VALIDATION_KINDS = ['structural', 'statistical', 'referential', 'semantic', 'behavioral'] as const;
export type ValidationKind = (typeof VALIDATION_KINDS)[number];

/** What identifies one end of the migration at validation time. */
export interface Fingerprint {
  dialect: string;
  server_version: string;
  database: string;
  /** sha256 hex of the canonical JSON of the validated tables' catalog (names, columns, types, keys). */
  schema_digest: string;
}

/** inconclusive: nothing failed, but part of the kind could not be compared (e.g. untranslatable queries). */
export type KindStatus = 'passed' | 'failed' | 'inconclusive' | 'not_run' | 'error';

export interface KindOutcome {
  status: KindStatus;
  /** Why a kind did not run or errored; absent when it ran. */
  reason?: string;
  /** Numbers that state what was checked, e.g. { tables: 11, rows: 15607, differences: 0 }. */
  counts: Record<string, number>;
  /** behavioral only: each workload query by name, with its outcome and where it came from. */
  queries?: { name: string; status: string; source: string }[];
}

export interface Certificate {
  format: typeof CERTIFICATE_FORMAT;
  certificate_id: string;
  issued_at: string;
  migration_id: string | null;
  validation_id: string;
  source: Fingerprint;
  target: Fingerprint;
  /** sha256 of the plan's canonical JSON (hub planner `planDigest`); null for an on-demand validation without a plan. */
  plan_digest: string | null;
  /** When the validation started and finished. */
  window: { started_at: string; finished_at: string };
  /** passed only when every kind that ran passed; failed when one failed or errored; kinds not run are stated in `checks`. */
  outcome: 'passed' | 'failed' | 'inconclusive';
  checks: Record<ValidationKind, KindOutcome>;
  hub: { hub_id: string; kid: string };
}

export class CertificateError extends FerryError {
  constructor(code: 'certificate_malformed' | 'certificate_signature_invalid' | 'certificate_key_unknown' | 'certificate_not_found', message: string) {
    super(code, message, { status: code === 'certificate_not_found' ? 404 : 422 });
  }
}

/** The outcome a certificate states: failed as soon as one kind that ran failed or errored. */
export function overallOutcome(checks: Record<ValidationKind, KindOutcome>): 'passed' | 'failed' | 'inconclusive' {
  const ran = VALIDATION_KINDS.map((k) => checks[k]).filter((c) => c.status !== 'not_run');
  if (ran.length === 0) return 'inconclusive';
  if (ran.some((c) => c.status === 'failed' || c.status === 'error')) return 'failed';
  return ran.every((c) => c.status === 'passed') ? 'passed' : 'inconclusive';
}

/** sha256 hex of canonical JSON: the schema digest of a fingerprint. */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** Sign: JWS compact, protected header {alg: EdDSA, kid, typ}, payload = canonical JSON of the certificate. */
export async function signCertificate(cert: Certificate, key: Pick<SigningKey, 'privateKey' | 'kid'>): Promise<string> {
  const payload = new TextEncoder().encode(canonicalJson(cert));
  return new CompactSign(payload).setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: CERTIFICATE_TYP, cty: 'application/json' }).sign(key.privateKey);
}

/** The hub's public keys as an RFC 7517 JWK set (what `/api/v1/certificates/jwks.json` serves). */
export function jwks(keys: Pick<SigningKey, 'publicJwk'>[]): { keys: JWK[] } {
  return { keys: keys.map((k) => ({ ...k.publicJwk })) };
}

/**
 * Verify a compact JWS against a key set (or one key) and return the certificate. Throws
 * CertificateError on any tampering: malformed parts, wrong alg, unknown kid, bad signature,
 * or a payload that is not a certificate.
 */
export async function verifyCertificate(jws: string, keys: { keys: JWK[] } | KeyObject): Promise<{ certificate: Certificate; kid: string | undefined }> {
  const parts = jws.trim().split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) {
    throw new CertificateError('certificate_malformed', 'Not a JWS in compact serialization (three base64url parts separated by dots)');
  }
  let header: { alg?: string; kid?: string };
  try {
    header = JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString('utf8')) as { alg?: string; kid?: string };
  } catch {
    throw new CertificateError('certificate_malformed', 'The JWS protected header is not JSON');
  }
  if (header.alg !== 'EdDSA') throw new CertificateError('certificate_malformed', `Unexpected alg ${JSON.stringify(header.alg)}; certificates are signed with EdDSA`);
  let key: KeyObject | Awaited<ReturnType<typeof importJWK>>;
  if ('keys' in keys) {
    const candidates = keys.keys.filter((k) => k.kty === 'OKP' && k.crv === 'Ed25519' && (!header.kid || !k.kid || k.kid === header.kid));
    const jwk = candidates[0];
    if (!jwk) throw new CertificateError('certificate_key_unknown', `No Ed25519 key in the key set matches kid ${JSON.stringify(header.kid)}`);
    key = await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA');
  } else {
    key = keys;
  }
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jws.trim(), key, { algorithms: ['EdDSA'] }));
  } catch (e) {
    throw new CertificateError('certificate_signature_invalid', `Signature does not verify: ${(e as Error).message}`);
  }
  let certificate: Certificate;
  try {
    certificate = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload)) as Certificate;
  } catch {
    throw new CertificateError('certificate_malformed', 'The signed payload is not JSON');
  }
  if (certificate?.format !== CERTIFICATE_FORMAT) {
    throw new CertificateError('certificate_malformed', `Payload format is ${JSON.stringify(certificate?.format)}, expected ${CERTIFICATE_FORMAT}`);
  }
  return { certificate, kid: header.kid };
}
