/**
 * The neutral catalog: what a source connector's introspection returns, whatever the dialect.
 * The hub's planner reads only this shape, so a new source dialect needs a connector and a
 * planner rule file, nothing else. Everything here is plain JSON (it crosses gRPC as JSON).
 */

export const DIALECTS = ['postgresql', 'mysql', 'sqlite', 'oracle'] as const;
export type Dialect = (typeof DIALECTS)[number];

export interface Catalog {
  dialect: Dialect;
  /** e.g. "PostgreSQL 15.19", "10.11.19-MariaDB", "3.45.1", "Oracle Database 19c" */
  server_version: string;
  database: string;
  /** Schemas (MySQL: databases; SQLite: "main"; Oracle: owners) that were introspected. */
  schemas: string[];
  tables: CatalogTable[];
  views: CatalogObject[];
  routines: CatalogObject[];
  /** Standalone sequences (PostgreSQL, Oracle). Identity/auto-increment columns carry their own. */
  sequences: CatalogSequence[];
}

export interface CatalogTable {
  schema: string;
  name: string;
  columns: CatalogColumn[];
  primary_key: KeyConstraint | null;
  unique_keys: KeyConstraint[];
  foreign_keys: ForeignKey[];
  indexes: CatalogIndex[];
  checks: CheckConstraint[];
  /** Planner statistics or COUNT(*) when cheap; null when unknown. */
  row_estimate: number | null;
  comment?: string | null;
}

export interface CatalogColumn {
  name: string;
  /** 1-based ordinal position in the source table. */
  position: number;
  /** The native type as the source spells it, lower-cased, with modifiers: "varchar(64)", "number(10,2)", "tinyint(1) unsigned". */
  native_type: string;
  /** Parsed pieces of native_type, so planners do not re-parse. */
  base_type: string;
  length: number | null;
  precision: number | null;
  scale: number | null;
  unsigned: boolean;
  nullable: boolean;
  /** Default expression as the source spells it; null when none. */
  default: string | null;
  /** Identity / auto-increment / serial / Oracle identity column. */
  identity: IdentityInfo | null;
  /** MySQL enum/set members, when any. */
  enum_values?: string[] | null;
  /** Character set / collation when the source reports one. */
  charset?: string | null;
  collation?: string | null;
  comment?: string | null;
}

export interface IdentityInfo {
  kind: 'identity' | 'serial' | 'auto_increment' | 'rowid_alias';
  /** Next value the source would hand out, when known. */
  next_value: number | null;
  increment: number;
  sequence_name?: string | null;
}

export interface KeyConstraint {
  name: string | null;
  columns: string[];
}

export interface ForeignKey {
  name: string | null;
  columns: string[];
  ref_schema: string;
  ref_table: string;
  ref_columns: string[];
  on_delete: ReferentialAction;
  on_update: ReferentialAction;
}

export type ReferentialAction = 'no action' | 'restrict' | 'cascade' | 'set null' | 'set default';

export interface CatalogIndex {
  name: string;
  columns: string[];
  unique: boolean;
  /** Expression or partial indexes the planner may not convert. */
  expression?: string | null;
  where?: string | null;
}

export interface CheckConstraint {
  name: string | null;
  expression: string;
}

export interface CatalogSequence {
  schema: string;
  name: string;
  start: number;
  increment: number;
  /** Next value to be handed out (last_value + increment when called). */
  next_value: number | null;
  owned_by?: { table: string; column: string } | null;
}

export interface CatalogObject {
  schema: string;
  name: string;
  kind: string;
  definition?: string | null;
}

/** Profile of one column's values, gathered where it can change a mapping. */
export interface ColumnProfile {
  table: string;
  schema: string;
  column: string;
  rows: number;
  nulls: number;
  /** Numeric columns: min/max as decimal strings (exact), and whether every value is integral. */
  min?: string | null;
  max?: string | null;
  all_integral?: boolean | null;
  /** Largest scale seen in a decimal value. */
  max_scale?: number | null;
  /** Text/binary: largest length in characters (bytes for binary). */
  max_length?: number | null;
  /** Empty strings seen (matters for Oracle where '' is NULL, and for NOT NULL targets). */
  empty_strings?: number | null;
  /** Values containing a NUL byte (PostgreSQL text cannot store them). */
  nul_bytes?: number | null;
  /** MySQL zero dates ('0000-00-00'), invalid in PostgreSQL. */
  zero_dates?: number | null;
  /** Distinct values when small (tinyint(1) 0/1 detection), else null. */
  distinct_values?: string[] | null;
  /** SQLite: storage classes seen, e.g. { integer: 10, text: 2 }. */
  storage_classes?: Record<string, number> | null;
  /** Whether the profile saw every row or a sample. */
  sampled: boolean;
}

export interface TableProfile {
  schema: string;
  table: string;
  rows: number;
  columns: ColumnProfile[];
}

/** Quote an identifier for PostgreSQL. */
export function pgIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/** Qualified PostgreSQL name "schema"."table". */
export function pgQualified(schema: string, name: string): string {
  return `${pgIdent(schema)}.${pgIdent(name)}`;
}
