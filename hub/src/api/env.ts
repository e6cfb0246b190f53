import type { Scope } from '../auth/scopes.ts';

export interface Principal {
  kind: 'api_key' | 'user';
  /** api key id or user id */
  id: string;
  scopes: Scope[];
  /** sk_live / sk_test / sa / jwt: shown in audit logs. */
  credential: string;
}

/** Hono context variables set by the middleware chain. */
export interface ApiEnv {
  Variables: {
    requestId: string;
    principal: Principal | undefined;
  };
}
