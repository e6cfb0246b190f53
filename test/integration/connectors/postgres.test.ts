import { afterAll, beforeAll, expect } from 'vitest';
import { createConnector } from '../../../node-agent/src/connectors/index.ts';
import { runConformance } from './conformance.ts';
import { createPgDatabase, dropPgDatabase, loadPgChinook, psql } from './fixtures.ts';

const chinookDb = createPgDatabase();
const edgeDb = createPgDatabase();
const missingDb = `${chinookDb}_missing`;

beforeAll(() => {
  loadPgChinook(chinookDb);
  psql(edgeDb, `
    create table "Order" ("Id" integer primary key, "select" varchar(20) not null, "CreatedAt" timestamptz default now());
    create table order_line (order_id integer not null references "Order"("Id") on delete cascade, line_no smallint not null,
      qty integer check (qty > 0), primary key (order_id, line_no));
    create table employee (id bigint generated always as identity primary key, manager_id bigint references employee(id) on delete set null,
      email text unique);
    create sequence invoice_no start 1000 increment 5;
    select nextval('invoice_no');
    create table serials (id serial primary key, code char(1));
    insert into serials (code) values ('a'), ('b');
    create table log_no_pk (msg text, flag boolean, amount numeric(12,4), ratio double precision, big bigint, payload bytea);
    insert into log_no_pk values
      ('hello', true, 12.5000, 0.25, 9223372036854775807, '\\x00ff'),
      ('', false, -0.0001, 3, -9223372036854775808, null),
      (null, true, 99999999.9999, null, 0, '\\x'),
      ('😀 outside the BMP', null, null, 1e300, null, null);
    create index log_msg_lower on log_no_pk (lower(msg));
    create index log_flag_partial on log_no_pk (amount) where flag;
    create view order_view as select "Id" from "Order";
    create function add_one(x int) returns int language sql as 'select x + 1';
  `);
});

afterAll(() => {
  dropPgDatabase(chinookDb);
  dropPgDatabase(edgeDb);
});

const pg = (database: string, extra: Record<string, unknown> = {}) =>
  createConnector({ type: 'postgresql', host: '127.0.0.1', port: 5432, user: 'postgres', database, ...extra });

runConformance({
  dialect: 'postgresql',
  versionPattern: /^PostgreSQL \d+\.\d+/,
  chinook: {
    make: () => createConnector({ type: 'postgresql', connection_string: `postgresql://postgres@127.0.0.1:5432/${chinookDb}` }),
    fixture: {
      schema: 'public',
      name: (s) => s,
      nativeTypes: {
        'invoice.total': 'numeric(10,2)', 'track.name': 'character varying(200)', 'invoice.invoice_date': 'timestamp without time zone',
        'album.album_id': 'integer',
      },
      exactCounts: true,
    },
  },
  edge: {
    make: () => pg(edgeDb),
    fixture: {
      schema: 'public', orderTable: 'Order', selectColumn: 'select', lineTable: 'order_line', linePk: ['order_id', 'line_no'],
      selfTable: 'employee', selfFkColumn: 'manager_id', noPkTable: 'log_no_pk', rows: 4,
      profile: {
        msg: { nulls: 1, empty_strings: 1, max_length: 17 },
        flag: { nulls: 1, distinct_values: ['false', 'true'] },
        amount: { min: '-0.0001', max: '99999999.9999', all_integral: false, max_scale: 4, nulls: 1 },
        big: { min: '-9223372036854775808', max: '9223372036854775807' },
        payload: { max_length: 2, nulls: 2 },
      },
      extra: (catalog) => {
        const byName = (n: string) => catalog.tables.find((t) => t.name === n);
        const emp = byName('employee');
        expect(emp?.columns[0]?.identity).toMatchObject({ kind: 'identity', next_value: 1, increment: 1 });
        expect(emp?.unique_keys.map((u) => u.columns)).toEqual([['email']]);
        expect(byName('serials')?.columns[0]?.identity).toMatchObject({ kind: 'serial', next_value: 3, sequence_name: 'serials_id_seq' });
        expect(catalog.sequences.find((s) => s.name === 'invoice_no')).toMatchObject({ start: 1000, increment: 5, next_value: 1005, owned_by: null });
        expect(catalog.sequences.find((s) => s.name === 'serials_id_seq')?.owned_by).toEqual({ table: 'serials', column: 'id' });
        expect(catalog.sequences.some((s) => s.name.startsWith('employee_id'))).toBe(false);
        expect(byName('order_line')?.checks[0]?.expression).toBe('(qty > 0)');
        const idx = byName('log_no_pk')?.indexes ?? [];
        expect(idx.find((i) => i.name === 'log_msg_lower')?.expression).toBe('lower(msg)');
        expect(idx.find((i) => i.name === 'log_flag_partial')).toMatchObject({ columns: ['amount'], where: 'flag' });
        expect(byName('Order')?.indexes).toEqual([]);
        expect(byName('Order')?.columns.find((c) => c.name === 'CreatedAt')).toMatchObject({ base_type: 'timestamp with time zone', default: 'now()' });
        expect(catalog.views.map((v) => v.name)).toEqual(['order_view']);
        expect(catalog.routines.map((r) => [r.name, r.kind])).toEqual([['add_one', 'function']]);
      },
    },
  },
  failures: [
    { title: 'a port nobody listens on', code: 'source_unreachable', make: () => pg(chinookDb, { port: 1 }) },
    { title: 'a database that does not exist', code: 'database_not_found', make: () => pg(missingDb) },
    {
      title: 'an unresolvable host', code: 'source_unreachable',
      make: () => createConnector({ type: 'postgresql', connection_string: 'postgresql://u:hunter2pw@nonexistent.invalid:5432/x' }),
      secret: 'hunter2pw',
    },
  ],
});
