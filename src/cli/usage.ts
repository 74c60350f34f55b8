// `cortex-proxy usage`: totals and a table from the usage log, with estimated credits; --snowflake puts
// Snowflake's own figures (CORTEX_REST_API_USAGE_HISTORY) next to them, matched by request id.
import { loadConfigOrExit } from './config-context.js';
import type { Config, Deployment } from '../config/types.js';
import { defaultUsageDir } from '../usage/log.js';
import { mergeRates } from '../usage/rates.js';
import { aggregate, formatCsv, formatText, parseSince, readRecords, safeJson, safeText, table, type GroupBy } from '../usage/report.js';
import { compare, parseRows, runStatement, SqlApiError, usageHistoryStatement, USAGE_VIEW, type Comparison, type SnowflakeRow } from '../usage/snowflake.js';

export interface UsageOptions {
  config?: string;
  since: string;
  by: GroupBy;
  json?: boolean;
  csv?: boolean;
  snowflake?: boolean;
  warehouse?: string;
  role?: string;
  dir?: string;
}

async function teamRecords(config: Config, since: number) {
  const { openStore } = await import('../team/open-store.js');
  const store = await openStore(config.settings);
  try {
    return (await store.usageSince?.(since)) ?? [];
  } catch (err) {
    fail(`cannot read usage from ${store.where}: ${(err as Error).message}`);
  } finally {
    await store.close();
  }
}

export async function usage(opts: UsageOptions): Promise<void> {
  if (opts.json && opts.csv) fail('choose one of --json and --csv');
  let since: number;
  try {
    since = parseSince(opts.since);
  } catch (err) {
    fail((err as Error).message);
  }
  const config = loadConfigOrExit(opts.config, fail);
  const dir = opts.dir ?? config.settings.usageLogDir ?? defaultUsageDir();
  // A team gateway's replicas write their usage to PostgreSQL (team/pg-store.ts): read it there unless --dir says otherwise.
  const fromDb = Boolean(config.settings.databaseUrl && !opts.dir);
  const records = fromDb ? await teamRecords(config, since) : await readRecords(dir, since);
  const where = fromDb ? 'the team database (general_settings.database_url)' : dir;
  const rates = mergeRates(config.settings.creditRates);
  const report = aggregate(records, opts.by, rates);
  const period = Number.isFinite(since) ? `since ${new Date(since).toISOString().replace(/\.\d+Z$/, 'Z')}` : 'of all time';

  let sf: { rows: SnowflakeRow[]; comparison: Comparison } | undefined;
  if (opts.snowflake) {
    if (config.demo) fail('--snowflake needs a Snowflake account: set SNOWFLAKE_ACCOUNT and SNOWFLAKE_PAT, or pass --config litellm_config.yaml');
    const accounts = new Map<string, Deployment>();
    for (const d of config.deployments) if (!accounts.has(d.apiBase)) accounts.set(d.apiBase, d);
    const rows: SnowflakeRow[] = [];
    const statement = usageHistoryStatement(since);
    for (const d of accounts.values()) {
      try {
        const result = await runStatement(d, statement, { warehouse: opts.warehouse ?? process.env.SNOWFLAKE_WAREHOUSE?.trim() ?? undefined, role: opts.role });
        rows.push(...parseRows(result));
      } catch (err) {
        if (err instanceof SqlApiError) fail(`${USAGE_VIEW} on ${new URL(d.apiBase).host}: ${err.message}`);
        throw err;
      }
    }
    sf = { rows, comparison: compare(records, rows) };
  }

  if (opts.json) {
    const out = {
      period: { since: Number.isFinite(since) ? new Date(since).toISOString() : null, until: new Date().toISOString() },
      usage_log: where,
      by: opts.by,
      totals: report.totals,
      groups: report.groups,
      credits_are_estimates: true,
      unrated_models: report.unratedModels,
      ...(sf ? { snowflake: { view: USAGE_VIEW, rows: sf.rows.length, ...sf.comparison } } : {}),
    };
    process.stdout.write(safeJson(JSON.stringify(out, null, 2)) + '\n');
    return;
  }
  if (opts.csv) {
    process.stdout.write(formatCsv(report, opts.by));
    return;
  }
  if (records.length === 0) {
    process.stdout.write(`No requests recorded ${period} in ${where}.\n`);
    process.stdout.write('  (serve writes one record per request there unless general_settings.disable_spend_logs is true)\n');
  } else process.stdout.write(formatText(report, opts.by, period) + `  Usage log: ${where}\n`);
  if (sf) process.stdout.write('\n' + formatComparison(sf.comparison, sf.rows.length));
}

const n = (v: number) => v.toLocaleString('en-US');

function formatComparison(c: Comparison, rows: number): string {
  let s = `Snowflake's figures (${USAGE_VIEW}, ${n(rows)} rows; the view lags up to 45 minutes)\n\n`;
  s += table(
    ['cortex model', 'Snowflake requests', 'Snowflake tokens', 'local requests', 'local tokens', 'matched', 'matched: local / Snowflake tokens'],
    c.models.map((m) => [
      safeText(m.model),
      n(m.snowflake_requests),
      n(m.snowflake_tokens),
      n(m.local_requests),
      n(m.local_tokens),
      n(m.matched_requests),
      `${n(m.matched_local_tokens)} / ${n(m.matched_snowflake_tokens)}`,
    ]),
  );
  s += '\n\n';
  s += `Matched by request id: ${n(c.models.reduce((a, m) => a + m.matched_requests, 0))} local requests`;
  s += c.unmatched_local ? `; ${n(c.unmatched_local)} not in Snowflake's view yet.\n` : '.\n';
  s += "Snowflake's rows include every REST API call of the account, not only this proxy's.\n";
  for (const d of c.differences) s += `  differs: ${safeText(d.request_id)} (${safeText(d.model)}): local ${n(d.local_tokens)} tokens, Snowflake ${n(d.snowflake_tokens)}\n`;
  return s;
}

function fail(message: string): never {
  process.stderr.write(`cortex-proxy: ${message}\n`);
  process.exit(2);
}
