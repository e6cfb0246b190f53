/** The target schema as the API shows it (GET /api/v1/migrations/{id}/schema/target). */
import type { ColumnMapping, Plan, PlanForeignKey, PlanIndex } from './types.ts';

export interface TargetColumn {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
  identity: boolean;
  mapping_id: string;
  source: { schema: string; table: string; column: string; native_type: string };
}

export interface TargetTable {
  schema: string;
  name: string;
  source: { schema: string; table: string };
  columns: TargetColumn[];
  primary_key: { name: string; columns: string[] } | null;
  unique_keys: { name: string; columns: string[] }[];
  indexes: PlanIndex[];
  foreign_keys: PlanForeignKey[];
  checks: { name: string; expression: string }[];
}

export interface TargetSchema {
  schema: string;
  tables: TargetTable[];
  sequences: { name: string; start: number; increment: number }[];
}

export function renderTargetSchema(plan: Plan): TargetSchema {
  const byId = new Map(plan.mappings.map((m) => [m.id, m]));
  return {
    schema: plan.target_schema,
    tables: plan.tables.map((t) => ({
      schema: t.target.schema,
      name: t.target.table,
      source: { ...t.source },
      columns: t.mapping_ids
        .map((id) => byId.get(id))
        .filter((m): m is ColumnMapping => m !== undefined)
        .map((m) => ({
          name: m.target.column,
          type: m.target.type,
          nullable: m.target.nullable,
          default: m.target.default,
          identity: m.target.identity,
          mapping_id: m.id,
          source: { ...m.source },
        })),
      primary_key: t.primary_key,
      unique_keys: t.unique_keys,
      indexes: t.indexes,
      foreign_keys: t.foreign_keys,
      checks: t.checks,
    })),
    sequences: plan.sequences.map((s) => ({ name: s.name, start: s.start, increment: s.increment })),
  };
}
