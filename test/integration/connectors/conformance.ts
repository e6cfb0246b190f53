import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog, CatalogTable, ColumnProfile, TableProfile } from '../../../common/src/catalog.ts';
import type { SourceConnector } from '../../../node-agent/src/connectors/types.ts';

/**
 * The one suite every SourceConnector passes (restic-style conformance). A dialect's test file
 * loads Chinook and the "edge" fixture into fresh databases, then describes what it loaded.
 * Logical names are Chinook's snake_case ("invoice_line"); `name()` maps them to the dialect's.
 */

/** Row counts of the Chinook 1.4.5 dataset. */
export const CHINOOK_COUNTS: Record<string, number> = {
  album: 347, artist: 275, customer: 59, employee: 8, genre: 25, invoice: 412, invoice_line: 2240,
  media_type: 5, playlist: 18, playlist_track: 8715, track: 3503,
};

export interface ChinookFixture {
  schema: string;
  /** Logical (snake_case) table or column name -> the name in this dialect. */
  name: (logical: string) => string;
  /** Expected native types of a few columns, keyed "table.column" (logical names). */
  nativeTypes: Record<string, string>;
  /** True when row_estimate is an exact count for a freshly loaded Chinook. */
  exactCounts: boolean;
}

export interface EdgeFixture {
  schema: string;
  /** Names as created: the mixed-case reserved-word table "Order" with a column "select". */
  orderTable: string;
  selectColumn: string;
  /** Composite PK table, its PK columns in order, and its FK to orderTable. */
  lineTable: string;
  linePk: string[];
  /** Self-referencing table: FK column -> its own PK. */
  selfTable: string;
  selfFkColumn: string;
  /** Table without a primary key and its profiled columns. */
  noPkTable: string;
  /** Profile expectations on noPkTable, column -> subset of ColumnProfile. */
  profile: Record<string, Partial<ColumnProfile>>;
  rows: number;
  /** Dialect-specific checks on the edge catalog and profile. */
  extra?: (catalog: Catalog, profile: TableProfile) => void;
}

export interface FailureCase {
  title: string;
  make: () => SourceConnector;
  code: string;
  /** Text that must never appear in the message (the password). */
  secret?: string;
}

export interface ConformanceOptions {
  dialect: string;
  versionPattern: RegExp;
  chinook: { make: () => SourceConnector; fixture: ChinookFixture };
  edge: { make: () => SourceConnector; fixture: EdgeFixture };
  failures: FailureCase[];
}

function table(catalog: Catalog, name: string): CatalogTable {
  const t = catalog.tables.find((x) => x.name === name);
  if (!t) throw new Error(`table ${name} not in catalog: ${catalog.tables.map((x) => x.name).join(', ')}`);
  return t;
}

export function runConformance(o: ConformanceOptions): void {
  describe(`${o.dialect} connector conformance: Chinook`, () => {
    const f = o.chinook.fixture;
    const n = f.name;
    let connector: SourceConnector;
    let catalog: Catalog;

    beforeAll(async () => {
      connector = o.chinook.make();
      catalog = await connector.introspect({ schemas: [f.schema] });
    });
    afterAll(async () => { await connector?.close(); });

    it('test() reports ok with a server version and latency', async () => {
      const r = await connector.test();
      expect(r.ok).toBe(true);
      expect(r.server_version).toMatch(o.versionPattern);
      expect(r.latency_ms).toBeGreaterThanOrEqual(0);
      expect(r.error_code).toBeUndefined();
    });

    it('finds the 11 Chinook tables and nothing else', () => {
      expect(catalog.dialect).toBe(o.dialect);
      expect(catalog.schemas).toEqual([f.schema]);
      expect(catalog.tables.map((t) => t.name).sort()).toEqual(Object.keys(CHINOOK_COUNTS).map(n).sort());
      expect(catalog.server_version).toMatch(o.versionPattern);
    });

    it('reads primary keys, composite ones in order', () => {
      expect(table(catalog, n('album')).primary_key?.columns).toEqual([n('album_id')]);
      expect(table(catalog, n('playlist_track')).primary_key?.columns).toEqual([n('playlist_id'), n('track_id')]);
      for (const t of catalog.tables) expect(t.primary_key, t.name).not.toBeNull();
    });

    it('reads foreign keys with their referenced table and columns', () => {
      const fks = table(catalog, n('invoice_line')).foreign_keys;
      const refs = fks.map((fk) => `${fk.columns.join(',')}->${fk.ref_table}(${fk.ref_columns.join(',')})`).sort();
      expect(refs).toEqual([
        `${n('invoice_id')}->${n('invoice')}(${n('invoice_id')})`,
        `${n('track_id')}->${n('track')}(${n('track_id')})`,
      ]);
      for (const fk of fks) {
        expect(fk.ref_schema).toBe(f.schema);
        expect(fk.on_delete).toBe('no action');
      }
      const self = table(catalog, n('employee')).foreign_keys;
      expect(self.map((fk) => [fk.columns, fk.ref_table, fk.ref_columns])).toEqual([[[n('reports_to')], n('employee'), [n('employee_id')]]]);
      expect(catalog.tables.reduce((s, t) => s + t.foreign_keys.length, 0)).toBe(11);
    });

    it('reads columns with native types, parsed pieces, nullability and positions', () => {
      for (const [key, native] of Object.entries(f.nativeTypes)) {
        const [tn = '', cn = ''] = key.split('.');
        const col = table(catalog, n(tn)).columns.find((c) => c.name === n(cn));
        expect(col?.native_type, key).toBe(native);
      }
      const invoice = table(catalog, n('invoice'));
      const total = invoice.columns.find((c) => c.name === n('total'));
      expect(total).toMatchObject({ precision: 10, scale: 2, nullable: false, unsigned: false });
      const name = table(catalog, n('track')).columns.find((c) => c.name === n('name'));
      expect(name).toMatchObject({ length: 200, nullable: false });
      const composer = table(catalog, n('track')).columns.find((c) => c.name === n('composer'));
      expect(composer).toMatchObject({ length: 220, nullable: true, default: null });
      expect(invoice.columns.map((c) => c.position)).toEqual(invoice.columns.map((_c, i) => i + 1));
      expect(invoice.columns).toHaveLength(9);
    });

    it('reports row estimates that match the loaded data', () => {
      for (const [logical, count] of Object.entries(CHINOOK_COUNTS)) {
        const est = table(catalog, n(logical)).row_estimate;
        if (f.exactCounts) expect(est, logical).toBe(count);
        else expect(est ?? 0, logical).toBeGreaterThan(0);
      }
    });

    it('respects exclude_tables globs on table and schema.table', async () => {
      const c = await connector.introspect({ schemas: [f.schema], exclude_tables: [`${n('playlist')}*`, `${f.schema}.${n('genre')}`] });
      const names = c.tables.map((t) => t.name);
      expect(names).toHaveLength(8);
      expect(names).not.toContain(n('playlist_track'));
      expect(names).not.toContain(n('genre'));
      expect(names).toContain(n('track'));
    });

    it('profiles a table in one pass: nulls, exact decimal ranges, integrality, lengths', async () => {
      const [p] = await connector.profile([{ schema: f.schema, table: n('track') }]);
      expect(p?.rows).toBe(3503);
      const col = (c: string) => p?.columns.find((x) => x.column === n(c));
      expect(col('unit_price')).toMatchObject({ min: '0.99', max: '1.99', all_integral: false, max_scale: 2, nulls: 0, sampled: false });
      expect(col('milliseconds')).toMatchObject({ min: '1071', max: '5286953', nulls: 0 });
      expect(col('composer')?.nulls).toBe(977);
      expect(col('name')?.max_length).toBe(123);
      expect(col('name')?.empty_strings).toBe(0);
    });

    it('profiles a sample when sample_rows is set', async () => {
      const [p] = await connector.profile([{ schema: f.schema, table: n('invoice_line') }], { sample_rows: 100 });
      expect(p?.rows).toBe(100);
      expect(p?.columns.every((c) => c.sampled)).toBe(true);
    });
  });

  describe(`${o.dialect} connector conformance: edge fixture`, () => {
    const e = o.edge.fixture;
    let connector: SourceConnector;
    let catalog: Catalog;
    let profile: TableProfile;

    beforeAll(async () => {
      connector = o.edge.make();
      catalog = await connector.introspect({ schemas: [e.schema] });
      const [p] = await connector.profile([{ schema: e.schema, table: e.noPkTable }]);
      if (!p) throw new Error('no profile');
      profile = p;
    });
    afterAll(async () => { await connector?.close(); });

    it('keeps mixed-case and reserved-word identifiers exactly', () => {
      const order = table(catalog, e.orderTable);
      expect(order.columns.map((c) => c.name)).toContain(e.selectColumn);
    });

    it('reads a composite primary key and a foreign key to the reserved-word table', () => {
      const line = table(catalog, e.lineTable);
      expect(line.primary_key?.columns).toEqual(e.linePk);
      expect(line.foreign_keys.map((fk) => fk.ref_table)).toContain(e.orderTable);
      expect(line.foreign_keys.find((fk) => fk.ref_table === e.orderTable)?.on_delete).toBe('cascade');
    });

    it('reads a self-referencing foreign key', () => {
      const self = table(catalog, e.selfTable);
      const fk = self.foreign_keys.find((x) => x.ref_table === e.selfTable);
      expect(fk?.columns).toEqual([e.selfFkColumn]);
      expect(fk?.ref_columns).toEqual(self.primary_key?.columns);
      expect(fk?.on_delete).toBe('set null');
    });

    it('reports a table without a primary key as such', () => {
      expect(table(catalog, e.noPkTable).primary_key).toBeNull();
    });

    it('profiles the edge values', () => {
      expect(profile.rows).toBe(e.rows);
      for (const [column, expected] of Object.entries(e.profile)) {
        const got = profile.columns.find((c) => c.column === column);
        expect(got, column).toMatchObject(expected);
      }
    });

    it('passes the dialect-specific edge checks', () => {
      e.extra?.(catalog, profile);
    });
  });

  describe(`${o.dialect} connector conformance: failures`, () => {
    for (const c of o.failures) {
      it(`test() reports ${c.code} for ${c.title}`, async () => {
        const connector = c.make();
        try {
          const r = await connector.test();
          expect(r.ok).toBe(false);
          expect(r.error_code).toBe(c.code);
          expect(r.server_version).toBeNull();
          expect(r.message).toBeTruthy();
          if (c.secret) expect(r.message).not.toContain(c.secret);
        } finally {
          await connector.close();
        }
      });
    }
  });
}
