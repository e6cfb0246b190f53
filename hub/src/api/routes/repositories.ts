import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { BackupModule } from '../../backup/index.ts';
import type { ApiEnv } from '../env.ts';
import { route } from '../route.ts';
import { IdParam, ListQuery, listOf, page, Timestamp } from '../schemas.ts';

const RepositorySchema = z
  .object({
    id: z.string().openapi({ example: 'repo_abc123' }),
    name: z.string(),
    type: z.literal('local'),
    path: z.string(),
    description: z.string().nullable(),
    is_default: z.boolean(),
    created_at: Timestamp,
  })
  .openapi('Repository');

const StorageSchema = z
  .object({
    repository_id: z.string(),
    capacity_bytes: z.number().nullable(),
    used_bytes: z.number().nullable(),
    free_bytes: z.number().nullable(),
    logical_bytes: z.number().openapi({ description: 'Sum of the sizes of all snapshots (what restoring all of them writes)' }),
    stored_bytes: z.number().openapi({ description: 'Bytes of all chunk files after compression' }),
    dedup_ratio: z.number().openapi({ description: 'logical / stored: deduplication, compression and zero ranges together' }),
    chunk_count: z.number().int(),
    snapshot_count: z.number().int(),
    pending_backups: z.number().int(),
    chunking: z.record(z.string(), z.unknown()),
    compression: z.record(z.string(), z.unknown()),
  })
  .openapi('RepositoryStorage');

const CreateRepository = z
  .object({
    name: z.string().trim().min(1).max(200),
    type: z.literal('local').default('local'),
    path: z.string().min(1).max(4096).openapi({ description: 'Absolute folder on the hub; created when missing, adopted when it already holds a repository' }),
    description: z.string().max(2000).optional(),
  })
  .strict()
  .openapi('CreateRepository');

const Maintenance = z
  .object({
    grace_seconds: z.number().int().min(0).max(30 * 86400).optional().openapi({ description: 'GC: chunks younger than this are kept. @default 3600' }),
    keep_last: z.number().int().min(0).max(10000).optional(),
    keep_daily: z.number().int().min(0).max(10000).optional(),
    keep_weekly: z.number().int().min(0).max(10000).optional(),
    keep_monthly: z.number().int().min(0).max(10000).optional(),
    timezone: z.string().max(64).optional(),
  })
  .strict();

const JobRef = z.object({ job_id: z.string(), status: z.string(), kind: z.string() }).openapi('JobRef');

export function repositoryRoutes(app: OpenAPIHono<ApiEnv>, m: BackupModule) {
  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/repositories',
      scope: 'read',
      summary: 'List backup repositories',
      tags: ['backups'],
      request: { query: ListQuery },
      responses: { 200: { description: 'Repositories', content: { 'application/json': { schema: listOf(RepositorySchema) } } } },
    }),
    (c) => {
      const q = c.req.valid('query');
      const { rows, total } = m.repos.list(q.limit, q.offset);
      return c.json(page(rows, total, q), 200);
    },
  );

  app.openapi(
    route({
      method: 'post',
      path: '/api/v1/repositories',
      scope: 'admin',
      summary: 'Create a repository (a folder on the hub)',
      tags: ['backups'],
      request: { body: { required: true, content: { 'application/json': { schema: CreateRepository } } } },
      responses: { 201: { description: 'Created', content: { 'application/json': { schema: RepositorySchema } } } },
    }),
    async (c) => {
      const b = c.req.valid('json');
      return c.json(await m.repos.create({ name: b.name, path: b.path, description: b.description ?? null }), 201);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/repositories/{id}',
      scope: 'read',
      summary: 'Get a repository',
      tags: ['backups'],
      request: { params: IdParam('id', 'repo_abc123') },
      responses: { 200: { description: 'Repository', content: { 'application/json': { schema: RepositorySchema } } } },
    }),
    (c) => c.json(m.repos.get(c.req.valid('param').id), 200),
  );

  app.openapi(
    route({
      method: 'delete',
      path: '/api/v1/repositories/{id}',
      scope: 'admin',
      summary: 'Unregister a repository that holds no backups (its folder stays on disk)',
      tags: ['backups'],
      request: { params: IdParam('id', 'repo_abc123') },
      responses: { 200: { description: 'Deleted', content: { 'application/json': { schema: z.object({ id: z.string(), deleted: z.literal(true) }) } } } },
    }),
    (c) => {
      const id = c.req.valid('param').id;
      m.repos.delete(id, () => m.store.countInRepository(id));
      return c.json({ id, deleted: true as const }, 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/repositories/{id}/storage',
      scope: 'read',
      summary: 'Capacity, usage, logical and stored bytes, dedup ratio, chunk count',
      tags: ['backups'],
      request: { params: IdParam('id', 'repo_abc123') },
      responses: { 200: { description: 'Storage', content: { 'application/json': { schema: StorageSchema } } } },
    }),
    async (c) => {
      const id = c.req.valid('param').id;
      const repo = await m.repos.repo(id);
      const s = repo.stats();
      const space = await repo.space();
      return c.json(
        {
          repository_id: id,
          capacity_bytes: space?.capacityBytes ?? null,
          used_bytes: space ? space.capacityBytes - space.freeBytes : null,
          free_bytes: space?.freeBytes ?? null,
          logical_bytes: s.logicalBytes,
          stored_bytes: s.storedBytes,
          dedup_ratio: Math.round(s.dedupRatio * 1000) / 1000,
          chunk_count: s.chunkCount,
          snapshot_count: s.snapshotCount,
          pending_backups: repo.pendingBackups().length,
          chunking: repo.config.chunking,
          compression: repo.config.compression,
        },
        200,
      );
    },
  );

  for (const op of ['prune', 'gc'] as const) {
    app.openapi(
      route({
        method: 'post',
        path: `/api/v1/repositories/{id}/${op}`,
        scope: 'admin',
        summary:
          op === 'prune'
            ? 'Remove snapshots outside retention (given here, or each chain\'s policy) as a job'
            : 'Garbage-collect unreferenced chunks older than the grace period as a job',
        tags: ['backups'],
        request: { params: IdParam('id', 'repo_abc123'), body: { required: false, content: { 'application/json': { schema: Maintenance } } } },
        responses: { 202: { description: 'Job started', content: { 'application/json': { schema: JobRef } } } },
      }),
      async (c) => {
        const id = c.req.valid('param').id;
        m.repos.get(id);
        const b = (await c.req.json().catch(() => ({}))) as z.infer<typeof Maintenance>;
        const parsed = Maintenance.parse(b ?? {});
        const job = op === 'gc' ? m.startGc(id, parsed.grace_seconds) : m.startPrune(id, parsed);
        return c.json({ job_id: job.id, status: job.status, kind: job.kind }, 202);
      },
    );
  }
}
