import { afterAll, beforeAll, expect } from 'vitest';
import { createConnector } from '../../../node-agent/src/connectors/index.ts';
import { runConformance } from './conformance.ts';
import { createMysqlDatabase, dropMysqlDatabase, loadMysqlChinook, mysqlCli, uniqueName } from './fixtures.ts';

const chinookDb = createMysqlDatabase();
const edgeDb = createMysqlDatabase();
const user = uniqueName('ferry_u');
const password = `pw_${uniqueName('s')}`;

beforeAll(() => {
  loadMysqlChinook(chinookDb);
  mysqlCli(null, `create user '${user}'@'%' identified by '${password}';
    create user '${user}'@'localhost' identified by '${password}';
    create user '${user}'@'127.0.0.1' identified by '${password}';`);
  mysqlCli(edgeDb, `
    create table \`Order\` (\`Id\` int unsigned not null auto_increment primary key, \`select\` varchar(20) not null,
      \`Status\` enum('new','paid','it''s done') not null default 'new') auto_increment = 500;
    create table order_line (order_id int unsigned not null, line_no smallint not null, qty int check (qty > 0),
      primary key (order_id, line_no), foreign key (order_id) references \`Order\`(\`Id\`) on delete cascade);
    create table employee (id bigint not null primary key, manager_id bigint, email varchar(100) unique,
      constraint fk_manager foreign key (manager_id) references employee(id) on delete set null);
    set session sql_mode = '';
    create table log_no_pk (msg varchar(50), flag tinyint(1), amount decimal(12,4), big bigint unsigned,
      created date, stamp datetime, payload varbinary(16), index msg_prefix (msg(10)));
    insert into log_no_pk values
      ('hello', 1, 12.5, 18446744073709551615, '0000-00-00', '2020-01-01 10:00:00', x'00ff'),
      ('', 0, -0.0001, 0, '2021-02-03', '0000-00-00 00:00:00', null),
      (concat('nul', char(0), 'byte'), 1, 99999999.9999, null, null, null, x''),
      (null, null, null, 5, '1969-07-20', '2038-01-19 03:14:08', null);
    create view order_view as select \`Id\` from \`Order\`;
    create function add_one(x int) returns int deterministic return x + 1;
  `);
});

afterAll(() => {
  dropMysqlDatabase(chinookDb);
  dropMysqlDatabase(edgeDb);
  mysqlCli(null, `drop user if exists '${user}'@'%', '${user}'@'localhost', '${user}'@'127.0.0.1';`);
});

const my = (database: string, extra: Record<string, unknown> = {}) =>
  createConnector({ type: 'mysql', host: '127.0.0.1', port: 3306, user: 'root', database, ...extra });

// Chinook's MySQL script writes PascalCase names: invoice_line -> InvoiceLine, invoice_id -> InvoiceId.
const pascal = (s: string) => s.split('_').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('');

runConformance({
  dialect: 'mysql',
  versionPattern: /^\d+\.\d+\.\d+/,
  chinook: {
    make: () => createConnector({ type: 'mysql', connection_string: `mariadb://root@127.0.0.1:3306/${chinookDb}` }),
    fixture: {
      schema: chinookDb,
      name: pascal,
      nativeTypes: { 'invoice.total': 'decimal(10,2)', 'track.name': 'varchar(200)', 'invoice.invoice_date': 'datetime', 'album.album_id': 'int(11)' },
      exactCounts: true,
    },
  },
  edge: {
    make: () => my(edgeDb),
    fixture: {
      schema: edgeDb, orderTable: 'Order', selectColumn: 'select', lineTable: 'order_line', linePk: ['order_id', 'line_no'],
      selfTable: 'employee', selfFkColumn: 'manager_id', noPkTable: 'log_no_pk', rows: 4,
      profile: {
        msg: { nulls: 1, empty_strings: 1, nul_bytes: 1, max_length: 8 },
        flag: { nulls: 1, distinct_values: ['0', '1'] },
        amount: { min: '-0.0001', max: '99999999.9999', all_integral: false, max_scale: 4 },
        big: { min: '0', max: '18446744073709551615', nulls: 1 },
        created: { zero_dates: 1, nulls: 1 },
        stamp: { zero_dates: 1 },
        payload: { max_length: 2, nulls: 2 },
      },
      extra: (catalog) => {
        const byName = (n: string) => catalog.tables.find((t) => t.name === n);
        const id = byName('Order')?.columns.find((c) => c.name === 'Id');
        expect(id).toMatchObject({ native_type: 'int(10) unsigned', base_type: 'int', unsigned: true, identity: { kind: 'auto_increment', next_value: 500, increment: 1 } });
        expect(byName('Order')?.columns.find((c) => c.name === 'Status')).toMatchObject({
          base_type: 'enum', enum_values: ['new', 'paid', "it's done"], default: "'new'",
        });
        const log = byName('log_no_pk');
        expect(log?.columns.find((c) => c.name === 'flag')).toMatchObject({ native_type: 'tinyint(1)', default: null, nullable: true });
        expect(log?.columns.find((c) => c.name === 'big')).toMatchObject({ native_type: 'bigint(20) unsigned', unsigned: true });
        expect(log?.indexes).toEqual([{ name: 'msg_prefix', columns: ['msg'], unique: false, expression: 'msg(10)', where: null }]);
        expect(byName('employee')?.unique_keys).toEqual([{ name: 'email', columns: ['email'] }]);
        expect(byName('employee')?.foreign_keys[0]?.name).toBe('fk_manager');
        expect(byName('order_line')?.checks.map((c) => c.expression)).toEqual(['`qty` > 0']);
        expect(catalog.views.map((v) => v.name)).toEqual(['order_view']);
        expect(catalog.routines.map((r) => [r.name, r.kind])).toEqual([['add_one', 'function']]);
      },
    },
  },
  failures: [
    { title: 'a port nobody listens on', code: 'source_unreachable', make: () => my(chinookDb, { port: 1 }) },
    { title: 'a database that does not exist', code: 'database_not_found', make: () => my(`${chinookDb}_missing`) },
    {
      title: 'a wrong password', code: 'authentication_failed', secret: 'wrong-Secret-42',
      make: () => createConnector({ type: 'mysql', connection_string: `mysql://${user}:wrong-Secret-42@127.0.0.1:3306/${chinookDb}` }),
    },
    {
      title: 'a user without rights on the database', code: 'permission_denied', secret: password,
      make: () => my(chinookDb, { user, password }),
    },
  ],
});
