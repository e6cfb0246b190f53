import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { JobEngine } from '../../jobs/engine.ts';
import type { JobStore } from '../../jobs/store.ts';
import { JOB_STATUSES, LOG_LEVELS, type Job, type JobLog, type LogLevel } from '../../jobs/types.ts';
import type { ApiEnv } from '../env.ts';
import { route } from '../route.ts';
import { IdParam, ListQuery, listOf, orderBy, page, Timestamp } from '../schemas.ts';
import { streamJobEvents, wantsEventStream } from '../sse.ts';

export const JobSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    status: z.enum(JOB_STATUSES),
    phase: z.string().nullable(),
    agent_id: z.string().nullable(),
    resource: z.object({ type: z.string(), id: z.string() }).nullable(),
    progress: z.record(z.string(), z.unknown()),
    result: z.unknown().optional(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    created_at: Timestamp,
    started_at: Timestamp.nullable(),
    finished_at: Timestamp.nullable(),
    updated_at: Timestamp,
  })
  .openapi('Job');

export function jobView(j: Job) {
  return {
    id: j.id,
    kind: j.kind,
    status: j.status,
    phase: j.phase,
    agent_id: j.agent_id,
    resource: j.resource_type && j.resource_id ? { type: j.resource_type, id: j.resource_id } : null,
    progress: j.progress as Record<string, unknown>,
    result: j.result ?? undefined,
    error: j.error,
    created_at: j.created_at,
    started_at: j.started_at,
    finished_at: j.finished_at,
    updated_at: j.updated_at,
  };
}

export const LogQuery = z.object({
  level: z.enum(['debug', 'info', 'warning', 'error']).optional().openapi({ param: { name: 'level', in: 'query' }, description: 'Minimum level' }),
  phase: z.string().max(64).optional().openapi({ param: { name: 'phase', in: 'query' } }),
  since: z.string().datetime({ offset: true }).optional().openapi({ param: { name: 'since', in: 'query' } }),
  limit: z.coerce.number().int().min(1).max(1000).default(100).openapi({ param: { name: 'limit', in: 'query' } }),
  follow: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true')
    .openapi({ param: { name: 'follow', in: 'query' }, description: 'Stream as Server-Sent Events (`log` and `progress` events)' }),
});

export const LogEntrySchema = z
  .object({ timestamp: Timestamp, level: z.string(), message: z.string(), phase: z.string().nullable(), job_id: z.string() })
  .passthrough()
  .openapi('LogEntry');

export function levelsFrom(min: LogLevel | undefined): LogLevel[] | undefined {
  if (!min) return undefined;
  return LOG_LEVELS.slice(LOG_LEVELS.indexOf(min));
}

export function logView(l: JobLog) {
  return { timestamp: l.timestamp, level: l.level, message: l.message, phase: l.phase, job_id: l.job_id, ...(l.fields ?? {}) };
}

const JobListQuery = ListQuery.extend({
  status: z.enum(JOB_STATUSES).optional().openapi({ param: { name: 'status', in: 'query' } }),
  kind: z.string().max(64).optional().openapi({ param: { name: 'kind', in: 'query' } }),
  agent_id: z.string().max(100).optional().openapi({ param: { name: 'agent_id', in: 'query' } }),
});

const SORTS = { created_at: 'created_at', started_at: 'started_at', updated_at: 'updated_at', kind: 'kind', status: 'status' };

export function jobRoutes(app: OpenAPIHono<ApiEnv>, deps: { engine: JobEngine; store: JobStore }) {
  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/jobs',
      scope: 'read',
      summary: 'List jobs',
      tags: ['jobs'],
      request: { query: JobListQuery },
      responses: { 200: { description: 'Jobs', content: { 'application/json': { schema: listOf(JobSchema) } } } },
    }),
    (c) => {
      const q = c.req.valid('query');
      const ob = orderBy(q, SORTS, 'created_at');
      const { rows, total } = deps.store.list({ status: q.status, kind: q.kind, agent_id: q.agent_id }, ob, q.limit, q.offset);
      return c.json(page(rows.map(jobView), total, q), 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/jobs/{id}',
      scope: 'read',
      summary: 'Get a job with its tasks',
      tags: ['jobs'],
      request: { params: IdParam('id', 'job_abc123') },
      responses: { 200: { description: 'Job', content: { 'application/json': { schema: JobSchema.extend({ tasks: z.array(z.record(z.string(), z.unknown())) }) } } } },
    }),
    (c) => {
      const job = deps.store.get(c.req.valid('param').id);
      return c.json({ ...jobView(job), tasks: deps.store.tasksOf(job.id) }, 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/progress/{job_id}',
      scope: 'read',
      summary: 'Progress of a job (seed 003)',
      tags: ['jobs'],
      request: { params: IdParam('job_id', 'job_abc123') },
      responses: {
        200: {
          description: 'Progress',
          content: {
            'application/json': {
              schema: z.object({
                job_id: z.string(),
                status: z.string(),
                phase: z.string().nullable(),
                percent: z.number().nullable(),
                counters: z.record(z.string(), z.number()),
                throughput: z.record(z.string(), z.number()),
                message: z.string().nullable(),
                started_at: Timestamp.nullable(),
                updated_at: Timestamp,
                elapsed_seconds: z.number().nullable(),
              }),
            },
          },
        },
      },
    }),
    (c) => {
      const j = deps.store.get(c.req.valid('param').job_id);
      const end = j.finished_at ? Date.parse(j.finished_at) : Date.now();
      return c.json(
        {
          job_id: j.id,
          status: j.status,
          phase: j.phase,
          percent: j.status === 'completed' ? 100 : (j.progress.percent ?? null),
          counters: j.progress.counters ?? {},
          throughput: j.progress.throughput ?? {},
          message: j.progress.message ?? null,
          started_at: j.started_at,
          updated_at: j.updated_at,
          elapsed_seconds: j.started_at ? Math.round((end - Date.parse(j.started_at)) / 1000) : null,
        },
        200,
      );
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/jobs/{id}/logs',
      scope: 'read',
      summary: 'Job logs; `follow=true` (or Accept: text/event-stream) streams `log` and `progress` events',
      tags: ['jobs'],
      request: { params: IdParam('id', 'job_abc123'), query: LogQuery },
      responses: {
        200: {
          description: 'Logs',
          content: { 'application/json': { schema: z.object({ data: z.array(LogEntrySchema) }) }, 'text/event-stream': { schema: z.string() } },
        },
      },
    }),
    (c) => {
      const job = deps.store.get(c.req.valid('param').id);
      const q = c.req.valid('query');
      const levels = levelsFrom(q.level);
      if (wantsEventStream(c, q.follow)) {
        return streamJobEvents(c, deps, { jobIds: () => [job.id], levels, phase: q.phase, since: q.since, shape: logView }) as never;
      }
      const logs = deps.store.logs({ job_ids: [job.id], levels, phase: q.phase, since: q.since, limit: q.limit });
      return c.json({ data: logs.map(logView) }, 200);
    },
  );
}
