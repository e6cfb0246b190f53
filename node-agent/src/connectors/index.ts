import type { ConnectionSpec, SourceConnector } from './types.ts';
import { resolveConnectionSpec } from './connection-spec.ts';
import { PostgresConnector } from './postgres/connector.ts';
import { MysqlConnector } from './mysql/connector.ts';
import { SqliteConnector } from './sqlite/connector.ts';
import { OracleConnector } from './oracle/connector.ts';

export type { ConnectionSpec, SourceConnector, TestResult, IntrospectOptions, ProfileOptions } from './types.ts';
export { ConnectorError, classifyDriverError, scrubSecret, type ConnectorErrorCode } from './errors.ts';
export { redactConnectionString, resolveConnectionSpec, parseConnectionString, type DriverOptions } from './connection-spec.ts';

/**
 * Build the connector for a connection. Nothing connects until the first call; an invalid spec
 * throws ConnectorError('invalid_connection') here.
 */
export function createConnector(spec: ConnectionSpec): SourceConnector {
  const o = resolveConnectionSpec(spec);
  switch (o.dialect) {
    case 'postgresql': return new PostgresConnector(o);
    case 'mysql': return new MysqlConnector(o);
    case 'sqlite': return new SqliteConnector(o);
    case 'oracle': return new OracleConnector(o);
  }
}
