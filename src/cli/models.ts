// `cortex-proxy models`: the Cortex models the configured account can use, with context size, output limit, tool
// calling and vision from the catalogue (cortex/models.ts). Sources, first that works: GET /api/v2/cortex/models
// (with a {} body), SHOW CORTEX BASE MODELS through the SQL API, else a 1-token probe of each configured model.
import { modelInfo } from '../cortex/models.js';
import { completeWire } from '../cortex/complete.js';
import { classifyRefusal, listModels, probeModel } from '../snowflake/diagnose.js';
import { NetworkFailure, hostOf, type Target } from '../snowflake/http.js';
import { runSql } from '../snowflake/sql.js';
import { loadContextOrExit } from './config-context.js';
import { colorsFor, die } from './ui.js';

export interface ModelsOptions {
  config?: string;
  json?: boolean;
  warehouse?: string;
}

export async function models(opts: ModelsOptions): Promise<void> {
  const { config } = loadContextOrExit(opts.config);
  if (config.demo) die('no account is configured', 'run cortex-proxy init (or set SNOWFLAKE_ACCOUNT and SNOWFLAKE_PAT), then cortex-proxy models');
  const first = config.deployments[0];
  const target: Target = { apiBase: first.apiBase, auth: first.auth };
  const configuredAs = new Map<string, string[]>();
  for (const d of config.deployments) configuredAs.set(d.cortexModel, [...new Set([...(configuredAs.get(d.cortexModel) ?? []), d.modelName])]);

  let ids: string[] | undefined;
  let source = '';
  const notes: string[] = [];
  try {
    const r = await listModels(target);
    if (r.ok) {
      ids = r.models;
      source = 'GET /api/v2/cortex/models';
    } else if (r.answer.status === 401 || r.answer.status === 403) {
      const why = classifyRefusal(r.answer);
      if (why.cause !== 'no-cortex-role') die(`Snowflake refused the credential: ${why.detail}`, why.fix);
      notes.push(`the models endpoint answered ${r.answer.status}: ${why.detail}`);
    } else notes.push(`the models endpoint answered HTTP ${r.answer.status}`);
    if (!ids) {
      const sql = await runSql(target, 'SHOW CORTEX BASE MODELS', { warehouse: opts.warehouse });
      if (sql.ok) {
        const col = sql.columns.findIndex((c) => /^(name|model_name)$/i.test(c));
        ids = sql.rows.map((row) => row[col === -1 ? 0 : col]).filter((v): v is string => typeof v === 'string' && v !== '');
        source = 'SHOW CORTEX BASE MODELS (SQL API)';
      } else notes.push(`SHOW CORTEX BASE MODELS: HTTP ${sql.status} ${sql.message.slice(0, 120)}`);
    }
    if (!ids) {
      ids = [];
      for (const [cortexModel] of configuredAs) {
        const d = config.deployments.find((x) => x.cortexModel === cortexModel)!;
        const p = await probeModel({ ...d, wire: 'complete' }, completeWire);
        if (p.ok) ids.push(cortexModel);
        else notes.push(`${cortexModel}: ${p.detail}`);
      }
      source = 'a 1-token request to each configured model';
    }
  } catch (err) {
    if (err instanceof NetworkFailure) die(`cannot reach Snowflake: ${err.message}`, 'check the account identifier and your network (cortex-proxy doctor explains more)');
    throw err;
  }

  const rows = ids.map((id) => {
    const i = modelInfo(id);
    return { id, contextWindow: i.contextWindow, maxOutputTokens: i.maxOutputTokens, tools: i.tools, vision: i.vision, configuredAs: configuredAs.get(id) ?? [] };
  });
  rows.sort((a, b) => Number(b.configuredAs.length > 0) - Number(a.configuredAs.length > 0) || Number(b.tools) - Number(a.tools) || a.id.localeCompare(b.id));
  if (opts.json) {
    process.stdout.write(JSON.stringify({ account: hostOf(target.apiBase), source, models: rows, notes }, null, 2) + '\n');
    return;
  }
  const c = colorsFor(process.stdout);
  const k = (n: number) => (n >= 1000 ? `${Math.round(n / 1000)}k` : String(n));
  const table = [['model', 'context', 'output', 'tools', 'vision', 'configured as'], ...rows.map((r) => [r.id, k(r.contextWindow), k(r.maxOutputTokens), r.tools ? 'yes' : 'no', r.vision ? 'yes' : 'no', r.configuredAs.join(', ') || '-'])];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const lines = table.map((row, n) => {
    const line = row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
    return n === 0 ? c.bold(line) : line;
  });
  const unavailable = [...configuredAs.keys()].filter((m) => !ids!.includes(m));
  process.stdout.write(
    [
      `${rows.length} models available to ${hostOf(target.apiBase)} (from ${source}):`,
      '',
      ...lines,
      ...(unavailable.length ? ['', c.yellow(`configured but not available to this account: ${unavailable.join(', ')} (cortex-proxy doctor says why)`)] : []),
      ...(notes.length && source.startsWith('a 1-token') ? ['', ...notes.map((n) => c.dim(n))] : []),
      '',
      'Context and output limits, tools and vision come from cortex-proxy\'s catalogue; Snowflake may differ by region.',
    ].join('\n') + '\n',
  );
}
