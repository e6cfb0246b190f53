import type { ReferentialAction } from '../../../common/src/catalog.ts';

/** Native type split into its pieces: "numeric(10,2)" -> base "numeric", args [10, 2]. */
export interface ParsedType {
  base: string;
  args: string[];
  unsigned: boolean;
}

/**
 * Split a lower-cased native type. Modifiers in parentheses are taken out wherever they sit
 * ("timestamp(3) with time zone" -> base "timestamp with time zone", args ["3"]).
 */
export function parseTypeName(native: string): ParsedType {
  const lower = native.trim().toLowerCase();
  const m = /^([^(]*)\(([^)]*)\)(.*)$/.exec(lower);
  let base = lower;
  let args: string[] = [];
  if (m) {
    base = `${m[1] ?? ''} ${m[3] ?? ''}`;
    args = (m[2] ?? '').split(',').map((a) => a.trim()).filter((a) => a.length > 0);
  }
  const unsigned = /\bunsigned\b/.test(base);
  base = base.replace(/\b(unsigned|zerofill)\b/g, '').replace(/\s+/g, ' ').trim();
  return { base, args, unsigned };
}

export function intOrNull(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

const ACTIONS: Record<string, ReferentialAction> = {
  'no action': 'no action', restrict: 'restrict', cascade: 'cascade', 'set null': 'set null', 'set default': 'set default',
  // PostgreSQL pg_constraint letters
  a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default',
};

/** Normalise a referential action as any dialect spells it; unknown -> 'no action'. */
export function referentialAction(v: unknown): ReferentialAction {
  return ACTIONS[String(v ?? '').trim().toLowerCase()] ?? 'no action';
}

/** Group rows by a key, keeping order. */
export function groupBy<T>(rows: readonly T[], key: (r: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

export const tableKey = (schema: string, table: string): string => `${schema}\u0000${table}`;
