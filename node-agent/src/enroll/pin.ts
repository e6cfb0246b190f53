import { createHash, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import tls, { type DetailedPeerCertificate } from 'node:tls';
import { FerryError } from '../../../common/src/errors.ts';

export interface HubAddress {
  host: string;
  port: number;
}

/** "host:port", "[v6]:port". */
export function parseHubAddress(s: string): HubAddress {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:[\]]+):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new FerryError('bad_hub_address', `--hub ${JSON.stringify(s)}: expected HOST:PORT, e.g. hub.example.com:8421 or [::1]:8421`);
  return { host: m[1]!, port };
}

export function formatHubAddress(a: HubAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

const sha256 = (der: Buffer) => createHash('sha256').update(der).digest('hex');

/**
 * Connect once without trusting anything, read the certificate chain the hub sends, and return
 * the certificate whose SHA-256 equals the pin from the enrollment token (as PEM). The hub sends
 * its CA in the chain for this. Nothing secret is sent on this connection; afterwards every call
 * verifies the hub against this CA only.
 */
export async function fetchPinnedCa(addr: HubAddress, expectedFingerprint: string, timeoutMs = 10_000): Promise<string> {
  const chain = await new Promise<DetailedPeerCertificate[]>((resolve, reject) => {
    const socket = tls.connect({
      host: addr.host,
      port: addr.port,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
      ...(isIP(addr.host) ? {} : { servername: addr.host }),
    });
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const out: DetailedPeerCertificate[] = [];
      let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      while (c?.raw && !out.some((o) => o.raw.equals(c!.raw))) {
        out.push(c);
        c = c.issuerCertificate;
      }
      socket.end();
      resolve(out);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(new FerryError('hub_unreachable', `cannot reach the hub at ${formatHubAddress(addr)}: ${e.message}`, { retryable: true, cause: e }));
    });
  });
  const match = chain.find((c) => sha256(c.raw) === expectedFingerprint);
  if (!match) {
    const got = chain.length ? sha256(chain[chain.length - 1]!.raw) : '(no certificate)';
    throw new FerryError(
      'ca_fingerprint_mismatch',
      `hub CA fingerprint mismatch: expected ${expectedFingerprint}, got ${got}. The token belongs to a different hub, or something between you and the hub intercepts TLS.`,
    );
  }
  return new X509Certificate(match.raw).toString();
}
