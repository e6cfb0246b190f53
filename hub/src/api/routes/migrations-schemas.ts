import { VALIDATION_KINDS } from '../../validate/certificate.ts';
/** Request and response schemas of the migrations API (seed 002), declared once for validation and OpenAPI. */
import { z } from '@hono/zod-openapi';
import { MIGRATION_STATUSES, RUN_PHASES } from '../../migrate/types.ts';
import { MAPPING_STATUSES } from '../../migrate/planner/types.ts';
import { ListQuery } from '../schemas.ts';

const Window = z.object({
  start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM'),
  end: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM'),
  timezone: z.string().min(1).max(64).default('UTC'),
});

export const OptionsSchema = z
  .object({
    mode: z.enum(['full', 'schema_only', 'data_only']).optional(),
    parallelism: z.number().int().min(1).max(64).optional().openapi({ description: 'Units transferred at once. @default 4' }),
    batch_size: z.number().int().min(1).max(100_000_000).optional().openapi({ description: 'Rows per unit. @default 100000' }),
    auto_approve_above: z.number().min(0).max(1).optional().openapi({ description: '@default 0.9' }),
    generate_rollback: z.boolean().optional(),
    validation_kinds: z
      .array(z.enum(VALIDATION_KINDS))
      .max(5)
      .optional()
      .openapi({ description: 'Validation kinds run after cutover (signed certificate). @default all five; [] for row counts only' }),
    behavioral_workload: z
      .array(z.object({ name: z.string().min(1).max(200), sql: z.string().min(1).max(100_000) }).strict())
      .max(1000)
      .nullable()
      .optional()
      .openapi({ description: 'Read queries in the source dialect run on source and target by the behavioral check after cutover; names appear in the report and certificate. Without it the workload is captured from the source (pg_stat_statements) when possible. PATCHable before start.' }),
  })
  .strict();

export const ScheduleSchema = z.object({ start_at: z.string().datetime({ offset: true }).nullable().optional(), maintenance_window: Window.nullable().optional() }).strict();

const Endpoint = z
  .object({
    connection_id: z.string().min(1).max(100).optional(),
    type: z.string().max(32).optional().openapi({ description: 'Seed 000 inline form, with connection_string' }),
    connection_string: z.string().min(3).max(4000).optional().openapi({ description: 'Stored as a sealed connection; never returned' }),
    schema: z.string().min(1).max(128).optional(),
    schemas: z.array(z.string().min(1).max(128)).max(100).optional(),
    exclude_tables: z.array(z.string().min(1).max(256)).max(1000).optional().openapi({ description: 'Table names or globs (`TEMP_*`)' }),
  })
  .strict();

export const CreateMigration = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(4000).optional(),
    source: Endpoint,
    target: Endpoint,
    strategy: z.string().max(64).optional(),
    options: OptionsSchema.passthrough().optional(),
    schedule: ScheduleSchema.optional(),
    notifications: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .openapi('CreateMigration');

export const PatchMigration = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(4000).nullable().optional(),
    options: OptionsSchema.optional(),
    schedule: ScheduleSchema.optional(),
    notifications: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .openapi('PatchMigration');

export const StartBody = z.object({ skip_approval: z.boolean().optional(), start_from_phase: z.enum(RUN_PHASES).optional(), dry_run: z.boolean().optional() }).strict();
export const PauseBody = z.object({ reason: z.string().max(1000).optional(), immediate: z.boolean().optional() }).strict();
export const CancelBody = z.object({ reason: z.string().max(1000).optional(), rollback: z.boolean().optional(), force: z.boolean().optional() }).strict();

export const MigrationListQuery = ListQuery.extend({
  status: z.enum(MIGRATION_STATUSES).optional().openapi({ param: { name: 'status', in: 'query' } }),
  source_id: z.string().max(100).optional().openapi({ param: { name: 'source_id', in: 'query' } }),
  target_id: z.string().max(100).optional().openapi({ param: { name: 'target_id', in: 'query' } }),
  created_after: z.string().max(40).optional().openapi({ param: { name: 'created_after', in: 'query' }, example: '2026-01-01' }),
  created_before: z.string().max(40).optional().openapi({ param: { name: 'created_before', in: 'query' }, example: '2026-02-01' }),
});

const bool = (name: string, dflt: boolean) =>
  z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => (v === undefined ? dflt : v === 'true'))
    .openapi({ param: { name, in: 'query' } });

export const DeleteQuery = z.object({ keep_logs: bool('keep_logs', true), keep_metrics: bool('keep_metrics', true) });

export const MappingChange = z
  .object({
    status: z.enum(MAPPING_STATUSES).optional(),
    target_type: z.string().min(1).max(200).optional().openapi({ description: 'PostgreSQL type, e.g. "numeric(12,2)"' }),
    transformation: z.string().min(1).max(64).optional(),
    comment: z.string().max(4000).nullable().optional(),
  })
  .strict();

export const BulkMappings = z.object({ mappings: z.array(MappingChange.extend({ id: z.string().min(1).max(100) })).min(1).max(10_000) }).strict();

export const ApproveBody = z
  .object({
    approved: z.boolean().default(true),
    override_transformation: z.union([z.string().max(500), z.object({ type: z.string().max(200).optional(), transformation: z.string().max(64).optional() }).strict()]).nullable().optional(),
    comment: z.string().max(4000).nullable().optional(),
  })
  .strict();

export const ErrorListQuery = ListQuery.extend({
  status: z.enum(['open', 'resolved', 'retried']).optional().openapi({ param: { name: 'status', in: 'query' } }),
  table: z.string().max(200).optional().openapi({ param: { name: 'table', in: 'query' } }),
});

export const ResolveBody = z.object({ comment: z.string().max(4000).optional() }).strict();

/** Responses are documented loosely: their exact fields follow seed 002 and are listed in docs. */
export const Obj = (name: string) => z.record(z.string(), z.unknown()).openapi(name);
