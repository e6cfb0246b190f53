import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { routePath } from 'hono/route';
import type { Logger } from '../../../common/src/logger.ts';
import type { ApiKeyStore } from '../auth/api-keys.ts';
import type { TokenService } from '../auth/tokens.ts';
import type { HubMetrics } from '../metrics/metrics.ts';
import type { Db } from '../store/db.ts';
import { renderDocsPage } from './docs-page.ts';
import type { ApiEnv } from './env.ts';
import { onError, sendError } from './errors.ts';
import { authenticate } from './middleware/auth.ts';
import { idempotency } from './middleware/idempotency.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { requestId } from './middleware/request-id.ts';

export interface AppOptions {
  db: Db;
  log: Logger;
  keys: ApiKeyStore;
  tokens: TokenService;
  metrics: HubMetrics;
  version: string;
  rateLimitPerMinute: number;
  maxBodyBytes: number;
}

export type App = OpenAPIHono<ApiEnv>;

/**
 * The REST app with the conventions of ARCHITECTURE.md wired in order: request id, metrics,
 * rate limit (before auth, so key guessing is limited too), body limit, authentication,
 * idempotency. Resource modules add their routes with `register`; the OpenAPI document is
 * generated from the same zod schemas that validate requests.
 */
export function createApp(o: AppOptions): App {
  const app = new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
        const first = issues[0];
        return sendError(c, 422, 'validation_error', first ? `${first.field}: ${first.message}` : 'Invalid request', { issues });
      }
    },
  });
  app.onError(onError(o.log));
  app.notFound((c) => sendError(c, 404, 'route_not_found', `No route for ${c.req.method} ${c.req.path}`));

  app.use('*', requestId());
  app.use('*', async (c, next) => {
    const t0 = performance.now();
    await next();
    let r = 'unmatched';
    try {
      r = routePath(c);
    } catch {
      // no matched route
    }
    o.metrics.httpRequests.inc({ method: c.req.method, route: r, status: String(c.res.status) });
    o.metrics.httpDuration.observe({ method: c.req.method, route: r }, (performance.now() - t0) / 1000);
  });
  app.use('*', rateLimit({ limit: o.rateLimitPerMinute }));
  app.use(
    '*',
    bodyLimit({
      maxSize: o.maxBodyBytes,
      onError: (c) => sendError(c, 413, 'payload_too_large', `Request body is larger than ${o.maxBodyBytes} bytes`),
    }),
  );
  app.use('*', async (c, next) => {
    const ct = c.req.header('content-type');
    if (['POST', 'PUT', 'PATCH'].includes(c.req.method) && ct && !/^application\/json\b/i.test(ct) && c.req.path.startsWith('/api/')) {
      return sendError(c, 415, 'unsupported_media_type', 'Send request bodies as application/json');
    }
    return next();
  });
  app.use('/api/*', authenticate({ keys: o.keys, tokens: o.tokens }));
  app.use('/api/*', idempotency(o.db));

  app.openAPIRegistry.registerComponent('securitySchemes', 'Bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'API key (sk_live_…, sk_test_…, sa_…) or JWT access token from POST /api/v1/auth/login',
  });
  const docConfig = {
    openapi: '3.1.0',
    info: {
      title: 'Ferry API',
      version: o.version,
      description: 'Self-hosted data mobility: migrations, backups, agents. Errors use {"error":{code,message,details,request_id}}.',
    },
  };
  app.get('/api/v1/openapi.json', (c) => c.json(app.getOpenAPI31Document(docConfig)));
  app.get('/api/docs', (c) => c.html(renderDocsPage(app.getOpenAPI31Document(docConfig) as never)));
  return app;
}
