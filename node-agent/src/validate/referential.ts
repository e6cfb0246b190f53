/**
 * Referential check on a PostgreSQL target: for every foreign key of the source (as mapped),
 * the child rows whose non-null key has no parent (count and first keys), whether the FOREIGN
 * KEY constraint exists, and every constraint left NOT VALID (pg_constraint.convalidated).
 * Orphans are searched by query, not trusted to the constraint: a constraint can be missing,
 * NOT VALID, or bypassed with session_replication_role = replica.
 */
import { FerryError } from '../../../common/src/errors.ts';
import { resolveConnectionSpec } from '../connectors/connection-spec.ts';
import { connectPostgres } from '../datapath/pg-connect.ts';
import { quoteDouble as q } from '../datapath/sql.ts';
import type { FkOrphans, ReferentialPayload, ReferentialResult } from './contract.ts';

export async function referential(p: ReferentialPayload): Promise<ReferentialResult> {
  const o = resolveConnectionSpec(p.connection);
  if (o.dialect !== 'postgresql') throw new FerryError('not_supported', 'The referential check runs on a PostgreSQL target', { status: 422 });
  const client = await connectPostgres(o);
  const firstN = p.first_n ?? 10;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const out: FkOrphans[] = [];
    for (const fk of p.foreign_keys) {
      const child = `${q(fk.schema)}.${q(fk.table)}`;
      const parent = `${q(fk.ref_schema)}.${q(fk.ref_table)}`;
      const notNull = fk.columns.map((c) => `c.${q(c)} IS NOT NULL`).join(' AND ');
      const join = fk.columns.map((c, i) => `p.${q(fk.ref_columns[i] ?? c)} = c.${q(c)}`).join(' AND ');
      const from = `FROM ${child} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${parent} p WHERE ${join})`;
      const keys = fk.key_columns?.length ? fk.key_columns : fk.columns;
      const shown = [...new Set([...keys, ...fk.columns])];
      const count = await client.query<{ n: string }>(`SELECT count(*) AS n ${from}`);
      const orphans = Number(count.rows[0]?.n ?? 0);
      let first: Record<string, string | null>[] = [];
      if (orphans > 0) {
        const r = await client.query<Record<string, string | null>>(
          `SELECT ${shown.map((c) => `c.${q(c)}::text AS ${q(c)}`).join(', ')} ${from} ORDER BY ${keys.map((c) => `c.${q(c)}`).join(', ')} LIMIT ${firstN}`,
        );
        first = r.rows;
      }
      const present = await client.query(
        `SELECT 1 FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE con.contype = 'f' AND n.nspname = $1 AND c.relname = $2
            AND (SELECT array_agg(a.attname::text ORDER BY k.i) FROM unnest(con.conkey) WITH ORDINALITY k(attnum, i)
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) = $3::text[]`,
        [fk.schema, fk.table, fk.columns],
      );
      out.push({ name: fk.name, table: `${fk.schema}.${fk.table}`, ref_table: `${fk.ref_schema}.${fk.ref_table}`, constraint_present: (present.rowCount ?? 0) > 0, orphans, first_keys: first });
    }
    const inv = await client.query<{ schema: string; table: string; name: string; type: string }>(
      `SELECT n.nspname AS schema, c.relname AS table, con.conname AS name,
              CASE con.contype WHEN 'f' THEN 'foreign_key' WHEN 'c' THEN 'check' WHEN 'p' THEN 'primary_key' WHEN 'u' THEN 'unique' ELSE con.contype::text END AS type
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT con.convalidated AND n.nspname = ANY($1::text[]) ORDER BY 1, 2, 3`,
      [p.schemas],
    );
    await client.query('COMMIT');
    return { foreign_keys: out, invalid_constraints: inv.rows };
  } finally {
    await client.end().catch(() => undefined);
  }
}
