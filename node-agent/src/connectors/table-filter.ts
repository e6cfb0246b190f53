/**
 * Exclusion of tables by `*` globs, matched case-insensitively against both `table` and
 * `schema.table` (so "audit_*" and "hr.tmp_*" both work whatever the dialect's case rules).
 */
export function globToRegExp(glob: string): RegExp {
  const body = glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}$`, 'i');
}

export function makeTableFilter(excludeGlobs: readonly string[] | undefined): (schema: string, table: string) => boolean {
  const patterns = (excludeGlobs ?? []).map(globToRegExp);
  return (schema, table) => !patterns.some((re) => re.test(table) || re.test(`${schema}.${table}`));
}
