import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import type { Scope } from '../auth/scopes.ts';
import { requireScope } from './middleware/auth.ts';
import { ErrorSchema } from './schemas.ts';

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ErrorSchema } } });

const STANDARD_ERRORS = {
  400: errorResponse('Malformed request'),
  401: errorResponse('Missing or invalid credential'),
  403: errorResponse('Credential lacks the scope'),
  404: errorResponse('Resource not found'),
  409: errorResponse('Conflicts with the current state'),
  422: errorResponse('Request failed validation'),
  429: errorResponse('Rate limit exceeded'),
};

/**
 * createRoute plus what every Ferry route shares: the documented error responses, the Bearer
 * security requirement, and a scope guard that runs before request validation (so an anonymous
 * caller gets 401, not a validation error). The handler's types come from `cfg` as written.
 */
export function route<const R extends RouteConfig>(cfg: R & { scope: Scope | 'public' }): R {
  const { scope, ...rest } = cfg;
  const out = {
    ...rest,
    responses: { ...STANDARD_ERRORS, ...rest.responses },
    ...(scope === 'public'
      ? {}
      : {
          security: [{ Bearer: [] }],
          middleware: [requireScope(scope)],
          description: `${rest.description ?? ''}\n\nRequires scope \`${scope}\`.`.trim(),
        }),
  };
  return createRoute(out as unknown as R);
}
