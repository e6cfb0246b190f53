import { pgIdent, pgQualified } from '../../../../common/src/catalog.ts';
import type { JobContext } from '../../jobs/engine.ts';
import type { MigrationDeps, Side } from '../context.ts';
import type { Plan, PlanTable } from '../planner/types.ts';
import { execSql } from './schema.ts';

/** Index builds at once: two cores on the appliances Ferry targets; more only queue on locks. */
const LANES = 2;

interface Build {
  sql: string;
  rows: number;
}

/**
 * After the load: keys, indexes, foreign keys, checks, sequence positions, ANALYZE. Every
 * index (primary keys too, built as unique indexes and attached afterwards) is built in
 * parallel lanes, biggest tables first: CREATE INDEX takes a SHARE lock, so two builds on the
 * same table run side by side, as `pg_restore -j` cannot. Foreign keys stay sequential (each
 * locks two tables; in parallel they could deadlock). Each step is idempotent, so a redo after
 * a crash skips what an earlier attempt built.
 */
export async function cutover(d: MigrationDeps, ctx: JobContext, id: string, target: Side): Promise<void> {
  const plan = d.store.get(id).plan as Plan;
  const { builds, attach } = primaryKeyBuilds(plan);
  const parallel = [...builds, ...indexBuilds(plan)].sort((a, b) => b.rows - a.rows);
  const uniques = plan.ddl.indexes.filter((s) => !s.startsWith('CREATE '));
  const steps: [string, () => Promise<{ executed: number; skipped: number }>][] = [
    ['indexes for keys and queries', () => inLanes(ctx, target, parallel)],
    ['primary keys', () => execSql(ctx, target, attach, { ignore_existing: true })],
    ['unique constraints', () => execSql(ctx, target, uniques, { ignore_existing: true })],
    ['foreign keys', () => execSql(ctx, target, plan.ddl.foreign_keys, { ignore_existing: true })],
    ['check constraints', () => execSql(ctx, target, plan.ddl.checks, { ignore_existing: true })],
    ['sequence positions', () => execSql(ctx, target, plan.ddl.sequences, { ignore_existing: true })],
    ['statistics (ANALYZE)', () => inLanes(ctx, target, plan.tables.map((t) => ({ sql: `ANALYZE ${pgQualified(t.target.schema, t.target.table)}`, rows: t.row_estimate ?? 0 })))],
  ];
  let i = 0;
  for (const [what, run] of steps) {
    i++;
    const t0 = Date.now();
    const r = await run();
    if (r.executed + r.skipped > 0) ctx.log('info', `Cutover: ${what}: ${r.executed} executed, ${r.skipped} already present (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    d.store.setPhase(id, 'cutover', 'running', Math.round((i / steps.length) * 100));
    ctx.progress({ percent: Math.round((i / steps.length) * 100), message: `cutover: ${what}` });
  }
}

/**
 * A primary key as a unique index built in a lane, then attached with `ADD CONSTRAINT ...
 * USING INDEX` (no second scan). The attach checks for an existing key so a redo is harmless.
 */
function primaryKeyBuilds(plan: Plan): { builds: Build[]; attach: string[] } {
  const builds: Build[] = [];
  const attach: string[] = [];
  for (const t of plan.tables) {
    const pk = t.primary_key;
    if (!pk) continue;
    const q = pgQualified(t.target.schema, t.target.table);
    const name = pgIdent(pk.name);
    builds.push({ sql: `CREATE UNIQUE INDEX IF NOT EXISTS ${name} ON ${q} (${pk.columns.map(pgIdent).join(', ')})`, rows: t.row_estimate ?? 0 });
    attach.push(
      `DO $ferry$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = '${q.replace(/'/g, "''")}'::regclass AND contype = 'p') ` +
        `THEN ALTER TABLE ${q} ADD CONSTRAINT ${name} PRIMARY KEY USING INDEX ${name}; END IF; END $ferry$`,
    );
  }
  return { builds, attach };
}

function indexBuilds(plan: Plan): Build[] {
  return plan.ddl.indexes.filter((s) => s.startsWith('CREATE ')).map((sql) => ({ sql, rows: tableOf(plan, sql)?.row_estimate ?? 0 }));
}

function tableOf(plan: Plan, sql: string): PlanTable | undefined {
  return plan.tables.find((t) => sql.includes(` ON ${pgQualified(t.target.schema, t.target.table)} `));
}

/** Split statements over LANES sessions (greedy by rows, biggest first) and run the lanes at once. */
async function inLanes(ctx: JobContext, target: Side, work: Build[]): Promise<{ executed: number; skipped: number }> {
  if (work.length === 0) return { executed: 0, skipped: 0 };
  const lanes: { rows: number; sql: string[] }[] = Array.from({ length: Math.min(LANES, work.length) }, () => ({ rows: 0, sql: [] }));
  for (const w of [...work].sort((a, b) => b.rows - a.rows)) {
    const lane = lanes.reduce((a, b) => (b.rows < a.rows ? b : a));
    lane.sql.push(w.sql);
    lane.rows += Math.max(1, w.rows);
  }
  const results = await Promise.all(lanes.map((l) => execSql(ctx, target, l.sql, { ignore_existing: true })));
  return results.reduce((a, r) => ({ executed: a.executed + r.executed, skipped: a.skipped + r.skipped }), { executed: 0, skipped: 0 });
}
