/**
 * User decisions on a plan: override a mapping's type or transformation, approve or reject it.
 * Each returns a new plan (the input is not modified) with the DDL re-rendered.
 */
import type { ColumnMapping, MappingOverride, MappingStatus, Plan } from './types.ts';
import { MAPPING_STATUSES, TRANSFORMATIONS } from './types.ts';
import { PlannerError } from './errors.ts';
import { describeTransformation, isValidTargetType } from './columns.ts';
import { isTextLike } from './rules/common.ts';
import { rerender } from './plan.ts';

const INTEGER_TYPES = /^(smallint|integer|bigint)$/;

function find(plan: Plan, mappingId: string): ColumnMapping {
  const m = plan.mappings.find((x) => x.id === mappingId);
  if (!m) throw new PlannerError('mapping_not_found', `Mapping ${mappingId} is not in this plan; list the plan's mappings for valid ids.`);
  return m;
}

function retype(m: ColumnMapping, type: string): void {
  m.target.type = type;
  if (!INTEGER_TYPES.test(type)) m.target.identity = false;
  if (m.check_in && !isTextLike(type) && !/^[a-z_][a-z0-9_.]*$/.test(type)) delete m.check_in;
}

/** Referencing columns follow an overridden referenced column, or the foreign key could not be created. */
function propagate(plan: Plan, changed: ColumnMapping): void {
  const key = (s: string, t: string, c: string): string => `${s}\u0000${t}\u0000${c}`;
  const byTarget = new Map(plan.mappings.map((m) => [key(m.target.schema, m.target.table, m.target.column), m]));
  const queue = [changed];
  const seen = new Set<string>([changed.id]);
  while (queue.length > 0) {
    const r = queue.shift() as ColumnMapping;
    for (const t of plan.tables) {
      for (const fk of t.foreign_keys) {
        if (fk.ref_schema !== r.target.schema || fk.ref_table !== r.target.table) continue;
        fk.ref_columns.forEach((rc, i) => {
          const c = fk.columns[i];
          if (rc !== r.target.column || c === undefined) return;
          const m = byTarget.get(key(t.target.schema, t.target.table, c));
          if (!m || m.overridden || seen.has(m.id) || m.target.type === r.target.type) return;
          retype(m, r.target.type);
          m.transformation = r.transformation;
          m.transformation_sql = describeTransformation(m.transformation, m.source.column, m.target.type);
          m.reason = `${m.reason}; type follows the override of ${r.target.table}.${r.target.column}`;
          seen.add(m.id);
          queue.push(m);
        });
      }
    }
  }
}

/**
 * Replace a mapping's target type and/or transformation. The mapping becomes `approved` and
 * `overridden`; columns referencing it through a foreign key take the same type.
 * @throws PlannerError `mapping_not_found`, `invalid_override`
 * @example applyOverride(plan, 'map_3f2a…', { type: 'boolean', transformation: 'bool_from_int' })
 */
export function applyOverride(plan: Plan, mappingId: string, override: MappingOverride): Plan {
  find(plan, mappingId);
  if (override.type === undefined && override.transformation === undefined) {
    throw new PlannerError('invalid_override', 'An override needs a type, a transformation or both.');
  }
  if (override.type !== undefined && !isValidTargetType(override.type)) {
    throw new PlannerError('invalid_override', `"${override.type}" is not a PostgreSQL type this planner accepts (lower case, e.g. "varchar(64)", "numeric(12,2)", "timestamp(0) without time zone").`);
  }
  if (override.transformation !== undefined && !(TRANSFORMATIONS as readonly string[]).includes(override.transformation)) {
    throw new PlannerError('invalid_override', `Unknown transformation "${override.transformation}"; allowed: ${TRANSFORMATIONS.join(', ')}.`);
  }
  const next = structuredClone(plan);
  const m = find(next, mappingId);
  const before = `${m.target.type}/${m.transformation}`;
  if (override.type !== undefined) retype(m, override.type);
  if (override.transformation !== undefined) m.transformation = override.transformation;
  m.transformation_sql = describeTransformation(m.transformation, m.source.column, m.target.type);
  m.reason = `overridden by user (planner chose ${before}: ${m.reason})`;
  m.status = 'approved';
  m.overridden = true;
  propagate(next, m);
  return rerender(next);
}

/**
 * Approve or reject one mapping (the API's POST .../plan/mappings/{id}/approve).
 * A rejected mapping keeps the plan from starting until it is overridden or approved.
 * @throws PlannerError `mapping_not_found`, `invalid_override`
 */
export function setMappingStatus(plan: Plan, mappingId: string, status: MappingStatus): Plan {
  find(plan, mappingId);
  if (!(MAPPING_STATUSES as readonly string[]).includes(status)) {
    throw new PlannerError('invalid_override', `Unknown status "${status}"; allowed: ${MAPPING_STATUSES.join(', ')}.`);
  }
  const next = structuredClone(plan);
  find(next, mappingId).status = status;
  return next;
}

/** Mappings that still need a decision before the migration may start. */
export function unresolvedMappings(plan: Plan): ColumnMapping[] {
  return plan.mappings.filter((m) => m.status !== 'approved');
}
