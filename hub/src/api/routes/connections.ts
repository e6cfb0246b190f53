import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { DIALECTS } from '../../../../common/src/catalog.ts';
import { FerryError } from '../../../../common/src/errors.ts';
import { parseConnectionString, type ConnectionFields } from '../../connections/parse.ts';
import type { ConnectionStore } from '../../connections/store.ts';
import { runConnectionTest } from '../../connections/test-runner.ts';
import type { JobEngine } from '../../jobs/engine.ts';
import type { JobStore } from '../../jobs/store.ts';
import type { ApiEnv } from '../env.ts';
import { route } from '../route.ts';
import { IdParam, ListQuery, listOf, orderBy, page, Timestamp } from '../schemas.ts';

const TestSchema = z
  .object({
    status: z.enum(['success', 'failed']),
    tested_at: Timestamp,
    latency_ms: z.number().nullable(),
    server_version: z.string().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    job_id: z.string(),
  })
  .openapi('ConnectionTest');

const ConnectionSchema = z
  .object({
    id: z.string().openapi({ example: 'conn_abc123' }),
    name: z.string(),
    type: z.enum(DIALECTS),
    host: z.string().nullable(),
    port: z.number().int().nullable(),
    database: z.string().nullable(),
    user: z.string().nullable(),
    has_password: z.boolean(),
    path: z.string().nullable(),
    options: z.record(z.string(), z.string()),
    agent_id: z.string(),
    description: z.string().nullable(),
    connection_string: z.string().openapi({ description: 'Redacted: the password is shown as ***' }),
    last_test: TestSchema.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Connection');

const CreateConnection = z
  .object({
    name: z.string().trim().min(1).max(200),
    type: z.enum(DIALECTS).optional().openapi({ description: 'Required unless connection_string names it' }),
    connection_string: z.string().min(3).max(4000).optional(),
    host: z.string().min(1).max(255).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    database: z.string().min(1).max(255).optional(),
    user: z.string().min(1).max(255).optional(),
    password: z.string().max(1000).optional().openapi({ description: 'Stored encrypted; never returned' }),
    path: z.string().min(1).max(4096).optional().openapi({ description: 'SQLite database file, as the agent sees it' }),
    options: z.record(z.string().max(64), z.string().max(1000)).optional(),
    agent_id: z.string().min(1).max(100).optional().openapi({ description: 'Agent that reaches this database; default: the built-in agent' }),
    description: z.string().max(2000).optional(),
  })
  .strict()
  .openapi('CreateConnection');

export interface ConnectionRouteDeps {
  connections: ConnectionStore;
  engine: JobEngine;
  jobs: JobStore;
  /** The built-in agent's id, when there is one. */
  defaultAgentId: () => string | null;
  agentExists: (id: string) => boolean;
}

function fieldsFrom(b: z.infer<typeof CreateConnection>): ConnectionFields {
  let f: ConnectionFields;
  if (b.connection_string) {
    f = parseConnectionString(b.connection_string);
    if (b.type && b.type !== f.type) {
      throw new FerryError('validation_error', `type "${b.type}" does not match the connection string's scheme (${f.type})`, { status: 422, details: { field: 'type' } });
    }
  } else {
    if (!b.type) throw new FerryError('validation_error', 'Give "type" with fields, or a "connection_string"', { status: 422, details: { field: 'type' } });
    f = { type: b.type, host: null, port: null, database: null, user: null, password: null, path: null, options: {} };
  }
  // Fields given next to a string refine it (e.g. the password kept out of the string).
  if (b.host !== undefined) f.host = b.host;
  if (b.port !== undefined) f.port = b.port;
  if (b.database !== undefined) f.database = b.database;
  if (b.user !== undefined) f.user = b.user;
  if (b.password !== undefined) f.password = b.password;
  if (b.path !== undefined) f.path = b.path;
  if (b.options) f.options = { ...f.options, ...b.options };
  if (f.type === 'sqlite') {
    if (!f.path) throw new FerryError('validation_error', 'A sqlite connection needs "path" (or sqlite:///path)', { status: 422, details: { field: 'path' } });
  } else if (!f.host) {
    throw new FerryError('validation_error', `A ${f.type} connection needs "host"`, { status: 422, details: { field: 'host' } });
  }
  if (f.port === null) f.port = { postgresql: 5432, mysql: 3306, oracle: 1521, sqlite: null }[f.type];
  return f;
}

const SORTS = { created_at: 'created_at', name: 'name', type: 'type', updated_at: 'updated_at' };

export function connectionRoutes(app: OpenAPIHono<ApiEnv>, deps: ConnectionRouteDeps) {
  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/connections',
      scope: 'read',
      summary: 'List saved connections',
      tags: ['connections'],
      request: {
        query: ListQuery.extend({
          type: z.enum(DIALECTS).optional().openapi({ param: { name: 'type', in: 'query' } }),
          agent_id: z.string().max(100).optional().openapi({ param: { name: 'agent_id', in: 'query' } }),
        }),
      },
      responses: { 200: { description: 'Connections', content: { 'application/json': { schema: listOf(ConnectionSchema) } } } },
    }),
    (c) => {
      const q = c.req.valid('query');
      const ob = orderBy(q, SORTS, 'created_at');
      const { rows, total } = deps.connections.list({ type: q.type, agent_id: q.agent_id }, ob, q.limit, q.offset);
      return c.json(page(rows, total, q), 200);
    },
  );

  app.openapi(
    route({
      method: 'post',
      path: '/api/v1/connections',
      scope: 'write',
      summary: 'Register a connection (PostgreSQL, MySQL/MariaDB, SQLite, Oracle)',
      tags: ['connections'],
      request: { body: { required: true, content: { 'application/json': { schema: CreateConnection } } } },
      responses: { 201: { description: 'Created', content: { 'application/json': { schema: ConnectionSchema } } } },
    }),
    (c) => {
      const b = c.req.valid('json');
      const f = fieldsFrom(b);
      const agentId = b.agent_id ?? deps.defaultAgentId();
      if (!agentId) throw new FerryError('validation_error', 'No built-in agent: give "agent_id"', { status: 422, details: { field: 'agent_id' } });
      if (!deps.agentExists(agentId)) throw new FerryError('agent_not_found', `No agent exists with ID ${JSON.stringify(agentId)}`, { status: 422, details: { field: 'agent_id' } });
      const conn = deps.connections.create({ ...f, name: b.name, agent_id: agentId, description: b.description ?? null });
      return c.json(conn, 201);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/connections/{id}',
      scope: 'read',
      summary: 'Get a connection (never its password)',
      tags: ['connections'],
      request: { params: IdParam('id', 'conn_abc123') },
      responses: { 200: { description: 'Connection', content: { 'application/json': { schema: ConnectionSchema } } } },
    }),
    (c) => c.json(deps.connections.get(c.req.valid('param').id), 200),
  );

  app.openapi(
    route({
      method: 'delete',
      path: '/api/v1/connections/{id}',
      scope: 'write',
      summary: 'Delete a connection',
      tags: ['connections'],
      request: { params: IdParam('id', 'conn_abc123') },
      responses: { 200: { description: 'Deleted', content: { 'application/json': { schema: z.object({ id: z.string(), deleted: z.literal(true) }) } } } },
    }),
    (c) => {
      const id = c.req.valid('param').id;
      deps.connections.delete(id);
      return c.json({ id, deleted: true as const }, 200);
    },
  );

  app.openapi(
    route({
      method: 'post',
      path: '/api/v1/connections/{id}/test',
      scope: 'write',
      summary: 'Test a connection from its agent: reachability, server version, latency, error code',
      tags: ['connections'],
      request: { params: IdParam('id', 'conn_abc123') },
      responses: { 200: { description: 'Outcome of the test', content: { 'application/json': { schema: TestSchema.extend({ connection_id: z.string() }) } } } },
    }),
    async (c) => {
      const conn = deps.connections.get(c.req.valid('param').id);
      const { jobId } = await runConnectionTest(deps.engine, conn.id, conn.agent_id);
      const job = deps.jobs.get(jobId);
      const test = job.result as z.infer<typeof TestSchema> | null;
      if (!test) {
        throw new FerryError('test_timeout', `The test job ${jobId} did not finish in time; see GET /api/v1/jobs/${jobId}`, { status: 409, details: { job_id: jobId } });
      }
      return c.json({ connection_id: conn.id, ...test }, 200);
    },
  );
}
