import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from '../env.ts';
import { route } from '../route.ts';
import { IdParam, listOf, page } from '../schemas.ts';
import { streamJobEvents, wantsEventStream } from '../sse.ts';
import { levelsFrom, LogEntrySchema, LogQuery, logView } from './jobs.ts';
import type { MigrationRouteDeps } from './migrations.ts';
import { ErrorListQuery, Obj, ResolveBody } from './migrations-schemas.ts';

const Id = IdParam('id', 'mig_abc123def456');
const ErrParams = Id.extend(IdParam('error_id', 'err_abc123').shape);
const json = (name: string) => ({ content: { 'application/json': { schema: Obj(name) } } });

/** Logs (and the SSE follow stream), metrics, and row errors with resolve/retry. */
export function migrationObserveRoutes(app: OpenAPIHono<ApiEnv>, deps: MigrationRouteDeps) {
  const { service, store, views } = deps.migrations;

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/migrations/{id}/logs',
      scope: 'read',
      summary: 'Logs of every job of the migration; `follow=true` streams `log` and `progress` events (SSE)',
      tags: ['migrations'],
      request: { params: Id, query: LogQuery },
      responses: { 200: { description: 'Logs', content: { 'application/json': { schema: z.object({ data: z.array(LogEntrySchema) }) }, 'text/event-stream': { schema: z.string() } } } },
    }),
    (c) => {
      const m = store.get(c.req.valid('param').id);
      const q = c.req.valid('query');
      const levels = levelsFrom(q.level);
      const shape = (l: Parameters<typeof logView>[0]) => ({ ...logView(l), migration_id: m.id });
      if (wantsEventStream(c, q.follow)) {
        // Job ids are re-read on every turn: a resume or retry adds jobs while the stream is open.
        return streamJobEvents(c, { engine: deps.engine, store: deps.jobs }, { jobIds: () => store.jobIds(m.id), levels, phase: q.phase, since: q.since, shape }) as never;
      }
      const logs = deps.jobs.logs({ job_ids: store.jobIds(m.id), levels, phase: q.phase, since: q.since, limit: q.limit });
      return c.json({ data: logs.map(shape) }, 200);
    },
  );

  app.openapi(
    route({ method: 'get', path: '/api/v1/migrations/{id}/metrics', scope: 'read', summary: 'Throughput, workers, quality and per-table progress', tags: ['migrations'], request: { params: Id }, responses: { 200: { description: 'Metrics', ...json('MigrationMetrics') } } }),
    (c) => c.json(views.metrics(store.get(c.req.valid('param').id)) as unknown as Record<string, unknown>, 200),
  );

  app.openapi(
    route({ method: 'get', path: '/api/v1/migrations/{id}/errors', scope: 'read', summary: 'Rows the target rejected, and other recorded errors', tags: ['migrations'], request: { params: Id, query: ErrorListQuery }, responses: { 200: { description: 'Errors', content: { 'application/json': { schema: listOf(Obj('MigrationError')) } } } } }),
    (c) => {
      const id = c.req.valid('param').id;
      store.get(id);
      const q = c.req.valid('query');
      const { rows, total } = store.errors(id, { status: q.status, table: q.table }, q.limit, q.offset);
      return c.json(page(rows as unknown as Record<string, unknown>[], total, q), 200);
    },
  );

  app.openapi(
    route({ method: 'get', path: '/api/v1/migrations/{id}/errors/{error_id}', scope: 'read', summary: 'One error with its row', tags: ['migrations'], request: { params: ErrParams }, responses: { 200: { description: 'Error', ...json('MigrationError') } } }),
    (c) => {
      const { id, error_id } = c.req.valid('param');
      store.get(id);
      return c.json(store.error(id, error_id) as unknown as Record<string, unknown>, 200);
    },
  );

  app.openapi(
    route({ method: 'post', path: '/api/v1/migrations/{id}/errors/{error_id}/resolve', scope: 'write', summary: 'Mark an error resolved (accepted as is)', tags: ['migrations'], request: { params: ErrParams, body: { required: false, content: { 'application/json': { schema: ResolveBody } } } }, responses: { 200: { description: 'Error', ...json('MigrationError') } } }),
    async (c) => {
      const { id, error_id } = c.req.valid('param');
      store.get(id);
      store.error(id, error_id);
      const raw = (await c.req.text()).trim();
      const b = raw ? ResolveBody.safeParse(JSON.parse(raw)) : { success: true as const, data: {} as { comment?: string } };
      store.setErrorStatus(id, { errorId: error_id }, 'resolved', { comment: b.success ? (b.data.comment ?? null) : null });
      return c.json(store.error(id, error_id) as unknown as Record<string, unknown>, 200);
    },
  );

  app.openapi(
    route({ method: 'post', path: '/api/v1/migrations/{id}/errors/{error_id}/retry', scope: 'write', summary: "Reload the error's unit in salvage mode with the current mappings", tags: ['migrations'], request: { params: ErrParams }, responses: { 200: { description: 'Retry started', ...json('MigrationErrorRetry') } } }),
    (c) => {
      const { id, error_id } = c.req.valid('param');
      return c.json(service.retryError(id, error_id), 200);
    },
  );
}
