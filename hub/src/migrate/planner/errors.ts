/** Errors the planner's pure functions can raise; the API maps `code` to its error body. */
export const PLANNER_ERROR_CODES = ['mapping_not_found', 'invalid_override', 'invalid_options'] as const;
export type PlannerErrorCode = (typeof PLANNER_ERROR_CODES)[number];

export class PlannerError extends Error {
  readonly code: PlannerErrorCode;
  /** 404 for an unknown mapping, 400 for a bad override or options. */
  readonly httpStatus: number;
  readonly retryable = false;

  constructor(code: PlannerErrorCode, message: string) {
    super(message);
    this.name = 'PlannerError';
    this.code = code;
    this.httpStatus = code === 'mapping_not_found' ? 404 : 400;
  }
}
