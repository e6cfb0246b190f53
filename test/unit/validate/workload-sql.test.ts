import { describe, expect, it } from 'vitest';
import { parseWorkloadSql } from '../../../hub/src/validate/workload.ts';
import { exclusionOf } from '../../../node-agent/src/validate/capture.ts';
import { hasParameters, stripLeadingComments } from '../../../node-agent/src/validate/sql-text.ts';
import { translateQuery } from '../../../hub/src/validate/checks/behavioral.ts';

describe('workload_sql: a .sql file becomes named queries', () => {
  it('names statements from -- name: lines and numbers the rest by position', () => {
    const q = parseWorkloadSql(`-- the monthly report queries
-- name: revenue
SELECT sum(total) FROM invoice;

SELECT count(*) FROM customer;
-- name: by country
SELECT billing_country, count(*) FROM invoice GROUP BY 1;
`);
    expect(q).toEqual([
      { name: 'revenue', sql: 'SELECT sum(total) FROM invoice', source: 'file' },
      { name: 'query_2', sql: 'SELECT count(*) FROM customer', source: 'file' },
      { name: 'by country', sql: 'SELECT billing_country, count(*) FROM invoice GROUP BY 1', source: 'file' },
    ]);
  });

  it('does not split on semicolons inside literals, quoted identifiers, dollar quotes or comments', () => {
    const q = parseWorkloadSql(`-- name: a
SELECT 'a;b', 'it''s; fine' AS "x;y" FROM t /* not; here */ WHERE c = $$d;e$$ -- trailing; comment
;
-- name: b
SELECT E'q\\';' AS z;`);
    expect(q.map((x) => x.name)).toEqual(['a', 'b']);
    expect(q[0]!.sql).toBe(`SELECT 'a;b', 'it''s; fine' AS "x;y" FROM t /* not; here */ WHERE c = $$d;e$$ -- trailing; comment`);
    expect(q[1]!.sql).toBe(`SELECT E'q\\';' AS z`);
  });

  it('reads MySQL backticks and backslash escapes; a last statement needs no semicolon', () => {
    const q = parseWorkloadSql("SELECT `a;b` FROM t WHERE s = 'x\\';y'; # note; here\nSELECT 2", 'mysql');
    expect(q.map((x) => x.sql)).toEqual(["SELECT `a;b` FROM t WHERE s = 'x\\';y'", 'SELECT 2']);
  });

  it('makes duplicate names unique, skips empty statements, and a name line ends a statement missing its semicolon', () => {
    const q = parseWorkloadSql('-- name: q\nSELECT 1\n-- name: q\nSELECT 2;;\n ; \n-- just a comment\n');
    expect(q).toEqual([
      { name: 'q', sql: 'SELECT 1', source: 'file' },
      { name: 'q_2', sql: 'SELECT 2', source: 'file' },
    ]);
  });

  it('refuses an unterminated literal with its line', () => {
    expect(() => parseWorkloadSql("SELECT 1;\nSELECT 'open;\n")).toThrow(/line 2: unterminated string literal/);
    expect(() => parseWorkloadSql('SELECT 1 /* open')).toThrow(/unterminated \/\* comment/);
  });
});

describe('statement screening', () => {
  it('finds bind parameters outside literals only', () => {
    expect(hasParameters('SELECT * FROM t WHERE id = $1')).toBe(true);
    expect(hasParameters("SELECT '$1', x::text FROM t")).toBe(false);
    expect(hasParameters('SELECT * FROM t WHERE id = ?', 'mysql')).toBe(true);
    expect(hasParameters("SELECT '?' FROM t", 'mysql')).toBe(false);
    expect(hasParameters('SELECT * FROM t WHERE id = :id', 'sqlite')).toBe(true);
  });

  it('keeps read-only statements and names why others are left out of a captured workload', () => {
    expect(exclusionOf('SELECT name FROM artist ORDER BY name')).toBeNull();
    expect(exclusionOf('/* app */ WITH x AS (SELECT 1) SELECT * FROM x')).toBeNull();
    expect(exclusionOf('UPDATE artist SET name = $1')).toBe('not_read_only');
    expect(exclusionOf('WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d')).toBe('not_read_only');
    expect(exclusionOf('SELECT * FROM t FOR UPDATE')).toBe('not_read_only');
    expect(exclusionOf('SELECT * INTO t2 FROM t')).toBe('not_read_only');
    expect(exclusionOf("SELECT 'update' AS \"delete\" FROM t")).toBeNull();
    expect(exclusionOf('SELECT relname FROM pg_class')).toBe('catalog');
    expect(exclusionOf('SELECT * FROM information_schema.tables')).toBe('catalog');
    expect(exclusionOf('select count(*) as n from "public"."artist"')).toBe('ferry');
    expect(exclusionOf('/* ferry */ SELECT 1')).toBe('ferry');
    expect(exclusionOf('SELECT "artist_id", "name" FROM "public"."artist" WHERE "artist_id" >= $1 AND "artist_id" < $2')).toBe('ferry');
    expect(exclusionOf('<insufficient privilege>')).toBe('hidden');
  });

  it('translation skips leading comments', () => {
    expect(stripLeadingComments('-- a\n/* b */  SELECT 1')).toBe('SELECT 1');
    expect(translateQuery('-- why\nSELECT 1', 'postgresql', [])).toEqual({ sql: 'SELECT 1' });
  });
});
