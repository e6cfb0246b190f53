import { createHash, timingSafeEqual } from 'node:crypto';
import { newId, randomToken, BASE62 } from '../../../common/src/ids.ts';
import { notFound } from '../../../common/src/errors.ts';
import { cachedStatement, type Db } from '../store/db.ts';
import type { Scope } from './scopes.ts';

export type KeyKind = 'live' | 'test' | 'service_account';

const PREFIX: Record<KeyKind, string> = { live: 'sk_live_', test: 'sk_test_', service_account: 'sa_' };

export interface ApiKeyRecord {
  id: string;
  name: string;
  kind: KeyKind;
  /** First characters of the key, enough to recognise it in a list; never the whole key. */
  prefix: string;
  scopes: Scope[];
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

interface Row extends Omit<ApiKeyRecord, 'scopes'> {
  scopes: string;
  hash: string;
}

/** Keys carry 190 bits of randomness, so a plain SHA-256 is a sound hash: there is nothing to brute-force. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function looksLikeApiKey(token: string): boolean {
  return /^(sk_live_|sk_test_|sa_)[0-9A-Za-z]{20,64}$/.test(token);
}

const toRecord = (r: Row): ApiKeyRecord => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  prefix: r.prefix,
  scopes: JSON.parse(r.scopes) as Scope[],
  created_at: r.created_at,
  expires_at: r.expires_at,
  last_used_at: r.last_used_at,
  revoked_at: r.revoked_at,
});

export class ApiKeyStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Creates a key and returns it in clear exactly once; only its hash is stored. */
  create(input: { name: string; kind: KeyKind; scopes: Scope[]; expires_at?: string | null }): { record: ApiKeyRecord; key: string } {
    const key = PREFIX[input.kind] + randomToken(32, BASE62);
    const row: Row = {
      id: newId('key'),
      name: input.name,
      kind: input.kind,
      prefix: key.slice(0, PREFIX[input.kind].length + 4),
      hash: hashKey(key),
      scopes: JSON.stringify(input.scopes),
      created_at: this.now().toISOString(),
      expires_at: input.expires_at ?? null,
      last_used_at: null,
      revoked_at: null,
    };
    this.db
      .prepare(
        `INSERT INTO api_keys (id, name, kind, prefix, hash, scopes, created_at, expires_at, last_used_at, revoked_at)
         VALUES (@id, @name, @kind, @prefix, @hash, @scopes, @created_at, @expires_at, @last_used_at, @revoked_at)`,
      )
      .run(row);
    return { record: toRecord(row), key };
  }

  /** The live record for a presented key, or null (unknown, revoked or expired). */
  authenticate(key: string): ApiKeyRecord | null {
    const h = hashKey(key);
    const row = cachedStatement(this.db, 'SELECT * FROM api_keys WHERE hash = ?').get(h) as Row | undefined;
    if (!row) return null;
    // The lookup is by hash already; the comparison is constant-time for form's sake.
    if (!timingSafeEqual(Buffer.from(row.hash), Buffer.from(h))) return null;
    if (row.revoked_at) return null;
    if (row.expires_at && Date.parse(row.expires_at) <= this.now().getTime()) return null;
    const now = this.now().toISOString();
    // Writing last_used_at on every request would make every GET a write; once a minute is plenty.
    if (!row.last_used_at || Date.parse(now) - Date.parse(row.last_used_at) > 60_000) {
      this.db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(now, row.id);
      row.last_used_at = now;
    }
    return toRecord(row);
  }

  list(opts: { limit: number; offset: number; includeRevoked: boolean }): { rows: ApiKeyRecord[]; total: number } {
    const where = opts.includeRevoked ? '' : 'WHERE revoked_at IS NULL';
    const total = (this.db.prepare(`SELECT COUNT(*) n FROM api_keys ${where}`).get() as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT * FROM api_keys ${where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?`)
      .all(opts.limit, opts.offset) as Row[];
    return { rows: rows.map(toRecord), total };
  }

  get(id: string): ApiKeyRecord {
    const row = this.db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw notFound('api_key', id);
    return toRecord(row);
  }

  revoke(id: string): ApiKeyRecord {
    const rec = this.get(id);
    if (!rec.revoked_at) {
      this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(this.now().toISOString(), id);
    }
    return this.get(id);
  }
}
