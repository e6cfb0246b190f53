import { jwtVerify, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { FerryError, unauthorized } from '../../../common/src/errors.ts';
import type { SigningKey } from '../identity/signing-key.ts';
import type { Db } from '../store/db.ts';
import type { Scope } from './scopes.ts';
import type { UserStore } from './users.ts';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
}

export interface TokenOptions {
  /** @default 3600 */
  accessTtlSeconds?: number;
  /** @default 1209600 (14 days) */
  refreshTtlSeconds?: number;
  issuer: string;
  now?: () => Date;
}

/**
 * JWT access and refresh tokens (seed 004), signed EdDSA with the hub key. Refresh tokens are
 * single-use: each refresh records the old `jti` as used and issues a new pair, so a stolen
 * refresh token stops working the moment the real client refreshes.
 */
export class TokenService {
  private readonly accessTtl: number;
  private readonly refreshTtl: number;
  private readonly now: () => Date;

  constructor(
    private readonly db: Db,
    private readonly key: SigningKey,
    private readonly users: UserStore,
    private readonly opts: TokenOptions,
  ) {
    this.accessTtl = opts.accessTtlSeconds ?? 3600;
    this.refreshTtl = opts.refreshTtlSeconds ?? 14 * 24 * 3600;
    this.now = opts.now ?? (() => new Date());
  }

  async issue(user: { id: string; scopes: Scope[] }): Promise<TokenPair> {
    const iat = Math.floor(this.now().getTime() / 1000);
    const access = await new SignJWT({ scope: user.scopes.join(' '), typ: 'access' })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.key.kid })
      .setSubject(user.id)
      .setIssuer(this.opts.issuer)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.accessTtl)
      .setJti(randomUUID())
      .sign(this.key.privateKey);
    const jti = randomUUID();
    const refresh = await new SignJWT({ typ: 'refresh' })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.key.kid })
      .setSubject(user.id)
      .setIssuer(this.opts.issuer)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.refreshTtl)
      .setJti(jti)
      .sign(this.key.privateKey);
    this.db
      .prepare('INSERT INTO refresh_tokens (jti, user_id, expires_at) VALUES (?, ?, ?)')
      .run(jti, user.id, new Date((iat + this.refreshTtl) * 1000).toISOString());
    return { access_token: access, refresh_token: refresh, token_type: 'bearer', expires_in: this.accessTtl };
  }

  /** Verify an access token; returns the subject and scopes or throws 401. */
  async verifyAccess(token: string): Promise<{ userId: string; scopes: Scope[] }> {
    const payload = await this.verify(token, 'access');
    return { userId: String(payload.sub), scopes: String(payload.scope ?? '').split(' ').filter(Boolean) as Scope[] };
  }

  async refresh(refreshToken: string): Promise<TokenPair> {
    const payload = await this.verify(refreshToken, 'refresh');
    const jti = String(payload.jti ?? '');
    const used = this.db
      .prepare('UPDATE refresh_tokens SET used_at = ? WHERE jti = ? AND used_at IS NULL')
      .run(this.now().toISOString(), jti);
    if (used.changes !== 1) throw new FerryError('invalid_refresh_token', 'Refresh token was already used or is unknown', { status: 401 });
    const user = this.users.getById(String(payload.sub));
    if (!user) throw unauthorized('User no longer exists');
    return this.issue(user);
  }

  private async verify(token: string, typ: 'access' | 'refresh') {
    try {
      const { payload } = await jwtVerify(token, this.key.publicKey, {
        issuer: this.opts.issuer,
        algorithms: ['EdDSA'],
        currentDate: this.now(),
      });
      if (payload.typ !== typ) throw new Error(`expected a ${typ} token`);
      return payload;
    } catch {
      throw new FerryError(typ === 'access' ? 'invalid_token' : 'invalid_refresh_token', `Invalid or expired ${typ} token`, {
        status: 401,
      });
    }
  }
}
