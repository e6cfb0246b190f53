/**
 * PostgreSQL -> PostgreSQL column rules: built-in types are kept exactly (confidence 1.0).
 * User-defined types (enums, domains, composites, extension types) are not recreated: enums
 * become text with a CHECK on their labels, anything else text, each with a risk.
 */
import type { CatalogColumn, CatalogTable, ColumnProfile } from '../../../../../common/src/catalog.ts';
import type { RuleResult } from '../types.ts';
import { rule } from './common.ts';

/** Built-in type names as format_type() spells them, without modifiers or array brackets. */
const BUILTIN = new Set([
  'smallint', 'integer', 'bigint', 'int2', 'int4', 'int8', 'int', 'numeric', 'decimal', 'real', 'double precision',
  'float4', 'float8', 'money', 'boolean', 'bool', 'text', 'character varying', 'varchar', 'character', 'char',
  'bpchar', '"char"', 'name', 'citext', 'bytea', 'date', 'time without time zone', 'time with time zone',
  'timestamp without time zone', 'timestamp with time zone', 'timestamp', 'timestamptz', 'time', 'timetz',
  'interval', 'uuid', 'json', 'jsonb', 'xml', 'inet', 'cidr', 'macaddr', 'macaddr8', 'bit', 'bit varying',
  'varbit', 'tsvector', 'tsquery', 'point', 'line', 'lseg', 'box', 'path', 'polygon', 'circle', 'oid',
  'int4range', 'int8range', 'numrange', 'tsrange', 'tstzrange', 'daterange', 'int4multirange',
  'int8multirange', 'nummultirange', 'tsmultirange', 'tstzmultirange', 'datemultirange', 'pg_lsn',
  'jsonpath', 'txid_snapshot', 'pg_snapshot', 'regclass', 'regtype', 'regproc', 'xid', 'xid8', 'cid', 'tid',
]);

/** Strip modifiers "(…)" and array brackets so "character varying(64)[]" reads "character varying". */
export function pgBaseName(nativeType: string): string {
  return nativeType.replace(/\[\d*\]/g, '').replace(/\([^)]*\)/g, '').replace(/\s+/g, ' ').trim().toLowerCase();
}

export function mapColumn(col: CatalogColumn, _profile: ColumnProfile | undefined, _table: CatalogTable): RuleResult {
  const native = col.native_type.trim();
  const base = pgBaseName(native);
  const isArray = /\[\d*\]$/.test(native);
  if (BUILTIN.has(base)) {
    if (base === 'citext') {
      return rule('citext', 'none', 0.9, 'citext kept; it needs the citext extension on the target', [{
        severity: 'medium',
        type: 'type_not_recreated',
        description: 'citext comes from an extension that must exist on the target.',
        mitigation: 'CREATE EXTENSION citext on the target, or override the type to text.',
      }]);
    }
    if (base === 'money') {
      return rule(native, 'none', 0.95, 'money kept; its text form follows lc_monetary', [{
        severity: 'low',
        type: 'precision_loss',
        description: 'money values are written and parsed with lc_monetary; source and target must use the same setting.',
        mitigation: 'Use the same lc_monetary on both servers, or override the type to numeric(19,2).',
      }]);
    }
    return rule(native, 'none', 1.0, `same type in PostgreSQL (${native})`);
  }
  if (col.enum_values && col.enum_values.length > 0) {
    const r = rule(isArray ? 'text[]' : 'text', 'none', 0.9, `enum type ${base} not recreated: text with a CHECK on its ${col.enum_values.length} labels`, [{
      severity: 'low',
      type: 'type_not_recreated',
      description: `Enum type ${base} is not recreated; the column becomes text and a CHECK keeps the same labels (ordering by label position is lost).`,
      mitigation: `Create the enum on the target and override the type to ${base}.`,
    }]);
    return isArray ? r : { ...r, check_in: [...col.enum_values] };
  }
  return rule(isArray ? 'text[]' : 'text', 'cast', 0.5, `user-defined or extension type ${native} not recreated: copied as text`, [{
    severity: 'high',
    type: 'type_not_recreated',
    description: `Type ${native} (domain, composite or extension type) is not recreated on the target; values are copied as text.`,
    mitigation: `Create the type on the target and override the mapping to ${native}.`,
  }]);
}
