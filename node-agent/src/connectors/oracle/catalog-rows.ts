import type {
  CatalogColumn, CatalogIndex, CatalogObject, CatalogSequence, CatalogTable, CheckConstraint, ForeignKey, IdentityInfo, KeyConstraint,
} from '../../../../common/src/catalog.ts';
import { groupBy, intOrNull, referentialAction, tableKey } from '../catalog-helpers.ts';

/**
 * Pure conversion of Oracle data-dictionary rows (as node-oracledb returns them: upper-case keys,
 * NUMBER as JS numbers, LONG as strings) into the neutral catalog. Tested offline on fixtures.
 */
type Num = number | string | null;

export interface OraTableRow { OWNER: string; TABLE_NAME: string; NUM_ROWS: Num; TEMPORARY?: string; IOT_TYPE?: string | null; COMMENTS?: string | null }
export interface OraColumnRow {
  OWNER: string; TABLE_NAME: string; COLUMN_ID: Num; COLUMN_NAME: string; DATA_TYPE: string; DATA_TYPE_OWNER?: string | null;
  DATA_LENGTH: Num; DATA_PRECISION: Num; DATA_SCALE: Num; CHAR_LENGTH: Num; CHAR_USED: string | null; NULLABLE: 'Y' | 'N';
  DATA_DEFAULT: string | null;
}
export interface OraConstraintRow {
  OWNER: string; CONSTRAINT_NAME: string; CONSTRAINT_TYPE: 'P' | 'U' | 'R' | 'C'; TABLE_NAME: string; SEARCH_CONDITION: string | null;
  R_OWNER: string | null; R_CONSTRAINT_NAME: string | null; R_TABLE_NAME: string | null; DELETE_RULE: string | null;
  STATUS: string; GENERATED: string; INDEX_NAME: string | null;
}
export interface OraConsColumnRow { OWNER: string; CONSTRAINT_NAME: string; TABLE_NAME: string; COLUMN_NAME: string; POSITION: Num }
export interface OraIndexRow {
  OWNER: string; INDEX_NAME: string; TABLE_OWNER: string; TABLE_NAME: string; UNIQUENESS: 'UNIQUE' | 'NONUNIQUE'; INDEX_TYPE: string; GENERATED: string;
}
export interface OraIndColumnRow {
  INDEX_OWNER: string; INDEX_NAME: string; TABLE_OWNER: string; TABLE_NAME: string; COLUMN_NAME: string; COLUMN_POSITION: Num; DESCEND: string;
}
export interface OraIndExpressionRow { INDEX_OWNER: string; INDEX_NAME: string; COLUMN_EXPRESSION: string; COLUMN_POSITION: Num }
export interface OraSequenceRow {
  SEQUENCE_OWNER: string; SEQUENCE_NAME: string; MIN_VALUE: Num; MAX_VALUE: Num; INCREMENT_BY: Num; CYCLE_FLAG: string;
  CACHE_SIZE: Num; LAST_NUMBER: Num;
}
export interface OraIdentityRow {
  OWNER: string; TABLE_NAME: string; COLUMN_NAME: string; GENERATION_TYPE: string; SEQUENCE_NAME: string; IDENTITY_OPTIONS: string | null;
}
export interface OraViewRow { OWNER: string; VIEW_NAME: string; TEXT: string | null }
export interface OraObjectRow { OWNER: string; OBJECT_NAME: string; OBJECT_TYPE: string; STATUS?: string }

export interface OracleCatalogRows {
  tables: OraTableRow[];
  columns: OraColumnRow[];
  constraints: OraConstraintRow[];
  consColumns: OraConsColumnRow[];
  indexes: OraIndexRow[];
  indColumns: OraIndColumnRow[];
  indExpressions: OraIndExpressionRow[];
  sequences: OraSequenceRow[];
  identityCols: OraIdentityRow[];
  views: OraViewRow[];
  objects: OraObjectRow[];
}

const CHAR_TYPES = new Set(['VARCHAR2', 'NVARCHAR2', 'CHAR', 'NCHAR', 'VARCHAR']);

/** Oracle's column description -> native type text and parsed pieces, as the catalog wants them. */
export function oracleColumnType(c: Pick<OraColumnRow, 'DATA_TYPE' | 'DATA_LENGTH' | 'DATA_PRECISION' | 'DATA_SCALE' | 'CHAR_LENGTH' | 'CHAR_USED'>):
  Pick<CatalogColumn, 'native_type' | 'base_type' | 'length' | 'precision' | 'scale' | 'unsigned'> {
  const dt = c.DATA_TYPE.toUpperCase();
  const p = intOrNull(c.DATA_PRECISION);
  const s = intOrNull(c.DATA_SCALE);
  const base = { length: null, precision: null, scale: null, unsigned: false } as const;
  if (dt === 'NUMBER') {
    // NUMBER -> no precision/scale; INTEGER is stored as NUMBER(*,0): precision null, scale 0
    const native = p === null ? (s === null ? 'number' : `number(*,${s})`) : s === null || s === 0 ? `number(${p})` : `number(${p},${s})`;
    return { ...base, native_type: native, base_type: 'number', precision: p, scale: p === null && s === null ? null : (s ?? 0) };
  }
  if (dt === 'FLOAT') return { ...base, native_type: p === null ? 'float' : `float(${p})`, base_type: 'float', precision: p };
  if (CHAR_TYPES.has(dt)) {
    const len = intOrNull(c.CHAR_LENGTH) ?? intOrNull(c.DATA_LENGTH);
    const charSemantics = c.CHAR_USED === 'C' && (dt === 'VARCHAR2' || dt === 'CHAR');
    return { ...base, native_type: `${dt.toLowerCase()}(${len ?? ''}${charSemantics ? ' char' : ''})`, base_type: dt.toLowerCase(), length: len };
  }
  if (dt === 'RAW') {
    const len = intOrNull(c.DATA_LENGTH);
    return { ...base, native_type: `raw(${len ?? ''})`, base_type: 'raw', length: len };
  }
  const lower = dt.toLowerCase();
  if (/^(timestamp|interval)/.test(lower)) {
    // DATA_TYPE already carries the precision: "TIMESTAMP(6) WITH TIME ZONE"
    return { ...base, native_type: lower, base_type: lower.replace(/\(\d+\)/g, '').replace(/\s+/g, ' ').trim(), precision: s };
  }
  return { ...base, native_type: lower, base_type: lower };
}

/** "START WITH: 1, INCREMENT BY: 1, MAX_VALUE: ..." -> numbers. */
export function parseIdentityOptions(options: string | null): { start: number | null; increment: number | null } {
  const start = /START WITH:\s*(-?\d+)/i.exec(options ?? '')?.[1];
  const inc = /INCREMENT BY:\s*(-?\d+)/i.exec(options ?? '')?.[1];
  return { start: start ? Number(start) : null, increment: inc ? Number(inc) : null };
}

/** DATA_DEFAULT comes as LONG text with trailing blanks/newlines; an explicit DEFAULT NULL means none. */
export function oracleDefault(v: string | null): string | null {
  const t = v?.trim() ?? '';
  return t === '' || t.toUpperCase() === 'NULL' ? null : t;
}

/** A CHECK that only says a column is NOT NULL (Oracle stores NOT NULL that way); reported as nullability, not as a check. */
export function isNotNullCheck(searchCondition: string | null): boolean {
  return /^\s*"[^"]+"\s+IS\s+NOT\s+NULL\s*$/i.test(searchCondition ?? '');
}

function sequenceNextValue(s: OraSequenceRow | undefined): number | null {
  // LAST_NUMBER is the next number the sequence writes to disk: with a cache it is the upper
  // bound of what was handed out, which is the safe position for a target sequence.
  return s ? intOrNull(s.LAST_NUMBER) : null;
}

export function buildOracleCatalogParts(rows: OracleCatalogRows): { tables: CatalogTable[]; sequences: CatalogSequence[]; views: CatalogObject[]; routines: CatalogObject[] } {
  const seqs = new Map(rows.sequences.map((s) => [tableKey(s.SEQUENCE_OWNER, s.SEQUENCE_NAME), s]));
  const identities = new Map(rows.identityCols.map((i) => [`${tableKey(i.OWNER, i.TABLE_NAME)}\u0000${i.COLUMN_NAME}`, i]));
  const cols = groupBy(rows.columns, (c) => tableKey(c.OWNER, c.TABLE_NAME));
  const cons = groupBy(rows.constraints, (c) => tableKey(c.OWNER, c.TABLE_NAME));
  const consCols = groupBy(rows.consColumns, (c) => tableKey(c.OWNER, c.CONSTRAINT_NAME));
  const idxCols = groupBy(rows.indColumns, (c) => tableKey(c.INDEX_OWNER, c.INDEX_NAME));
  const idxExprs = new Map(rows.indExpressions.map((e) => [`${tableKey(e.INDEX_OWNER, e.INDEX_NAME)}\u0000${String(e.COLUMN_POSITION)}`, e]));
  const idxByTable = groupBy(rows.indexes, (i) => tableKey(i.TABLE_OWNER, i.TABLE_NAME));
  const columnsOf = (owner: string, name: string): string[] =>
    [...(consCols.get(tableKey(owner, name)) ?? [])].sort((a, b) => Number(a.POSITION) - Number(b.POSITION)).map((c) => c.COLUMN_NAME);

  const tables = rows.tables.map((t): CatalogTable => {
    const key = tableKey(t.OWNER, t.TABLE_NAME);
    const columns = (cols.get(key) ?? []).map((c, i): CatalogColumn => {
      const idRow = identities.get(`${key}\u0000${c.COLUMN_NAME}`);
      let identity: IdentityInfo | null = null;
      if (idRow) {
        const opts = parseIdentityOptions(idRow.IDENTITY_OPTIONS);
        const seq = seqs.get(tableKey(t.OWNER, idRow.SEQUENCE_NAME));
        identity = {
          kind: 'identity', next_value: sequenceNextValue(seq) ?? opts.start,
          increment: intOrNull(seq?.INCREMENT_BY) ?? opts.increment ?? 1, sequence_name: idRow.SEQUENCE_NAME,
        };
      }
      return {
        name: c.COLUMN_NAME, position: intOrNull(c.COLUMN_ID) ?? i + 1, ...oracleColumnType(c),
        nullable: c.NULLABLE === 'Y',
        // an identity column's default is its sequence's nextval: the identity info carries it
        default: idRow ? null : oracleDefault(c.DATA_DEFAULT),
        identity,
      };
    });
    const tc = (cons.get(key) ?? []).filter((c) => c.STATUS !== 'DISABLED' || c.CONSTRAINT_TYPE !== 'C');
    const pk = tc.find((c) => c.CONSTRAINT_TYPE === 'P');
    const primary_key: KeyConstraint | null = pk ? { name: pk.CONSTRAINT_NAME, columns: columnsOf(pk.OWNER, pk.CONSTRAINT_NAME) } : null;
    const unique_keys = tc.filter((c) => c.CONSTRAINT_TYPE === 'U')
      .map((c): KeyConstraint => ({ name: c.CONSTRAINT_NAME, columns: columnsOf(c.OWNER, c.CONSTRAINT_NAME) }));
    const foreign_keys = tc.filter((c) => c.CONSTRAINT_TYPE === 'R').map((c): ForeignKey => ({
      name: c.CONSTRAINT_NAME, columns: columnsOf(c.OWNER, c.CONSTRAINT_NAME),
      ref_schema: c.R_OWNER ?? t.OWNER, ref_table: c.R_TABLE_NAME ?? '',
      ref_columns: columnsOf(c.R_OWNER ?? t.OWNER, c.R_CONSTRAINT_NAME ?? ''),
      // Oracle has no ON UPDATE clause: updates of a referenced key are always refused
      on_delete: referentialAction(c.DELETE_RULE), on_update: 'no action',
    }));
    const checks = tc.filter((c) => c.CONSTRAINT_TYPE === 'C' && !isNotNullCheck(c.SEARCH_CONDITION))
      .map((c): CheckConstraint => ({ name: c.CONSTRAINT_NAME, expression: (c.SEARCH_CONDITION ?? '').trim() }));
    const constraintIndexes = new Set(tc.filter((c) => c.INDEX_NAME).map((c) => c.INDEX_NAME));
    const indexes = (idxByTable.get(key) ?? [])
      .filter((i) => !constraintIndexes.has(i.INDEX_NAME) && i.INDEX_TYPE !== 'IOT - TOP')
      .map((i): CatalogIndex => {
        const parts = [...(idxCols.get(tableKey(i.OWNER, i.INDEX_NAME)) ?? [])].sort((a, b) => Number(a.COLUMN_POSITION) - Number(b.COLUMN_POSITION));
        const exprs: string[] = [];
        const columnsList = parts.map((p) => {
          const e = idxExprs.get(`${tableKey(i.OWNER, i.INDEX_NAME)}\u0000${String(p.COLUMN_POSITION)}`);
          if (e) exprs.push(e.COLUMN_EXPRESSION.trim());
          return e ? e.COLUMN_EXPRESSION.trim() : p.COLUMN_NAME;
        });
        const special = /BITMAP|DOMAIN/.test(i.INDEX_TYPE) ? `${i.INDEX_TYPE.toLowerCase()} index` : null;
        return {
          name: i.INDEX_NAME, columns: columnsList, unique: i.UNIQUENESS === 'UNIQUE',
          expression: exprs.length ? exprs.join(', ') : special, where: null,
        };
      });
    return {
      schema: t.OWNER, name: t.TABLE_NAME, columns, primary_key, unique_keys, foreign_keys, indexes, checks,
      row_estimate: intOrNull(t.NUM_ROWS), comment: t.COMMENTS ?? null,
    };
  });

  const identitySeqs = new Set(rows.identityCols.map((i) => tableKey(i.OWNER, i.SEQUENCE_NAME)));
  const sequences = rows.sequences
    .filter((s) => !identitySeqs.has(tableKey(s.SEQUENCE_OWNER, s.SEQUENCE_NAME)) && !s.SEQUENCE_NAME.startsWith('ISEQ$$_'))
    .map((s): CatalogSequence => {
      const inc = intOrNull(s.INCREMENT_BY) ?? 1;
      return {
        schema: s.SEQUENCE_OWNER, name: s.SEQUENCE_NAME,
        // ALL_SEQUENCES has no START WITH: an ascending sequence starts at MIN_VALUE unless altered
        start: inc > 0 ? (intOrNull(s.MIN_VALUE) ?? 1) : (intOrNull(s.MAX_VALUE) ?? -1),
        increment: inc, next_value: sequenceNextValue(s), owned_by: null,
      };
    });
  const views: CatalogObject[] = [
    ...rows.views.map((v) => ({ schema: v.OWNER, name: v.VIEW_NAME, kind: 'view', definition: v.TEXT?.trim() ?? null })),
    ...rows.objects.filter((o) => o.OBJECT_TYPE === 'MATERIALIZED VIEW')
      .map((o) => ({ schema: o.OWNER, name: o.OBJECT_NAME, kind: 'materialized view', definition: null })),
  ];
  const routines = rows.objects.filter((o) => o.OBJECT_TYPE !== 'MATERIALIZED VIEW')
    .map((o) => ({ schema: o.OWNER, name: o.OBJECT_NAME, kind: o.OBJECT_TYPE.toLowerCase(), definition: null }));
  return { tables, sequences, views, routines };
}
