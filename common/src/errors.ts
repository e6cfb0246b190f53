/**
 * Errors are values with a code. Each knows its HTTP status, its API error code and whether a
 * retry can help; one place (hub api/error-handler) turns them into the JSON error body and one
 * (agents/grpc-status) into gRPC statuses. Internal details stay in logs, not in `message`.
 */
export class FerryError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly details?: Record<string, unknown>;

  constructor(
    code: string,
    message: string,
    opts: { status?: number; retryable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'FerryError';
    this.code = code;
    this.status = opts.status ?? 400;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details;
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new FerryError('bad_request', message, { status: 400, details });

export const validationError = (message: string, details?: Record<string, unknown>) =>
  new FerryError('validation_error', message, { status: 422, details });

export const unauthorized = (message = 'Missing or invalid credentials') =>
  new FerryError('unauthorized', message, { status: 401 });

export const forbidden = (message: string) => new FerryError('forbidden', message, { status: 403 });

/** `notFound('migration', id)` gives code `migration_not_found`, as seed 002 names it. */
export const notFound = (resource: string, id: string) =>
  new FerryError(`${resource}_not_found`, `No ${resource.replace(/_/g, ' ')} exists with ID ${JSON.stringify(id)}`, {
    status: 404,
  });

export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new FerryError(code, message, { status: 409, details });

export const invalidState = (resource: string, from: string, action: string) =>
  new FerryError('invalid_state', `Cannot ${action} a ${resource} that is ${from}`, {
    status: 409,
    details: { current_status: from, action },
  });

export const notImplemented = (what: string) =>
  new FerryError('not_implemented', `${what} is not implemented yet`, { status: 501 });

export function isFerryError(e: unknown): e is FerryError {
  return e instanceof FerryError;
}

/** A short, safe description of an unknown error for logs. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
