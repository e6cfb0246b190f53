import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { badRequest } from '../../../../common/src/errors.ts';
import type { BackupModule } from '../../backup/index.ts';
import type { Backup } from '../../backup/store.ts';
import type { ApiEnv } from '../env.ts';
import { route } from '../route.ts';
import { IdParam, ListQuery, listOf, orderBy, page, Timestamp } from '../schemas.ts';

const BackupSchema = z
  .object({
    id: z.string().openapi({ example: 'bk_abc123' }),
    repository_id: z.string(),
    snapshot_id: z.string().nullable(),
    source_type: z.enum(['disk', 'vm_disk', 'database']),
    agent_id: z.string().nullable(),
    path: z.string().nullable(),
    vm_id: z.string().nullable(),
    disk: z.string().nullable(),
    connection_id: z.string().nullable(),
    format: z.string().nullable(),
    type: z.enum(['full', 'incremental']),
    parent_id: z.string().nullable(),
    policy_id: z.string().nullable(),
    status: z.enum(['pending', 'running', 'completed', 'failed', 'cancelled']),
    size_bytes: z.number().nullable(),
    chunk_count: z.number().nullable(),
    uploaded_bytes: z.number().openapi({ description: 'Chunk bytes the agent sent because the repository lacked them (all attempts)' }),
    uploaded_chunks: z.number(),
    stored_bytes_added: z.number().openapi({ description: 'Bytes this backup added to the repository, after compression' }),
    bytes_read: z.number(),
    drift_detected: z.boolean().openapi({ description: 'The changed-block tracking audit found missed changes; the whole disk was re-read' }),
    attempts: z.number(),
    job_id: z.string().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    created_at: Timestamp,
    completed_at: Timestamp.nullable(),
  })
  .openapi('Backup');

const Source = z.union([
  z.object({ agent_id: z.string().min(1).max(100), path: z.string().min(1).max(4096) }).strict(),
  z.object({ vm_id: z.string().min(1).max(100) }).strict(),
  z.object({ connection_id: z.string().min(1).max(100) }).strict(),
]);

const CreateBackup = z
  .object({
    source: Source.optional().openapi({ description: 'A disk {agent_id, path}, a VM {vm_id} or a database {connection_id}' }),
    vm_id: z.string().min(1).max(100).optional().openapi({ description: 'Shorthand for source.vm_id (seed 003)' }),
    connection_id: z.string().min(1).max(100).optional(),
    type: z.enum(['full', 'incremental']).default('incremental').openapi({ description: 'An incremental without a previous backup becomes a full' }),
    repository_id: z.string().min(1).max(100).optional().openapi({ description: 'Default: the default repository' }),
    format: z.enum(['custom', 'plain']).optional().openapi({ description: 'Database backups: pg_dump format. @default custom' }),
    audit_sample_percent: z.number().min(0).max(100).optional().openapi({ description: 'Disks with changed-block tracking (qcow2 bitmaps): percent of unchanged chunks re-read to detect drift. @default 1' }),
  })
  .strict()
  .openapi('CreateBackup');

const Target = z.union([z.object({ agent_id: z.string().min(1).max(100), path: z.string().min(1).max(4096) }).strict(), z.object({ connection_id: z.string().min(1).max(100) }).strict()]);

const JobRef = z.object({ job_id: z.string(), status: z.string(), kind: z.string() });

const ChainSchema = z
  .object({
    source_key: z.string(),
    repository_id: z.string().nullable(),
    backups: z.array(BackupSchema.extend({ bytes_added: z.number() })),
    total_size_bytes: z.number(),
    total_bytes_added: z.number(),
  })
  .openapi('BackupChain');

const SORTS = { created_at: 'created_at', completed_at: 'completed_at', size_bytes: 'size_bytes', status: 'status' };

export function backupRoutes(app: OpenAPIHono<ApiEnv>, m: BackupModule) {
  app.openapi(
    route({
      method: 'post',
      path: '/api/v1/backups',
      scope: 'write',
      summary: 'Back up a disk, a VM (each of its disks) or a database; runs as a job',
      tags: ['backups'],
      request: { body: { required: true, content: { 'application/json': { schema: CreateBackup } } } },
      responses: { 202: { description: 'Backup started', content: { 'application/json': { schema: BackupSchema.extend({ backups: z.array(BackupSchema) }) } } } },
    }),
    (c) => {
      const b = c.req.valid('json');
      const source = b.source ?? (b.vm_id ? { vm_id: b.vm_id } : b.connection_id ? { connection_id: b.connection_id } : undefined);
      if (!source) throw badRequest('Give "source" ({agent_id, path}, {vm_id} or {connection_id})', { field: 'source' });
      const { backups } = m.service.create({ source, type: b.type, repository_id: b.repository_id, format: b.format, audit_sample_percent: b.audit_sample_percent });
      // One backup per disk: the first is the response body, all are listed in `backups`.
      return c.json({ ...backups[0]!, backups }, 202);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/backups',
      scope: 'read',
      summary: 'List backups',
      tags: ['backups'],
      request: {
        query: ListQuery.extend({
          repository_id: z.string().max(100).optional(),
          agent_id: z.string().max(100).optional(),
          path: z.string().max(4096).optional(),
          vm_id: z.string().max(100).optional(),
          connection_id: z.string().max(100).optional(),
          policy_id: z.string().max(100).optional(),
          status: z.enum(['pending', 'running', 'completed', 'failed', 'cancelled']).optional(),
          type: z.enum(['full', 'incremental']).optional(),
        }),
      },
      responses: { 200: { description: 'Backups', content: { 'application/json': { schema: listOf(BackupSchema) } } } },
    }),
    (c) => {
      const q = c.req.valid('query');
      const ob = orderBy(q, SORTS, 'created_at');
      const { limit, offset, sort: _s, order: _o, ...filter } = q;
      const { rows, total } = m.store.list(filter, ob, limit, offset);
      return c.json(page(rows, total, q), 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/backups/chain',
      scope: 'read',
      summary: 'The backups of one source in order (full, then incrementals) with sizes and bytes each added',
      tags: ['backups'],
      request: {
        query: z.object({
          vm_id: z.string().max(100).optional(),
          disk: z.string().max(100).optional(),
          agent_id: z.string().max(100).optional(),
          path: z.string().max(4096).optional(),
          connection_id: z.string().max(100).optional(),
          repository_id: z.string().max(100).optional(),
        }),
      },
      responses: { 200: { description: 'Chain(s): one per disk for a VM', content: { 'application/json': { schema: ChainSchema.extend({ chains: z.array(ChainSchema) }) } } } },
    }),
    (c) => {
      const chains = m.service.chain(c.req.valid('query'));
      return c.json({ ...chains[0]!, chains }, 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/backups/{id}',
      scope: 'read',
      summary: 'Get a backup',
      tags: ['backups'],
      request: { params: IdParam('id', 'bk_abc123') },
      responses: { 200: { description: 'Backup', content: { 'application/json': { schema: BackupSchema } } } },
    }),
    (c) => c.json(m.service.getBackup(c.req.valid('param').id), 200),
  );

  app.openapi(
    route({
      method: 'delete',
      path: '/api/v1/backups/{id}',
      scope: 'write',
      summary: 'Delete a backup and its snapshot (chunks are freed by the next GC)',
      tags: ['backups'],
      request: { params: IdParam('id', 'bk_abc123') },
      responses: { 200: { description: 'Deleted', content: { 'application/json': { schema: z.object({ id: z.string(), deleted: z.literal(true) }) } } } },
    }),
    async (c) => {
      const id = c.req.valid('param').id;
      await m.service.delete(id);
      return c.json({ id, deleted: true as const }, 200);
    },
  );

  app.openapi(
    route({
      method: 'post',
      path: '/api/v1/backups/{id}/restore',
      scope: 'write',
      summary: 'Restore to a path on an agent ({agent_id, path}) or, for a database backup, into a connection ({connection_id})',
      tags: ['backups'],
      request: {
        params: IdParam('id', 'bk_abc123'),
        body: { required: true, content: { 'application/json': { schema: z.object({ target: Target }).strict() } } },
      },
      responses: { 202: { description: 'Restore job started', content: { 'application/json': { schema: JobRef } } } },
    }),
    (c) => {
      const job = m.service.restore(c.req.valid('param').id, c.req.valid('json').target);
      return c.json({ job_id: job.id, status: job.status, kind: job.kind }, 202);
    },
  );

  app.openapi(
    route({
      method: 'post',
      path: '/api/v1/backups/{id}/verify',
      scope: 'write',
      summary: 'Re-read and re-hash every chunk of the backup\'s snapshot (a job; it fails naming the snapshot when a chunk is missing or damaged)',
      tags: ['backups'],
      request: { params: IdParam('id', 'bk_abc123') },
      responses: { 202: { description: 'Verify job started', content: { 'application/json': { schema: JobRef } } } },
    }),
    (c) => {
      const job = m.service.verify(c.req.valid('param').id);
      return c.json({ job_id: job.id, status: job.status, kind: job.kind }, 202);
    },
  );
}

export type { Backup };
