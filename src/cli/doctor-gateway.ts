// doctor's Cortex AI Gateway checks (docs/ai-gateway.md), run once the SQL API answers for an account:
//   - SHOW AI GATEWAYS: the endpoint Snowflake says to use [I] (private connectivity: another host). A config that
//     uses the gateway is compared with it; a config that does not is told the gateway exists and how to turn it on.
//   - SNOWFLAKE.LOCAL.MY_BUDGET_SUMMARY(): the caller's own AI quota status, quoted as Snowflake returns it (its result
//     shape is not published); a BLOCKED status is a warning (every gateway request will be refused until it resets).
// USAGE on the gateway and CORTEX_USER are checked by the model probes, which go through the gateway's paths.
// [I] https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-ai-gateway/inference
import type { Deployment } from '../config/types.js';
import { column, runSql } from '../snowflake/sql.js';
import type { Target } from '../snowflake/http.js';
import { splitGatewayBase } from '../cortex/gateway.js';
import { normaliseApiBase } from '../config/account.js';
import { scrubSnowflakeText } from '../cortex/snowflake-errors.js';
import type { Check } from './offline-checks.js';

/** The gateway endpoint a SHOW AI GATEWAYS row names, normalised like an api_base, or undefined. */
function endpointOf(raw: string | null | undefined): string | undefined {
  if (!raw) return undefined;
  try {
    return splitGatewayBase(normaliseApiBase(raw.trim()).url)?.gateway;
  } catch {
    return undefined;
  }
}

const oneLine = (s: string) => scrubSnowflakeText(s.replace(/\s+/g, ' ').trim()).slice(0, 300);

export async function gatewayChecks(target: Target, deployments: Deployment[], add: (c: Check) => void, sfx: string, warehouse?: string): Promise<void> {
  const using = deployments.filter((d) => d.apiBase === target.apiBase && d.gateway);
  const show = await runSql(target, 'SHOW AI GATEWAYS', { warehouse });
  if (!show.ok) {
    add({
      id: 'gateway-sql',
      title: `AI Gateway (SQL API)${sfx}`,
      status: using.length ? 'warn' : 'skip',
      detail: `SHOW AI GATEWAYS failed (HTTP ${show.status}: ${oneLine(show.message)})${using.length ? '; the model checks still try the gateway' : ''}`,
      fix: using.length ? 'the Cortex AI Gateway is a preview in AWS commercial regions; check the region, or remove cortex_gateway' : undefined,
    });
    return;
  }
  const endpoints = show.rows.map((r) => endpointOf(column(show, r, 'base_url') ?? r.find((v) => typeof v === 'string' && /^https:\/\//.test(v)))).filter((e): e is string => !!e);
  if (endpoints.length === 0) {
    add({
      id: 'gateway-sql',
      title: `AI Gateway (SQL API)${sfx}`,
      status: using.length ? 'fail' : 'ok',
      detail: using.length ? 'the config sends chat through the Cortex AI Gateway, but SHOW AI GATEWAYS lists none for this account' : 'this account has no Cortex AI Gateway (SHOW AI GATEWAYS lists none); chat goes to /api/v2/cortex',
      fix: using.length ? 'remove cortex_gateway (or the gateway api_base): the gateway is a preview in AWS commercial regions only' : undefined,
    });
    return;
  }
  if (using.length === 0) {
    add({ id: 'gateway-sql', title: `AI Gateway (SQL API)${sfx}`, status: 'ok', detail: `this account has a Cortex AI Gateway at ${endpoints[0]}; the config does not use it`, fix: 'to send chat through it (allowlist, traces, budgets): general_settings.cortex_gateway: true (docs/ai-gateway.md)' });
    return;
  }
  const configured = [...new Set(using.map((d) => d.gateway!))];
  const unknown = configured.filter((g) => !endpoints.some((e) => e.toLowerCase() === g.toLowerCase()));
  add(
    unknown.length
      ? { id: 'gateway-sql', title: `AI Gateway (SQL API)${sfx}`, status: 'warn', detail: `SHOW AI GATEWAYS says the endpoint is ${endpoints.join(', ')}; the config uses ${unknown.join(', ')}`, fix: `set api_base to ${endpoints[0]} (accounts with private connectivity reach the gateway on another host)` }
      : { id: 'gateway-sql', title: `AI Gateway (SQL API)${sfx}`, status: 'ok', detail: `${endpoints[0]} (as SHOW AI GATEWAYS returns it) serves ${using.map((d) => d.modelName).join(', ')}` },
  );
  const budget = await runSql(target, 'SELECT SNOWFLAKE.LOCAL.MY_BUDGET_SUMMARY()', { warehouse });
  if (!budget.ok) {
    add({ id: 'gateway-quota', title: `AI quota${sfx}`, status: 'skip', detail: `SNOWFLAKE.LOCAL.MY_BUDGET_SUMMARY() is not readable (HTTP ${budget.status}: ${oneLine(budget.message)})` });
    return;
  }
  const text = budget.rows.map((r) => r.filter((v) => v !== null).join(' ')).join('; ');
  const blocked = /\bBLOCKED\b/i.test(text) && !/"?status"?\s*:\s*"?(?:ACTIVE|UNBLOCKED)/i.test(text);
  add({
    id: 'gateway-quota',
    title: `AI quota${sfx}`,
    status: blocked ? 'warn' : 'ok',
    detail: text ? `MY_BUDGET_SUMMARY(): ${oneLine(text)}` : 'MY_BUDGET_SUMMARY() returned no quota for this user',
    fix: blocked ? 'the per-user AI quota is used up: gateway requests are refused until the quota cycle resets or an admin raises the limit' : undefined,
  });
}
