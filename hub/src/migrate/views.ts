/** Response shapes of seed 002, computed from the store (no I/O beyond SQLite). */
import type { ConnectionStore } from '../connections/store.ts';
import type { JobStore } from '../jobs/store.ts';
import { planDigest, unresolvedMappings } from './planner/index.ts';
import type { ColumnMapping } from './planner/types.ts';
import type { MappingRow, MigrationStore } from './store.ts';
import { JOB_KINDS, type Migration, type PhaseName } from './types.ts';

const WEIGHTS: Record<PhaseName, number> = { planning: 5, schema_migration: 5, data_transfer: 80, validation: 5, cutover: 5 };

export function humanBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function overallPercent(m: Migration): number {
  if (m.status === 'completed') return 100;
  let sum = 0;
  for (const p of m.phases) {
    const w = WEIGHTS[p.name];
    if (p.status === 'completed' || p.status === 'skipped') sum += w;
    else if (p.progress_percent) sum += (w * p.progress_percent) / 100;
  }
  return Math.min(100, Math.floor(sum));
}

export function planStatus(m: Migration): 'generating' | 'pending_approval' | 'approved' | 'failed' {
  if (!m.plan) return m.status === 'failed' ? 'failed' : 'generating';
  return unresolvedMappings(m.plan).length === 0 ? 'approved' : 'pending_approval';
}

export class MigrationViews {
  constructor(
    private readonly store: MigrationStore,
    private readonly connections: ConnectionStore,
    private readonly jobs: JobStore,
    private readonly now: () => Date,
  ) {}

  private connName(id: string): { name: string | null; type: string | null } {
    try {
      const c = this.connections.get(id);
      return { name: c.name, type: c.type };
    } catch {
      return { name: null, type: null };
    }
  }

  links(id: string) {
    const b = `/api/v1/migrations/${id}`;
    return { self: b, plan: `${b}/plan`, start: `${b}/start`, status: `${b}/status`, logs: `${b}/logs`, metrics: `${b}/metrics`, errors: `${b}/errors` };
  }

  /** Throughput from the run job's live progress, else the average over the data phase. */
  private rates(m: Migration, rows: number, bytes: number): { current: number; average: number; currentBytes: number } {
    const runIds = this.store.jobIds(m.id, JOB_KINDS.run);
    const job = runIds.length ? this.jobs.find(runIds[runIds.length - 1] as string) : null;
    const tp = job?.status === 'running' ? (job.progress.throughput ?? {}) : {};
    const data = m.phases.find((p) => p.name === 'data_transfer');
    let secs = data?.duration_seconds ?? 0;
    if (data?.status === 'running' && data.started_at) secs += (this.now().getTime() - Date.parse(data.started_at)) / 1000;
    const average = secs > 0 ? Math.round(rows / secs) : 0;
    const current = Math.round(tp.rows_per_second ?? tp.rows ?? (data?.status === 'running' ? average : 0));
    const currentBytes = Math.round(tp.bytes_per_second ?? tp.bytes ?? (data?.status === 'running' && secs > 0 ? bytes / secs : 0));
    return { current, average, currentBytes };
  }

  metricsBlock(m: Migration) {
    const t = this.store.unitTotals(m.id);
    const e = this.store.errorCounts(m.id);
    const counts = this.store.counts(m.id);
    const total = counts.length ? counts.reduce((n, c) => n + (c.source_rows ?? 0), 0) : (m.plan?.summary.estimated_records ?? null);
    const r = this.rates(m, t.rows, t.bytes);
    return {
      records_processed: t.rows,
      records_total: total,
      bytes_transferred: humanBytes(t.bytes),
      bytes_transferred_raw: t.bytes,
      throughput_records_per_second: r.current || r.average,
      units_total: t.units,
      units_done: t.done,
      errors_recovered: e.resolved + e.retried,
      errors_escalated: e.open,
    };
  }

  migration(m: Migration) {
    const started = m.started_at ? Date.parse(m.started_at) : null;
    const end = m.finished_at ? Date.parse(m.finished_at) : this.now().getTime();
    const pct = overallPercent(m);
    const elapsed = started !== null ? Math.max(0, Math.round((end - started) / 1000)) : null;
    const eta = started !== null && pct > 0 && pct < 100 && !m.finished_at ? new Date(started + ((end - started) * 100) / pct).toISOString() : null;
    const src = this.connName(m.source.connection_id);
    const dst = this.connName(m.target.connection_id);
    return {
      id: m.id,
      name: m.name,
      description: m.description,
      status: m.status,
      phase: m.phase,
      created_at: m.created_at,
      created_by: m.created_by,
      source: {
        connection_id: m.source.connection_id,
        connection_name: src.name,
        type: src.type,
        schemas: m.source.schemas,
        exclude_tables: m.source.exclude_tables,
        tables_count: m.plan ? m.plan.summary.tables : null,
        estimated_rows: m.plan ? m.plan.summary.estimated_records : null,
      },
      target: { connection_id: m.target.connection_id, connection_name: dst.name, type: dst.type, schema: m.target.schema },
      options: m.options,
      schedule: m.schedule,
      notifications: m.notifications,
      plan: { status: planStatus(m), generated_at: m.plan_generated_at, pending_mappings: m.plan ? unresolvedMappings(m.plan).length : null },
      progress: {
        overall_percent: pct,
        current_phase: m.phase,
        phases: m.phases.map((p) => ({
          name: p.name,
          status: p.status,
          ...(p.duration_seconds !== null ? { duration_seconds: p.duration_seconds } : {}),
          ...(p.status === 'running' || p.status === 'paused' ? { progress_percent: p.progress_percent ?? 0 } : {}),
        })),
      },
      metrics: this.metricsBlock(m),
      timing: { created_at: m.created_at, started_at: m.started_at, finished_at: m.finished_at, estimated_completion: eta, elapsed_seconds: elapsed },
      pause_reason: m.status === 'paused' || m.status === 'pausing' ? m.pause_reason : null,
      error: m.error,
      updated_at: m.updated_at,
      links: this.links(m.id),
    };
  }

  listItem(m: Migration) {
    return { id: m.id, name: m.name, status: m.status, phase: m.phase, progress_percent: overallPercent(m), source_id: m.source.connection_id, target_id: m.target.connection_id, created_at: m.created_at, started_at: m.started_at };
  }

  status(m: Migration) {
    const v = this.migration(m);
    return { id: m.id, status: m.status, phase: m.phase, progress: v.progress, metrics: v.metrics, timing: v.timing, pause_reason: v.pause_reason, error: m.error, updated_at: m.updated_at };
  }

  mapping(mp: ColumnMapping, row: MappingRow | undefined) {
    return { ...mp, comment: row?.comment ?? null, decided_by: row?.decided_by ?? null, decided_at: row?.decided_at ?? null, override: row?.override ?? null };
  }

  mappings(m: Migration) {
    if (!m.plan) return [];
    const rows = new Map(this.store.mappings(m.id).map((r) => [r.mapping_id, r]));
    return m.plan.mappings.map((mp) => this.mapping(mp, rows.get(mp.id)));
  }

  plan(m: Migration) {
    const p = m.plan;
    if (!p) return null;
    const tables = p.tables.map((t) => t.target.table);
    return {
      migration_id: m.id,
      status: planStatus(m),
      generated_at: m.plan_generated_at,
      digest: planDigest(p),
      summary: { ...p.summary, estimated_duration_seconds: null, estimated_records: p.summary.estimated_records },
      mappings: this.mappings(m),
      phases: [
        { name: 'schema_migration', order: 1, tables, parallel: false, estimated_duration_seconds: null },
        { name: 'data_transfer', order: 2, tables, parallel: m.options.parallelism > 1, parallelism: m.options.parallelism, estimated_duration_seconds: null },
        { name: 'validation', order: 3, tables, parallel: true, estimated_duration_seconds: null },
        { name: 'cutover', order: 4, tables, parallel: false, estimated_duration_seconds: null },
      ],
      risks: p.risks,
      ddl: p.ddl,
      sequences: p.sequences,
    };
  }

  metrics(m: Migration) {
    const t = this.store.unitTotals(m.id);
    const r = this.rates(m, t.rows, t.bytes);
    const e = this.store.errorCounts(m.id);
    const counts = new Map(this.store.counts(m.id).map((c) => [c.table, c]));
    const estimates = new Map((m.plan?.tables ?? []).map((x) => [x.target.table, x.row_estimate]));
    const running = this.store.units(m.id, ['running']).length;
    const errs = e.open + e.resolved + e.retried;
    const validated = [...counts.values()];
    return {
      migration_id: m.id,
      snapshot_at: this.now().toISOString(),
      throughput: {
        current_records_per_second: r.current,
        average_records_per_second: r.average,
        peak_records_per_second: Math.max(r.current, r.average),
        current_bytes_per_second: humanBytes(r.currentBytes),
      },
      resources: { active_workers: running, cpu_utilization_percent: null, memory_utilization_percent: null, network_utilization_percent: null },
      quality: {
        error_rate_percent: t.rows + e.open > 0 ? Number(((e.open / (t.rows + e.open)) * 100).toFixed(4)) : 0,
        recovery_success_rate_percent: errs > 0 ? Number((((e.resolved + e.retried) / errs) * 100).toFixed(1)) : 100,
        validation_pass_rate_percent: validated.length ? Number(((validated.filter((c) => c.source_rows === c.target_rows).length / validated.length) * 100).toFixed(1)) : null,
      },
      totals: { records_processed: t.rows, bytes_transferred: t.bytes, units_total: t.units, units_done: t.done },
      by_table: this.store.tableTotals(m.id).map((x) => {
        const secs = x.started_at && x.finished_at ? (Date.parse(x.finished_at) - Date.parse(x.started_at)) / 1000 : 0;
        return {
          table: x.table,
          records_total: counts.get(x.table)?.source_rows ?? estimates.get(x.table) ?? null,
          records_processed: x.rows,
          throughput_records_per_second: secs > 0 ? Math.round(x.rows / secs) : null,
          errors: x.errors,
          units_total: x.units,
          units_done: x.done,
        };
      }),
    };
  }
}
