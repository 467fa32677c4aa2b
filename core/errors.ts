// One error class for the whole service: a stable code from a fixed registry, a message for people,
// and the cause. Exceptions are for bugs and start-up failures; untrusted bytes never throw.

export const ERROR_CODES = {
  CONFIG_INVALID: 'configuration is invalid',
  BAD_ARGUMENT: 'a command-line argument is invalid',
  BAD_REQUEST: 'a request parameter is invalid',
  NOT_FOUND: 'the requested resource does not exist',
  CONFLICT: 'the resource is busy or in a conflicting state',
  PAYLOAD_TOO_LARGE: 'the request body is over the size limit',
  UNAUTHORIZED: 'authentication is required',
  FORBIDDEN: 'the token lacks the role for this action',
  STORE_UNAVAILABLE: 'the ClickHouse store cannot be reached (retryable)',
  STORE_REJECTED: 'the ClickHouse store rejected the data (not retryable)',
  WAL_IO: 'the write-ahead log could not be read or written',
  LISTEN_FAILED: 'a listener could not bind its address',
  TARGET_FAILED: 'a replay target refused or lost the connection',
  INTERNAL: 'an unexpected internal error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class HandlogError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HandlogError';
    this.code = code;
  }
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
