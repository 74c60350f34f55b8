// ProxyError → the Responses error envelope (HTTP errors) and the response.failed error (in-stream), by kind.
import type { ErrorKind, ProxyError } from '../../core/errors.js';

const ERROR_CODES: Partial<Record<ErrorKind, string>> = {
  rate_limit: 'rate_limit_exceeded',
  invalid_request: 'invalid_prompt',
  too_large: 'invalid_prompt',
  unprocessable: 'invalid_prompt',
  budget: 'insufficient_quota',
};

export function failedError(err: ProxyError): { code: string; message: string } {
  // Codex retries rate limits after the delay it parses from "try again in Ns".
  if (err.kind === 'rate_limit') {
    const wait = err.retryAfter !== undefined ? ` Please try again in ${err.retryAfter}s.` : '';
    return { code: 'rate_limit_exceeded', message: err.message + wait };
  }
  return { code: err.code ?? ERROR_CODES[err.kind] ?? 'server_error', message: err.message };
}

const ERROR_TYPES: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  too_large: 'invalid_request_error',
  unprocessable: 'invalid_request_error',
  not_found: 'invalid_request_error',
  auth: 'authentication_error',
  permission: 'permission_error',
  budget: 'insufficient_quota',
  rate_limit: 'rate_limit_error',
  upstream: 'server_error',
  unavailable: 'server_error',
  timeout: 'server_error',
  internal: 'server_error',
};

export function encodeError(err: ProxyError) {
  return {
    error: {
      message: err.message,
      type: ERROR_TYPES[err.kind] ?? 'server_error',
      param: err.param ?? null,
      code: err.code ?? (err.kind === 'not_found' ? 'model_not_found' : null),
    },
  };
}

