/**
 * One validation: read both catalogs, decide the tables, run the requested kinds in order, and
 * produce the report a certificate is made from. Side calls are injected (agent tasks in the
 * hub; direct calls in tests), so this runs the same everywhere.
 */
import type { Catalog } from '../../../common/src/catalog.ts';
import { FerryError } from '../../../common/src/errors.ts';
import type { CatalogResult } from '../../../node-agent/src/validate/contract.ts';
import { planDigest } from '../migrate/planner/digest.ts';
import type { Plan } from '../migrate/planner/types.ts';
import { digestOf, VALIDATION_KINDS, type Fingerprint, type ValidationKind } from './certificate.ts';
import { runBehavioral, type WorkloadQuery } from './checks/behavioral.ts';
import { runReferential } from './checks/referential.ts';
import { runSemantic, type SemanticOptions } from './checks/semantic.ts';
import { runStatistical } from './checks/statistical.ts';
import { structuralAgainstPlan, structuralAgainstSource } from './checks/structural.ts';
import { notRun, type KindReport, type QueryReport, type Sides, type ValidationReport } from './report.ts';
import { captureWorkload } from './workload.ts';
import { tablesFromMapping, tablesFromPlan, type TableMappingInput, type ValidationTable } from './tables.ts';

export interface ValidationInput {
  /** @default all five */
  kinds?: ValidationKind[];
  /** The migration's plan; when given, tables, names and types come from it. */
  plan?: Plan | null;
  /** On-demand: which source table maps to which target table. */
  mapping?: TableMappingInput[] | null;
  /** Behavioral queries; when none are given, captured from the source's pg_stat_statements. */
  workload?: WorkloadQuery[] | null;
  /** How to capture when no workload is given. @default { limit: 20 } */
  capture?: { limit?: number; relation?: { schema: string; name: string } };
  semantic?: SemanticOptions;
  now?: () => Date;
  /** Called as each kind starts and ends (job progress and logs). */
  onKind?: (kind: ValidationKind, report: KindReport | null) => void;
}

function fingerprint(cat: Catalog, tables: { schema: string; table: string }[]): Fingerprint {
  const picked = tables.map((t) => cat.tables.find((x) => x.schema === t.schema && x.name === t.table)).filter((x) => x !== undefined);
  const shape = picked
    .map((t) => ({ schema: t.schema, name: t.name, columns: t.columns.map((c) => [c.name, c.native_type, c.nullable, c.default]), pk: t.primary_key?.columns ?? null, fks: t.foreign_keys.map((f) => [f.columns, f.ref_table, f.ref_columns]), indexes: t.indexes.map((i) => [i.columns, i.unique]) }))
    .sort((a, b) => (`${a.schema}.${a.name}` < `${b.schema}.${b.name}` ? -1 : 1));
  return { dialect: cat.dialect, server_version: cat.server_version, database: cat.database, schema_digest: digestOf(shape) };
}

function schemaOf(name: string): string | null {
  return name.includes('.') ? name.slice(0, name.indexOf('.')) : null;
}

type RunKind = (kind: ValidationKind, f: () => Promise<Omit<KindReport, 'kind' | 'started_at' | 'finished_at'>>) => Promise<void>;

/** No workload given: capture one from the source, or say why behavioral did not run. */
async function behavioralCaptured(sides: Sides, tables: ValidationTable[], input: ValidationInput, reports: Record<ValidationKind, KindReport>, run: RunKind): Promise<void> {
  let got: Awaited<ReturnType<typeof captureWorkload>>;
  try {
    got = await captureWorkload(sides, input.capture);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    reports.behavioral = notRun('behavioral', `no workload given; capturing one from the source failed: ${err.code ?? 'internal_error'}: ${err.message ?? String(e)}`);
    return;
  }
  const { workload, capture } = got;
  if (!capture.available) {
    reports.behavioral = { ...notRun('behavioral', `no workload given; ${capture.reason ?? 'no statements to capture'}`), details: { queries: [], capture: { ...capture, used: false } } };
    return;
  }
  if (!workload.length) {
    reports.behavioral = { ...notRun('behavioral', 'no workload given; pg_stat_statements holds no read-only statements of the source database'), details: { queries: [], capture: { ...capture, used: false } } };
    return;
  }
  await run('behavioral', async () => {
    const r = await runBehavioral(sides, tables, workload);
    return { ...r, counts: { ...r.counts, captured: workload.length }, details: { ...(r.details as { queries: QueryReport[] }), capture: { ...capture, used: true } } };
  });
}

export async function runValidation(sides: Sides, input: ValidationInput): Promise<{ report: ValidationReport; tables: ValidationTable[] }> {
  const now = input.now ?? (() => new Date());
  const started = now().toISOString();
  const kinds = new Set(input.kinds?.length ? input.kinds : VALIDATION_KINDS);
  const plan = input.plan ?? null;
  if (!plan && !input.mapping?.length) throw new FerryError('validation_error', 'Give a migration (with a plan) or a table mapping', { status: 422 });
  const srcSchemas = plan ? [...new Set(plan.tables.map((t) => t.source.schema))] : [...new Set(input.mapping!.map((m) => schemaOf(m.source)).filter((s): s is string => !!s))];
  const tgtSchemas = plan ? [plan.target_schema] : [...new Set(input.mapping!.map((m) => schemaOf(m.target)).filter((s): s is string => !!s))];
  const [sc, tc] = await Promise.all([
    sides.source<CatalogResult>('validate.catalog', { schemas: sides.sourceDialect === 'sqlite' ? [] : srcSchemas }),
    sides.target<CatalogResult>('validate.catalog', { schemas: tgtSchemas }),
  ]);
  const tables = plan ? tablesFromPlan(plan) : tablesFromMapping(sc.catalog, tc.catalog, input.mapping!);
  const reports = {} as Record<ValidationKind, KindReport>;
  const run = async (kind: ValidationKind, f: () => Promise<Omit<KindReport, 'kind' | 'started_at' | 'finished_at'>> | Omit<KindReport, 'kind' | 'started_at' | 'finished_at'>) => {
    if (!kinds.has(kind)) {
      reports[kind] = notRun(kind, 'not requested');
      return;
    }
    input.onKind?.(kind, null);
    const s = now().toISOString();
    try {
      reports[kind] = { kind, ...(await f()), started_at: s, finished_at: now().toISOString() };
    } catch (e) {
      const err = e as { code?: string; message?: string };
      reports[kind] = { kind, status: 'error', reason: `${err.code ?? 'internal_error'}: ${err.message ?? String(e)}`, counts: {}, started_at: s, finished_at: now().toISOString(), details: {} };
    }
    input.onKind?.(kind, reports[kind]);
  };
  // The structural check needs no target table to exist; the others skip tables that are missing.
  await run('structural', () => (plan ? structuralAgainstPlan(plan, tc.catalog) : structuralAgainstSource(tables, sc.catalog, tc.catalog)));
  const present = tables.filter((t) => tc.catalog.tables.some((x) => x.schema === t.target.schema && x.name === t.target.table));
  // Columns the target lost cannot be read there: compare what both sides still have (structural names the loss).
  const readable = present.map((t) => {
    const cat = tc.catalog.tables.find((x) => x.schema === t.target.schema && x.name === t.target.table)!;
    const keep = t.target.columns.map((c, i) => (cat.columns.some((x) => x.name === c.name) ? i : -1)).filter((i) => i >= 0);
    if (keep.length === t.target.columns.length) return t;
    const pick = (s: ValidationTable['source']) => ({ ...s, columns: keep.map((i) => s.columns[i]!), key: s.key.every((k) => keep.includes(k)) ? s.key.map((k) => keep.indexOf(k)) : [], key_integer: s.key.every((k) => keep.includes(k)) && s.key_integer });
    return { ...t, source: pick(t.source), target: pick(t.target) };
  });
  await run('statistical', () => runStatistical(sides, readable));
  await run('referential', () => runReferential(sides, present));
  await run('semantic', () => runSemantic(sides, readable, input.semantic));
  if (kinds.has('behavioral') && !input.workload?.length) await behavioralCaptured(sides, readable, input, reports, run);
  else await run('behavioral', () => runBehavioral(sides, readable, input.workload ?? []));
  return {
    report: {
      kinds: reports,
      source: fingerprint(sc.catalog, tables.map((t) => ({ schema: t.source.schema, table: t.source.table }))),
      target: fingerprint(tc.catalog, tables.map((t) => ({ schema: t.target.schema, table: t.target.table }))),
      plan_digest: plan ? planDigest(plan) : null,
      started_at: started,
      finished_at: now().toISOString(),
    },
    tables,
  };
}
