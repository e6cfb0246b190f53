/**
 * Foreign-key type alignment. PostgreSQL needs comparable types on both sides of a foreign key
 * (bigint cannot reference numeric). The referencing values are a subset of the referenced ones
 * in a consistent source, so the referencing column can always take the referenced column's type.
 */
import type { CatalogTable } from '../../../../common/src/catalog.ts';
import type { ColumnMapping } from './types.ts';
import { mappingId } from './names.ts';
import { describeTransformation } from './columns.ts';

function resolveTable(tables: CatalogTable[], schema: string, name: string): CatalogTable | undefined {
  return tables.find((t) => t.schema === schema && t.name === name)
    ?? tables.find((t) => t.schema.toLowerCase() === schema.toLowerCase() && t.name.toLowerCase() === name.toLowerCase());
}

/**
 * Give every referencing column its referenced column's type and transformation (in place).
 * Repeats until stable so chains (a -> b -> c) settle. User-overridden columns are left alone.
 * @returns ids of the mappings that changed
 */
export function alignForeignKeyTypes(tables: CatalogTable[], mappings: Map<string, ColumnMapping>, only?: Set<string>): string[] {
  const changed = new Set<string>();
  for (let pass = 0; pass < 10; pass++) {
    let any = false;
    for (const t of tables) {
      for (const fk of t.foreign_keys) {
        const ref = resolveTable(tables, fk.ref_schema, fk.ref_table);
        if (!ref) continue;
        fk.columns.forEach((c, i) => {
          const rc = fk.ref_columns[i];
          if (rc === undefined) return;
          const m = mappings.get(mappingId(t.schema, t.name, c));
          const r = mappings.get(mappingId(ref.schema, ref.name, rc));
          if (!m || !r || m.overridden || m.target.type === r.target.type) return;
          if (only && !only.has(r.id) && !changed.has(r.id)) return;
          m.target.type = r.target.type;
          m.transformation = r.transformation;
          m.transformation_sql = describeTransformation(r.transformation, m.source.column, r.target.type);
          m.confidence = Math.min(m.confidence, r.confidence);
          m.reason = `${m.reason}; type aligned with ${ref.name}.${rc} for foreign key ${fk.name ?? ''}`.trimEnd();
          if (m.check_in && r.target.type !== 'text') delete m.check_in;
          changed.add(m.id);
          any = true;
        });
      }
    }
    if (!any) break;
  }
  return [...changed];
}
