import { status } from '@grpc/grpc-js';
import { FerryError } from '../../../common/src/errors.ts';
import { parseEnrollmentToken } from '../../../proto/src/enrollment-token.ts';
import type { EnrollResponse__Output, FetchCertificateResponse__Output } from '../../../proto/src/load.ts';
import { enrollmentClient, grpcStatusOf } from '../session/credentials.ts';
import { generateKeyAndCsr } from './csr.ts';
import { fetchPinnedCa, formatHubAddress, parseHubAddress } from './pin.ts';
import { isEnrolled, saveEnrollment } from './state.ts';

export interface EnrollOptions {
  hub: string;
  token: string;
  stateDir: string;
  name?: string;
  hostname: string;
  version: string;
  /** Replace an existing enrollment in stateDir. @default false */
  force?: boolean;
}

export interface EnrollResult {
  agentId: string;
  status: 'pending' | 'approved';
}

/** Turn a gRPC failure into a FerryError whose message is the hub's own explanation. */
function hubError(e: unknown, what: string): FerryError {
  const s = grpcStatusOf(e);
  if (!s) return new FerryError('enroll_failed', `${what} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  if (s.code === status.UNAVAILABLE || s.code === status.DEADLINE_EXCEEDED) {
    return new FerryError('hub_unreachable', `${what} failed: the hub is unreachable (${s.details})`, { retryable: true, cause: e });
  }
  return new FerryError(s.ferryCode ?? 'enroll_refused', `${what} refused by the hub: ${s.details}`, { cause: e });
}

/**
 * `ferry-agent enroll`: pin the hub CA by the fingerprint in the token, create a key and CSR,
 * call Enroll over TLS verified against that CA, and store key, CA, identity and (when the
 * token auto-approves) the certificate in the state directory.
 */
export async function enroll(o: EnrollOptions): Promise<EnrollResult> {
  const token = parseEnrollmentToken(o.token);
  if (!token) throw new FerryError('invalid_enrollment_token', 'The enrollment token is malformed; expected fet1.<secret>.<ca-fingerprint> exactly as the hub printed it');
  if (isEnrolled(o.stateDir) && !o.force) {
    throw new FerryError('already_enrolled', `${o.stateDir} already holds an enrollment; use another --state-dir, or --force to replace it`);
  }
  const addr = parseHubAddress(o.hub);
  const hub = formatHubAddress(addr);
  const caPem = await fetchPinnedCa(addr, token.caFingerprint);
  const name = o.name || o.hostname;
  const { keyPem, csrPem } = await generateKeyAndCsr(name);
  const client = enrollmentClient(hub, caPem);
  let res: EnrollResponse__Output;
  try {
    res = await new Promise<EnrollResponse__Output>((resolve, reject) =>
      client.Enroll({ token: o.token, csr_pem: csrPem, hostname: o.hostname, name, version: o.version }, { deadline: Date.now() + 30_000 }, (err, r) =>
        err || !r ? reject(err ?? new Error('empty response')) : resolve(r),
      ),
    );
  } catch (e) {
    throw hubError(e, 'Enrollment');
  } finally {
    client.close();
  }
  const approved = res.status === 'approved' && !!res.certificate_pem;
  saveEnrollment(o.stateDir, {
    identity: {
      agent_id: res.agent_id,
      hub,
      pickup_secret: res.pickup_secret,
      name,
      ca_fingerprint: token.caFingerprint,
      enrolled_at: new Date().toISOString(),
    },
    keyPem,
    caPem,
    certPem: approved ? res.certificate_pem : undefined,
  });
  return { agentId: res.agent_id, status: approved ? 'approved' : 'pending' };
}

/** One FetchCertificate poll. */
export async function fetchCertificate(hub: string, caPem: string, agentId: string, pickupSecret: string): Promise<FetchCertificateResponse__Output> {
  const client = enrollmentClient(hub, caPem);
  try {
    return await new Promise<FetchCertificateResponse__Output>((resolve, reject) =>
      client.FetchCertificate({ agent_id: agentId, pickup_secret: pickupSecret }, { deadline: Date.now() + 15_000 }, (err, r) =>
        err || !r ? reject(err ?? new Error('empty response')) : resolve(r),
      ),
    );
  } catch (e) {
    throw hubError(e, 'Certificate pickup');
  } finally {
    client.close();
  }
}
