/**
 * Task payloads and results of the migration data path: the contract between the hub's
 * migration runner (hub/src/migrate) and the agent's task handlers (node-agent/src/tasks/migrate-*).
 * Everything is JSON. Connection specs carry the decrypted password; never log a payload.
 */
import type { Catalog, TableProfile } from './catalog.ts';

/** Connection as sent to an agent (same shape as node-agent ConnectionSpec). */
export interface WireConnection {
  type: 'postgresql' | 'mysql' | 'sqlite' | 'oracle';
  host?: string | null;
  port?: number | null;
  database?: string | null;
  user?: string | null;
  password?: string | null;
  path?: string | null;
  options?: Record<string, string | number | boolean> | null;
}

/** `migrate.introspect` (source agent): catalog plus profiles of the selected tables. */
export interface IntrospectPayload {
  connection: WireConnection;
  schemas?: string[];
  exclude_tables?: string[];
  /** Profile at most this many rows per table (0 = all). */
  profile_sample_rows?: number;
}
export interface IntrospectResult {
  catalog: Catalog;
  profiles: TableProfile[];
}

/** `migrate.exec_sql` (target agent): run statements in order, each in its own transaction unless `transaction`. */
export interface ExecSqlPayload {
  connection: WireConnection;
  statements: string[];
  /** Run all statements in one transaction. @default false */
  transaction?: boolean;
  /** Skip statements that fail with "already exists" (redo after a crash). @default false */
  ignore_existing?: boolean;
}
export interface ExecSqlResult {
  executed: number;
  skipped: number;
}

/** One column of a unit: source expression and target column with the mapped type and transformation. */
export interface UnitColumn {
  source: string;
  /** Source native type, lower-cased (lets the reader pick a decoder). */
  source_type: string;
  target: string;
  /** PostgreSQL type text, e.g. "numeric(12,2)", "timestamp(0) without time zone". */
  target_type: string;
  /** A planner TransformationKind (hub/src/migrate/planner/types.ts), e.g. "none", "bool_from_int". */
  transformation: string;
}

/** A key range: rows with lo <= key < hi (null bound = open). Integer keys only; else whole table. */
export interface KeyRange {
  column: string;
  lo: string | null;
  hi: string | null;
}

export interface UnitSpec {
  unit_id: string;
  source_schema: string;
  source_table: string;
  target_schema: string;
  target_table: string;
  columns: UnitColumn[];
  /** null: the whole table is one unit. */
  range: KeyRange | null;
}

/** `migrate.plan_units` (source agent): cut each table into key ranges of about `rows_per_unit` rows. */
export interface PlanUnitsPayload {
  connection: WireConnection;
  tables: { schema: string; table: string; key_column: string | null; row_estimate: number | null }[];
  rows_per_unit: number;
}
export interface PlanUnitsResult {
  tables: { schema: string; table: string; ranges: KeyRange[] | null }[];
}

/**
 * `migrate.read_unit` (source agent): read the unit's rows and push them encoded as PostgreSQL
 * COPY data on `channel`. `format` binary only when every column passes through unchanged
 * between identical PostgreSQL types; text otherwise.
 */
export interface ReadUnitPayload {
  connection: WireConnection;
  unit: UnitSpec;
  channel: string;
  format: 'text' | 'binary';
  /** Frame size target in bytes. @default 1048576 */
  frame_bytes?: number;
}
export interface ReadUnitResult {
  rows: number;
  bytes: number;
}

/**
 * `migrate.load_unit` (target agent): in one transaction, delete the unit's key range (or the
 * whole table for a whole-table unit) and COPY the frames pulled from `channel`. Idempotent.
 * With `salvage`, rows are loaded in savepoint batches bisected down to single rows, so a bad
 * row becomes a RejectedRow and the rest of the unit still loads.
 */
export interface LoadUnitPayload {
  connection: WireConnection;
  unit: UnitSpec;
  channel: string;
  format: 'text' | 'binary';
  salvage?: boolean;
  /**
   * The hub guarantees no earlier attempt of this unit can have committed (its first dispatch):
   * the loader skips the range delete, which without an index on the key (indexes come at
   * cutover) scans the whole target table. Whole-table units are truncated regardless. @default false
   */
  fresh?: boolean;
}
export interface RejectedRow {
  /** The row as COPY text (one line), truncated to 10 kB. */
  row: string;
  /** Key value when the unit has a key column. */
  key: string | null;
  error_code: string;
  message: string;
}
export interface LoadUnitResult {
  rows: number;
  bytes: number;
  rejected: RejectedRow[];
}

/** `migrate.count_rows` (either side): exact row counts per table. */
export interface CountRowsPayload {
  connection: WireConnection;
  tables: { schema: string; table: string }[];
}
export interface CountRowsResult {
  counts: { schema: string; table: string; rows: number }[];
}

/**
 * `migrate.copy_unit` (one agent reaching both sides): read_unit and load_unit in one process,
 * no relay. Same semantics as the pair: idempotent load, salvage, fresh.
 */
export interface CopyUnitPayload {
  source: WireConnection;
  target: WireConnection;
  unit: UnitSpec;
  format: 'text' | 'binary';
  salvage?: boolean;
  fresh?: boolean;
  frame_bytes?: number;
}
