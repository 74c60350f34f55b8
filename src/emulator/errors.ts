// Cortex error responses (§6): {"message","code","error_code","request_id"}. Errors Snowflake is only known
// to send with a message (e.g. `unknown role "tool"`) carry no code here either.

export class CortexError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    /** For our logs and `requests[].error` only; never in the body (real Cortex messages are terse). */
    readonly detail?: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  body(requestId: string): string {
    const o: Record<string, string> = { message: this.message };
    if (this.code !== undefined) {
      o.code = this.code;
      o.error_code = this.code; // deprecated duplicate of code (§6)
    }
    o.request_id = requestId;
    return JSON.stringify(o);
  }
}

/** 390142 (§2.3, §6 [OBS]): malformed body — array content, unknown keys, wrong types, broken alternation. */
export const invalidPayload = (detail: string) =>
  new CortexError(400, 'Incoming request does not contain a valid payload.', '390142', detail);

/** §6 [DOC] "bad option values". No code is documented for it. */
export const invalidOptions = (detail: string) => new CortexError(400, 'invalid options object', undefined, detail);

/** §6 [OBS ml-python]. */
export const unknownModel = (model: string) =>
  new CortexError(400, `unknown model: ${JSON.stringify(model)}`, '300014', 'model is not in this account/catalogue');

/** §6 [OBS NickAkincilar/Snowflake_AI_DEMO #2], verbatim; status 400 is [INF]. */
export const REGION_UNAVAILABLE_MESSAGE =
  'The model you requested is unavailable in your region. To access it, enable cross region inference with AWS_APJ, AWS_EU, AWS_US, AZURE_EU, AZURE_US, ANY_REGION. For more information, see https://docs.snowflake.com/en/user-guide/snowflake-cortex/cross-region-inference.';

/** Default bodies for injected status faults (§6 table). */
export function defaultFaultMessage(status: number): { message: string; code?: string } {
  switch (status) {
    case 400:
      return { message: 'invalid options object' };
    case 401:
      return { message: 'JWT token is invalid.', code: '390144' };
    case 402:
      return { message: 'budget exceeded' };
    case 403:
      return { message: 'Not Authorized' };
    case 404:
      return { message: 'Not Found' };
    case 429:
      return { message: 'too many requests' };
    case 503:
      return { message: 'inference timed out' };
    case 504:
      return { message: 'gateway timeout' };
    default:
      return { message: status >= 500 ? 'Internal error. Please retry.' : `HTTP ${status}` };
  }
}
