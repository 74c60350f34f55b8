// ProxyError → OpenAI's error envelope ({error: {message, type, param, code}}), by kind.
import type { ErrorKind, ProxyError } from '../../core/errors.js';

const ERROR_TYPE: Partial<Record<ErrorKind, string>> = {
  invalid_request: 'invalid_request_error',
  not_found: 'invalid_request_error', // OpenAI answers an unknown model with invalid_request_error/model_not_found
  too_large: 'invalid_request_error',
  auth: 'authentication_error',
  permission: 'permission_error',
  rate_limit: 'rate_limit_error',
  budget: 'insufficient_quota',
};

export function errorBody(err: ProxyError) {
  const code = err.code ?? (err.kind === 'budget' ? 'insufficient_quota' : null);
  return { error: { message: err.message, type: ERROR_TYPE[err.kind] ?? 'api_error', param: err.param ?? null, code } };
}

