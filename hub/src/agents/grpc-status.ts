import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { FerryError } from '../../../common/src/errors.ts';
import type { Logger } from '../../../common/src/logger.ts';

/** Trailer naming the Ferry error code, so an agent can branch on it without parsing text. */
export const ERROR_CODE_KEY = 'ferry-error-code';

const BY_HTTP: Record<number, status> = {
  400: status.INVALID_ARGUMENT,
  401: status.UNAUTHENTICATED,
  403: status.PERMISSION_DENIED,
  404: status.NOT_FOUND,
  409: status.FAILED_PRECONDITION,
  422: status.INVALID_ARGUMENT,
  429: status.RESOURCE_EXHAUSTED,
  501: status.UNIMPLEMENTED,
  503: status.UNAVAILABLE,
};

export type GrpcError = Partial<ServiceError> & { code: status; details: string };

export function grpcError(code: status, details: string, ferryCode?: string): GrpcError {
  const metadata = new Metadata();
  if (ferryCode) metadata.set(ERROR_CODE_KEY, ferryCode);
  return { name: 'GrpcError', message: details, code, details, metadata };
}

/**
 * The one place where thrown errors become gRPC statuses. FerryErrors keep their message and
 * code; anything else is logged and answered as INTERNAL without internals.
 */
export function toGrpcError(e: unknown, log: Logger, what: string): GrpcError {
  if (e instanceof FerryError) {
    if (e.status >= 500 && e.status !== 501 && e.status !== 503) log.error({ err: e }, `${what} failed`);
    return grpcError(BY_HTTP[e.status] ?? status.INTERNAL, e.message, e.code);
  }
  log.error({ err: e }, `${what} failed`);
  return grpcError(status.INTERNAL, `${what} failed on the hub; see the hub log`, 'internal_error');
}
