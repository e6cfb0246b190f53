/** Validation reports: one per kind, with what matched and exactly what did not. */
import type { CaptureResult, FkOrphans } from '../../../node-agent/src/validate/contract.ts';
import type { Fingerprint, KindStatus, ValidationKind } from './certificate.ts';
import type { WorkloadSource } from './workload.ts';

/** Run one task of `kind` on one side; the caller adds the side's connection. */
export type SideCall = <R>(kind: string, payload: Record<string, unknown>) => Promise<R>;

export interface Sides {
  source: SideCall;
  target: SideCall;
  sourceDialect: string;
}

export interface StructuralDifference {
  table: string;
  column?: string;
  object: 'table' | 'column' | 'extra_column' | 'type' | 'nullability' | 'default' | 'identity' | 'primary_key' | 'unique' | 'index' | 'foreign_key' | 'sequence';
  expected: unknown;
  actual: unknown;
  message: string;
}

export interface StatDifference {
  table: string;
  column: string | null;
  metric: string;
  source: unknown;
  target: unknown;
}

export interface SemanticTable {
  table: string;
  method: 'key_range' | 'key_hash' | 'whole_table';
  rows_source: number;
  rows_target: number;
  ranges: number;
  differing_ranges: { lo: string | null; hi: string | null; source_rows: number; target_rows: number }[];
  missing: number;
  extra: number;
  changed: number;
  /** First N keys (target column names) of rows missing on the target, extra on it, or changed. */
  first_missing: Record<string, string | null>[];
  first_extra: Record<string, string | null>[];
  first_changed: { key: Record<string, string | null>; columns: string[] }[];
  /** Rows without a key, listed by their values when the table has none. */
  truncated: boolean;
  seconds: number;
  rows_per_second: number;
}

export interface QueryReport {
  name: string;
  /** Where the query came from: request, file (workload_sql), migration, captured (pg_stat_statements). */
  source: WorkloadSource;
  status: 'passed' | 'failed' | 'not_comparable' | 'error';
  /** Why not passed; `parameterised` for a statement with bind parameters. */
  reason?: string;
  ordered: boolean;
  source_sql: string;
  /** The SQL run on the target (null when not comparable). */
  target_sql: string | null;
  /** Whether target_sql differs from the source's SQL (dialect translation happened). */
  translated: boolean;
  rows_source: number | null;
  rows_target: number | null;
  ms_source: number | null;
  ms_target: number | null;
  /** Rows (canonical values) in the source result and not the target's, and the reverse (first N). */
  missing_rows?: (string | null)[][];
  extra_rows?: (string | null)[][];
  snapshot_source?: string;
  snapshot_target?: string;
}

export interface KindReport {
  kind: ValidationKind;
  status: KindStatus;
  reason?: string;
  counts: Record<string, number>;
  started_at: string | null;
  finished_at: string | null;
  details:
    | { differences: StructuralDifference[] }
    | { tables: { table: string; rows_source: number; rows_target: number }[]; differences: StatDifference[] }
    | { foreign_keys: FkOrphans[]; invalid_constraints: { schema: string; table: string; name: string; type: string }[] }
    | { tables: SemanticTable[]; rows_per_second: number }
    | { queries: QueryReport[]; capture?: CaptureResult & { used: boolean } }
    | Record<string, never>;
}

export interface ValidationReport {
  kinds: Record<ValidationKind, KindReport>;
  source: Fingerprint;
  target: Fingerprint;
  plan_digest: string | null;
  started_at: string;
  finished_at: string;
}

export function notRun(kind: ValidationKind, reason: string): KindReport {
  return { kind, status: 'not_run', reason, counts: {}, started_at: null, finished_at: null, details: {} };
}
