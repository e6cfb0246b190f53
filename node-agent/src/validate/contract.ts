/**
 * Task payloads and results of validation: the contract between the hub's validation runner
 * (hub/src/validate) and the agent's `validate.*` task handlers. Each task reads ONE side
 * (source or target); the hub compares the two answers, so source and target may sit behind
 * different agents. Payloads carry decrypted passwords: never log them.
 */
import type { Catalog } from '../../../common/src/catalog.ts';
import type { WireConnection } from '../../../common/src/migrate-tasks.ts';

/**
 * How a column's values are rendered canonically before they are compared or hashed. Chosen by
 * the hub from the TARGET type and the mapping's transformation and sent identically to both
 * sides, so a MySQL tinyint(1) that became boolean compares as t/f on both sides.
 */
export const NORM_KINDS = ['int', 'decimal', 'float4', 'float8', 'bool', 'text', 'char', 'bytes', 'timestamp', 'timestamptz', 'date', 'time', 'json', 'uuid', 'other'] as const;
export type NormKind = (typeof NORM_KINDS)[number];

export interface ColumnNorm {
  kind: NormKind;
  /** Fractional-second digits for timestamp/time (0-6), digits after the point for decimal. */
  precision?: number | null;
  /** Source-side transformations applied before rendering (harmless on the target). */
  empty_to_null?: boolean;
  zero_date?: 'null' | 'neg_infinity';
  strip_nul?: boolean;
  /** SQLite numeric date encodings. */
  epoch?: 'unixepoch' | 'julianday';
  /** bit(n)/varbit target (bit_string): source bytes render as the low `bits` bits ('0101'); 0 = all. */
  bits?: number;
  /** interval target: MySQL TIME text ('838:59:59.000') and PostgreSQL interval text agree once trailing fraction zeros go. */
  interval?: boolean;
}

export interface SideColumn {
  name: string;
  norm: ColumnNorm;
}

/** One table as one side sees it; `columns` are aligned by index between source and target. */
export interface SideTable {
  schema: string;
  table: string;
  columns: SideColumn[];
  /** Indexes into `columns` of the row key (primary key or unique not-null); empty: no key. */
  key: number[];
  /** Single integer key: ranges can be cut arithmetically and pushed down as WHERE. */
  key_integer: boolean;
}

/** `validate.catalog`: introspect one side. */
export interface CatalogPayload {
  connection: WireConnection;
  schemas?: string[];
}
export interface CatalogResult {
  catalog: Catalog;
}

/** `validate.statistical`: per table row count and per column statistics of canonical values. */
export interface StatisticalPayload {
  connection: WireConnection;
  tables: SideTable[];
}
export interface ColumnStats {
  name: string;
  nulls: number;
  /** HyperLogLog estimate (exact below 10 000 values); identical on both sides for equal data. */
  distinct: number;
  min: string | null;
  max: string | null;
  /** Exact decimal sum for int/decimal columns, a float sum for float columns, else null. */
  sum: string | null;
  /** Sum of lengths: characters (UTF-16 units) for text, bytes for binary; else null. */
  total_length: number | null;
}
export interface TableStats {
  schema: string;
  table: string;
  rows: number;
  columns: ColumnStats[];
}
export interface StatisticalResult {
  tables: TableStats[];
}

/**
 * How rows fall into buckets: integer key ranges [lo + i*width, lo + (i+1)*width), or hash of the
 * key mod count. An `open` range grid stretches its first and last bucket to the ends of the key
 * space (the top level: nothing escapes); a closed one reads exactly its range (a bisection step).
 */
export type BucketGrid = { kind: 'range'; lo: string; width: string; count: number; open: boolean; /** Closed grid: exclusive upper bound of the last bucket when it is shorter. */ hi?: string } | { kind: 'hash'; count: number };

/** `validate.key_bounds`: min and max of an integer key, and the row count. */
export interface KeyBoundsPayload {
  connection: WireConnection;
  table: SideTable;
}
export interface KeyBoundsResult {
  rows: number;
  min: string | null;
  max: string | null;
}

/** `validate.semantic_buckets`: per bucket a row count and an order-independent hash. */
export interface BucketsPayload {
  connection: WireConnection;
  table: SideTable;
  grid: BucketGrid;
}
export interface Bucket {
  count: number;
  /** Sum mod 2^64 of the first 8 bytes (big-endian) of each row's SHA-256, as a decimal string. */
  hash: string;
}
export interface BucketsResult {
  rows: number;
  buckets: Bucket[];
  ms: number;
}

/** `validate.semantic_rows`: rows of the given buckets with per-row hashes and canonical values. */
export interface RowsPayload {
  connection: WireConnection;
  table: SideTable;
  grid: BucketGrid;
  buckets: number[];
  /** Stop after this many rows. @default 20000 */
  limit?: number;
}
export interface HashedRow {
  /** Canonical key values (empty for a table without a key). */
  key: (string | null)[];
  /** Full SHA-256 hex of the row's canonical rendering. */
  hash: string;
  values: (string | null)[];
}
export interface RowsResult {
  rows: HashedRow[];
  truncated: boolean;
}

/** `validate.referential` (target, PostgreSQL): orphans per foreign key; constraints not validated. */
export interface ReferentialFk {
  name: string;
  schema: string;
  table: string;
  columns: string[];
  ref_schema: string;
  ref_table: string;
  ref_columns: string[];
  /** Child key columns to report orphans by (default: the FK columns). */
  key_columns?: string[];
}
export interface ReferentialPayload {
  connection: WireConnection;
  foreign_keys: ReferentialFk[];
  schemas: string[];
  /** @default 10 */
  first_n?: number;
}
export interface FkOrphans {
  name: string;
  table: string;
  ref_table: string;
  /** Whether a FOREIGN KEY constraint on these columns exists on the target. */
  constraint_present: boolean;
  orphans: number;
  first_keys: Record<string, string | null>[];
}
export interface ReferentialResult {
  foreign_keys: FkOrphans[];
  /** Constraints with pg_constraint.convalidated = false (NOT VALID). */
  invalid_constraints: { schema: string; table: string; name: string; type: string }[];
}

/** `validate.behavioral`: run read queries in one repeatable-read snapshot and digest their results. */
export interface BehavioralPayload {
  connection: WireConnection;
  queries: { name: string; sql: string; ordered: boolean }[];
  /** Rows kept per query for listing differences. @default 2000 */
  keep_rows?: number;
}
export interface QueryDigest {
  name: string;
  ok: boolean;
  /** Driver error (SQLSTATE or errno code) and message when not ok. */
  error_code?: string;
  error?: string;
  rows: number;
  columns: string[];
  /** Ordered: chained SHA-256 of row hashes; unordered: sum of 64-bit prefixes mod 2^64. */
  digest: string;
  /** Row hash (16 hex) -> canonical row, for the first `keep_rows` rows. */
  sample: Record<string, (string | null)[]>;
  /** Row hash (16 hex) -> occurrences, complete when rows <= keep_rows. */
  counts: Record<string, number>;
  ms: number;
  /** How the snapshot was taken on this side. */
  snapshot: string;
}
export interface BehavioralResult {
  queries: QueryDigest[];
}

/**
 * `validate.capture_workload` (PostgreSQL source): the most called read-only statements of the
 * source database from pg_stat_statements, with Ferry's own and catalog queries left out.
 */
export interface CapturePayload {
  connection: WireConnection;
  /** Statements returned at most. @default 20 */
  limit?: number;
  /**
   * Read this relation instead of the extension's view (tests: a table with the view's columns
   * when the server cannot load the extension). Default: pg_stat_statements in the schema the
   * extension is installed in, found in pg_extension.
   */
  relation?: { schema: string; name: string };
}
export interface CapturedStatement {
  queryid: string | null;
  sql: string;
  calls: number;
  /** Has `$n` parameters (pg_stat_statements replaces constants by them): not comparable. */
  parameterised: boolean;
}
export interface CaptureResult {
  /** False when the extension is missing or not loaded; `reason` says which and how to fix it. */
  available: boolean;
  reason?: string;
  statements: CapturedStatement[];
  /** Distinct statements read from the view (top by calls). */
  scanned: number;
  /** Why statements were left out, with counts: not_read_only, catalog, ferry, other_database. */
  excluded: Record<string, number>;
}
