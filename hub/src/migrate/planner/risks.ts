/** Risk ids, merging of identical risks across columns, and a stable order. */
import type { Risk, RiskSeverity } from './types.ts';
import type { ObjectRisk } from './tables.ts';
import { shortHash } from './names.ts';

const SEVERITY_ORDER: Record<RiskSeverity, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** Merge risks that differ only by the affected column ("3 columns may be truncated"), then id and sort. */
export function finalizeRisks(raw: ObjectRisk[]): Risk[] {
  const merged = new Map<string, ObjectRisk>();
  for (const r of raw) {
    const key = [r.severity, r.type, r.description, r.mitigation].join('\u0000');
    const seen = merged.get(key);
    if (seen) {
      for (const a of r.affected) if (!seen.affected.includes(a)) seen.affected.push(a);
    } else {
      merged.set(key, { ...r, affected: [...r.affected] });
    }
  }
  return [...merged.values()]
    .map((r) => ({
      id: 'risk_' + shortHash([r.type, r.severity, r.description, r.mitigation, ...r.affected].join('\u0000')),
      severity: r.severity,
      type: r.type,
      description: r.description,
      affected: r.affected,
      mitigation: r.mitigation,
    }))
    .sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0) || (a.id < b.id ? -1 : 1));
}
