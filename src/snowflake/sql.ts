// A minimal Snowflake SQL API client (`POST /api/v2/statements`, reference/cortex-api.md §10.3): one synchronous
// statement, its first partition of rows as strings. Used by doctor (region, cross-region) and models (SHOW CORTEX
// BASE MODELS); usable by any feature that needs a query (usage history).
import { randomUUID } from 'node:crypto';
import { call, type Target } from './http.js';

export type SqlResult =
  | { ok: true; columns: string[]; rows: Array<Array<string | null>>; requestId?: string }
  | { ok: false; status: number; code?: string; sqlState?: string; message: string; requestId?: string };

export interface SqlOptions {
  warehouse?: string;
  role?: string;
  timeoutSeconds?: number;
}

export async function runSql(target: Target, statement: string, opts: SqlOptions = {}): Promise<SqlResult> {
  const body: Record<string, unknown> = {
    statement,
    timeout: opts.timeoutSeconds ?? 30,
    parameters: { query_tag: 'cortex-proxy' },
  };
  if (opts.warehouse) body.warehouse = opts.warehouse;
  if (opts.role) body.role = opts.role;
  const a = await call(target, 'POST', `/statements?requestId=${randomUUID()}`, body, {
    timeoutMs: ((opts.timeoutSeconds ?? 30) + 15) * 1000,
    headers: { accept: 'application/json' },
  });
  const o = (a.body && typeof a.body === 'object' ? a.body : {}) as Record<string, any>;
  if (a.status === 200 && Array.isArray(o.data)) {
    const columns = Array.isArray(o.resultSetMetaData?.rowType) ? o.resultSetMetaData.rowType.map((c: any) => String(c?.name ?? '')) : [];
    return { ok: true, columns, rows: o.data, requestId: a.requestId };
  }
  if (a.status === 202) {
    return { ok: false, status: 202, code: o.code, message: 'the statement is still running (asynchronous execution); try again', requestId: a.requestId };
  }
  const message = typeof o.message === 'string' ? o.message : a.text.slice(0, 300) || `HTTP ${a.status}`;
  return { ok: false, status: a.status, code: o.code, sqlState: o.sqlState, message, requestId: a.requestId };
}

/** The value of column `name` (case-insensitive) in a row. */
export function column(result: { columns: string[] }, row: Array<string | null>, name: string): string | null | undefined {
  const i = result.columns.findIndex((c) => c.toLowerCase() === name.toLowerCase());
  return i === -1 ? undefined : row[i];
}
