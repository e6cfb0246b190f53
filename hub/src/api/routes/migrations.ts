import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { badRequest, validationError } from '../../../../common/src/errors.ts';
import type { JobEngine } from '../../jobs/engine.ts';
import type { JobStore } from '../../jobs/store.ts';
import type { MigrationsModule } from '../../migrate/index.ts';
import type { ApiEnv } from '../env.ts';
import { route } from '../route.ts';
import { IdParam, listOf, orderBy, page } from '../schemas.ts';
import { migrationObserveRoutes } from './migrations-observe.ts';
import { migrationPlanRoutes } from './migrations-plan.ts';
import { CancelBody, CreateMigration, DeleteQuery, MigrationListQuery, Obj, PatchMigration, PauseBody, StartBody } from './migrations-schemas.ts';

export interface MigrationRouteDeps {
  migrations: MigrationsModule;
  engine: JobEngine;
  jobs: JobStore;
}

const SORTS = { created_at: 'created_at', started_at: 'started_at', name: 'name', status: 'status', updated_at: 'updated_at' };
const Id = IdParam('id', 'mig_abc123def456');
const json = (name: string) => ({ content: { 'application/json': { schema: Obj(name) } } });
const optionalBody = <T extends z.ZodTypeAny>(schema: T) => ({ body: { required: false, content: { 'application/json': { schema } } } });

/** Dates given as a day (2026-01-01) compare as that day's midnight UTC. */
function isoBound(s: string | undefined, field: string): string | undefined {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw badRequest(`${field} "${s}" is not a date or date-time`, { field });
  return new Date(t).toISOString();
}

/** Lifecycle routes of seed 002 (create, list, get, patch, delete, start, pause, resume, cancel, status). */
export function migrationRoutes(app: OpenAPIHono<ApiEnv>, deps: MigrationRouteDeps) {
  const { service, store, views } = deps.migrations;

  app.openapi(
    route({ method: 'get', path: '/api/v1/migrations', scope: 'read', summary: 'List migrations', tags: ['migrations'], request: { query: MigrationListQuery }, responses: { 200: { description: 'Migrations', content: { 'application/json': { schema: listOf(Obj('MigrationListItem')) } } } } }),
    (c) => {
      const q = c.req.valid('query');
      const ob = orderBy(q, SORTS, 'created_at');
      const f = { status: q.status, source_id: q.source_id, target_id: q.target_id, created_after: isoBound(q.created_after, 'created_after'), created_before: isoBound(q.created_before, 'created_before') };
      const { rows, total } = store.list(f, ob, q.limit, q.offset);
      return c.json(page(rows.map((m) => views.listItem(m)), total, q), 200);
    },
  );

  app.openapi(
    route({ method: 'post', path: '/api/v1/migrations', scope: 'write', summary: 'Create a migration (planning starts at once)', tags: ['migrations'], request: { body: { required: true, content: { 'application/json': { schema: CreateMigration } } } }, responses: { 201: { description: 'Created', ...json('Migration') } } }),
    (c) => {
      const b = c.req.valid('json');
      const { strategy: _strategy, ...rest } = b;
      const opts = rest.options ? { mode: rest.options.mode, parallelism: rest.options.parallelism, batch_size: rest.options.batch_size, auto_approve_above: rest.options.auto_approve_above, generate_rollback: rest.options.generate_rollback, validation_kinds: rest.options.validation_kinds, behavioral_workload: rest.options.behavioral_workload } : undefined;
      const sched = rest.schedule ? { start_at: rest.schedule.start_at ?? null, maintenance_window: rest.schedule.maintenance_window ?? null } : undefined;
      const m = service.create({ ...rest, options: opts, schedule: sched }, c.get('principal')?.id ?? null);
      return c.json(views.migration(m), 201);
    },
  );

  app.openapi(
    route({ method: 'get', path: '/api/v1/migrations/{id}', scope: 'read', summary: 'Get a migration: progress per phase, metrics, timing', tags: ['migrations'], request: { params: Id }, responses: { 200: { description: 'Migration', ...json('Migration') } } }),
    (c) => c.json(views.migration(store.get(c.req.valid('param').id)), 200),
  );

  app.openapi(
    route({ method: 'patch', path: '/api/v1/migrations/{id}', scope: 'write', summary: 'Update name, description, options, schedule (not while running)', tags: ['migrations'], request: { params: Id, body: { required: true, content: { 'application/json': { schema: PatchMigration } } } }, responses: { 200: { description: 'Migration', ...json('Migration') } } }),
    (c) => {
      const b = c.req.valid('json');
      const sched = b.schedule ? { start_at: b.schedule.start_at, maintenance_window: b.schedule.maintenance_window } : undefined;
      const m = service.patch(c.req.valid('param').id, { ...b, schedule: sched as never });
      return c.json(views.migration(m), 200);
    },
  );

  app.openapi(
    route({ method: 'delete', path: '/api/v1/migrations/{id}', scope: 'write', summary: 'Delete a migration that is not running', tags: ['migrations'], request: { params: Id, query: DeleteQuery }, responses: { 200: { description: 'Deleted', ...json('MigrationDeleted') } } }),
    (c) => {
      const id = c.req.valid('param').id;
      const q = c.req.valid('query');
      const r = service.delete(id, q, () => views.metrics(store.get(id)));
      return c.json(r, 200);
    },
  );

  app.openapi(
    route({ method: 'post', path: '/api/v1/migrations/{id}/start', scope: 'write', summary: 'Start (or restart after a failure); dry_run shows what would run', tags: ['migrations'], request: { params: Id, ...optionalBody(StartBody) }, responses: { 200: { description: 'Started', ...json('MigrationStarted') } } }),
    async (c) => {
      const b = parseWith(StartBody, await bodyOf(c));
      return c.json(service.start(c.req.valid('param').id, b), 200);
    },
  );

  app.openapi(
    route({ method: 'post', path: '/api/v1/migrations/{id}/pause', scope: 'write', summary: 'Pause at the next checkpoint (or now, with immediate)', tags: ['migrations'], request: { params: Id, ...optionalBody(PauseBody) }, responses: { 200: { description: 'Pausing', ...json('MigrationPausing') } } }),
    async (c) => c.json(service.pause(c.req.valid('param').id, parseWith(PauseBody, await bodyOf(c))), 200),
  );

  app.openapi(
    route({ method: 'post', path: '/api/v1/migrations/{id}/resume', scope: 'write', summary: 'Resume a paused migration from its last checkpoint', tags: ['migrations'], request: { params: Id }, responses: { 200: { description: 'Resumed', ...json('MigrationResumed') } } }),
    (c) => c.json(service.resume(c.req.valid('param').id), 200),
  );

  app.openapi(
    route({ method: 'post', path: '/api/v1/migrations/{id}/cancel', scope: 'write', summary: 'Cancel; with rollback, drop exactly what the migration created on the target', tags: ['migrations'], request: { params: Id, ...optionalBody(CancelBody) }, responses: { 200: { description: 'Cancelled', ...json('MigrationCancelled') } } }),
    async (c) => c.json(service.cancel(c.req.valid('param').id, parseWith(CancelBody, await bodyOf(c))), 200),
  );

  app.openapi(
    route({ method: 'get', path: '/api/v1/migrations/{id}/status', scope: 'read', summary: 'Current status, phase progress and counters', tags: ['migrations'], request: { params: Id }, responses: { 200: { description: 'Status', ...json('MigrationStatus') } } }),
    (c) => c.json(views.status(store.get(c.req.valid('param').id)), 200),
  );

  migrationPlanRoutes(app, deps);
  migrationObserveRoutes(app, deps);
}

function parseWith<T extends z.ZodTypeAny>(schema: T, raw: unknown): z.infer<T> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data as z.infer<T>;
  const issues = r.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
  throw validationError(issues.map((i) => `${i.field}: ${i.message}`).join('; '), { issues });
}

/** Optional JSON bodies: absent or empty means defaults. */
async function bodyOf(c: { req: { text(): Promise<string> } }): Promise<unknown> {
  const t = (await c.req.text()).trim();
  if (!t) return {};
  try {
    return JSON.parse(t) as unknown;
  } catch {
    throw badRequest('Request body is not valid JSON');
  }
}
