// `usage --snowflake`: Snowflake's own per-request figures from SNOWFLAKE.ACCOUNT_USAGE.CORTEX_REST_API_USAGE_HISTORY
// (reference/cortex-api.md §10.2), read through the SQL API (§10.3) with the deployment's credential, and matched
// to the local usage log by request id (the X-Snowflake-Request-ID the proxy recorded).
import { randomUUID } from 'node:crypto';
import type { Deployment } from '../config/types.js';
import { authHeaders } from '../snowflake/auth.js';
import { USER_AGENT } from '../cortex/client.js';
import type { UsageRecord } from './record.js';

export const USAGE_VIEW = 'SNOWFLAKE.ACCOUNT_USAGE.CORTEX_REST_API_USAGE_HISTORY';

/** The quickstart's query, per request instead of per model, so rows can be matched by request id. */
export function usageHistoryStatement(since: number, now = Date.now()): string {
  const where = Number.isFinite(since) ? ` WHERE START_TIME >= DATEADD(second, -${Math.max(1, Math.ceil((now - since) / 1000))}, CURRENT_TIMESTAMP())` : '';
  return `SELECT START_TIME, REQUEST_ID, MODEL_NAME, TOKENS, TOKENS_GRANULAR FROM ${USAGE_VIEW}${where} ORDER BY START_TIME`;
}

export class SqlApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface StatementOptions {
  warehouse?: string;
  role?: string;
  /** Seconds Snowflake may run the statement (default 60). */
  timeoutSeconds?: number;
}

type Json = Record<string, any>;

/** Runs one statement and returns every row (all partitions), values as strings or null. */
export async function runStatement(d: Deployment, statement: string, opts: StatementOptions = {}): Promise<{ columns: string[]; rows: Array<Array<string | null>> }> {
  const timeout = opts.timeoutSeconds ?? 60;
  const deadline = Date.now() + (timeout + 30) * 1000;
  const credential = await authHeaders(d.auth);
  const headers = { ...credential, 'content-type': 'application/json', accept: 'application/json', 'user-agent': USER_AGENT };
  const body: Json = { statement, timeout, parameters: { query_tag: 'cortex-proxy-usage' } };
  if (opts.warehouse) body.warehouse = opts.warehouse;
  if (opts.role) body.role = opts.role;
  const origin = new URL(d.apiBase).origin;

  const call = async (method: 'GET' | 'POST', url: string, payload?: Json): Promise<{ status: number; json: Json }> => {
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: payload ? JSON.stringify(payload) : undefined,
        signal: AbortSignal.timeout(Math.max(1000, deadline - Date.now())),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new SqlApiError(`cannot reach ${new URL(url).host} (${cause})`, 0);
    }
    const text = await res.text();
    let json: Json = {};
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    if (res.status === 200 || res.status === 202) return { status: res.status, json };
    throw explain(res.status, json, text);
  };

  let r = await call('POST', `${d.apiBase}/statements?requestId=${randomUUID()}`, body);
  // 202: still running; poll its status URL until it is done.
  while (r.status === 202) {
    if (Date.now() > deadline) throw new SqlApiError(`the usage query did not finish within ${timeout} s`, 408);
    await new Promise((ok) => setTimeout(ok, 1000));
    const url = typeof r.json.statementStatusUrl === 'string' ? new URL(r.json.statementStatusUrl, origin).href : `${d.apiBase}/statements/${r.json.statementHandle}`;
    r = await call('GET', url);
  }
  const meta = r.json.resultSetMetaData ?? {};
  const columns: string[] = Array.isArray(meta.rowType) ? meta.rowType.map((c: Json) => String(c?.name ?? '')) : [];
  const rows: Array<Array<string | null>> = Array.isArray(r.json.data) ? [...r.json.data] : [];
  const partitions = Array.isArray(meta.partitionInfo) ? meta.partitionInfo.length : 1;
  for (let p = 1; p < partitions; p++) {
    const more = await call('GET', `${d.apiBase}/statements/${encodeURIComponent(String(r.json.statementHandle))}?partition=${p}`);
    if (Array.isArray(more.json.data)) rows.push(...more.json.data);
  }
  return { columns, rows };
}

function explain(status: number, json: Json, text: string): SqlApiError {
  const msg = typeof json.message === 'string' ? json.message : text.slice(0, 200) || `HTTP ${status}`;
  const code = typeof json.code === 'string' ? json.code : undefined;
  if (status === 401) return new SqlApiError(`Snowflake rejected the credential for the SQL API (401): ${msg}`, status, code);
  if (status === 403)
    return new SqlApiError(
      `Snowflake refused the SQL API call (403): ${msg}. The role needs IMPORTED PRIVILEGES on database SNOWFLAKE (GRANT IMPORTED PRIVILEGES ON DATABASE SNOWFLAKE TO ROLE <role>), or pass --role`,
      status,
      code,
    );
  if (code === '000606') return new SqlApiError(`${msg} — pass --warehouse <name> (or set SNOWFLAKE_WAREHOUSE)`, status, code);
  return new SqlApiError(`the SQL API answered ${status}: ${msg}`, status, code);
}

export interface SnowflakeRow {
  requestId: string;
  model: string;
  /** ms since the epoch */
  start: number;
  tokens: number;
  input: number;
  output: number;
  cacheRead: number;
}

/** TIMESTAMP_LTZ in jsonv2 is "seconds.fraction" (optionally with a zone offset); ISO strings are accepted too. */
function timestamp(v: string | null): number {
  if (!v) return NaN;
  const m = /^(-?\d+(?:\.\d+)?)(?:\s+[+-]?\d+)?$/.exec(v.trim());
  return m ? Number(m[1]) * 1000 : Date.parse(v);
}

export function parseRows(result: { columns: string[]; rows: Array<Array<string | null>> }): SnowflakeRow[] {
  const idx = (name: string) => result.columns.findIndex((c) => c.toUpperCase() === name);
  const [iStart, iId, iModel, iTokens, iGran] = ['START_TIME', 'REQUEST_ID', 'MODEL_NAME', 'TOKENS', 'TOKENS_GRANULAR'].map(idx);
  return result.rows.map((row) => {
    let g: Json = {};
    try {
      g = iGran >= 0 && row[iGran] ? JSON.parse(row[iGran]!) : {};
    } catch {
      /* not JSON */
    }
    const num = (v: unknown) => (Number.isFinite(Number(v)) ? Number(v) : 0);
    return {
      requestId: iId >= 0 ? String(row[iId] ?? '') : '',
      model: iModel >= 0 ? String(row[iModel] ?? '') : '',
      start: iStart >= 0 ? timestamp(row[iStart]) : NaN,
      tokens: iTokens >= 0 ? num(row[iTokens]) : 0,
      input: num(g.input),
      output: num(g.output),
      cacheRead: num(g.cache_read_input),
    };
  });
}

export interface ModelComparison {
  model: string;
  /** Rows in Snowflake's view for this model (all clients of the account, not only this proxy). */
  snowflake_requests: number;
  snowflake_tokens: number;
  /** Local records for this Cortex model. */
  local_requests: number;
  local_tokens: number;
  /** Local records found in Snowflake's view, and both sides' tokens for exactly those requests. */
  matched_requests: number;
  matched_local_tokens: number;
  matched_snowflake_tokens: number;
}

export interface Comparison {
  models: ModelComparison[];
  /** Local requests with a request id that Snowflake's view does not show (yet: ACCOUNT_USAGE views lag up to 45 minutes, https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-rest-api#monitoring-usage). */
  unmatched_local: number;
  /** Matched requests whose token counts differ (first 20). */
  differences: Array<{ request_id: string; model: string; local_tokens: number; snowflake_tokens: number }>;
}

export function compare(local: UsageRecord[], rows: SnowflakeRow[]): Comparison {
  const byId = new Map(rows.map((r) => [r.requestId, r]));
  const models = new Map<string, ModelComparison>();
  const get = (m: string) => {
    let c = models.get(m);
    if (!c) {
      c = { model: m, snowflake_requests: 0, snowflake_tokens: 0, local_requests: 0, local_tokens: 0, matched_requests: 0, matched_local_tokens: 0, matched_snowflake_tokens: 0 };
      models.set(m, c);
    }
    return c;
  };
  for (const r of rows) {
    const c = get(r.model);
    c.snowflake_requests++;
    c.snowflake_tokens += r.tokens;
  }
  let unmatched = 0;
  const differences: Comparison['differences'] = [];
  for (const rec of local) {
    if (!rec.request_id || (!rec.prompt_tokens && !rec.completion_tokens && rec.status >= 400)) continue; // refused: Snowflake bills nothing
    const tokens = rec.prompt_tokens + rec.completion_tokens;
    const c = get(rec.cortex_model ?? rec.model ?? '(none)');
    c.local_requests++;
    c.local_tokens += tokens;
    const sf = byId.get(rec.request_id);
    if (!sf) {
      unmatched++;
      continue;
    }
    c.matched_requests++;
    c.matched_local_tokens += tokens;
    c.matched_snowflake_tokens += sf.tokens;
    if (sf.tokens !== tokens && differences.length < 20)
      differences.push({ request_id: rec.request_id, model: c.model, local_tokens: tokens, snowflake_tokens: sf.tokens });
  }
  return { models: [...models.values()].sort((a, b) => b.snowflake_tokens + b.local_tokens - (a.snowflake_tokens + a.local_tokens)), unmatched_local: unmatched, differences };
}
