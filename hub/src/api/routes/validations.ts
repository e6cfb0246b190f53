import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { FerryError } from '../../../../common/src/errors.ts';
import { CertificateError, jwks, VALIDATION_KINDS, type Certificate } from '../../validate/certificate.ts';
import type { ValidationModule } from '../../validate/module.ts';
import { renderCertificateHtml } from '../../validate/render-html.ts';
import type { ValidationRecord } from '../../validate/store.ts';
import { parseWorkloadSql, type WorkloadQuery } from '../../validate/workload.ts';
import type { SigningKey } from '../../identity/signing-key.ts';
import type { ApiEnv } from '../env.ts';
import { route } from '../route.ts';
import { IdParam } from '../schemas.ts';

const Kind = z.enum(VALIDATION_KINDS);

const CreateValidation = z
  .object({
    migration_id: z.string().min(1).max(100).optional(),
    source_connection_id: z.string().min(1).max(100).optional(),
    target_connection_id: z.string().min(1).max(100).optional(),
    tables: z
      .array(
        z.object({
          source: z.string().min(1).max(300).openapi({ example: 'public.invoice' }),
          target: z.string().min(1).max(300).openapi({ example: 'public.invoice' }),
          columns: z.record(z.string().max(200), z.string().max(200)).optional().openapi({ description: 'source column -> target column; default: same name' }),
        }),
      )
      .max(10_000)
      .optional(),
    kinds: z.array(Kind).min(1).max(5).optional().openapi({ description: 'Default: all five' }),
    workload: z
      .array(z.object({ name: z.string().min(1).max(200), sql: z.string().min(1).max(100_000) }))
      .max(1000)
      .optional()
      .openapi({ description: 'Read queries in the source dialect, for the behavioral check. Without "workload" or "workload_sql", the migration\'s options.behavioral_workload is used, else the workload is captured from the source (PostgreSQL with pg_stat_statements): its most called read-only statements.' }),
    workload_sql: z
      .string()
      .min(1)
      .max(2_000_000)
      .optional()
      .openapi({
        description:
          'Upload of a .sql workload file: the file\'s contents as one JSON string (the API takes JSON bodies only). Statements end at ";" (not inside string literals, quoted identifiers, dollar quotes or comments); a line "-- name: xyz" names the statement after it; unnamed ones are query_<n>. Read queries in the source dialect. Not together with "workload".',
        example: '-- name: revenue\nSELECT sum(total) FROM invoice;\n-- name: customers by country\nSELECT country, count(*) FROM customer GROUP BY country;',
      }),
    capture_limit: z.number().int().min(1).max(1000).optional().openapi({ description: 'Without a workload: how many of the source\'s most called read-only statements to capture from pg_stat_statements. @default 20' }),
  })
  .strict()
  .openapi('CreateValidation');

const KindSchema = z.object({ kind: Kind, status: z.string(), reason: z.string().optional(), counts: z.record(z.string(), z.number()), started_at: z.string().nullable(), finished_at: z.string().nullable(), details: z.unknown() });

const ValidationSchema = z
  .object({
    id: z.string(),
    migration_id: z.string().nullable(),
    source_connection_id: z.string(),
    target_connection_id: z.string(),
    kinds: z.array(Kind),
    status: z.string(),
    outcome: z.string().nullable(),
    job_id: z.string().nullable(),
    certificate_id: z.string().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    created_at: z.string(),
    finished_at: z.string().nullable(),
    results: z.record(z.string(), KindSchema).nullable(),
  })
  .openapi('Validation');

function view(v: ValidationRecord) {
  const { report, ...rest } = v;
  return { ...rest, results: report ? report.kinds : null, fingerprints: report ? { source: report.source, target: report.target } : null, plan_digest: report?.plan_digest ?? null };
}

function summary(v: ValidationRecord, migrationId: string) {
  return {
    migration_id: migrationId,
    validation_id: v.id,
    status: v.status,
    outcome: v.outcome,
    job_id: v.job_id,
    certificate_id: v.certificate_id,
    kinds: Object.fromEntries(VALIDATION_KINDS.map((k) => {
      const r = v.report?.kinds[k];
      return [k, r ? { status: r.status, counts: r.counts, ...(r.reason ? { reason: r.reason } : {}) } : { status: v.status === 'completed' ? 'not_run' : 'pending', counts: {} }];
    })),
    created_at: v.created_at,
    finished_at: v.finished_at,
  };
}

export function validationRoutes(app: OpenAPIHono<ApiEnv>, deps: { validation: ValidationModule; signingKey: SigningKey }) {
  const { validation } = deps;
  const latest = (migrationId: string) => {
    if (!validation.lookupMigration(migrationId)) throw new FerryError('migration_not_found', `No migration exists with ID ${JSON.stringify(migrationId)}`, { status: 404 });
    const v = validation.store.latestForMigration(migrationId);
    if (!v) throw new FerryError('validation_not_found', `Migration ${migrationId} has not been validated yet; POST /api/v1/validations with its migration_id`, { status: 404 });
    return v;
  };

  app.openapi(
    route({
      method: 'post',
      path: '/api/v1/validations',
      scope: 'write',
      summary: 'Validate a migration, or any source/target pair with a table mapping, as a job',
      tags: ['validation'],
      request: { body: { required: true, content: { 'application/json': { schema: CreateValidation } } } },
      responses: { 202: { description: 'Started', content: { 'application/json': { schema: ValidationSchema } } } },
    }),
    (c) => {
      const b = c.req.valid('json');
      let src = b.source_connection_id;
      let tgt = b.target_connection_id;
      let fromMigration: WorkloadQuery[] | null = null;
      if (b.migration_id) {
        const m = validation.lookupMigration(b.migration_id);
        fromMigration = m?.behavioral_workload?.length ? m.behavioral_workload.map((q) => ({ name: q.name, sql: q.sql, source: 'migration' as const })) : null;
        if (!m) throw new FerryError('migration_not_found', `No migration exists with ID ${JSON.stringify(b.migration_id)}`, { status: 404 });
        src ??= m.source_connection_id;
        tgt ??= m.target_connection_id;
        if (!m.plan && !b.tables?.length) throw new FerryError('validation_error', 'The migration has no plan yet: give "tables"', { status: 422, details: { field: 'tables' } });
      } else if (!src || !tgt || !b.tables?.length) {
        throw new FerryError('validation_error', 'Give "migration_id", or "source_connection_id", "target_connection_id" and "tables"', { status: 422 });
      }
      if (b.workload && b.workload_sql) throw new FerryError('validation_error', 'Give "workload" or "workload_sql", not both', { status: 422, details: { field: 'workload_sql' } });
      // Given here, else the migration's options.behavioral_workload, else captured from the source.
      let workload: WorkloadQuery[] | null = b.workload?.map((q) => ({ ...q, source: 'request' as const })) ?? fromMigration;
      if (b.workload_sql) {
        workload = parseWorkloadSql(b.workload_sql, validation.dialectOf(src!), 'file');
        if (!workload.length) throw new FerryError('validation_error', '"workload_sql" holds no statement', { status: 422, details: { field: 'workload_sql' } });
        if (workload.length > 1000) throw new FerryError('validation_error', `"workload_sql" holds ${workload.length} statements; at most 1000`, { status: 422, details: { field: 'workload_sql' } });
      }
      const { id } = validation.start({ migration_id: b.migration_id ?? null, source_connection_id: src!, target_connection_id: tgt!, kinds: b.kinds, tables: b.tables ?? null, workload, capture_limit: b.capture_limit ?? null });
      return c.json(view(validation.store.get(id)) as never, 202);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/validations/{id}',
      scope: 'read',
      summary: 'A validation with its results per kind',
      tags: ['validation'],
      request: { params: IdParam('id', 'val_abc123') },
      responses: { 200: { description: 'Validation', content: { 'application/json': { schema: ValidationSchema } } } },
    }),
    (c) => c.json(view(validation.store.get(c.req.valid('param').id)) as never, 200),
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/migrations/{id}/validation',
      scope: 'read',
      summary: 'Validation status of a migration: overall and one entry per kind (latest validation)',
      tags: ['validation'],
      request: { params: IdParam('id', 'mig_abc123') },
      responses: { 200: { description: 'Validation status', content: { 'application/json': { schema: z.object({ validation_id: z.string(), status: z.string() }).passthrough() } } } },
    }),
    (c) => {
      const id = c.req.valid('param').id;
      return c.json(summary(latest(id), id) as never, 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/migrations/{id}/validation/{kind}',
      scope: 'read',
      summary: 'One kind of a migration\'s latest validation: structural, statistical, referential, semantic, behavioral',
      tags: ['validation'],
      request: { params: IdParam('id', 'mig_abc123').extend({ kind: Kind }) },
      responses: { 200: { description: 'Kind result', content: { 'application/json': { schema: KindSchema.extend({ validation_id: z.string() }) } } } },
    }),
    (c) => {
      const { id, kind } = c.req.valid('param');
      const v = latest(id);
      const r = v.report?.kinds[kind];
      if (!r) return c.json({ validation_id: v.id, kind, status: v.status === 'completed' ? 'not_run' : 'pending', counts: {}, started_at: null, finished_at: null, details: {} } as never, 200);
      return c.json({ validation_id: v.id, ...r } as never, 200);
    },
  );

  const certificateResponse = {
    200: {
      description: 'Certificate',
      content: {
        'application/json': { schema: z.object({ certificate: z.unknown(), jws: z.string() }) },
        'application/jose': { schema: z.string() },
        'text/html': { schema: z.string() },
      },
    },
  };
  const FormatQuery = z.object({ format: z.enum(['json', 'jws', 'html']).optional().openapi({ param: { name: 'format', in: 'query' } }) });
  const answer = (c: Context<ApiEnv>, jws: string, fmt: string | undefined) => {
    const payload = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as Certificate;
    if (fmt === 'html') return c.html(renderCertificateHtml(payload, jws));
    if (fmt === 'jws' || (!fmt && /application\/jose/i.test(c.req.header('accept') ?? ''))) {
      return c.body(jws, 200, { 'content-type': 'application/jose', 'content-disposition': `attachment; filename="${payload.certificate_id}.jws"` });
    }
    return c.json({ certificate: payload, jws }, 200);
  };

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/migrations/{id}/certificate',
      scope: 'read',
      summary: 'The signed equivalence certificate of the latest validation: JWS with Accept: application/jose, JSON otherwise, ?format=html readable',
      tags: ['validation'],
      request: { params: IdParam('id', 'mig_abc123'), query: FormatQuery },
      responses: certificateResponse,
    }),
    (c) => {
      const id = c.req.valid('param').id;
      if (!validation.lookupMigration(id)) throw new FerryError('migration_not_found', `No migration exists with ID ${JSON.stringify(id)}`, { status: 404 });
      const cert = validation.store.latestCertificate(id);
      if (!cert) throw new CertificateError('certificate_not_found', `Migration ${id} has no certificate yet: it is issued when a validation completes`);
      return answer(c, cert.jws, c.req.valid('query').format) as never;
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/validations/{id}/certificate',
      scope: 'read',
      summary: 'The signed certificate of one validation (same formats as the migration certificate)',
      tags: ['validation'],
      request: { params: IdParam('id', 'val_abc123'), query: FormatQuery },
      responses: certificateResponse,
    }),
    (c) => {
      const id = c.req.valid('param').id;
      validation.store.get(id);
      const cert = validation.store.certificateOf(id);
      if (!cert) throw new CertificateError('certificate_not_found', `Validation ${id} has no certificate yet: it is issued when the validation completes`);
      return answer(c, cert.jws, c.req.valid('query').format) as never;
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/api/v1/certificates/jwks.json',
      scope: 'public',
      summary: 'The hub\'s public keys (JWK set) to verify certificates offline',
      tags: ['validation'],
      responses: { 200: { description: 'JWK set', content: { 'application/json': { schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) } } } },
    }),
    (c) => c.json(jwks([deps.signingKey]) as never, 200),
  );
}
