import type { Catalog, TableProfile } from '../../../common/src/catalog.ts';
import { FerryError } from '../../../common/src/errors.ts';
import type { IntrospectPayload, IntrospectResult } from '../../../common/src/migrate-tasks.ts';
import type { JobRunner } from '../jobs/engine.ts';
import { sideOf, type MigrationDeps } from './context.ts';
import { buildPlan, PlannerError, unresolvedMappings } from './planner/index.ts';

/** `*` and `?` globs, case-insensitive, against "table" or "schema.table". */
export function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
  return re.test(name);
}

export function excludeTables(catalog: Catalog, profiles: TableProfile[], patterns: string[]): { catalog: Catalog; profiles: TableProfile[] } {
  if (patterns.length === 0) return { catalog, profiles };
  const out = (schema: string, table: string) => patterns.some((p) => globMatch(p, table) || globMatch(p, `${schema}.${table}`));
  return {
    catalog: { ...catalog, tables: catalog.tables.filter((t) => !out(t.schema, t.name)) },
    profiles: profiles.filter((p) => !out(p.schema, p.table)),
  };
}

/**
 * `migration.plan`: introspect the source through its agent, build the plan, store plan and
 * mappings. Ends `approved` when every mapping is at or above auto_approve_above, else
 * `plan_ready` (mappings wait for a decision).
 */
export function planningRunner(d: MigrationDeps): JobRunner {
  return async (ctx) => {
    const id = String(ctx.job.resource_id);
    let m = d.store.get(id);
    if (m.status !== 'pending' && m.status !== 'planning') return { status: 'completed', result: { skipped: m.status } };
    if (!d.store.transition(id, ['pending', 'planning'], 'planning', { phase: 'planning', error: null })) return { status: 'completed', result: { skipped: m.status } };
    d.store.setPhase(id, 'planning', 'running');
    ctx.setPhase('planning');
    try {
      const source = sideOf(d.connections, m.source.connection_id);
      const payload: IntrospectPayload = { connection: source.connection, schemas: m.source.schemas.length ? m.source.schemas : undefined, exclude_tables: m.source.exclude_tables, profile_sample_rows: 100_000 };
      ctx.log('info', 'Introspecting the source schema');
      const r = (await ctx.runTask(source.agent_id, 'migrate.introspect', payload, { maxAttempts: 3, agentWaitMs: d.agentWaitMs })) as IntrospectResult;
      const { catalog, profiles } = excludeTables(r.catalog, r.profiles ?? [], m.source.exclude_tables);
      ctx.log('info', `Source has ${catalog.tables.length} tables to migrate; planning`, { tables: catalog.tables.length });
      const plan = buildPlan(catalog, profiles, { targetSchema: m.target.schema, autoApproveAbove: m.options.auto_approve_above });
      m = d.store.get(id);
      if (m.status !== 'planning') return { status: 'completed', result: { skipped: m.status } };
      const pending = unresolvedMappings(plan).length;
      d.store.replaceMappings(id, plan);
      d.store.update(id, { plan, catalog, plan_generated_at: d.now().toISOString() });
      d.store.transition(id, ['planning'], pending === 0 ? 'approved' : 'plan_ready');
      d.store.setPhase(id, 'planning', 'completed');
      ctx.log('info', `Plan ready: ${plan.summary.tables} tables, ${plan.mappings.length} mappings, ${pending} waiting for approval, ${plan.risks.length} risks`, { pending_mappings: pending });
      return { status: 'completed', result: { tables: plan.summary.tables, mappings: plan.mappings.length, pending } };
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      const err = e instanceof PlannerError ? new FerryError(e.code, e.message, { status: e.httpStatus }) : e instanceof FerryError ? e : new FerryError('planning_failed', (e as Error).message);
      d.store.setPhase(id, 'planning', 'failed');
      d.store.transition(id, ['planning', 'pending'], 'failed', { error: { code: err.code, message: `Planning failed: ${err.message}` } });
      throw err;
    }
  };
}
