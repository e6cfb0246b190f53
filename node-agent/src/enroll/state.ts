import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The agent's state directory:
 *   agent.json  { agent_id, hub, pickup_secret, name, ca_fingerprint, enrolled_at } (0600)
 *   agent.key   PKCS#8 PEM, ECDSA P-256 (0600)
 *   agent.crt   client certificate, once approved
 *   ca.pem      the hub CA, pinned at enrollment
 */
export interface AgentIdentity {
  agent_id: string;
  /** host:port of the hub's gRPC endpoint */
  hub: string;
  pickup_secret: string;
  name: string;
  ca_fingerprint: string;
  enrolled_at: string;
}

export interface AgentState {
  identity: AgentIdentity;
  keyPem: string;
  caPem: string;
  /** undefined while the agent waits for approval */
  certPem: string | undefined;
}

const file = (dir: string, n: string) => path.join(dir, n);

/** Write atomically with the given mode (a crash never leaves half a key). */
function writeAtomic(p: string, data: string, mode: number): void {
  const tmp = `${p}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, p);
}

export function isEnrolled(dir: string): boolean {
  return existsSync(file(dir, 'agent.json')) && existsSync(file(dir, 'agent.key'));
}

export function saveEnrollment(dir: string, s: { identity: AgentIdentity; keyPem: string; caPem: string; certPem?: string }): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeAtomic(file(dir, 'agent.key'), s.keyPem, 0o600);
  writeAtomic(file(dir, 'ca.pem'), s.caPem, 0o644);
  if (s.certPem) writeAtomic(file(dir, 'agent.crt'), s.certPem, 0o644);
  writeAtomic(file(dir, 'agent.json'), JSON.stringify(s.identity, null, 2) + '\n', 0o600);
}

export function saveCertificate(dir: string, certPem: string): void {
  writeAtomic(file(dir, 'agent.crt'), certPem, 0o644);
}

/** Read the state, or throw a message telling the operator to enroll first. */
export function loadState(dir: string): AgentState {
  if (!isEnrolled(dir)) {
    throw new Error(`${dir} holds no enrollment (agent.json and agent.key); run "ferry-agent enroll --hub HOST:PORT --token TOKEN --state-dir ${dir}" first`);
  }
  const identity = JSON.parse(readFileSync(file(dir, 'agent.json'), 'utf8')) as AgentIdentity;
  const certPath = file(dir, 'agent.crt');
  return {
    identity,
    keyPem: readFileSync(file(dir, 'agent.key'), 'utf8'),
    caPem: readFileSync(file(dir, 'ca.pem'), 'utf8'),
    certPem: existsSync(certPath) ? readFileSync(certPath, 'utf8') : undefined,
  };
}
