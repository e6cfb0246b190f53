import type { MiddlewareHandler } from 'hono';
import { FerryError, forbidden, unauthorized } from '../../../../common/src/errors.ts';
import { looksLikeApiKey, type ApiKeyStore } from '../../auth/api-keys.ts';
import { hasScope, type Scope } from '../../auth/scopes.ts';
import type { TokenService } from '../../auth/tokens.ts';
import type { ApiEnv } from '../env.ts';

/** Paths anyone may call: health for load balancers, login, and the API description. */
const PUBLIC = new Set(['/api/v1/health', '/api/v1/auth/login', '/api/v1/auth/refresh', '/api/v1/openapi.json', '/api/docs', '/metrics', '/api/v1/certificates/jwks.json']);

export function authenticate(deps: { keys: ApiKeyStore; tokens: TokenService }): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (PUBLIC.has(c.req.path) && !header) return next();
    if (!header) {
      if (PUBLIC.has(c.req.path)) return next();
      throw new FerryError('authentication_required', 'Missing Authorization header; send "Authorization: Bearer <api key or access token>"', { status: 401 });
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m?.[1]) throw unauthorized('Authorization header must be "Bearer <token>"');
    const token = m[1];
    if (looksLikeApiKey(token)) {
      const rec = deps.keys.authenticate(token);
      if (!rec) throw new FerryError('invalid_api_key', 'API key is unknown, revoked or expired', { status: 401 });
      c.set('principal', {
        kind: 'api_key',
        id: rec.id,
        scopes: rec.scopes,
        credential: rec.kind === 'service_account' ? 'sa' : `sk_${rec.kind}`,
      });
    } else if (/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) {
      const t = await deps.tokens.verifyAccess(token);
      c.set('principal', { kind: 'user', id: t.userId, scopes: t.scopes, credential: 'jwt' });
    } else {
      throw new FerryError('invalid_token', 'Bearer token is neither an API key (sk_live_, sk_test_, sa_) nor a JWT', { status: 401 });
    }
    return next();
  };
}

/** Route guard: 401 without a principal, 403 when the credential lacks the scope. */
export function requireScope(scope: Scope): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const p = c.get('principal');
    if (!p) throw new FerryError('authentication_required', 'This endpoint needs a credential', { status: 401 });
    if (!hasScope(p.scopes, scope)) throw forbidden(`This credential lacks the "${scope}" scope (it has: ${p.scopes.join(', ') || 'none'})`);
    return next();
  };
}
