// init and the Cortex AI Gateway (docs/ai-gateway.md): after the credential check, SHOW AI GATEWAYS (SQL API) says
// whether the account has a gateway and at which endpoint (private connectivity: another host, [I]
// https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-ai-gateway/inference). init offers it on a
// terminal, takes it with --gateway, leaves it with --no-gateway, and otherwise names it in its summary. The written
// config then has the endpoint as api_base (chat through the gateway; embeddings and the model list on the account).
import type { UpstreamAuth } from '../config/types.js';
import { runSql } from '../snowflake/sql.js';
import { splitGatewayBase, gatewayAuthProblem } from '../cortex/gateway.js';
import { normaliseApiBase } from '../config/account.js';
import { column } from '../snowflake/sql.js';

export interface GatewayChoice {
  /** The gateway endpoint to write as api_base, when chosen. */
  endpoint?: string;
  /** A line for init's summary. */
  note?: string;
  /** A reason to stop (--gateway and no gateway). */
  error?: { message: string; hint: string };
}

async function discover(apiBase: string, auth: UpstreamAuth): Promise<string | undefined> {
  try {
    const r = await runSql({ apiBase, auth }, 'SHOW AI GATEWAYS', { timeoutSeconds: 20 });
    if (!r.ok) return undefined;
    for (const row of r.rows) {
      const raw = column(r, row, 'base_url') ?? row.find((v) => typeof v === 'string' && /^https?:\/\//.test(v));
      if (!raw) continue;
      try {
        const gw = splitGatewayBase(normaliseApiBase(raw.trim()).url);
        if (gw) return gw.gateway;
      } catch {
        /* not a URL: next row */
      }
    }
  } catch {
    return undefined; // the SQL API is optional here: no answer = no offer
  }
  return undefined;
}

export async function chooseGateway(o: {
  apiBase: string;
  auth: UpstreamAuth;
  /** --gateway (true), --no-gateway (false), neither (undefined). */
  want?: boolean;
  verify: boolean;
  confirm?: (endpoint: string) => Promise<boolean>;
}): Promise<GatewayChoice> {
  if (o.want === false) return {};
  const problem = gatewayAuthProblem(o.auth);
  if (problem) return o.want ? { error: { message: `--gateway: ${problem}`, hint: 'use a PAT or OAuth token with --gateway, or leave --gateway out' } } : {};
  if (!o.verify) return o.want ? { error: { message: '--gateway needs the account check (SHOW AI GATEWAYS)', hint: 'leave out --no-verify, or write api_base: https://<host>/api/v2/aigateways/SNOWFLAKE yourself' } } : {};
  const endpoint = await discover(o.apiBase, o.auth);
  if (!endpoint) {
    return o.want
      ? { error: { message: '--gateway: SHOW AI GATEWAYS lists no Cortex AI Gateway for this account (or the SQL API did not answer)', hint: 'the gateway is a preview in AWS commercial regions; leave out --gateway to use /api/v2/cortex' } }
      : {};
  }
  if (o.want || (o.confirm && (await o.confirm(endpoint)))) return { endpoint, note: `chat goes through the Cortex AI Gateway ${endpoint} (embeddings and the model list through the account)` };
  return { note: `this account has a Cortex AI Gateway (${endpoint}): run init again with --gateway to send chat through it (allowlist, traces, budgets)` };
}
