/**
 * Migration state machine (statuses exactly as seed 002 names them):
 *
 *   pending ─plan job─▶ planning ─▶ plan_ready ─(all mappings approved)─▶ approved
 *      │                   └──────────────▶ approved (every mapping ≥ auto_approve_above)
 *      │                   └──────────────▶ failed (introspection or planner error)
 *   approved ─start─▶ running ─▶ validating ─▶ running (cutover) ─▶ completed
 *   plan_ready ─start(skip_approval)─▶ running
 *   running ─pause─▶ pausing ─▶ paused ─resume─▶ running     (maintenance window: same path)
 *   running/validating ─error─▶ failed ─start─▶ running (redoes only unfinished work)
 *   any non-terminal, failed ─cancel─▶ cancelled | rolling_back ─▶ rolled_back (or failed, rollback_failed)
 *
 * Runs are jobs of kind `migration.run`; planning, rollback and error retries are jobs too, so
 * every step has logs, progress and crash recovery from the job engine.
 */
import { VALIDATION_KINDS, type ValidationKind } from '../validate/certificate.ts';
import type { Catalog } from '../../../common/src/catalog.ts';
import type { Plan } from './planner/types.ts';

export const MIGRATION_STATUSES = [
  'pending',
  'planning',
  'plan_ready',
  'approved',
  'running',
  'pausing',
  'paused',
  'validating',
  'completed',
  'failed',
  'cancelled',
  'rolling_back',
  'rolled_back',
] as const;
export type MigrationStatus = (typeof MIGRATION_STATUSES)[number];

/** Statuses in which a job of the migration is (or should be) executing. */
export const ACTIVE_STATUSES: ReadonlySet<MigrationStatus> = new Set(['planning', 'running', 'pausing', 'validating', 'rolling_back']);
export const FINAL_STATUSES: ReadonlySet<MigrationStatus> = new Set(['completed', 'cancelled', 'rolled_back']);

export const PHASES = ['planning', 'schema_migration', 'data_transfer', 'validation', 'cutover'] as const;
export type PhaseName = (typeof PHASES)[number];
/** Phases a run executes, in order (planning happens before approval). */
export const RUN_PHASES = ['schema_migration', 'data_transfer', 'validation', 'cutover'] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

export type PhaseStatus = 'pending' | 'running' | 'paused' | 'completed' | 'failed' | 'skipped';
export interface PhaseRecord {
  name: PhaseName;
  status: PhaseStatus;
  started_at: string | null;
  finished_at: string | null;
  /** Seconds spent running, summed over pauses and restarts. */
  duration_seconds: number | null;
  progress_percent: number | null;
}

export const JOB_KINDS = {
  plan: 'migration.plan',
  run: 'migration.run',
  rollback: 'migration.rollback',
  retry: 'migration.retry',
} as const;

export interface MigrationOptions {
  /** @default 'full' */
  mode: 'full' | 'schema_only' | 'data_only';
  /** Units transferred at once. @default 4 */
  parallelism: number;
  /** Rows per unit. @default 100000 */
  batch_size: number;
  /** Mappings with confidence at or above this are approved. @default 0.9 */
  auto_approve_above: number;
  /** Record what was created so cancel can roll it back. @default true */
  generate_rollback: boolean;
  /**
   * Validation kinds run after cutover, before the migration counts as completed; they end in
   * the signed certificate. Row counts are always checked in the `validation` phase. An empty
   * list skips the post-cutover validation. @default all five
   */
  validation_kinds: ValidationKind[];
  /**
   * Read queries (source dialect) for the behavioral check after cutover; without them the
   * workload is captured from the source's pg_stat_statements when it can be. @default null
   */
  behavioral_workload?: { name: string; sql: string }[] | null;
}

export const DEFAULT_OPTIONS: MigrationOptions = {
  mode: 'full',
  parallelism: 4,
  batch_size: 100_000,
  auto_approve_above: 0.9,
  generate_rollback: true,
  validation_kinds: [...VALIDATION_KINDS],
};

export interface MaintenanceWindow {
  /** "HH:MM" local time in `timezone`. */
  start: string;
  end: string;
  /** IANA zone. @default 'UTC' */
  timezone: string;
}

export interface MigrationSchedule {
  start_at: string | null;
  maintenance_window: MaintenanceWindow | null;
}

export interface Endpoint {
  connection_id: string;
  /** True when the connection was created from an inline `connection_string` for this migration. */
  inline: boolean;
}

export interface MigrationError {
  code: string;
  message: string;
}

export interface CreatedObject {
  kind: 'schema' | 'table' | 'sequence';
  schema: string;
  name: string;
  /** 'creating' is written before the statement runs, so a crash in between still counts it as ours. */
  state: 'creating' | 'created';
}

export interface Migration {
  id: string;
  name: string;
  description: string | null;
  status: MigrationStatus;
  phase: PhaseName | null;
  source: Endpoint & { schemas: string[]; exclude_tables: string[] };
  target: Endpoint & { schema: string };
  options: MigrationOptions;
  schedule: MigrationSchedule;
  notifications: Record<string, unknown>;
  plan: Plan | null;
  catalog: Catalog | null;
  plan_generated_at: string | null;
  phases: PhaseRecord[];
  created_objects: CreatedObject[];
  error: MigrationError | null;
  /** Why the migration is paused: 'user', 'maintenance_window'. */
  pause_reason: string | null;
  cancel: { reason: string | null; rollback: boolean; force: boolean } | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export type UnitStatus = 'pending' | 'running' | 'done' | 'failed';

export interface UnitRow {
  migration_id: string;
  unit_id: string;
  table_index: number;
  source_schema: string;
  source_table: string;
  target_schema: string;
  target_table: string;
  range: { column: string; lo: string | null; hi: string | null } | null;
  status: UnitStatus;
  attempts: number;
  salvage: boolean;
  rows: number;
  bytes: number;
  rejected: number;
  last_error: string | null;
  started_at: string | null;
  finished_at: string | null;
}

export type ErrorStatus = 'open' | 'resolved' | 'retried';
export interface RowError {
  id: string;
  migration_id: string;
  unit_id: string | null;
  table: string;
  row: string | null;
  key: string | null;
  code: string;
  message: string;
  status: ErrorStatus;
  created_at: string;
  resolved_at: string | null;
  comment: string | null;
  retry_job_id: string | null;
}
