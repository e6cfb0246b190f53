import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { FerryError } from '../../../common/src/errors.ts';
import type { Logger } from '../../../common/src/logger.ts';
import type { ApiEnv } from './env.ts';

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown>; request_id: string };
}

export function errorBody(c: Context<ApiEnv>, code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  const body: ErrorBody = { error: { code, message, request_id: c.get('requestId') ?? 'req_unknown' } };
  if (details && Object.keys(details).length > 0) body.error.details = details;
  return body;
}

export function sendError(c: Context<ApiEnv>, status: number, code: string, message: string, details?: Record<string, unknown>) {
  return c.json(errorBody(c, code, message, details), status as ContentfulStatusCode);
}

/**
 * The one place where thrown errors become the documented error body. FerryErrors keep their
 * code and status; anything unexpected is logged with the request id and answered as a 500
 * that says nothing about internals.
 */
export function onError(log: Logger) {
  return (err: Error, c: Context<ApiEnv>) => {
    if (err instanceof FerryError) {
      if (err.status >= 500) log.error({ err, request_id: c.get('requestId') }, 'request failed');
      return sendError(c, err.status, err.code, err.message, err.details);
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      const code = status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : status === 401 ? 'unauthorized' : 'bad_request';
      return sendError(c, status, code, err.message || 'Bad request');
    }
    if (err instanceof SyntaxError) return sendError(c, 400, 'malformed_json', 'Request body is not valid JSON');
    log.error({ err, request_id: c.get('requestId'), path: c.req.path }, 'unhandled error');
    return sendError(c, 500, 'internal_error', 'Internal error; the request id is in the hub log');
  };
}
