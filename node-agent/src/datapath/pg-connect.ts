import pg from 'pg';
import type { PostgresOptions } from '../connectors/connection-spec.ts';
import { classifyDriverError } from '../connectors/errors.ts';
import { describeTarget } from '../connectors/connection-spec.ts';

/**
 * Session settings that make text forms unambiguous on both sides of a copy: ISO dates, UTC
 * (timestamptz text carries its offset; text without one is read as UTC), exact floats.
 */
export const PG_SESSION_SQL =
  "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET client_encoding = 'UTF8'";

/** Every type parsed as its raw text, so no value is rounded or re-zoned by the driver. */
const rawTypes = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

/** A connected client with the data path's session settings; driver errors mapped to ConnectorError. */
export async function connectPostgres(opts: PostgresOptions): Promise<pg.Client> {
  const { dialect: _d, ...config } = opts;
  const client = new pg.Client({ ...config, types: rawTypes });
  client.on('error', () => undefined); // a dropped idle connection must not crash the agent; the next query fails instead
  try {
    await client.connect();
    await client.query(PG_SESSION_SQL);
  } catch (err) {
    await client.end().catch(() => undefined);
    throw classifyDriverError(err, { dialect: 'postgresql', target: describeTarget(opts), database: opts.database, password: opts.password });
  }
  return client;
}
