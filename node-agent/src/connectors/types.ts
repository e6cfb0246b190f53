import type { Catalog, Dialect, TableProfile } from '../../../common/src/catalog.ts';

/**
 * How a connection is described to an agent. The hub decrypts the password just before it
 * sends a task and the agent keeps it only in memory for the task's duration.
 */
export interface ConnectionSpec {
  type: Dialect;
  host?: string | null;
  port?: number | null;
  database?: string | null;
  user?: string | null;
  password?: string | null;
  /** SQLite: path to the database file. Oracle: connect string (host:port/service) when given. */
  path?: string | null;
  /** Raw connection string (postgresql://, mysql://, oracle://, sqlite:///path); fields above win when both given. */
  connection_string?: string | null;
  /** Extra driver options (ssl mode, ...). */
  options?: Record<string, string | number | boolean> | null;
}

export interface TestResult {
  ok: boolean;
  server_version: string | null;
  latency_ms: number;
  /** API error code when not ok: source_unreachable, authentication_failed, database_not_found, permission_denied, ... */
  error_code?: string;
  message?: string;
}

export interface IntrospectOptions {
  /** Schemas to read; default: the connection's default schema (public / the database / main / the user). */
  schemas?: string[];
  /** Table name globs to exclude (`*` wildcard), matched against `table` and `schema.table`. */
  exclude_tables?: string[];
}

export interface ProfileOptions {
  /** Sample at most this many rows per table; 0 or undefined means every row. */
  sample_rows?: number;
}

/**
 * A source (and, for PostgreSQL, target) database connector. Every implementation runs the
 * conformance suite in test/integration/connectors. Implementations never log passwords.
 */
export interface SourceConnector {
  readonly dialect: Dialect;
  /** Connect, run a trivial query, report version and latency; never throws. */
  test(): Promise<TestResult>;
  introspect(opts?: IntrospectOptions): Promise<Catalog>;
  profile(tables: { schema: string; table: string }[], opts?: ProfileOptions): Promise<TableProfile[]>;
  close(): Promise<void>;
}
