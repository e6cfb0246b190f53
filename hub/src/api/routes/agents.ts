import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { FerryError, notFound } from '../../../../common/src/errors.ts';
import { agentView, type AgentRegistry } from '../../agents/registry.ts';
import type { TaskChannel } from '../../agents/task-channel.ts';
import type { ApiEnv } from '../env.ts';
import { route } from '../route.ts';
import { IdParam, ListQuery, Timestamp, listOf, orderBy, page } from '../schemas.ts';

export interface AgentRoutesDeps {
  registry: AgentRegistry;
  sessions: Pick<TaskChannel, 'isOnline'>;
}

const AgentSchema = z
  .object({
    id: z.string().openapi({ example: 'agt_3k9x0q1w2e3r4t5y' }),
    name: z.string(),
    status: z.enum(['pending', 'online', 'offline', 'revoked']),
    hostname: z.string(),
    version: z.string(),
    capabilities: z.array(z.string()).openapi({ example: ['postgresql', 'mysql', 'sqlite', 'oracle', 'disk'] }),
    inventory: z.record(z.string(), z.unknown()),
    builtin: z.boolean(),
    created_at: Timestamp,
    approved_at: Timestamp.nullable(),
    revoked_at: Timestamp.nullable(),
    last_seen: Timestamp.nullable(),
    cert_fingerprint: z.string().nullable().openapi({ description: 'SHA-256 of the client certificate (DER), hex' }),
    cert_expires_at: Timestamp.nullable(),
  })
  .openapi('Agent');

const TokenRequest = z
  .object({
    expires_in_seconds: z.number().int().min(60).max(30 * 86400).default(3600),
    max_uses: z.number().int().min(1).max(1000).default(1),
    auto_approve: z.boolean().default(false),
    name: z.string().min(1).max(200).optional(),
  })
  .strict()
  .openapi('EnrollmentTokenRequest');

const TokenResponse = z
  .object({
    id: z.string().openapi({ example: 'etk_0a1b2c3d4e5f6g7h' }),
    token: z.string().openapi({ description: 'Shown once. Carries the hub CA fingerprint that the agent pins.', example: 'fet1.<secret>.<ca-sha256>' }),
    name: z.string().nullable(),
    expires_at: Timestamp,
    max_uses: z.number().int(),
    auto_approve: z.boolean(),
    ca_fingerprint: z.string(),
    created_at: Timestamp,
  })
  .openapi('EnrollmentToken');

const AgentListQuery = ListQuery.extend({
  status: z
    .enum(['pending', 'online', 'offline', 'revoked'])
    .optional()
    .openapi({ param: { name: 'status', in: 'query' } }),
});

const SORTABLE = { created_at: 'created_at', name: 'name', last_seen: 'last_seen', hostname: 'hostname' };

const json = <T extends z.ZodTypeAny>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

/** `/api/v1/agents`: enrollment tokens, list, show, approve, revoke. */
export function agentRoutes(app: OpenAPIHono<ApiEnv>, deps: AgentRoutesDeps): void {
  const { registry, sessions } = deps;
  const show = (id: string) => {
    const row = registry.row(id);
    if (!row) throw notFound('agent', id);
    return agentView(row, sessions.isOnline(id));
  };

  app.openapi(
    route({
      method: 'post',
      path: '/api/v1/agents/enrollment-tokens',
      tags: ['Agents'],
      summary: 'Create an enrollment token',
      description: 'Returns the token once. Run `ferry-agent enroll --hub HOST:PORT --token TOKEN --state-dir DIR` on the agent machine.',
      scope: 'admin',
      request: { body: { content: { 'application/json': { schema: TokenRequest } }, required: false } },
      responses: { 201: json(TokenResponse, 'The new token') },
    }),
    async (c) => {
      // The body is optional: without one the validator is skipped, so apply the defaults here.
      const parsed = TokenRequest.safeParse(c.req.valid('json') ?? {});
      if (!parsed.success) throw new FerryError('validation_error', 'Request failed validation', { status: 422, details: { issues: parsed.error.issues } });
      const b = parsed.data;
      const { token, record } = registry.createToken({ expiresInSeconds: b.expires_in_seconds, maxUses: b.max_uses, autoApprove: b.auto_approve, name: b.name });
      return c.json(
        {
          id: record.id,
          token,
          name: record.name,
          expires_at: record.expires_at,
          max_uses: record.max_uses,
          auto_approve: record.auto_approve,
          ca_fingerprint: token.split('.')[2]!,
          created_at: record.created_at,
        },
        201,
      );
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/agents',
      tags: ['Agents'],
      summary: 'List agents',
      scope: 'read',
      request: { query: AgentListQuery },
      responses: { 200: json(listOf(AgentSchema), 'Agents') },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const order = orderBy(q, SORTABLE, 'created_at');
      const { rows, total } = registry.list({ status: q.status, limit: q.limit, offset: q.offset, orderBy: order, online: (id) => sessions.isOnline(id) });
      return c.json(page(rows.map((r) => agentView(r, sessions.isOnline(r.id))), total, q), 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/agents/{id}',
      tags: ['Agents'],
      summary: 'Show an agent',
      scope: 'read',
      request: { params: IdParam('id', 'agt_3k9x0q1w2e3r4t5y') },
      responses: { 200: json(AgentSchema, 'The agent') },
    }),
    async (c) => c.json(show(c.req.valid('param').id as string), 200),
  );

  app.openapi(
    route({
      method: 'post',
      path: '/api/v1/agents/{id}/approve',
      tags: ['Agents'],
      summary: 'Approve a pending agent',
      description: 'Signs the certificate the agent asked for; `ferry-agent run` picks it up on its next poll.',
      scope: 'admin',
      request: { params: IdParam('id', 'agt_3k9x0q1w2e3r4t5y') },
      responses: { 200: json(AgentSchema, 'The approved agent') },
    }),
    async (c) => {
      const id = c.req.valid('param').id as string;
      await registry.approve(id);
      return c.json(show(id), 200);
    },
  );

  app.openapi(
    route({
      method: 'delete',
      path: '/api/v1/agents/{id}',
      tags: ['Agents'],
      summary: 'Revoke an agent',
      description: 'Final: closes its open session at once and refuses every later connection. The record stays, with status `revoked`.',
      scope: 'admin',
      request: { params: IdParam('id', 'agt_3k9x0q1w2e3r4t5y') },
      responses: { 200: json(AgentSchema, 'The revoked agent') },
    }),
    async (c) => {
      const id = c.req.valid('param').id as string;
      registry.revoke(id);
      return c.json(show(id), 200);
    },
  );
}
