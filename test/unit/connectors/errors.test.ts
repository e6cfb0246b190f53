import { describe, expect, it } from 'vitest';
import { classifyDriverError, ConnectorError } from '../../../node-agent/src/connectors/errors.ts';

const ctx = { dialect: 'postgresql' as const, target: 'db:5432', database: 'hr', password: 'Sup3r$ecret' };
const code = (err: unknown, dialect: 'postgresql' | 'mysql' | 'sqlite' | 'oracle' = 'postgresql') => classifyDriverError(err, { ...ctx, dialect }).code;

describe('classifyDriverError', () => {
  it('maps network failures to source_unreachable (retryable)', () => {
    for (const c of ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT']) expect(code(Object.assign(new Error('x'), { code: c }))).toBe('source_unreachable');
    expect(code(new Error('timeout expired'))).toBe('source_unreachable');
    expect(code(new Error('NJS-503: connection to host 10.0.0.1 port 1521 could not be established'), 'oracle')).toBe('source_unreachable');
    expect(classifyDriverError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), ctx).retryable).toBe(true);
  });
  it('maps authentication failures', () => {
    expect(code(Object.assign(new Error('password authentication failed'), { code: '28P01' }))).toBe('authentication_failed');
    expect(code(Object.assign(new Error('no pg_hba.conf entry'), { code: '28000' }))).toBe('authentication_failed');
    expect(code(Object.assign(new Error('Access denied'), { code: 'ER_ACCESS_DENIED_ERROR', errno: 1045 }), 'mysql')).toBe('authentication_failed');
    expect(code(new Error('ORA-01017: invalid credential or not authorized; logon denied'), 'oracle')).toBe('authentication_failed');
  });
  it('maps missing databases', () => {
    expect(code(Object.assign(new Error('database "hr" does not exist'), { code: '3D000' }))).toBe('database_not_found');
    expect(code(Object.assign(new Error("Unknown database 'hr'"), { errno: 1049 }), 'mysql')).toBe('database_not_found');
    expect(code(Object.assign(new Error('unable to open database file'), { code: 'SQLITE_CANTOPEN' }), 'sqlite')).toBe('database_not_found');
    expect(code(new Error('ORA-12514: Cannot connect to database. Service ORCL is not registered'), 'oracle')).toBe('database_not_found');
  });
  it('maps privilege errors and falls back to connection_failed', () => {
    expect(code(Object.assign(new Error('permission denied for table t'), { code: '42501' }))).toBe('permission_denied');
    expect(code(Object.assign(new Error('Access denied for user to database'), { errno: 1044 }), 'mysql')).toBe('permission_denied');
    expect(code(new Error('ORA-01031: insufficient privileges'), 'oracle')).toBe('permission_denied');
    expect(code(new Error('something odd'))).toBe('connection_failed');
  });
  it('never lets the password into the message', () => {
    const e = classifyDriverError(new Error('cannot connect to postgresql://app:Sup3r$ecret@db/hr with Sup3r$ecret'), ctx);
    expect(e).toBeInstanceOf(ConnectorError);
    expect(e.message).not.toContain('Sup3r$ecret');
    expect(e.message).toContain('***');
  });
});
