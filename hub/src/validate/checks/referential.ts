/** Referential check, hub side: orphans per source foreign key and constraints left NOT VALID. */
import type { ReferentialResult } from '../../../../node-agent/src/validate/contract.ts';
import type { KindReport, Sides } from '../report.ts';
import type { ValidationTable } from '../tables.ts';

export async function runReferential(sides: Sides, tables: ValidationTable[]): Promise<Omit<KindReport, 'kind' | 'started_at' | 'finished_at'>> {
  const fks = tables.flatMap((t) => t.foreign_keys);
  const schemas = [...new Set(tables.map((t) => t.target.schema))];
  const r = await sides.target<ReferentialResult>('validate.referential', { foreign_keys: fks, schemas, first_n: 10 });
  const orphans = r.foreign_keys.reduce((n, f) => n + f.orphans, 0);
  const withOrphans = r.foreign_keys.filter((f) => f.orphans > 0).length;
  const missing = r.foreign_keys.filter((f) => !f.constraint_present).length;
  return {
    status: orphans > 0 || r.invalid_constraints.length > 0 ? 'failed' : 'passed',
    counts: { foreign_keys: fks.length, foreign_keys_with_orphans: withOrphans, orphans, constraints_missing: missing, invalid_constraints: r.invalid_constraints.length },
    details: { foreign_keys: r.foreign_keys, invalid_constraints: r.invalid_constraints },
  };
}
