import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect } from 'vitest';
import { createConnector } from '../../../node-agent/src/connectors/index.ts';
import { runConformance } from './conformance.ts';
import { copySqliteChinook, tempDir } from './fixtures.ts';

const dir = tempDir();
const chinookFile = copySqliteChinook(dir);
const edgeFile = path.join(dir, 'edge.sqlite');

beforeAll(() => {
  const db = new Database(edgeFile);
  db.exec(`
    create table "Order" ("Id" integer primary key autoincrement, "select" varchar(20) not null, "Status" text default 'new');
    create table order_line (order_id integer not null references "Order"("Id") on delete cascade, line_no smallint not null,
      qty int constraint qty_positive check (qty > 0), primary key (order_id, line_no)) without rowid;
    create table employee (id integer primary key, manager_id integer references employee on delete set null, email text unique);
    create table log_no_pk (msg text, flag boolean, amount numeric(12,4), big integer, payload blob);
    create index log_lower on log_no_pk (lower(msg));
    create index log_partial on log_no_pk (amount) where flag = 1;
    create view order_view as select "Id" from "Order";
    create trigger order_touch after insert on "Order" begin select 1; end;
  `);
  db.prepare(`insert into "Order" ("select") values (?), (?)`).run('a', 'b');
  db.exec(`insert into employee values (7, null, 'a@x'), (9, 7, 'b@x')`);
  const ins = db.prepare('insert into log_no_pk values (?, ?, ?, ?, ?)');
  ins.run('hello', 1, 12.5, 9223372036854775807n, Buffer.from([0, 255]));
  ins.run('', 0, -0.0001, -9223372036854775808n, null);
  ins.run('nul\u0000byte', 1, 'not a number', null, Buffer.alloc(0));
  ins.run(null, null, null, 5, null);
  db.close();
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const pascal = (s: string) => s.split('_').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('');

runConformance({
  dialect: 'sqlite',
  versionPattern: /^3\.\d+\.\d+$/,
  chinook: {
    make: () => createConnector({ type: 'sqlite', connection_string: `sqlite://${chinookFile}` }),
    fixture: {
      schema: 'main',
      name: pascal,
      nativeTypes: { 'invoice.total': 'numeric(10,2)', 'track.name': 'nvarchar(200)', 'invoice.invoice_date': 'datetime', 'album.album_id': 'integer' },
      exactCounts: true,
    },
  },
  edge: {
    make: () => createConnector({ type: 'sqlite', path: edgeFile }),
    fixture: {
      schema: 'main', orderTable: 'Order', selectColumn: 'select', lineTable: 'order_line', linePk: ['order_id', 'line_no'],
      selfTable: 'employee', selfFkColumn: 'manager_id', noPkTable: 'log_no_pk', rows: 4,
      profile: {
        msg: { nulls: 1, empty_strings: 1, nul_bytes: 1, storage_classes: { text: 3, null: 1 } },
        flag: { nulls: 1, distinct_values: ['0', '1'] },
        amount: { min: '-0.0001', max: '12.5', all_integral: false, max_scale: 4, storage_classes: { real: 2, text: 1, null: 1 } },
        big: { min: '-9223372036854775808', max: '9223372036854775807', storage_classes: { integer: 3, null: 1 } },
        payload: { max_length: 2, nulls: 2, storage_classes: { blob: 2, null: 2 } },
      },
      extra: (catalog) => {
        const byName = (n: string) => catalog.tables.find((t) => t.name === n);
        expect(byName('Order')?.columns[0]?.identity).toEqual({ kind: 'auto_increment', next_value: 3, increment: 1 });
        expect(byName('employee')?.columns[0]).toMatchObject({ nullable: false, identity: { kind: 'rowid_alias', next_value: 10 } });
        expect(byName('employee')?.unique_keys).toEqual([{ name: null, columns: ['email'] }]);
        expect(byName('order_line')?.columns[0]?.identity).toBeNull();
        expect(byName('order_line')?.checks).toEqual([{ name: 'qty_positive', expression: 'qty > 0' }]);
        expect(byName('Order')?.columns.find((c) => c.name === 'Status')?.default).toBe("'new'");
        const idx = byName('log_no_pk')?.indexes ?? [];
        expect(idx.find((i) => i.name === 'log_lower')?.expression).toMatch(/lower\(msg\)/);
        expect(idx.find((i) => i.name === 'log_partial')).toMatchObject({ columns: ['amount'], where: 'flag = 1', expression: null });
        expect(catalog.views.map((v) => v.name)).toEqual(['order_view']);
        expect(catalog.routines.map((r) => [r.name, r.kind])).toEqual([['order_touch', 'trigger']]);
      },
    },
  },
  failures: [
    { title: 'a missing file', code: 'database_not_found', make: () => createConnector({ type: 'sqlite', path: path.join(dir, 'nope.sqlite') }) },
    {
      title: 'a file that is not a database', code: 'connection_failed',
      make: () => {
        const bad = path.join(dir, 'not-a-db.sqlite');
        fs.writeFileSync(bad, 'this is not an sqlite file, just text that is long enough to have a header'.repeat(10));
        return createConnector({ type: 'sqlite', path: bad });
      },
    },
  ],
});
