import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Random lower-case base36 string of `len` characters (unbiased: rejection sampling). */
export function randomToken(len: number, alphabet = ALPHABET): string {
  let out = '';
  const limit = 256 - (256 % alphabet.length);
  while (out.length < len) {
    for (const b of randomBytes(len * 2)) {
      if (b >= limit) continue;
      out += alphabet[b % alphabet.length];
      if (out.length === len) break;
    }
  }
  return out;
}

/** Resource ids as the seeds show them: `mig_abc123def456`, `conn_...`, `job_...`. */
export function newId(prefix: string): string {
  return `${prefix}_${randomToken(16)}`;
}

export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
