import { createRequire } from 'node:module';

/**
 * The slice of node-oracledb (thin mode) the connector uses. The package ships no type
 * declarations, so this interface is the contract we rely on.
 */
export interface OraConnection {
  execute<R>(sql: string, binds?: Record<string, unknown>, options?: { outFormat?: number; fetchTypeHandler?: unknown }): Promise<{ rows?: R[] }>;
  close(): Promise<void>;
  oracleServerVersionString?: string;
}

export interface OracleDb {
  OUT_FORMAT_OBJECT: number;
  DB_TYPE_NUMBER: unknown;
  STRING: unknown;
  getConnection(opts: { user: string; password?: string; connectString: string; connectTimeout?: number }): Promise<OraConnection>;
}

let cached: OracleDb | null = null;

export function loadOracleDb(): OracleDb {
  cached ??= createRequire(import.meta.url)('oracledb') as OracleDb;
  return cached;
}
