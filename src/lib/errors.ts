/**
 * One registry of error classes with stable codes. Codes never change once shipped: logs,
 * API responses and CLI exit statuses are keyed by them (see `exitCode`).
 */
export const ErrorCodes = {
  CONFIG_INVALID: { exit: 2, http: 400 },
  CONFIG_UNREADABLE: { exit: 2, http: 400 },
  DECODE: { exit: 1, http: 400 },
  NOT_FOUND: { exit: 4, http: 404 },
  CONFLICT: { exit: 5, http: 409 },
  RULE_AMBIGUOUS: { exit: 5, http: 409 },
  INVALID_INPUT: { exit: 2, http: 400 },
  UNAUTHORIZED: { exit: 6, http: 401 },
  ACCESS_DENIED: { exit: 1, http: 403 },
  INTERFACE: { exit: 3, http: 500 },
  /** The seed cannot be reached (CLI) or is not ready: scripts retry on this exit status. */
  UNAVAILABLE: { exit: 7, http: 503 },
  /** A downloaded or imported asset lacks, or fails, its signature or digest check. */
  ASSET_UNVERIFIED: { exit: 8, http: 422 },
  INTERNAL: { exit: 1, http: 500 },
} as const;
export type ErrorCode = keyof typeof ErrorCodes;

/** Whether a code read off the wire (an API body, another thread) is one of ours. */
export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ErrorCodes, code);

export class MetalseedError extends Error {
  /** `cause`: the underlying error (an errno error, say) for callers that decide on it. */
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'MetalseedError';
  }
}

/** A wire structure that cannot be decoded; protocol servers count and drop these. */
export class DecodeError extends MetalseedError {
  constructor(message: string) {
    super('DECODE', message);
    this.name = 'DecodeError';
  }
}

export function exitCode(err: unknown): number {
  return err instanceof MetalseedError ? ErrorCodes[err.code].exit : ErrorCodes.INTERNAL.exit;
}

export function httpStatus(err: unknown): number {
  return err instanceof MetalseedError ? ErrorCodes[err.code].http : ErrorCodes.INTERNAL.http;
}
