/** Every condition the repository reports, with the HTTP status an API layer should use. */
export const REPOSITORY_ERRORS = {
  chunk_digest_mismatch: { status: 400, retryable: false },
  /** An uploaded stored form that is not a valid encoding of the length it declares. */
  chunk_invalid: { status: 400, retryable: false },
  chunk_corrupt: { status: 500, retryable: false },
  chunk_missing: { status: 409, retryable: false },
  /** A pack could not be written or sealed (full disk, I/O error): its chunks were dropped; a retry uploads them again. */
  pack_write_failed: { status: 500, retryable: true },
  digest_invalid: { status: 400, retryable: false },
  manifest_invalid: { status: 400, retryable: false },
  snapshot_not_found: { status: 404, retryable: false },
  snapshot_exists: { status: 409, retryable: false },
  backup_not_found: { status: 404, retryable: false },
  object_not_found: { status: 404, retryable: false },
  repository_not_found: { status: 404, retryable: false },
  repository_exists: { status: 409, retryable: false },
  repository_format_unsupported: { status: 500, retryable: false },
} as const;

export type RepositoryErrorCode = keyof typeof REPOSITORY_ERRORS;

/**
 * A repository failure with a stable code. `digest`/`snapshotId` name the object concerned so
 * a caller can report it without parsing the message.
 */
export class RepositoryError extends Error {
  readonly code: RepositoryErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly digest?: string;
  readonly snapshotId?: string;

  constructor(
    code: RepositoryErrorCode,
    message: string,
    details: { digest?: string; snapshotId?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'RepositoryError';
    this.code = code;
    this.status = REPOSITORY_ERRORS[code].status;
    this.retryable = REPOSITORY_ERRORS[code].retryable;
    if (details.digest !== undefined) this.digest = details.digest;
    if (details.snapshotId !== undefined) this.snapshotId = details.snapshotId;
  }
}

export function isRepositoryError(err: unknown, code?: RepositoryErrorCode): err is RepositoryError {
  return err instanceof RepositoryError && (code === undefined || err.code === code);
}
