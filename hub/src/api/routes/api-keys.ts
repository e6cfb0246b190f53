import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { ApiKeyRecord, ApiKeyStore } from '../../auth/api-keys.ts';
import { SCOPES } from '../../auth/scopes.ts';
import type { ApiEnv } from '../env.ts';
import { route } from '../route.ts';
import { IdParam, ListQuery, listOf, page, Timestamp } from '../schemas.ts';

const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(['live', 'test', 'service_account']),
    prefix: z.string().openapi({ description: 'First characters of the key, to recognise it' }),
    scopes: z.array(z.enum(SCOPES)),
    created_at: Timestamp,
    expires_at: Timestamp.nullable(),
    last_used_at: Timestamp.nullable(),
    revoked_at: Timestamp.nullable(),
  })
  .openapi('ApiKey');

const CreateApiKey = z
  .object({
    name: z.string().trim().min(1).max(100),
    kind: z.enum(['live', 'test', 'service_account']).default('live').openapi({ description: '`live` → sk_live_, `test` → sk_test_, `service_account` → sa_' }),
    scopes: z.array(z.enum(SCOPES)).min(1).max(3).default(['read']),
    expires_at: z.string().datetime({ offset: true }).optional(),
  })
  .strict()
  .openapi('CreateApiKey');

const view = (r: ApiKeyRecord) => ({ ...r });

export function apiKeyRoutes(app: OpenAPIHono<ApiEnv>, deps: { keys: ApiKeyStore }) {
  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/api-keys',
      scope: 'admin',
      summary: 'List API keys (never the keys themselves)',
      tags: ['auth'],
      request: {
        query: ListQuery.extend({
          include_revoked: z.enum(['true', 'false']).optional().transform((v) => v === 'true').openapi({ param: { name: 'include_revoked', in: 'query' } }),
        }),
      },
      responses: { 200: { description: 'Keys', content: { 'application/json': { schema: listOf(ApiKeySchema) } } } },
    }),
    (c) => {
      const q = c.req.valid('query');
      const { rows, total } = deps.keys.list({ limit: q.limit, offset: q.offset, includeRevoked: q.include_revoked });
      return c.json(page(rows.map(view), total, q), 200);
    },
  );

  app.openapi(
    route({
      method: 'post',
      path: '/api/v1/api-keys',
      scope: 'admin',
      summary: 'Create an API key; the key is in this response only',
      tags: ['auth'],
      request: { body: { required: true, content: { 'application/json': { schema: CreateApiKey } } } },
      responses: { 201: { description: 'Created', content: { 'application/json': { schema: ApiKeySchema.extend({ key: z.string() }) } } } },
    }),
    (c) => {
      const b = c.req.valid('json');
      const { record, key } = deps.keys.create({ name: b.name, kind: b.kind, scopes: b.scopes, expires_at: b.expires_at ?? null });
      return c.json({ ...view(record), key }, 201);
    },
  );

  app.openapi(
    route({
      method: 'delete',
      path: '/api/v1/api-keys/{id}',
      scope: 'admin',
      summary: 'Revoke an API key',
      tags: ['auth'],
      request: { params: IdParam('id', 'key_abc123') },
      responses: { 200: { description: 'Revoked', content: { 'application/json': { schema: ApiKeySchema } } } },
    }),
    (c) => c.json(view(deps.keys.revoke(c.req.valid('param').id)), 200),
  );
}
