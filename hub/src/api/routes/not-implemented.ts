import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ApiEnv } from '../env.ts';
import { sendError } from '../errors.ts';

/**
 * Resources the seeds promise that Ferry does not do yet. They answer 501 with the documented
 * error body (and are listed in the README), rather than 404 as if they never were planned.
 * A module that implements one registers its routes before this catch-all is mounted.
 */
export const NOT_YET: { prefix: string; what: string }[] = [
  { prefix: '/api/v1/replications', what: 'Replication' },
  { prefix: '/api/v1/failover', what: 'Live and test failover' },
  { prefix: '/api/v1/pipelines', what: 'Pipelines' },
  { prefix: '/api/v1/webhooks', what: 'Webhooks' },
  { prefix: '/api/v1/connectors', what: 'Connector catalogue' },
  { prefix: '/api/v1/connectors-ai', what: 'AI connector configuration' },
  { prefix: '/api/v1/data', what: 'Data profiling and preview' },
  { prefix: '/api/v1/nl-query', what: 'Natural language to SQL' },
  { prefix: '/api/v1/storage', what: 'Storage recommendations' },
  { prefix: '/api/v1/observability', what: 'Observability metrics' },
];

export function notImplementedRoutes(app: OpenAPIHono<ApiEnv>, implemented: (prefix: string) => boolean = () => false) {
  for (const { prefix, what } of NOT_YET) {
    if (implemented(prefix)) continue;
    const handler = (c: Context<ApiEnv>) =>
      sendError(c, 501, 'not_implemented', `${what} is not implemented in this version of Ferry`, { resource: prefix });
    app.all(prefix, (c) => handler(c));
    app.all(`${prefix}/*`, (c) => handler(c));
  }
}
