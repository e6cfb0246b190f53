import path from 'node:path';
import type { Dialect } from '../../../common/src/catalog.ts';
import type { ConnectionSpec } from './types.ts';
import { ConnectorError } from './errors.ts';

export { redactConnectionString } from './redact.ts';

/** Default connect timeout, so an unreachable host fails a test in seconds, not minutes. @default 10000 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface PostgresOptions {
  dialect: 'postgresql';
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
  connectionTimeoutMillis: number;
  ssl?: boolean | { rejectUnauthorized: boolean };
  application_name: string;
}

export interface MysqlOptions {
  dialect: 'mysql';
  host: string;
  port: number;
  database?: string;
  user: string;
  password?: string;
  connectTimeout: number;
  ssl?: { rejectUnauthorized: boolean };
}

export interface SqliteOptions {
  dialect: 'sqlite';
  /** Absolute path of the database file. */
  path: string;
}

export interface OracleOptions {
  dialect: 'oracle';
  user: string;
  password?: string;
  /** Easy Connect string host:port/service (or whatever the spec's path said). */
  connectString: string;
  connectTimeoutSeconds: number;
}

/** A connection spec resolved into the options its driver takes. */
export type DriverOptions = PostgresOptions | MysqlOptions | SqliteOptions | OracleOptions;

const SCHEMES: Record<string, Dialect> = {
  postgresql: 'postgresql', postgres: 'postgresql', mysql: 'mysql', mariadb: 'mysql', sqlite: 'sqlite', oracle: 'oracle',
};
const DEFAULT_PORTS: Record<Dialect, number> = { postgresql: 5432, mysql: 3306, sqlite: 0, oracle: 1521 };

interface Parts {
  host?: string; port?: number; database?: string; user?: string; password?: string; path?: string;
  options: Record<string, string>;
}

function invalid(message: string): ConnectorError {
  return new ConnectorError('invalid_connection', message);
}

/** Split a connection string into parts; the password is decoded but never echoed in errors. */
export function parseConnectionString(s: string): { dialect: Dialect; parts: Parts } {
  const m = /^([a-z][a-z0-9+.-]*):(.*)$/is.exec(s.trim());
  const scheme = m?.[1]?.toLowerCase();
  const dialect = scheme ? SCHEMES[scheme] : undefined;
  if (!m || !dialect) {
    throw invalid('connection_string must start with postgresql://, postgres://, mysql://, mariadb://, sqlite: or oracle://');
  }
  const rest = m[2] ?? '';
  if (dialect === 'sqlite') {
    // sqlite:///abs/path -> /abs/path, sqlite:relative -> relative, sqlite://relative -> relative
    const p = rest.startsWith('//') ? rest.slice(2) : rest;
    const [filePath] = p.split('?');
    if (!filePath) throw invalid('sqlite connection string has no file path');
    return { dialect, parts: { path: decodeURIComponent(filePath), options: {} } };
  }
  let url: URL;
  try {
    url = new URL(s.trim());
  } catch {
    throw invalid(`connection_string for ${dialect} is not a valid URL (scheme://user:password@host:port/database)`);
  }
  const options: Record<string, string> = {};
  url.searchParams.forEach((v, k) => { options[k] = v; });
  const db = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return {
    dialect,
    parts: {
      host: url.hostname ? url.hostname.replace(/^\[|\]$/g, '') : undefined,
      port: url.port ? Number(url.port) : undefined,
      database: db || undefined,
      user: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
      options,
    },
  };
}

function pick<T>(field: T | null | undefined, fromString: T | undefined): T | undefined {
  return field !== null && field !== undefined && field !== '' ? field : fromString;
}

function sslOption(opts: Record<string, string | number | boolean>): boolean | { rejectUnauthorized: boolean } | undefined {
  const mode = String(opts.sslmode ?? opts.ssl ?? '').toLowerCase();
  if (!mode || mode === 'disable' || mode === 'false') return undefined;
  if (mode === 'verify-full' || mode === 'verify-ca' || mode === 'true') return { rejectUnauthorized: true };
  return { rejectUnauthorized: false };
}

/**
 * Resolve a ConnectionSpec (fields, connection_string, or both: fields win) into driver options.
 * Throws ConnectorError('invalid_connection') when the spec is incomplete or contradictory.
 * @example resolveConnectionSpec({ type: 'postgresql', connection_string: 'postgresql://u:p@h/db' })
 */
export function resolveConnectionSpec(spec: ConnectionSpec, cwd: string = process.cwd()): DriverOptions {
  let parts: Parts = { options: {} };
  if (spec.connection_string) {
    const parsed = parseConnectionString(spec.connection_string);
    if (parsed.dialect !== spec.type) {
      throw invalid(`connection_string is for ${parsed.dialect} but the connection type is ${spec.type}`);
    }
    parts = parsed.parts;
  }
  const options: Record<string, string | number | boolean> = { ...parts.options, ...(spec.options ?? {}) };
  const timeoutMs = Number(options.connect_timeout_ms ?? DEFAULT_CONNECT_TIMEOUT_MS);
  const host = pick(spec.host, parts.host) ?? '127.0.0.1';
  const port = pick(spec.port, parts.port) ?? DEFAULT_PORTS[spec.type];
  const user = pick(spec.user, parts.user);
  const password = pick(spec.password, parts.password);
  const database = pick(spec.database, parts.database);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalid(`port ${String(port)} is not a TCP port`);

  switch (spec.type) {
    case 'postgresql': {
      const ssl = sslOption(options);
      return {
        dialect: 'postgresql', host, port, database: database ?? user ?? 'postgres', user: user ?? 'postgres',
        ...(password !== undefined ? { password } : {}),
        connectionTimeoutMillis: timeoutMs,
        ...(ssl !== undefined ? { ssl } : {}),
        application_name: 'ferry-agent',
      };
    }
    case 'mysql': {
      const ssl = sslOption(options);
      return {
        dialect: 'mysql', host, port, user: user ?? 'root',
        ...(database !== undefined ? { database } : {}),
        ...(password !== undefined ? { password } : {}),
        connectTimeout: timeoutMs,
        ...(typeof ssl === 'object' ? { ssl } : {}),
      };
    }
    case 'sqlite': {
      const file = pick(spec.path, parts.path) ?? pick(spec.database, undefined);
      if (!file) throw invalid('sqlite connection needs a path (path field or sqlite:///abs/path)');
      return { dialect: 'sqlite', path: path.resolve(cwd, file) };
    }
    case 'oracle': {
      if (!user) throw invalid('oracle connection needs a user');
      const connectString = pick(spec.path, undefined) ?? `${host}:${port}/${database ?? 'FREEPDB1'}`;
      return {
        dialect: 'oracle', user, connectString,
        ...(password !== undefined ? { password } : {}),
        connectTimeoutSeconds: Math.max(1, Math.ceil(timeoutMs / 1000)),
      };
    }
  }
}

/** "host:port" or the file path, for messages (never carries credentials). */
export function describeTarget(o: DriverOptions): string {
  switch (o.dialect) {
    case 'sqlite': return o.path;
    case 'oracle': return o.connectString;
    default: return `${o.host}:${o.port}`;
  }
}
