// ProxyError → Anthropic's error body and error type, for HTTP errors and the in-stream `error` event.
import type { ProxyError } from '../../core/errors.js';

export function encodeErrorBody(err: ProxyError): { type: 'error'; error: { type: string; message: string }; request_id?: string } {
  const body: { type: 'error'; error: { type: string; message: string }; request_id?: string } = {
    type: 'error',
    error: { type: anthropicErrorType(err), message: err.message },
  };
  if (err.requestId) body.request_id = err.requestId;
  return body;
}

/** Anthropic error types (docs.claude.com/en/api/errors); 503 → overloaded_error (Anthropic's 529). */
export function anthropicErrorType(err: ProxyError): string {
  switch (err.kind) {
    case 'invalid_request':
    case 'unprocessable':
      return 'invalid_request_error';
    case 'auth':
      return 'authentication_error';
    case 'budget':
      return 'billing_error';
    case 'permission':
      return 'permission_error';
    case 'not_found':
      return 'not_found_error';
    case 'too_large':
      return 'request_too_large';
    case 'rate_limit':
      return 'rate_limit_error';
    case 'unavailable':
      return 'overloaded_error';
    default:
      return 'api_error'; // internal, upstream, timeout
  }
}

