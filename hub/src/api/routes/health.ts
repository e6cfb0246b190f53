import { statfs } from 'node:fs/promises';
import { accessSync, constants } from 'node:fs';
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Db } from '../../store/db.ts';
import type { HubMetrics } from '../../metrics/metrics.ts';
import type { ApiEnv } from '../env.ts';
import { route } from '../route.ts';

export interface HealthDeps {
  db: Db;
  version: string;
  startedAt: number;
  repositoryPath: string;
  agents: () => { online: number; total: number };
  metrics: HubMetrics;
}

const Health = z
  .object({
    status: z.enum(['ok', 'degraded']),
    version: z.string(),
    uptime_seconds: z.number(),
    database: z.object({ status: z.enum(['ok', 'error']), engine: z.literal('sqlite'), message: z.string().optional() }),
    repository: z.object({ status: z.enum(['ok', 'error']), path: z.string(), free_bytes: z.number().nullable(), message: z.string().optional() }),
    agents: z.object({ online: z.number().int(), total: z.number().int() }),
  })
  .openapi('Health');

export function healthRoutes(app: OpenAPIHono<ApiEnv>, deps: HealthDeps) {
  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/health',
      scope: 'public',
      summary: 'Service health (no authentication)',
      tags: ['system'],
      responses: { 200: { description: 'Health', content: { 'application/json': { schema: Health } } } },
    }),
    async (c) => {
      let database: z.infer<typeof Health>['database'] = { status: 'ok', engine: 'sqlite' };
      try {
        deps.db.prepare('SELECT 1').get();
      } catch (e) {
        database = { status: 'error', engine: 'sqlite', message: (e as Error).message };
      }
      let repository: z.infer<typeof Health>['repository'] = { status: 'ok', path: deps.repositoryPath, free_bytes: null };
      try {
        accessSync(deps.repositoryPath, constants.W_OK);
        const s = await statfs(deps.repositoryPath);
        repository.free_bytes = Number(s.bavail) * Number(s.bsize);
      } catch (e) {
        repository = { status: 'error', path: deps.repositoryPath, free_bytes: null, message: (e as Error).message };
      }
      const ok = database.status === 'ok' && repository.status === 'ok';
      return c.json(
        {
          status: ok ? ('ok' as const) : ('degraded' as const),
          version: deps.version,
          uptime_seconds: Math.round((Date.now() - deps.startedAt) / 1000),
          database,
          repository,
          agents: deps.agents(),
        },
        200,
      );
    },
  );

  app.get('/metrics', async (c) => {
    const body = await deps.metrics.registry.metrics();
    return c.body(body, 200, { 'Content-Type': deps.metrics.registry.contentType });
  });
}
