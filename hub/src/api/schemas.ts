import { z } from '@hono/zod-openapi';
import { badRequest } from '../../../common/src/errors.ts';

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'migration_not_found' }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
      request_id: z.string().openapi({ example: 'req_abc123' }),
    }),
  })
  .openapi('Error');

export const PaginationSchema = z
  .object({ total: z.number().int(), limit: z.number().int(), offset: z.number().int(), has_more: z.boolean() })
  .openapi('Pagination');

/** `limit` (default 20, max 100), `offset`, and `sort` (`-created_at` for descending) as in seeds 000/001. */
export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ param: { name: 'limit', in: 'query' } }),
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0).openapi({ param: { name: 'offset', in: 'query' } }),
  sort: z
    .string()
    .regex(/^-?[a-z_]{1,40}$/, 'sort is a field name, with a leading "-" for descending')
    .optional()
    .openapi({ param: { name: 'sort', in: 'query' }, example: '-created_at' }),
  order: z.enum(['asc', 'desc']).optional().openapi({ param: { name: 'order', in: 'query' } }),
});
export type ListQuery = z.infer<typeof ListQuery>;

export function listOf<T extends z.ZodTypeAny>(item: T) {
  return z.object({ data: z.array(item), pagination: PaginationSchema });
}

export function page<T>(data: T[], total: number, q: { limit: number; offset: number }) {
  return { data, pagination: { total, limit: q.limit, offset: q.offset, has_more: q.offset + data.length < total } };
}

/**
 * Resolve `sort`/`order` against the columns a resource allows; returns an ORDER BY clause built
 * only from that allow-list (never from the raw query text). An unknown field is a 400.
 */
export function orderBy(q: { sort?: string; order?: 'asc' | 'desc' }, allowed: Record<string, string>, fallback: string): string {
  if (!q.sort) return `${allowed[fallback] ?? fallback} ${q.order === 'asc' ? 'ASC' : 'DESC'}`;
  const desc = q.sort.startsWith('-');
  const field = desc ? q.sort.slice(1) : q.sort;
  const col = allowed[field];
  if (!col) throw badRequest(`sort field "${field}" is not one of: ${Object.keys(allowed).join(', ')}`, { field: 'sort' });
  const dir = desc ? 'DESC' : q.order === 'desc' ? 'DESC' : 'ASC';
  return `${col} ${dir}`;
}

export const IdParam = <N extends string>(name: N, example: string) =>
  z.object({
    [name]: z
      .string()
      .min(1)
      .max(100)
      .openapi({ param: { name, in: 'path' }, example }),
  } as Record<N, z.ZodString>);

export const Timestamp = z.string().openapi({ format: 'date-time', example: '2026-02-02T15:30:00Z' });
