// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FerryError } from '../../../common/src/errors.ts';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;
const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export interface PkiOptions {
  /** Directory for ca.crt, ca.key, server.crt, server.key (created 0700; keys 0600). */
  dir: string;
  /** Extra server-certificate names: FERRY_GRPC_HOST (unless a wildcard address) and FERRY_GRPC_ADVERTISE entries. */
  serverNames?: string[];
  /** @default () => new Date() */
  now?: () => Date;
}

export interface IssuedCertificate {
  pem: string;
  /** SHA-256 of the DER, lower-case hex. */
  fingerprint: string;
  notAfter: string;
}

/** SHA-256 of a certificate's DER encoding, lower-case hex: the form used everywhere in Ferry. */
export function certFingerprint(pemOrDer: string | Buffer): string {
  const der = typeof pemOrDer === 'string' ? Buffer.from(new x509.X509Certificate(pemOrDer).rawData) : pemOrDer;
  return createHash('sha256').update(der).digest('hex');
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0]!;
  return webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
}

function writeSecret(file: string, data: string): void {
  writeFileSync(file, data, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/**
 * The hub's private certificate authority. Created on first start under `dir` and loaded
 * afterwards; it signs the gRPC server certificate and every agent's client certificate.
 * The CA fingerprint travels in enrollment tokens so agents can pin it.
 */
export class HubPki {
  private constructor(
    private readonly caCert: x509.X509Certificate,
    private readonly caKey: CryptoKey,
    /** PEM of the CA certificate. */
    readonly caPem: string,
    /** Server certificate followed by the CA certificate: agents need the CA in the chain to pin it. */
    readonly serverChainPem: string,
    readonly serverKeyPem: string,
    private readonly now: () => Date,
  ) {}

  static async open(opts: PkiOptions): Promise<HubPki> {
    const now = opts.now ?? (() => new Date());
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    const f = (n: string) => path.join(opts.dir, n);
    if (!existsSync(f('ca.crt')) || !existsSync(f('ca.key'))) {
      const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
      const t = now();
      const ca = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: randomSerial(),
        name: `CN=Ferry hub CA ${os.hostname()}`,
        notBefore: new Date(t.getTime() - 5 * 60_000),
        notAfter: new Date(t.getTime() + 3650 * DAY),
        signingAlgorithm: ALG,
        keys,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
      });
      writeSecret(f('ca.key'), await exportKeyPem(keys.privateKey));
      writeFileSync(f('ca.crt'), ca.toString('pem'));
    }
    const caPem = readFileSync(f('ca.crt'), 'utf8');
    const caCert = new x509.X509Certificate(caPem);
    const caKey = await importKeyPem(readFileSync(f('ca.key'), 'utf8'));
    const names = serverNames(opts.serverNames ?? []);
    if (!existsSync(f('server.crt')) || !existsSync(f('server.key')) || !serverCertCovers(readFileSync(f('server.crt'), 'utf8'), names, now())) {
      // (Re)issued when missing, expiring within 30 days, or when the configured names changed.
      const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
      const t = now();
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: randomSerial(),
        subject: 'CN=ferry-hub',
        issuer: caCert.subject,
        notBefore: new Date(t.getTime() - 5 * 60_000),
        notAfter: new Date(t.getTime() + 825 * DAY),
        signingAlgorithm: ALG,
        publicKey: keys.publicKey,
        signingKey: caKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([OID_SERVER_AUTH]),
          new x509.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))),
          await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
        ],
      });
      writeSecret(f('server.key'), await exportKeyPem(keys.privateKey));
      writeFileSync(f('server.crt'), cert.toString('pem'));
    }
    const serverPem = readFileSync(f('server.crt'), 'utf8');
    return new HubPki(caCert, caKey, caPem, `${serverPem.trim()}\n${caPem.trim()}\n`, readFileSync(f('server.key'), 'utf8'), now);
  }

  /** SHA-256 of the CA certificate DER, lower-case hex (what enrollment tokens carry). */
  caFingerprint(): string {
    return certFingerprint(Buffer.from(this.caCert.rawData));
  }

  /**
   * Issue a client certificate for an agent from its CSR: CN = agent id (whatever the CSR's
   * subject says), one year, clientAuth only. The CSR's own signature must verify (proof that
   * the requester holds the key) and its key must be ECDSA P-256.
   */
  async signCsr(csrPem: string, agentId: string): Promise<IssuedCertificate> {
    const csr = await checkCsr(csrPem);
    const t = this.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: `CN=${agentId}`,
      issuer: this.caCert.subject,
      notBefore: new Date(t.getTime() - 5 * 60_000),
      notAfter: new Date(t.getTime() + 365 * DAY),
      signingAlgorithm: ALG,
      publicKey: csr.publicKey,
      signingKey: this.caKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([OID_CLIENT_AUTH]),
        await x509.AuthorityKeyIdentifierExtension.create(this.caCert, false),
      ],
    });
    const der = Buffer.from(cert.rawData);
    return { pem: cert.toString('pem'), fingerprint: certFingerprint(der), notAfter: cert.notAfter.toISOString() };
  }

  /** True when `der` is a certificate signed by this CA and valid now. */
  verifyIssued(der: Buffer): boolean {
    try {
      const cert = new NodeX509(der);
      const ca = new NodeX509(this.caPem);
      const t = this.now().getTime();
      return cert.checkIssued(ca) && cert.verify(ca.publicKey) && Date.parse(cert.validFrom) <= t && t <= Date.parse(cert.validTo);
    } catch {
      return false;
    }
  }
}

/**
 * Parse and check a CSR: valid PEM PKCS#10, its signature verifies (the requester holds the
 * key), and the key is ECDSA P-256. Throws FerryError `invalid_csr`.
 */
export async function checkCsr(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (e) {
    throw new FerryError('invalid_csr', 'The certificate signing request is not a valid PEM PKCS#10 request', { cause: e });
  }
  if (!(await csr.verify())) throw new FerryError('invalid_csr', 'The certificate signing request signature does not verify');
  const alg = csr.publicKey.algorithm as webcrypto.EcKeyAlgorithm;
  if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256') {
    throw new FerryError('invalid_csr', `The agent key must be ECDSA P-256 (got ${alg.name}${alg.namedCurve ? ' ' + alg.namedCurve : ''})`);
  }
  return csr;
}

function randomSerial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = b[0]! & 0x7f; // positive INTEGER
  return Buffer.from(b).toString('hex');
}

/** localhost, loopback addresses, this host's name, plus configured names (deduplicated). */
function serverNames(extra: string[]): string[] {
  const all = ['localhost', '127.0.0.1', '::1', os.hostname(), ...extra];
  const out: string[] = [];
  for (const n of all.map((s) => s.trim()).filter(Boolean)) {
    if (n === '0.0.0.0' || n === '::' || out.includes(n)) continue;
    out.push(n);
  }
  return out;
}

function serverCertCovers(pem: string, names: string[], now: Date): boolean {
  try {
    const c = new NodeX509(pem);
    if (Date.parse(c.validTo) - now.getTime() < 30 * DAY) return false;
    const san = c.subjectAltName ?? '';
    return names.every((n) => san.includes(isIP(n) ? `IP Address:${n.includes(':') ? expandV6(n) : n}` : `DNS:${n}`));
  } catch {
    return false;
  }
}

/** Node prints IPv6 SANs fully expanded in upper case (0:0:0:0:0:0:0:1 as "0:0:0:0:0:0:0:1"). */
function expandV6(ip: string): string {
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const mid = ip.includes('::') ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...mid, ...t].map((p) => parseInt(p, 16).toString(16).toUpperCase()).join(':');
}
