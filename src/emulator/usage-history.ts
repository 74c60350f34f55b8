// SNOWFLAKE.ACCOUNT_USAGE.CORTEX_REST_API_USAGE_HISTORY (reference/cortex-api.md §10.2) for the emulator's SQL API,
// synthesised from the inference:complete requests it answered: one row per answered request, REQUEST_ID = the
// X-Snowflake-Request-ID it sent (inference:complete and the v1 chat endpoints alike), TOKENS_GRANULAR = {"input","output"} from the usage it reported. Unlike the real
// view there is no delay. Understood statements:
//
//   SELECT <columns> FROM SNOWFLAKE.ACCOUNT_USAGE.CORTEX_REST_API_USAGE_HISTORY
//     [WHERE START_TIME >= DATEADD(<unit>, -<n>, CURRENT_TIMESTAMP())] [ORDER BY START_TIME]
//   SELECT MODEL_NAME, SUM(TOKENS) AS tokens FROM … [WHERE …] GROUP BY 1        (the Cursor quickstart's query)
//
// <columns>: START_TIME, END_TIME, REQUEST_ID, MODEL_NAME, TOKENS, TOKENS_GRANULAR, USER_ID, INFERENCE_REGION.
import { addStatementPattern, SqlError, type Column, type StatementContext } from './statements.js';
import type { ReceivedRequest } from './types.js';

/** The chat endpoints Snowflake bills as Cortex REST API usage. */
const CHAT_PATHS = new Set(['/api/v2/cortex/inference:complete', '/api/v2/cortex/v1/chat/completions', '/api/v2/cortex/v1/messages']);

const UNIT_MS: Record<string, number> = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

const COLUMNS: Record<string, { type: string; value: (r: ReceivedRequest, ctx: StatementContext) => string | null }> = {
  START_TIME: { type: 'timestamp_ltz', value: (r) => epoch(r.startedAt) },
  END_TIME: { type: 'timestamp_ltz', value: (r) => epoch(r.endedAt ?? r.startedAt) },
  REQUEST_ID: { type: 'text', value: (r) => r.id },
  MODEL_NAME: { type: 'text', value: (r) => String((r.body as { model?: unknown })?.model ?? '') },
  TOKENS: { type: 'fixed', value: (r) => String(r.reply!.usage.total_tokens) },
  TOKENS_GRANULAR: {
    type: 'object',
    value: (r) => JSON.stringify({ input: r.reply!.usage.prompt_tokens, output: r.reply!.usage.completion_tokens }),
  },
  USER_ID: { type: 'text', value: () => '1' },
  INFERENCE_REGION: { type: 'text', value: (_r, ctx) => ctx.account.region },
};

/** jsonv2 renders TIMESTAMP_LTZ as seconds since the epoch with nine decimals. */
const epoch = (ms: number) => (ms / 1000).toFixed(9);

addStatementPattern({
  pattern:
    /^SELECT (.+?) FROM SNOWFLAKE\.ACCOUNT_USAGE\.CORTEX_REST_API_USAGE_HISTORY(?: WHERE START_TIME >= DATEADD\((\w+?)s?, ?-(\d+), ?CURRENT_TIMESTAMP\(\)\))?( GROUP BY 1)?(?: ORDER BY START_TIME(?: ASC)?)?$/i,
  run(m, ctx) {
    let since = -Infinity;
    if (m[2]) {
      const unit = UNIT_MS[m[2].toLowerCase()];
      if (!unit) throw new SqlError(`SQL compilation error: the emulator does not know the DATEADD unit '${m[2]}'`);
      since = Date.now() - Number(m[3]) * unit;
    }
    const served = ctx.requests.filter((r) => CHAT_PATHS.has(r.path) && r.outcome === 'ok' && r.reply && r.startedAt >= since);
    const items = m[1].split(',').map((s) => s.trim());
    if (m[4]) {
      // MODEL_NAME, SUM(TOKENS) [AS x], COUNT(*) [AS y] … GROUP BY 1
      if (items[0].toUpperCase() !== 'MODEL_NAME') throw new SqlError('SQL compilation error: the emulator groups only by MODEL_NAME');
      const aggs = items.slice(1).map((it) => {
        const a = /^(SUM\(TOKENS\)|COUNT\(\*\))(?: AS (\w+))?$/i.exec(it);
        if (!a) throw new SqlError(`SQL compilation error: the emulator cannot aggregate '${it}'`, '000904');
        return { sum: a[1].toUpperCase().startsWith('SUM'), name: (a[2] ?? a[1]).toUpperCase() };
      });
      const groups = new Map<string, number[]>();
      for (const r of served) {
        const model = COLUMNS.MODEL_NAME.value(r, ctx) ?? '';
        const acc = groups.get(model) ?? aggs.map(() => 0);
        aggs.forEach((a, i) => (acc[i] += a.sum ? r.reply!.usage.total_tokens : 1));
        groups.set(model, acc);
      }
      const columns: Column[] = [{ name: 'MODEL_NAME', type: 'text' }, ...aggs.map((a) => ({ name: a.name, type: 'fixed' }))];
      return { columns, rows: [...groups].map(([model, acc]) => [model, ...acc.map(String)]) };
    }
    const cols = items.map((it) => {
      const name = it.toUpperCase();
      const c = COLUMNS[name];
      if (!c) throw new SqlError(`SQL compilation error: invalid identifier '${it}'`, '000904');
      return { name, ...c };
    });
    return {
      columns: cols.map((c) => ({ name: c.name, type: c.type })),
      rows: served.map((r) => cols.map((c) => c.value(r, ctx))),
    };
  },
});
