import type { Dialect } from '../../../common/src/catalog.ts';
import { redactConnectionString } from './redact.ts';

/** Stable codes a connection test or introspection failure is reported with (API error codes). */
export const CONNECTOR_ERROR_CODES = [
  'source_unreachable',
  'authentication_failed',
  'database_not_found',
  'permission_denied',
  'invalid_connection',
  'table_not_found',
  'connection_failed',
] as const;
export type ConnectorErrorCode = (typeof CONNECTOR_ERROR_CODES)[number];

/**
 * A driver failure turned into a value with a code. The message is safe to show a user: it never
 * carries the password (scrubbed from the driver's text) and says what to check.
 */
export class ConnectorError extends Error {
  readonly code: ConnectorErrorCode;
  /** Whether trying again later can help (network trouble), as opposed to fixing the spec. */
  readonly retryable: boolean;
  /** The driver's own code (ECONNREFUSED, 28P01, ER_ACCESS_DENIED_ERROR, ORA-01017...), for logs. */
  readonly driverCode: string | null;

  constructor(code: ConnectorErrorCode, message: string, driverCode: string | null = null) {
    super(message);
    this.name = 'ConnectorError';
    this.code = code;
    this.retryable = code === 'source_unreachable';
    this.driverCode = driverCode;
  }
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNRESET',
  'EPIPE', 'PROTOCOL_CONNECTION_LOST',
]);
// Oracle: no listener, timeouts, refused (thin-mode NJS codes and classic ORA codes).
const ORACLE_UNREACHABLE = new Set(['NJS-500', 'NJS-501', 'NJS-503', 'NJS-510', 'NJS-511', 'ORA-12541', 'ORA-12170', 'ORA-12543', 'ORA-12545']);
const ORACLE_NO_SERVICE = new Set(['ORA-12514', 'NJS-518', 'ORA-12505', 'NJS-519']);

interface DriverErrorShape {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  cause?: unknown;
}

function shape(err: unknown): DriverErrorShape {
  return typeof err === 'object' && err !== null ? (err as DriverErrorShape) : { message: String(err) };
}

function oracleCode(message: string): string | null {
  const m = /\b(ORA-\d{5}|NJS-\d{3})\b/.exec(message);
  return m?.[1] ?? null;
}

/** Remove the password (and any connection-string credentials) from a text meant for users. */
export function scrubSecret(text: string, password?: string | null): string {
  let out = redactConnectionString(text);
  if (password) {
    out = out.split(password).join('***');
    const encoded = encodeURIComponent(password);
    if (encoded !== password) out = out.split(encoded).join('***');
  }
  return out;
}

export interface ErrorContext {
  dialect: Dialect;
  /** Where we tried to connect, e.g. "127.0.0.1:5432" or a file path; shown in messages. */
  target?: string;
  database?: string | null;
  password?: string | null;
}

/**
 * Map any driver error (pg, mysql2, better-sqlite3, oracledb, Node socket errors) to a
 * ConnectorError with a stable code. Already-mapped errors pass through.
 */
export function classifyDriverError(err: unknown, ctx: ErrorContext): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const e = shape(err);
  const rawMessage = typeof e.message === 'string' ? e.message : String(err);
  const message = scrubSecret(rawMessage, ctx.password);
  let code = typeof e.code === 'string' ? e.code : null;
  const errno = typeof e.errno === 'number' ? e.errno : null;
  // AggregateError (happy-eyeballs) hides the socket code in its errors / cause.
  if (!code && e.cause) code = typeof shape(e.cause).code === 'string' ? (shape(e.cause).code as string) : null;
  const ora = oracleCode(rawMessage);
  const where = ctx.target ? ` ${ctx.target}` : '';
  const db = ctx.database ? ` "${ctx.database}"` : '';

  const make = (c: ConnectorErrorCode, hint: string) =>
    new ConnectorError(c, `${hint}: ${message}`, code ?? ora ?? (errno !== null ? String(errno) : null));

  if ((code && UNREACHABLE_CODES.has(code)) || (ora && ORACLE_UNREACHABLE.has(ora)) ||
      /timeout expired|connection timeout|timed out|Connection terminated unexpectedly/i.test(rawMessage)) {
    return make('source_unreachable', `Cannot reach the ${ctx.dialect} server${where}; check host, port and firewall`);
  }
  if (code === '28P01' || code === '28000' || code === 'ER_ACCESS_DENIED_ERROR' || errno === 1045 ||
      code === 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR' || errno === 1698 || ora === 'ORA-01017' || ora === 'ORA-28000') {
    return make('authentication_failed', `The ${ctx.dialect} server${where} refused the user name or password`);
  }
  if (code === '3D000' || code === 'ER_BAD_DB_ERROR' || errno === 1049 || (ora && ORACLE_NO_SERVICE.has(ora)) ||
      code === 'SQLITE_CANTOPEN' || code === 'ENOENT') {
    return make('database_not_found', `The database${db} does not exist on${where || ' the server'}`);
  }
  if (code === '42501' || code === 'ER_DBACCESS_DENIED_ERROR' || errno === 1044 || errno === 1142 || errno === 1227 ||
      code === 'ER_TABLEACCESS_DENIED_ERROR' || code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR' ||
      ora === 'ORA-01031' || ora === 'ORA-01045' || code === 'SQLITE_PERM' || code === 'EACCES' || code === 'SQLITE_AUTH') {
    return make('permission_denied', `The user lacks a privilege on${db || where}; grant read access to the catalog and tables`);
  }
  return make('connection_failed', `The ${ctx.dialect} connection${where} failed`);
}
