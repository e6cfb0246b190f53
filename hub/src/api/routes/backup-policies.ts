import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { BackupModule } from '../../backup/index.ts';
import type { ApiEnv } from '../env.ts';
import { route } from '../route.ts';
import { IdParam, ListQuery, listOf, page, Timestamp } from '../schemas.ts';
import { JobSchema, jobView } from './jobs.ts';

const Target = z.union([
  z.object({ agent_id: z.string().min(1).max(100), path: z.string().min(1).max(4096) }).strict(),
  z.object({ vm_id: z.string().min(1).max(100) }).strict(),
  z.object({ connection_id: z.string().min(1).max(100) }).strict(),
]);

const Retention = z
  .object({
    keep_last: z.number().int().min(0).max(10000).optional(),
    keep_daily: z.number().int().min(0).max(10000).optional(),
    keep_weekly: z.number().int().min(0).max(10000).optional(),
    keep_monthly: z.number().int().min(0).max(10000).optional(),
  })
  .strict()
  .openapi('Retention');

const PolicySchema = z
  .object({
    id: z.string().openapi({ example: 'pol_abc123' }),
    name: z.string(),
    schedule: z.string().openapi({ example: '0 2 * * *' }),
    timezone: z.string().openapi({ example: 'Europe/Berlin' }),
    enabled: z.boolean(),
    repository_id: z.string(),
    targets: z.array(Target),
    retention: Retention,
    backup_type: z.enum(['full', 'incremental']),
    next_run_at: Timestamp.nullable(),
    last_run_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('BackupPolicy');

const CreatePolicy = z
  .object({
    name: z.string().trim().min(1).max(200),
    schedule: z.string().min(1).max(200).openapi({ description: 'Cron expression (5 or 6 fields)' }),
    timezone: z.string().max(64).default('UTC'),
    enabled: z.boolean().default(true),
    repository_id: z.string().min(1).max(100).optional(),
    targets: z.array(Target).min(1).max(1000),
    retention: Retention.default({}),
    backup_type: z.enum(['full', 'incremental']).default('incremental'),
  })
  .strict()
  .openapi('CreateBackupPolicy');

const PatchPolicy = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    schedule: z.string().min(1).max(200).optional(),
    timezone: z.string().max(64).optional(),
    enabled: z.boolean().optional(),
    repository_id: z.string().min(1).max(100).optional(),
    targets: z.array(Target).min(1).max(1000).optional(),
    retention: Retention.optional(),
    backup_type: z.enum(['full', 'incremental']).optional(),
  })
  .strict()
  .openapi('PatchBackupPolicy');

export function backupPolicyRoutes(app: OpenAPIHono<ApiEnv>, m: BackupModule) {
  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/backup-policies',
      scope: 'read',
      summary: 'List backup policies',
      tags: ['backups'],
      request: { query: ListQuery },
      responses: { 200: { description: 'Policies', content: { 'application/json': { schema: listOf(PolicySchema) } } } },
    }),
    (c) => {
      const q = c.req.valid('query');
      const { rows, total } = m.policies.list(q.limit, q.offset);
      return c.json(page(rows, total, q), 200);
    },
  );

  app.openapi(
    route({
      method: 'post',
      path: '/api/v1/backup-policies',
      scope: 'write',
      summary: 'Create a policy: cron schedule in a time zone, targets, repository, retention',
      tags: ['backups'],
      request: { body: { required: true, content: { 'application/json': { schema: CreatePolicy } } } },
      responses: { 201: { description: 'Created', content: { 'application/json': { schema: PolicySchema } } } },
    }),
    (c) => {
      const b = c.req.valid('json');
      const repositoryId = b.repository_id ?? m.repos.defaultId() ?? '';
      m.repos.get(repositoryId);
      return c.json(m.policies.create({ ...b, repository_id: repositoryId }), 201);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/backup-policies/{id}',
      scope: 'read',
      summary: 'Get a policy',
      tags: ['backups'],
      request: { params: IdParam('id', 'pol_abc123') },
      responses: { 200: { description: 'Policy', content: { 'application/json': { schema: PolicySchema } } } },
    }),
    (c) => c.json(m.policies.get(c.req.valid('param').id), 200),
  );

  app.openapi(
    route({
      method: 'patch',
      path: '/api/v1/backup-policies/{id}',
      scope: 'write',
      summary: 'Change a policy',
      tags: ['backups'],
      request: { params: IdParam('id', 'pol_abc123'), body: { required: true, content: { 'application/json': { schema: PatchPolicy } } } },
      responses: { 200: { description: 'Policy', content: { 'application/json': { schema: PolicySchema } } } },
    }),
    (c) => {
      const b = c.req.valid('json');
      if (b.repository_id) m.repos.get(b.repository_id);
      return c.json(m.policies.update(c.req.valid('param').id, b), 200);
    },
  );

  app.openapi(
    route({
      method: 'delete',
      path: '/api/v1/backup-policies/{id}',
      scope: 'write',
      summary: 'Delete a policy (its backups stay)',
      tags: ['backups'],
      request: { params: IdParam('id', 'pol_abc123') },
      responses: { 200: { description: 'Deleted', content: { 'application/json': { schema: z.object({ id: z.string(), deleted: z.literal(true) }) } } } },
    }),
    (c) => {
      const id = c.req.valid('param').id;
      m.policies.delete(id);
      return c.json({ id, deleted: true as const }, 200);
    },
  );

  app.openapi(
    route({
      method: 'post',
      path: '/api/v1/backup-policies/{id}/run',
      scope: 'write',
      summary: 'Run a policy now: back up its targets, then prune by its retention',
      tags: ['backups'],
      request: { params: IdParam('id', 'pol_abc123') },
      responses: { 202: { description: 'Run started', content: { 'application/json': { schema: z.object({ job_id: z.string(), status: z.string(), kind: z.string() }) } } } },
    }),
    (c) => {
      const job = m.scheduler.runNow(c.req.valid('param').id, 'manual');
      return c.json({ job_id: job.id, status: job.status, kind: job.kind }, 202);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/backup-jobs',
      scope: 'read',
      summary: 'Jobs of the backup module: backups, restores, verifies, prunes, GCs and policy runs',
      tags: ['backups'],
      request: {
        query: ListQuery.extend({
          kind: z.enum(['backup', 'restore', 'verify', 'prune', 'gc', 'backup_policy_run']).optional(),
          policy_id: z.string().max(100).optional(),
        }),
      },
      responses: { 200: { description: 'Jobs, newest first', content: { 'application/json': { schema: listOf(JobSchema) } } } },
    }),
    (c) => {
      const q = c.req.valid('query');
      const { rows, total } = m.listJobs({ kind: q.kind, policy_id: q.policy_id }, q.limit, q.offset);
      return c.json(page(rows.map(jobView), total, q), 200);
    },
  );
}
