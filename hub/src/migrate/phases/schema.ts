import { pgIdent, pgQualified } from '../../../../common/src/catalog.ts';
import { FerryError } from '../../../../common/src/errors.ts';
import type { ExecSqlPayload, ExecSqlResult } from '../../../../common/src/migrate-tasks.ts';
import type { JobContext } from '../../jobs/engine.ts';
import type { MigrationDeps, Side } from '../context.ts';
import type { CreatedObject, Migration } from '../types.ts';

export async function execSql(ctx: JobContext, target: Side, statements: string[], opts: { ignore_existing?: boolean; transaction?: boolean } = {}): Promise<ExecSqlResult> {
  const payload: ExecSqlPayload = { connection: target.connection, statements, ignore_existing: opts.ignore_existing ?? false, transaction: opts.transaction ?? false };
  return (await ctx.runTask(target.agent_id, 'migrate.exec_sql', payload, { maxAttempts: 3 })) as ExecSqlResult;
}

interface Creation {
  kind: CreatedObject['kind'];
  schema: string;
  name: string;
  sql: string;
}

/** The plan's create_tables statements, each named by what it creates. */
export function creations(m: Migration): Creation[] {
  const plan = m.plan;
  if (!plan) throw new FerryError('plan_not_ready', 'The migration has no plan', { status: 409 });
  const out: Creation[] = [{ kind: 'schema', schema: plan.target_schema, name: plan.target_schema, sql: `CREATE SCHEMA ${pgIdent(plan.target_schema)}` }];
  const ddl = plan.ddl.create_tables;
  for (const s of plan.sequences) {
    const sql = ddl.find((x) => x.startsWith(`CREATE SEQUENCE ${pgQualified(s.schema, s.name)} `));
    if (sql) out.push({ kind: 'sequence', schema: s.schema, name: s.name, sql });
  }
  for (const t of plan.tables) {
    const sql = ddl.find((x) => x.startsWith(`CREATE TABLE ${pgQualified(t.target.schema, t.target.table)} (`));
    if (!sql) throw new FerryError('plan_invalid', `The plan has no CREATE TABLE for ${t.target.table}`, { status: 500 });
    out.push({ kind: 'table', schema: t.target.schema, name: t.target.table, sql });
  }
  return out;
}

const same = (a: Pick<CreatedObject, 'kind' | 'schema' | 'name'>, b: Pick<CreatedObject, 'kind' | 'schema' | 'name'>) => a.kind === b.kind && a.schema === b.schema && a.name === b.name;

/**
 * Create the target schema, sequences and tables, one statement at a time, recording each as
 * ours. An intent ('creating') is written before the statement, so after a crash the redo
 * (with ignore_existing) still counts it as ours; a table that existed before the migration
 * (skipped on the first attempt) stops the migration rather than have its rows replaced.
 */
export async function schemaMigration(d: MigrationDeps, ctx: JobContext, id: string, target: Side): Promise<void> {
  const m = d.store.get(id);
  const list = creations(m);
  const created = [...m.created_objects];
  const save = () => d.store.update(id, { created_objects: created });
  let i = 0;
  for (const c of list) {
    i++;
    const prior = created.find((o) => same(o, c));
    if (prior?.state === 'created') continue;
    if (!prior) {
      created.push({ kind: c.kind, schema: c.schema, name: c.name, state: 'creating' });
      save();
    }
    const r = await execSql(ctx, target, [c.sql], { ignore_existing: true });
    const idx = created.findIndex((o) => same(o, c));
    if (r.executed > 0 || prior) {
      created[idx] = { ...created[idx]!, state: 'created' };
      save();
      if (r.executed > 0) ctx.log('info', `Created ${c.kind} ${c.schema === c.name ? c.name : `${c.schema}.${c.name}`}`, { table: c.kind === 'table' ? c.name : undefined });
    } else {
      created.splice(idx, 1);
      save();
      if (c.kind === 'table' || c.kind === 'sequence') {
        throw new FerryError('target_object_exists', `The target already has ${c.kind} ${c.schema}.${c.name}, which this migration did not create; drop or rename it, or choose another target schema.`, {
          status: 409,
          details: { kind: c.kind, schema: c.schema, name: c.name },
        });
      }
    }
    ctx.progress({ percent: Math.round((i / list.length) * 100), message: `schema: ${i}/${list.length}` });
  }
  const plan = m.plan;
  if (plan) d.store.setAppliedTypes(id, new Map(plan.mappings.map((x) => [x.id, x.target.type])));
}
