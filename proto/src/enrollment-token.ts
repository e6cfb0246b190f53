/**
 * Enrollment token format, shared by hub (issues it) and agent (parses it):
 *
 *   fet1.<secret>.<ca-sha256-hex>
 *
 * `fet1` names the format version; `secret` is 32 base62 characters (~190 bits) of which the
 * hub stores only a SHA-256; the last part is the SHA-256 of the hub CA certificate (DER) in
 * lower-case hex, which the agent pins before it sends anything.
 */
export interface EnrollmentToken {
  secret: string;
  caFingerprint: string;
}

const RE = /^fet1\.([0-9A-Za-z]{20,128})\.([0-9a-f]{64})$/;

export function formatEnrollmentToken(t: EnrollmentToken): string {
  return `fet1.${t.secret}.${t.caFingerprint}`;
}

/** null when the string is not a well-formed token (the caller words the error). */
export function parseEnrollmentToken(s: string): EnrollmentToken | null {
  const m = RE.exec(s.trim());
  if (!m) return null;
  return { secret: m[1]!, caFingerprint: m[2]! };
}
