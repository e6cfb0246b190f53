import { FerryError } from '../../../common/src/errors.ts';
import type { Dialect } from '../../../common/src/catalog.ts';

export interface ConnectionFields {
  type: Dialect;
  host: string | null;
  port: number | null;
  database: string | null;
  user: string | null;
  password: string | null;
  path: string | null;
  options: Record<string, string>;
}

const SCHEMES: Record<string, Dialect> = {
  postgresql: 'postgresql',
  postgres: 'postgresql',
  mysql: 'mysql',
  mariadb: 'mysql',
  sqlite: 'sqlite',
  oracle: 'oracle',
};

const DEFAULT_PORT: Record<Dialect, number | null> = { postgresql: 5432, mysql: 3306, oracle: 1521, sqlite: null };

const invalid = (reason: string) =>
  new FerryError('validation_error', `connection_string: ${reason}`, { status: 422, details: { field: 'connection_string', reason } });

/**
 * Split a connection string into fields so the password can be stored encrypted on its own and
 * the string itself is never kept. Accepts postgresql://, postgres://, mysql://, mariadb://,
 * oracle://user:pass@host:1521/SERVICE, sqlite:///absolute/path and sqlite:relative/path.
 */
export function parseConnectionString(s: string): ConnectionFields {
  const m = /^([a-z]+):(.*)$/i.exec(s.trim());
  const scheme = m?.[1]?.toLowerCase();
  const type = scheme ? SCHEMES[scheme] : undefined;
  if (!m || !type) throw invalid('expected a URL starting with postgresql://, mysql://, mariadb://, oracle:// or sqlite:');
  if (type === 'sqlite') {
    const rest = m[2] ?? '';
    const p = rest.startsWith('//') ? rest.slice(2) : rest;
    if (!p) throw invalid('sqlite: needs a file path, e.g. sqlite:///var/lib/app.db');
    return { type, host: null, port: null, database: null, user: null, password: null, path: decodeURIComponent(p), options: {} };
  }
  let u: URL;
  try {
    u = new URL(s.trim());
  } catch {
    throw invalid('not a valid URL');
  }
  if (!u.hostname) throw invalid('missing host');
  const port = u.port ? Number(u.port) : DEFAULT_PORT[type];
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || null;
  const options: Record<string, string> = {};
  for (const [k, v] of u.searchParams) options[k] = v;
  return {
    type,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    database,
    user: u.username ? decodeURIComponent(u.username) : null,
    password: u.password ? decodeURIComponent(u.password) : null,
    path: null,
    options,
  };
}

/** The string shown back to users: never with the password. */
export function displayString(f: Omit<ConnectionFields, 'password'> & { has_password: boolean }): string {
  if (f.type === 'sqlite') return `sqlite://${f.path ?? ''}`;
  const auth = f.user ? `${encodeURIComponent(f.user)}${f.has_password ? ':***' : ''}@` : '';
  const host = f.host?.includes(':') ? `[${f.host}]` : (f.host ?? '');
  return `${f.type}://${auth}${host}${f.port ? `:${f.port}` : ''}/${f.database ? encodeURIComponent(f.database) : ''}`;
}
