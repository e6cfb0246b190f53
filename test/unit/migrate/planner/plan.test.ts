import { describe, expect, it } from 'vitest';
import {
  PlannerError, applyOverride, buildPlan, mappingId, planDigest, renderTargetSchema, setMappingStatus, unresolvedMappings,
} from '../../../../hub/src/migrate/planner/index.ts';
import type { Catalog } from '../../../../common/src/catalog.ts';
import { catalog, col, fk, notNull, oracleChinook, oracleChinookProfiles, profile, table, tableProfile } from './fixtures.ts';

const opts = { targetSchema: 'public', autoApproveAbove: 0.95 };

/** MySQL shapes with reserved words, mixed case, composite keys and a keyless table. */
function mysqlShop(): Catalog {
  const S = 'shop';
  const user = table(S, 'user', [
    notNull(col('id', 'int unsigned', { identity: { kind: 'auto_increment', next_value: 500, increment: 1 } })),
    notNull(col('User Name', 'varchar(64)', { charset: 'utf8mb4' })),
    col('select', 'tinyint(1)', { default: '0' }),
    col('CreatedAt', 'datetime', { default: 'current_timestamp()' }),
  ], {
    primary_key: { name: 'PRIMARY', columns: ['id'] },
    unique_keys: [{ name: 'uq_name', columns: ['User Name'] }],
    indexes: [{ name: 'PRIMARY', columns: ['id'], unique: true }, { name: 'uq_name', columns: ['User Name'], unique: true }, { name: 'idx_created', columns: ['CreatedAt'], unique: false }],
  });
  const order = table(S, 'Order', [
    notNull(col('user_id', 'int unsigned')), notNull(col('order_no', 'int')),
    notNull(col('status', "enum('new','paid')", { base_type: 'enum', enum_values: ['new', 'paid'], default: "'new'" })),
    col('qty', 'int'),
  ], {
    primary_key: { name: 'PRIMARY', columns: ['user_id', 'order_no'] },
    foreign_keys: [{ ...fk('fk_order_user', ['user_id'], S, 'user', ['id']), on_delete: 'restrict', on_update: 'cascade' }],
    indexes: [{ name: 'idx_created', columns: ['qty'], unique: false }],
    checks: [{ name: 'qty_positive', expression: '(`qty` > 0)' }, { name: 'weird', expression: 'regexp_like(`qty`, 1)' }],
  });
  const line = table(S, 'order line', [notNull(col('user_id', 'int unsigned')), notNull(col('order_no', 'int')), col('sku', 'varchar(20)')], {
    foreign_keys: [fk('fk_line_order', ['user_id', 'order_no'], S, 'Order', ['user_id', 'order_no'])],
  });
  const log = table(S, 'log', [notNull(col('code', 'varchar(10)')), col('msg', 'text')], { unique_keys: [{ name: 'uq_code', columns: ['code'] }] });
  return catalog('mysql', S, [user, order, line, log], {
    views: [{ schema: S, name: 'v_orders', kind: 'view' }],
    routines: [{ schema: S, name: 'trg_audit', kind: 'TRIGGER' }],
  });
}

describe('buildPlan', () => {
  it('lower-cases Oracle names, keeps NOT NULL and lengths, and quotes every identifier', () => {
    const p = buildPlan(oracleChinook(), oracleChinookProfiles(), opts);
    expect(p.options.name_style).toBe('lower');
    expect(p.tables.map((t) => t.target.table)).toEqual(['employee', 'invoice', 'invoiceline', 'playlisttrack']);
    const invoice = p.ddl.create_tables.find((s) => s.includes('"public"."invoice"'));
    expect(invoice).toContain('"invoicedate" timestamp(0) without time zone NOT NULL');
    expect(invoice).toContain('"billingcity" varchar(40)');
    expect(p.ddl.primary_keys).toContain('ALTER TABLE "public"."playlisttrack" ADD CONSTRAINT "pk_playlisttrack" PRIMARY KEY ("playlistid", "trackid")');
    expect(p.summary).toEqual({ tables: 4, columns: 15, relationships: 2, transformations: 12, estimated_records: 11375 });
  });

  it('creates a self-referencing foreign key and keeps the index that is not the primary key', () => {
    const p = buildPlan(oracleChinook(), oracleChinookProfiles(), opts);
    expect(p.ddl.foreign_keys).toContain('ALTER TABLE "public"."employee" ADD CONSTRAINT "fk_employeereportsto" FOREIGN KEY ("reportsto") REFERENCES "public"."employee" ("employeeid")');
    expect(p.ddl.indexes).toEqual(['CREATE INDEX "ifk_employeereportsto" ON "public"."employee" ("reportsto")']);
  });

  it('approves mappings at or above the threshold and leaves the rest pending', () => {
    const profiled = buildPlan(oracleChinook(), oracleChinookProfiles(), opts);
    expect(unresolvedMappings(profiled)).toEqual([]);
    const bare = buildPlan(oracleChinook(), [], opts);
    const pending = unresolvedMappings(bare).map((m) => m.source.column);
    expect(pending).toContain('EMPLOYEEID');
    expect(pending).not.toContain('LASTNAME');
    expect(bare.mappings.find((m) => m.source.column === 'LASTNAME')?.status).toBe('approved');
    const lax = buildPlan(oracleChinook(), [], { ...opts, autoApproveAbove: 0.5 });
    expect(unresolvedMappings(lax)).toEqual([]);
    const exact = buildPlan(oracleChinook(), oracleChinookProfiles(), { ...opts, autoApproveAbove: 0.97 });
    expect(exact.mappings.find((m) => m.source.column === 'EMPLOYEEID')?.status).toBe('approved');
    const strict = buildPlan(oracleChinook(), oracleChinookProfiles(), { ...opts, autoApproveAbove: 0.98 });
    expect(strict.mappings.find((m) => m.source.column === 'EMPLOYEEID')?.status).toBe('pending_review');
  });

  it('gives a referencing column its referenced column type so the foreign key can be created', () => {
    const profiles = oracleChinookProfiles().filter((t) => t.table === 'INVOICE');
    const p = buildPlan(oracleChinook(), profiles, opts);
    const ref = p.mappings.find((m) => m.source.table === 'INVOICELINE' && m.source.column === 'INVOICEID');
    expect(ref?.target.type).toBe('bigint');
    expect(ref?.reason).toMatch(/aligned with INVOICE.INVOICEID/);
    expect(p.mappings.find((m) => m.source.table === 'INVOICELINE' && m.source.column === 'QUANTITY')?.target.type).toBe('numeric');
  });

  it('preserves mixed-case and reserved-word names for MySQL and quotes them', () => {
    const p = buildPlan(mysqlShop(), [], opts);
    const user = p.ddl.create_tables.find((s) => s.startsWith('CREATE TABLE "public"."user"'));
    expect(user).toContain('"id" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL');
    expect(user).toContain('"User Name" varchar(64) NOT NULL');
    expect(user).toContain('"select" smallint DEFAULT 0');
    expect(user).toContain('"CreatedAt" timestamp(0) without time zone DEFAULT LOCALTIMESTAMP');
    expect(p.ddl.create_tables.some((s) => s.startsWith('CREATE TABLE "public"."order line"'))).toBe(true);
    expect(p.ddl.primary_keys).toContain('ALTER TABLE "public"."Order" ADD CONSTRAINT "Order_pkey" PRIMARY KEY ("user_id", "order_no")');
  });

  it('renders composite foreign keys, drops MySQL\'s implicit RESTRICT and keeps explicit actions', () => {
    const p = buildPlan(mysqlShop(), [], opts);
    expect(p.ddl.foreign_keys).toContain('ALTER TABLE "public"."order line" ADD CONSTRAINT "fk_line_order" FOREIGN KEY ("user_id", "order_no") REFERENCES "public"."Order" ("user_id", "order_no")');
    expect(p.ddl.foreign_keys).toContain('ALTER TABLE "public"."Order" ADD CONSTRAINT "fk_order_user" FOREIGN KEY ("user_id") REFERENCES "public"."user" ("id") ON UPDATE CASCADE');
  });

  it('positions identity sequences after the load, never below the source next value', () => {
    const p = buildPlan(mysqlShop(), [], opts);
    expect(p.ddl.sequences).toEqual([
      `SELECT setval(pg_get_serial_sequence('"public"."user"', 'id'), GREATEST(COALESCE(MAX("id"), 0) + 1, 500), false) FROM "public"."user"`,
    ]);
  });

  it('renders enum checks and translated source checks, and reports checks it cannot convert', () => {
    const p = buildPlan(mysqlShop(), [], opts);
    expect(p.ddl.checks).toContain(`ALTER TABLE "public"."Order" ADD CONSTRAINT "Order_status_check" CHECK ("status" IN ('new', 'paid'))`);
    expect(p.ddl.checks).toContain('ALTER TABLE "public"."Order" ADD CONSTRAINT "qty_positive" CHECK (("qty" > 0))');
    expect(p.ddl.checks.some((c) => c.includes('regexp_like'))).toBe(false);
    expect(p.risks.some((r) => r.type === 'constraint_not_converted' && r.description.includes('regexp_like'))).toBe(true);
    expect(p.mappings.find((m) => m.source.column === 'status')?.target.default).toBe("'new'");
  });

  it('renames a colliding index name and picks unit keys (PK, unique NOT NULL, or none)', () => {
    const p = buildPlan(mysqlShop(), [], opts);
    expect(p.ddl.indexes).toContain('ALTER TABLE "public"."user" ADD CONSTRAINT "uq_name" UNIQUE ("User Name")');
    // Tables are planned in sorted order ("Order" before "user"), so the second idx_created is user's.
    expect(p.ddl.indexes).toContain('CREATE INDEX "idx_created" ON "public"."Order" ("qty")');
    expect(p.ddl.indexes).toContain('CREATE INDEX "idx_created_2" ON "public"."user" ("CreatedAt")');
    const key = (name: string) => p.tables.find((t) => t.source.table === name)?.unit_key;
    expect(key('user')).toEqual({ kind: 'primary_key', source_columns: ['id'], target_columns: ['id'], integer: true });
    expect(key('Order')?.source_columns).toEqual(['user_id', 'order_no']);
    expect(key('log')).toEqual({ kind: 'unique_not_null', source_columns: ['code'], target_columns: ['code'], integer: false });
    expect(key('order line')).toBeNull();
  });

  it('lists views and routines as unsupported objects', () => {
    const p = buildPlan(mysqlShop(), [], opts);
    const unsupported = p.risks.filter((r) => r.type === 'unsupported_object').flatMap((r) => r.affected);
    expect(unsupported).toEqual(expect.arrayContaining(['shop.v_orders', 'shop.trg_audit']));
  });

  it('strips NUL bytes only with review, and flags values longer than a varchar target', () => {
    const cat = mysqlShop();
    const profiles = [tableProfile('shop', 'log', [profile('shop', 'log', 'msg', { nul_bytes: 2 }), profile('shop', 'log', 'code', { max_length: 10 })])];
    const p = buildPlan(cat, profiles, opts);
    const msg = p.mappings.find((m) => m.source.column === 'msg');
    expect(msg?.transformation).toBe('strip_nul_bytes');
    expect(msg?.status).toBe('pending_review');
    expect(p.risks.find((r) => r.type === 'nul_bytes')?.affected).toEqual(['log.msg']);
    const oracle = oracleChinook();
    const emp = oracle.tables[0];
    const tooLong = buildPlan(oracle, [tableProfile('CHINOOK', emp!.name, [profile('CHINOOK', emp!.name, 'TITLE', { max_length: 31 })])], opts);
    expect(tooLong.risks.find((r) => r.type === 'data_truncation')?.affected).toEqual(['EMPLOYEE.TITLE']);
  });

  it('renames names that collide after lower-casing', () => {
    const cat = catalog('oracle', 'S', [table('S', 'T', [col('A', 'number(5)'), col('a', 'number(5)')]), table('S', 't', [col('X', 'date')])]);
    const p = buildPlan(cat, [], opts);
    expect(p.tables.map((t) => t.target.table)).toEqual(['t', 't_2']);
    expect(p.mappings.filter((m) => m.source.table === 'T').map((m) => m.target.column)).toEqual(['a', 'a_2']);
    expect(p.risks.filter((r) => r.type === 'identifier_renamed')).toHaveLength(2);
  });

  it('turns a PostgreSQL serial into an identity and recreates standalone sequences', () => {
    const cat = catalog('postgresql', 'public', [table('public', 'album', [
      notNull(col('album_id', 'integer', { default: "nextval('album_album_id_seq'::regclass)" })),
      notNull(col('title', 'character varying(160)', { base_type: 'character varying', length: 160 })),
      notNull(col('ticket', 'bigint', { default: "nextval('tickets'::regclass)" , identity: null })),
    ], { primary_key: { name: 'album_pkey', columns: ['album_id'] } })], {
      sequences: [
        { schema: 'public', name: 'album_album_id_seq', start: 1, increment: 1, next_value: 348, owned_by: { table: 'album', column: 'album_id' } },
        { schema: 'public', name: 'invoice_no', start: 1000, increment: 5, next_value: 2000, owned_by: null },
      ],
    });
    const p = buildPlan(cat, [], opts);
    expect(p.ddl.create_tables).toContain('CREATE SEQUENCE "public"."invoice_no" INCREMENT BY 5 START WITH 1000');
    expect(p.ddl.create_tables.some((s) => s.includes('album_album_id_seq'))).toBe(false);
    expect(p.ddl.sequences).toContain(`SELECT setval('"public"."invoice_no"', 2000, false)`);
    expect(p.mappings[0]?.target.identity).toBe(true);
    expect(p.mappings[0]?.confidence).toBe(1);
  });

  it('rejects bad options with a typed error', () => {
    expect(() => buildPlan(oracleChinook(), [], { targetSchema: '', autoApproveAbove: 0.9 })).toThrow(PlannerError);
    try {
      buildPlan(oracleChinook(), [], { targetSchema: 'x', autoApproveAbove: 2 });
    } catch (e) {
      expect((e as PlannerError).code).toBe('invalid_options');
    }
  });
});

describe('determinism and digest', () => {
  it('gives the same ids and digest for the same input in any table order', () => {
    const a = buildPlan(oracleChinook(), oracleChinookProfiles(), opts);
    const shuffled = oracleChinook();
    shuffled.tables.reverse();
    const b = buildPlan(shuffled, [...oracleChinookProfiles()].reverse(), opts);
    expect(b.mappings.map((m) => m.id)).toEqual(a.mappings.map((m) => m.id));
    expect(b.risks.map((r) => r.id)).toEqual(a.risks.map((r) => r.id));
    expect(planDigest(b)).toBe(planDigest(a));
    expect(planDigest(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(a.mappings[0]?.id).toBe(mappingId('CHINOOK', 'EMPLOYEE', 'EMPLOYEEID'));
  });

  it('changes the digest when a mapping changes', () => {
    const a = buildPlan(oracleChinook(), oracleChinookProfiles(), opts);
    const b = applyOverride(a, mappingId('CHINOOK', 'INVOICE', 'TOTAL'), { type: 'numeric(12,2)' });
    expect(planDigest(b)).not.toBe(planDigest(a));
  });
});

describe('overrides', () => {
  it('applies a type and transformation override, approves it and re-renders the DDL without touching the input', () => {
    const p = buildPlan(mysqlShop(), [], opts);
    const id = mappingId('shop', 'user', 'select');
    const q = applyOverride(p, id, { type: 'boolean', transformation: 'bool_from_int' });
    const m = q.mappings.find((x) => x.id === id);
    expect([m?.target.type, m?.transformation, m?.status, m?.overridden]).toEqual(['boolean', 'bool_from_int', 'approved', true]);
    expect(q.ddl.create_tables.find((s) => s.includes('"public"."user"'))).toContain('"select" boolean');
    expect(p.mappings.find((x) => x.id === id)?.target.type).toBe('smallint');
    expect(q.summary.transformations).toBe(p.summary.transformations);
    const r = applyOverride(q, mappingId('shop', 'Order', 'qty'), { type: 'bigint', transformation: 'cast' });
    expect(r.summary.transformations).toBe(p.summary.transformations + 1);
  });

  it('carries a key override to the referencing columns', () => {
    const p = buildPlan(mysqlShop(), [], opts);
    const q = applyOverride(p, mappingId('shop', 'user', 'id'), { type: 'integer' });
    expect(q.mappings.find((m) => m.id === mappingId('shop', 'Order', 'user_id'))?.target.type).toBe('integer');
    expect(q.mappings.find((m) => m.id === mappingId('shop', 'order line', 'user_id'))?.target.type).toBe('integer');
  });

  it('refuses unknown mappings, SQL in a type and unknown transformations', () => {
    const p = buildPlan(mysqlShop(), [], opts);
    const codeOf = (f: () => unknown): string | undefined => {
      try { f(); } catch (e) { return (e as PlannerError).code; }
      return undefined;
    };
    expect(codeOf(() => applyOverride(p, 'map_nope', { type: 'text' }))).toBe('mapping_not_found');
    expect(codeOf(() => applyOverride(p, p.mappings[0]!.id, { type: 'text; DROP TABLE x' }))).toBe('invalid_override');
    expect(codeOf(() => applyOverride(p, p.mappings[0]!.id, { type: 'text default now' }))).toBe('invalid_override');
    expect(codeOf(() => applyOverride(p, p.mappings[0]!.id, { transformation: 'magic' as never }))).toBe('invalid_override');
    expect(codeOf(() => applyOverride(p, p.mappings[0]!.id, {}))).toBe('invalid_override');
  });

  it('sets a mapping status', () => {
    const p = buildPlan(mysqlShop(), [], opts);
    const id = p.mappings[1]!.id;
    expect(setMappingStatus(p, id, 'rejected').mappings[1]?.status).toBe('rejected');
    expect(p.mappings[1]?.status).toBe('approved');
  });
});

describe('renderTargetSchema', () => {
  it('lists target tables with their columns, keys and source coordinates', () => {
    const s = renderTargetSchema(buildPlan(oracleChinook(), oracleChinookProfiles(), opts));
    expect(s.schema).toBe('public');
    const inv = s.tables.find((t) => t.name === 'invoice');
    expect(inv?.columns.map((c) => [c.name, c.type, c.nullable])).toEqual([
      ['invoiceid', 'bigint', false],
      ['invoicedate', 'timestamp(0) without time zone', false],
      ['billingcity', 'varchar(40)', true],
      ['total', 'numeric(10,2)', false],
    ]);
    expect(inv?.columns[0]?.source).toEqual({ schema: 'CHINOOK', table: 'INVOICE', column: 'INVOICEID', native_type: 'number' });
    expect(inv?.primary_key).toEqual({ name: 'pk_invoice', columns: ['invoiceid'] });
  });
});
