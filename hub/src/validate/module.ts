/**
 * The validation module: the `validation.run` job runner, the certificate issuer, and the hook a
 * migration's `validation` phase calls. Wired in hub.ts by `createValidationModule`.
 */
import { FerryError, notFound } from '../../../common/src/errors.ts';
import { newId } from '../../../common/src/ids.ts';
import type { WireConnection } from '../../../common/src/migrate-tasks.ts';
import type { ConnectionStore } from '../connections/store.ts';
import type { SigningKey } from '../identity/signing-key.ts';
import type { JobContext, JobEngine, JobRunner } from '../jobs/engine.ts';
import type { Plan } from '../migrate/planner/types.ts';
import type { Db } from '../store/db.ts';
import { CERTIFICATE_FORMAT, overallOutcome, signCertificate, VALIDATION_KINDS, type Certificate, type KindOutcome, type ValidationKind } from './certificate.ts';
import type { KindReport, Sides, ValidationReport } from './report.ts';
import { runValidation } from './run.ts';
import { ValidationStore, type ValidationRequest } from './store.ts';
import type { WorkloadQuery } from './workload.ts';

export const VALIDATION_JOB = 'validation.run';

/** What validation needs to know of a migration. */
export interface MigrationFacts {
  source_connection_id: string;
  target_connection_id: string;
  plan: Plan | null;
  /** The migration's `options.behavioral_workload`, if any. */
  behavioral_workload?: WorkloadQuery[] | null;
}
export type MigrationLookup = (id: string) => MigrationFacts | null;

/** Reads the migrations module's table directly (read-only), so the modules stay decoupled. */
export function sqlMigrationLookup(db: Db): MigrationLookup {
  return (id) => {
    try {
      const r = db.prepare('SELECT source_connection_id, target_connection_id, plan, options FROM migrations WHERE id = ?').get(id) as { source_connection_id: string; target_connection_id: string; plan: string | null; options: string | null } | undefined;
      if (!r) return null;
      const options = r.options ? (JSON.parse(r.options) as { behavioral_workload?: WorkloadQuery[] | null }) : {};
      return { source_connection_id: r.source_connection_id, target_connection_id: r.target_connection_id, plan: r.plan ? (JSON.parse(r.plan) as Plan) : null, behavioral_workload: options.behavioral_workload ?? null };
    } catch {
      // No migrations table yet (module not wired): no migration exists.
      return null;
    }
  };
}

/** A kind's entry in the certificate; behavioral names its queries (what was proven is stated). */
function outcomeOf(r: KindReport): KindOutcome {
  const queries = r.kind === 'behavioral' && 'queries' in r.details ? r.details.queries : [];
  return {
    status: r.status,
    counts: r.counts,
    ...(r.reason ? { reason: r.reason } : {}),
    ...(queries.length ? { queries: queries.map((q) => ({ name: q.name, status: q.status, source: q.source })) } : {}),
  };
}

export interface ValidationModuleDeps {
  db: Db;
  engine: JobEngine;
  connections: ConnectionStore;
  signingKey: SigningKey;
  hubId: string;
  migrations?: MigrationLookup;
  now?: () => Date;
}

export interface ValidationModule {
  store: ValidationStore;
  lookupMigration: MigrationLookup;
  /** The dialect of a saved connection (to read a workload file in the source's SQL). */
  dialectOf(connectionId: string): string;
  /** Record a validation and start its `validation.run` job. */
  start(req: Omit<ValidationRequest, 'kinds'> & { kinds?: ValidationKind[] }): { id: string; job_id: string };
  /**
   * Run a validation inside another job (the migration's `validation` phase): same checks,
   * same storage and certificate, tasks dispatched through that job's context.
   */
  runInJob(ctx: JobContext, req: Omit<ValidationRequest, 'kinds'> & { kinds?: ValidationKind[] }): Promise<{ id: string; outcome: string; report: ValidationReport; jws: string }>;
  jobRunner: JobRunner;
}

export function createValidationModule(d: ValidationModuleDeps): ValidationModule {
  const store = new ValidationStore(d.db);
  const now = d.now ?? (() => new Date());
  const lookupMigration = d.migrations ?? sqlMigrationLookup(d.db);

  const sidesFor = (ctx: JobContext, req: ValidationRequest): Sides => {
    const s = d.connections.specFor(req.source_connection_id);
    const t = d.connections.specFor(req.target_connection_id);
    const call = (agent: string, connection: WireConnection) => async <R>(kind: string, payload: Record<string, unknown>) =>
      (await ctx.runTask(agent, kind, { ...payload, connection }, { maxAttempts: 2 })) as R;
    return { source: call(s.agent_id, s.spec as WireConnection), target: call(t.agent_id, t.spec as WireConnection), sourceDialect: s.spec.type };
  };

  const execute = async (ctx: JobContext, id: string, req: ValidationRequest, ownJob: boolean) => {
    store.setStatus(id, 'running');
    const plan = req.migration_id ? (lookupMigration(req.migration_id)?.plan ?? null) : null;
    let done = 0;
    const { report } = await runValidation(sidesFor(ctx, req), {
      kinds: req.kinds,
      plan,
      mapping: plan ? null : req.tables,
      workload: req.workload,
      capture: req.capture_limit ? { limit: req.capture_limit } : undefined,
      now,
      onKind: (kind, r) => {
        if (!r) {
          // Inside a migration job the phase stays `validation`; a validation job shows the kind.
          if (ownJob) ctx.setPhase(kind);
          ctx.log('info', `Validation ${kind} started`);
          return;
        }
        done++;
        ctx.progress({ percent: Math.round((done / VALIDATION_KINDS.length) * 100), message: `${kind}: ${r.status}` });
        ctx.log(r.status === 'passed' ? 'info' : 'warning', `Validation ${kind}: ${r.status}${r.reason ? ` (${r.reason})` : ''}`, r.counts);
      },
    });
    const checks = Object.fromEntries(VALIDATION_KINDS.map((k) => [k, outcomeOf(report.kinds[k])])) as Certificate['checks'];
    const cert: Certificate = {
      format: CERTIFICATE_FORMAT,
      certificate_id: newId('cert'),
      issued_at: now().toISOString(),
      migration_id: req.migration_id,
      validation_id: id,
      source: report.source,
      target: report.target,
      plan_digest: report.plan_digest,
      window: { started_at: report.started_at, finished_at: report.finished_at },
      outcome: overallOutcome(checks),
      checks,
      hub: { hub_id: d.hubId, kid: d.signingKey.kid },
    };
    const jws = await signCertificate(cert, d.signingKey);
    const at = now().toISOString();
    store.finish(id, { status: 'completed', outcome: cert.outcome, report, at });
    store.saveCertificate(id, req.migration_id, cert.certificate_id, jws, at);
    ctx.log(cert.outcome === 'passed' ? 'info' : 'warning', `Validation ${cert.outcome}; certificate ${cert.certificate_id} issued`);
    return { id, outcome: cert.outcome, report, jws };
  };

  const complete = (req: Omit<ValidationRequest, 'kinds'> & { kinds?: ValidationKind[] }): ValidationRequest => {
    if (req.migration_id && !lookupMigration(req.migration_id)) throw notFound('migration', req.migration_id);
    d.connections.get(req.source_connection_id);
    d.connections.get(req.target_connection_id);
    return { ...req, kinds: req.kinds?.length ? req.kinds : [...VALIDATION_KINDS] };
  };

  const jobRunner: JobRunner = async (ctx) => {
    const id = String(ctx.job.resource_id);
    try {
      const r = await execute(ctx, id, store.request(id), true);
      return { status: 'completed', result: { validation_id: id, outcome: r.outcome } };
    } catch (e) {
      const err = e as { code?: string; message?: string };
      store.finish(id, { status: ctx.signal.aborted ? 'cancelled' : 'failed', error: { code: err.code ?? 'internal_error', message: err.message ?? String(e) }, at: now().toISOString() });
      throw e;
    }
  };

  return {
    store,
    lookupMigration,
    jobRunner,
    dialectOf: (connectionId) => d.connections.get(connectionId).type,
    start(input) {
      const req = complete(input);
      const id = newId('val');
      store.insert(id, req, now().toISOString());
      const job = d.engine.create({ kind: VALIDATION_JOB, resource_type: 'validation', resource_id: id, params: { validation_id: id } });
      store.setJob(id, job.id);
      d.engine.start(job.id);
      return { id, job_id: job.id };
    },
    async runInJob(ctx, input) {
      const req = complete(input);
      const id = newId('val');
      store.insert(id, req, now().toISOString());
      store.setJob(id, ctx.job.id);
      try {
        return await execute(ctx, id, req, false);
      } catch (e) {
        const err = e as { code?: string; message?: string };
        store.finish(id, { status: 'failed', error: { code: err.code ?? 'internal_error', message: err.message ?? String(e) }, at: now().toISOString() });
        throw e instanceof FerryError ? e : new FerryError('validation_failed', err.message ?? String(e), { status: 500 });
      }
    },
  };
}
