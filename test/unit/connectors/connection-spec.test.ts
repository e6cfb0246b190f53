import { describe, expect, it } from 'vitest';
import { redactConnectionString, resolveConnectionSpec } from '../../../node-agent/src/connectors/connection-spec.ts';
import { ConnectorError } from '../../../node-agent/src/connectors/errors.ts';
import { globToRegExp, makeTableFilter } from '../../../node-agent/src/connectors/table-filter.ts';
import { decimalScale, normalizeDecimal } from '../../../node-agent/src/connectors/decimal.ts';
import { parseTypeName } from '../../../node-agent/src/connectors/catalog-helpers.ts';

describe('resolveConnectionSpec', () => {
  it('parses postgresql:// and postgres:// with encoded passwords and sslmode', () => {
    expect(resolveConnectionSpec({ type: 'postgresql', connection_string: 'postgresql://app:p%40ss%2Fw@db.example:6432/hr_prod?sslmode=require' }))
      .toMatchObject({ dialect: 'postgresql', host: 'db.example', port: 6432, database: 'hr_prod', user: 'app', password: 'p@ss/w', ssl: { rejectUnauthorized: false } });
    expect(resolveConnectionSpec({ type: 'postgresql', connection_string: 'postgres://u@h/d' })).toMatchObject({ port: 5432, database: 'd' });
  });

  it('parses mysql:// and mariadb://', () => {
    expect(resolveConnectionSpec({ type: 'mysql', connection_string: 'mariadb://root:pw@10.0.0.5/shop' }))
      .toMatchObject({ dialect: 'mysql', host: '10.0.0.5', port: 3306, database: 'shop', user: 'root', password: 'pw' });
  });

  it('parses sqlite:///abs and sqlite:relative', () => {
    expect(resolveConnectionSpec({ type: 'sqlite', connection_string: 'sqlite:///var/data/app.db' })).toEqual({ dialect: 'sqlite', path: '/var/data/app.db' });
    expect(resolveConnectionSpec({ type: 'sqlite', connection_string: 'sqlite:data/app.db' }, '/srv')).toEqual({ dialect: 'sqlite', path: '/srv/data/app.db' });
    expect(resolveConnectionSpec({ type: 'sqlite', path: 'x.db' }, '/tmp')).toEqual({ dialect: 'sqlite', path: '/tmp/x.db' });
  });

  it('parses oracle://user:pass@host:1521/SERVICE into an Easy Connect string', () => {
    expect(resolveConnectionSpec({ type: 'oracle', connection_string: 'oracle://scott:tiger@ora.local:1521/ORCL' }))
      .toMatchObject({ dialect: 'oracle', user: 'scott', password: 'tiger', connectString: 'ora.local:1521/ORCL' });
  });

  it('lets fields win over the connection string', () => {
    expect(resolveConnectionSpec({ type: 'postgresql', connection_string: 'postgresql://a:b@h1:1/d1', host: 'h2', password: 'c' }))
      .toMatchObject({ host: 'h2', port: 1, password: 'c', user: 'a', database: 'd1' });
  });

  it('refuses a scheme that contradicts the type, an unknown scheme and a bad port, without echoing the password', () => {
    const err = (f: () => unknown) => { try { f(); } catch (e) { return e; } return null; };
    const e1 = err(() => resolveConnectionSpec({ type: 'mysql', connection_string: 'postgresql://u:topsecret@h/d' }));
    expect(e1).toBeInstanceOf(ConnectorError);
    expect((e1 as ConnectorError).code).toBe('invalid_connection');
    expect((e1 as ConnectorError).message).not.toContain('topsecret');
    expect((err(() => resolveConnectionSpec({ type: 'mysql', connection_string: 'ftp://x' })) as ConnectorError).code).toBe('invalid_connection');
    expect((err(() => resolveConnectionSpec({ type: 'mysql', port: 70000 })) as ConnectorError).code).toBe('invalid_connection');
  });
});

describe('redactConnectionString', () => {
  it('replaces passwords in URLs and options', () => {
    expect(redactConnectionString('postgresql://app:s3cr@t@db:5432/hr')).toBe('postgresql://app:***@db:5432/hr');
    expect(redactConnectionString('oracle://scott:tiger@h:1521/ORCL')).toBe('oracle://scott:***@h:1521/ORCL');
    expect(redactConnectionString('mysql://root@h/db')).toBe('mysql://root@h/db');
    expect(redactConnectionString('host=h password=abc user=u')).toBe('host=h password=*** user=u');
    expect(redactConnectionString('failed to connect to mysql://u:pw@h/d: refused')).toBe('failed to connect to mysql://u:***@h/d: refused');
  });
});

describe('helpers', () => {
  it('matches exclude globs on table and schema.table, case-insensitively', () => {
    const keep = makeTableFilter(['audit_*', 'hr.tmp*']);
    expect(keep('public', 'Audit_Log')).toBe(false);
    expect(keep('hr', 'tmp_x')).toBe(false);
    expect(keep('sales', 'tmp_x')).toBe(true);
    expect(globToRegExp('a.b*').test('axb')).toBe(false);
  });
  it('normalises decimals exactly', () => {
    expect(normalizeDecimal('-000.500')).toBe('-0.5');
    expect(normalizeDecimal('-0.000')).toBe('0');
    expect(normalizeDecimal(12345678901234567890n)).toBe('12345678901234567890');
    expect(decimalScale('1.2500')).toBe(2);
  });
  it('splits native types', () => {
    expect(parseTypeName('timestamp(3) with time zone')).toEqual({ base: 'timestamp with time zone', args: ['3'], unsigned: false });
    expect(parseTypeName('tinyint(1) unsigned zerofill')).toEqual({ base: 'tinyint', args: ['1'], unsigned: true });
  });
});
