// The emulator's Cortex AI Gateway: POST /api/v2/aigateways/SNOWFLAKE/v1/chat/completions and /v1/messages, served
// by the same strict v1 endpoints as /api/v2/cortex/v1/… (the gateway "accepts the same requests", [I]
// https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-ai-gateway/inference), with what differs:
//   - Claude is refused on /v1/chat/completions with a 503: snowflake-cli docs/ai-gateway.md ("Claude models … return
//     503 on the OpenAI-style /chat/completions"). Other Snowflake material disagrees (a demo's speaker notes say
//     400, its script "unknown model"); the CLI's statement is the one written down as behaviour, so it is chosen.
//   - /v1/messages serves Claude only, as the account's /v1/messages does (its validator already refuses others).
//   - there is no model list: GET …/v1/models answers 400 (snowflake-cli: "No model discovery").
//   - no inference:complete and no inference:embed under the gateway (not documented there): 404 like any unknown path.
// Requests are recorded with their headers like every other (traceparent, conversation id: test assertions).
import type { IncomingHttpHeaders } from 'node:http';
import { CortexError } from './errors.js';
import { V1_CHAT_PATH, V1_ENDPOINTS, V1_MESSAGES_PATH, type Endpoint } from './v1.js';
import type { ValidationContext } from './validate.js';
import { STATEMENT_PATTERNS, addStatementPattern } from './statements.js';
import { responsesEndpoint } from './responses.js';

/** The gateway's base path in the emulator; the name is matched case-insensitively (demos use `snowflake`). */
export const GATEWAY_BASE_PATH = '/api/v2/aigateways/SNOWFLAKE';
const GATEWAY_ROUTE = /^\/api\/v2\/aigateways\/snowflake(\/v1\/(?:chat\/completions|messages|models|responses))$/i;

const chat = V1_ENDPOINTS[V1_CHAT_PATH];
const gatewayChat: Endpoint = {
  ...chat,
  validate(body: unknown, ctx: ValidationContext, headers: IncomingHttpHeaders) {
    const call = chat.validate(body, ctx, headers);
    if (call.info.family === 'claude')
      throw new CortexError(503, `model ${JSON.stringify(call.model)} is not served on /v1/chat/completions; use /v1/messages`, undefined, 'AI Gateway: Claude only on /v1/messages (snowflake-cli docs/ai-gateway.md)');
    return call;
  },
};

/** A gateway path → its chat endpoint, 'models' for the (refused) model list, or undefined for anything else. */
export function gatewayRoute(path: string): Endpoint | 'models' | undefined {
  const m = GATEWAY_ROUTE.exec(path);
  if (!m) return undefined;
  if (m[1] === '/v1/chat/completions') return gatewayChat;
  if (m[1] === '/v1/messages') return V1_ENDPOINTS[V1_MESSAGES_PATH];
  if (m[1] === '/v1/responses') return responsesEndpoint; // release note 2026-10-23: <gateway>/v1/responses
  return 'models';
}

/** GET …/v1/models on the gateway. */
export const noModelList = () => new CortexError(400, 'the AI Gateway has no model list', undefined, 'AI Gateway: no discovery endpoint (snowflake-cli docs/ai-gateway.md)');

// ---- SQL: SHOW AI GATEWAYS and SNOWFLAKE.LOCAL.MY_BUDGET_SUMMARY() (doctor's gateway checks) ----
// Columns: SHOW AI GATEWAYS's `name` and `base_url` are the ones Snowflake's own demos read (LAB2 in
// reference/cortex-ai-gateway-and-responses.md); the official column list is not published. MY_BUDGET_SUMMARY()'s
// result shape is not published either: the emulator answers one VARIANT-like JSON text, which doctor only quotes.
addStatementPattern({
  pattern: /^SHOW AI GATEWAYS$/i,
  run: (_m, ctx) => {
    const a = ctx.account;
    const columns = ['created_on', 'name', 'base_url', 'specification', 'comment'].map((name) => ({ name, type: 'text' }));
    if (a.aiGateway === 'none') return { columns, rows: [] };
    const url = a.aiGateway === 'derived' ? `https://${`${a.organization}-${a.accountName}`.toLowerCase().replace(/_/g, '-')}.snowflakecomputing.com${GATEWAY_BASE_PATH}` : a.aiGateway;
    return { columns, rows: [['2026-10-01 00:00:00.000 -0700', 'SNOWFLAKE', url, "schema_version: 1\nmodels:\n  - name: '*'\n    type: cortex\n", null]] };
  },
});

// Ahead of the generic `SELECT <context functions>` pattern, which would refuse it.
STATEMENT_PATTERNS.unshift({
  pattern: /^SELECT SNOWFLAKE\.LOCAL\.MY_BUDGET_SUMMARY\(\)$/i,
  run: (_m, ctx) => ({
    columns: [{ name: 'MY_BUDGET_SUMMARY()', type: 'variant' }],
    rows: [[JSON.stringify({ user: ctx.account.user, domain: 'AI GATEWAY', limit_credits: 10, used_credits: ctx.account.quotaBlocked ? 10.2 : 1.5, status: ctx.account.quotaBlocked ? 'BLOCKED' : 'ACTIVE' })]],
  }),
});
