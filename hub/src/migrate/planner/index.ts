/** The migration planner: pure functions from a source catalog and profiles to a Plan. */
export * from './types.ts';
export { PlannerError, PLANNER_ERROR_CODES, type PlannerErrorCode } from './errors.ts';
export { buildPlan } from './plan.ts';
export { applyOverride, setMappingStatus, unresolvedMappings } from './override.ts';
export { planDigest, canonicalJson } from './digest.ts';
export { renderTargetSchema, type TargetSchema, type TargetTable, type TargetColumn } from './target-schema.ts';
export { mapOneColumn, describeTransformation, isValidTargetType, RULES } from './columns.ts';
export { mappingId } from './names.ts';
export { mapColumn as mapPostgresColumn } from './rules/postgres.ts';
export { mapColumn as mapMysqlColumn } from './rules/mysql.ts';
export { mapColumn as mapSqliteColumn, affinityOf } from './rules/sqlite.ts';
export { mapColumn as mapOracleColumn } from './rules/oracle.ts';
