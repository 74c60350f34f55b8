// Errors are values with a kind; the kind maps once to an HTTP status, and each dialect maps it to its envelope.

export type ErrorKind =
  | 'invalid_request' // 400: the client's request cannot be served as sent
  | 'auth' // 401: bad/missing key (client side) or credential rejected by Snowflake
  | 'permission' // 403
  | 'not_found' // 404: unknown model/route
  | 'too_large' // 413
  | 'unprocessable' // 422 (structured-output validation upstream)
  | 'budget' // 402
  | 'rate_limit' // 429
  | 'upstream' // 502: Snowflake failed or answered something unusable
  | 'unavailable' // 503
  | 'timeout' // 504
  | 'internal'; // 500: a bug of ours

const STATUS: Record<ErrorKind, number> = {
  invalid_request: 400,
  auth: 401,
  budget: 402,
  permission: 403,
  not_found: 404,
  too_large: 413,
  unprocessable: 422,
  rate_limit: 429,
  internal: 500,
  upstream: 502,
  unavailable: 503,
  timeout: 504,
};

export class ProxyError extends Error {
  readonly kind: ErrorKind;
  readonly status: number;
  /** Machine-readable code (Snowflake's code when it sent one). */
  readonly code?: string;
  /** The request parameter at fault, when known. */
  readonly param?: string;
  /** Snowflake's request id, for support tickets and CORTEX_REST_API_USAGE_HISTORY. */
  requestId?: string;
  /** Seconds the client should wait before retrying (429). */
  retryAfter?: number;

  constructor(
    kind: ErrorKind,
    message: string,
    opts: { code?: string; param?: string; requestId?: string; status?: number; retryAfter?: number } = {},
  ) {
    super(message);
    this.name = 'ProxyError';
    this.kind = kind;
    this.status = opts.status ?? STATUS[kind];
    this.code = opts.code;
    this.param = opts.param;
    this.requestId = opts.requestId;
    this.retryAfter = opts.retryAfter;
  }
}

export const invalidRequest = (message: string, param?: string) =>
  new ProxyError('invalid_request', message, { param });

/** Any thrown value as a ProxyError (unknown errors become 'internal' without leaking their text). */
export function asProxyError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  // A client's JSON nested thousands of levels deep overflows the stack of whatever walks it (JSON.stringify too).
  if (err instanceof RangeError && err.message.includes('call stack'))
    return new ProxyError('invalid_request', 'the request body is nested too deeply (thousands of levels of arrays or objects); flatten it');
  return new ProxyError('internal', 'internal error in cortex-proxy (see its log)');
}
