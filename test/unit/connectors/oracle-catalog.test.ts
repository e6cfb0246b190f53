import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildOracleCatalogParts, isNotNullCheck, oracleColumnType, oracleDefault, parseIdentityOptions, type OracleCatalogRows,
} from '../../../node-agent/src/connectors/oracle/catalog-rows.ts';
import { extrasRows } from '../../fixtures/oracle/extras-catalog.ts';

const chinook = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../../fixtures/oracle/chinook-catalog.json'), 'utf8')) as OracleCatalogRows;

describe('Oracle catalog rows -> neutral catalog (Chinook)', () => {
  const parts = buildOracleCatalogParts(chinook);
  const table = (n: string) => {
    const t = parts.tables.find((x) => x.name === n);
    if (!t) throw new Error(n);
    return t;
  };

  it('lists the 11 tables with NUM_ROWS as row estimates', () => {
    expect(parts.tables).toHaveLength(11);
    expect(table('INVOICELINE').row_estimate).toBe(2240);
    expect(table('PLAYLISTTRACK').row_estimate).toBe(8715);
    expect(parts.tables.every((t) => t.schema === 'CHINOOK')).toBe(true);
  });

  it('spells NUMBER, NUMBER(10,2), VARCHAR2 and DATE as native types with parsed pieces', () => {
    const cols = table('INVOICE').columns;
    expect(cols.find((c) => c.name === 'INVOICEID')).toMatchObject({ native_type: 'number', base_type: 'number', precision: null, scale: null, nullable: false });
    expect(cols.find((c) => c.name === 'TOTAL')).toMatchObject({ native_type: 'number(10,2)', precision: 10, scale: 2 });
    expect(cols.find((c) => c.name === 'INVOICEDATE')).toMatchObject({ native_type: 'date', base_type: 'date', nullable: false });
    expect(cols.find((c) => c.name === 'BILLINGCITY')).toMatchObject({ native_type: 'varchar2(40)', base_type: 'varchar2', length: 40, nullable: true, default: null });
    expect(cols.map((c) => c.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('turns system NOT NULL checks into nullability, not check constraints', () => {
    expect(parts.tables.every((t) => t.checks.length === 0)).toBe(true);
  });

  it('reads primary keys (composite in order) and leaves their indexes out of the index list', () => {
    expect(table('PLAYLISTTRACK').primary_key).toEqual({ name: 'PK_PLAYLISTTRACK', columns: ['PLAYLISTID', 'TRACKID'] });
    expect(parts.tables.every((t) => t.indexes.length === 0)).toBe(true);
  });

  it('resolves foreign keys through the referenced primary key', () => {
    const fks = table('INVOICELINE').foreign_keys;
    expect(fks.map((f) => [f.name, f.columns, f.ref_table, f.ref_columns])).toEqual([
      ['FK_INVOICELINEINVOICEID', ['INVOICEID'], 'INVOICE', ['INVOICEID']],
      ['FK_INVOICELINETRACKID', ['TRACKID'], 'TRACK', ['TRACKID']],
    ]);
    expect(fks[0]).toMatchObject({ ref_schema: 'CHINOOK', on_delete: 'no action', on_update: 'no action' });
    expect(table('EMPLOYEE').foreign_keys[0]).toMatchObject({ columns: ['REPORTSTO'], ref_table: 'EMPLOYEE', ref_columns: ['EMPLOYEEID'] });
    expect(parts.tables.reduce((n, t) => n + t.foreign_keys.length, 0)).toBe(11);
  });
});

describe('Oracle catalog rows -> neutral catalog (identity, sequences, checks, expressions)', () => {
  const parts = buildOracleCatalogParts(extrasRows);
  const t = parts.tables[0];
  const col = (n: string) => t?.columns.find((c) => c.name === n);

  it('reads an identity column with its sequence position and no default', () => {
    expect(col('ID')).toMatchObject({ default: null, identity: { kind: 'identity', next_value: 300, increment: 10, sequence_name: 'ISEQ$$_74512' } });
  });

  it('lists standalone sequences only, with LAST_NUMBER as next value', () => {
    expect(parts.sequences).toEqual([{ schema: 'SHOP', name: 'INVOICE_SEQ', start: 1, increment: 5, next_value: 101, owned_by: null }]);
  });

  it('reads CHAR-semantics strings, INTEGER, timestamps with zone, FLOAT, CHAR(1), CLOB', () => {
    expect(col('CODE')).toMatchObject({ native_type: 'varchar2(10 char)', length: 10, default: "'NEW'" });
    expect(col('QTY')).toMatchObject({ native_type: 'number(*,0)', precision: null, scale: 0 });
    expect(col('PLACED')).toMatchObject({ native_type: 'timestamp(6) with time zone', base_type: 'timestamp with time zone', precision: 6, default: 'systimestamp' });
    expect(col('RATIO')).toMatchObject({ native_type: 'float(63)', precision: 63 });
    expect(col('FLAG')).toMatchObject({ native_type: 'char(1)', length: 1 });
    expect(col('NOTE')).toMatchObject({ native_type: 'clob', base_type: 'clob' });
  });

  it('keeps user checks, unique keys, cascading self-references and function-based indexes', () => {
    expect(t?.checks).toEqual([{ name: 'QTY_POS', expression: 'qty > 0' }]);
    expect(t?.unique_keys).toEqual([{ name: 'ORDERS_CODE_UQ', columns: ['CODE'] }]);
    expect(t?.foreign_keys).toEqual([{ name: 'SYS_C008304', columns: ['PARENT_ID'], ref_schema: 'SHOP', ref_table: 'ORDERS', ref_columns: ['ID'], on_delete: 'cascade', on_update: 'no action' }]);
    expect(t?.indexes).toEqual([{ name: 'ORDERS_UPPER_CODE', columns: ['UPPER("CODE")'], unique: false, expression: 'UPPER("CODE")', where: null }]);
    expect(t?.row_estimate).toBeNull();
    expect(t?.comment).toBe('customer orders');
  });

  it('lists views and routines', () => {
    expect(parts.views).toEqual([{ schema: 'SHOP', name: 'BIG_ORDERS', kind: 'view', definition: 'select id from orders where qty > 10' }]);
    expect(parts.routines).toEqual([{ schema: 'SHOP', name: 'TOUCH_ORDERS', kind: 'procedure', definition: null }]);
  });
});

describe('Oracle dictionary helpers', () => {
  it('spells NUMBER variants', () => {
    const n = (p: number | null, s: number | null) =>
      oracleColumnType({ DATA_TYPE: 'NUMBER', DATA_LENGTH: 22, DATA_PRECISION: p, DATA_SCALE: s, CHAR_LENGTH: 0, CHAR_USED: null }).native_type;
    expect([n(null, null), n(null, 0), n(9, 0), n(10, 2), n(5, -2)]).toEqual(['number', 'number(*,0)', 'number(9)', 'number(10,2)', 'number(5,-2)']);
  });
  it('parses identity options and defaults', () => {
    expect(parseIdentityOptions('START WITH: 100, INCREMENT BY: -3, MAX_VALUE: 9')).toEqual({ start: 100, increment: -3 });
    expect(oracleDefault('NULL\n')).toBeNull();
    expect(oracleDefault("sysdate \n")).toBe('sysdate');
    expect(isNotNullCheck('"A B" IS NOT NULL')).toBe(true);
    expect(isNotNullCheck('"A" IS NOT NULL AND "B" > 0')).toBe(false);
  });
});
