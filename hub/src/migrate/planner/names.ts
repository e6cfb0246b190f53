/**
 * Target identifiers: name style, PostgreSQL's 63-byte limit, and collision-free allocation.
 * Identifiers are always quoted in DDL, so any name that survives here is usable as is.
 */
import { createHash } from 'node:crypto';
import type { NameStyle } from './types.ts';

/** PostgreSQL truncates identifiers longer than NAMEDATALEN-1 bytes. */
const MAX_IDENT_BYTES = 63;

export function shortHash(text: string, hexChars = 12): string {
  return createHash('sha256').update(text).digest('hex').slice(0, hexChars);
}

/** Stable mapping id from the source coordinates of a column. */
export function mappingId(schema: string, table: string, column: string): string {
  return 'map_' + shortHash(`${schema}\u0000${table}\u0000${column}`);
}

export function styleName(name: string, style: NameStyle): string {
  return style === 'lower' ? name.toLowerCase() : name;
}

/** Cut to 63 bytes at a character boundary, adding a hash so two long names stay distinct. */
export function fitIdentifier(name: string): string {
  if (Buffer.byteLength(name, 'utf8') <= MAX_IDENT_BYTES) return name;
  const suffix = '_' + shortHash(name, 8);
  let cut = name;
  while (Buffer.byteLength(cut, 'utf8') + suffix.length > MAX_IDENT_BYTES) cut = cut.slice(0, -1);
  return cut + suffix;
}

/**
 * Hands out unique names within one namespace (a schema's relations, a table's columns).
 * PostgreSQL compares quoted identifiers exactly, but a name folded by style (Oracle "Foo" and
 * FOO both becoming foo) can collide: the later one gets a numeric suffix.
 */
export class NameAllocator {
  private readonly used = new Set<string>();

  reserve(name: string): void {
    this.used.add(name);
  }

  has(name: string): boolean {
    return this.used.has(name);
  }

  allocate(wanted: string): string {
    let name = fitIdentifier(wanted);
    for (let n = 2; this.used.has(name); n++) name = fitIdentifier(`${wanted}_${n}`);
    this.used.add(name);
    return name;
  }
}
