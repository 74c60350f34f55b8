// `cortex-proxy doctor`: the quickstart's steps 1–2 and its troubleshooting table, automated. One ✓/✗ line per
// check, a fix under each ✗, `--json` for machines, exit code 1 when anything failed (warnings do not fail).
//
// Checks, in order: config parses · env vars present · PAT form (pat/ or bare) · token type (and expiry) ·
// account host resolves and answers · credential accepted (401/403 explained) · region and cross-region (SQL API,
// when allowed) · each model answers a 1-token request on each wire · proxy port free or already ours ·
// master key strength · .env mode.
import { gatewayNotes } from '../cortex/gateway.js';
import { gatewayChecks } from './doctor-gateway.js';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import net from 'node:net';
import { request } from 'undici';
import type { Deployment } from '../config/types.js';
import { WIRES, wiresFor } from '../cortex/wires.js';
import { classifyRefusal, listModels, nearestModel, probeModel, staticToken, RESTART_NOTE, type ModelsResult, type Refusal } from '../snowflake/diagnose.js';
import { NetworkFailure, hostOf, type Target } from '../snowflake/http.js';
import { column, runSql } from '../snowflake/sql.js';
import { loadContext, type ConfigContext } from './config-context.js';
import { formatChecks, masterKeyCheck, missingVarsCheck, tokenCheck, type Check } from './offline-checks.js';
import { colorsFor } from './ui.js';

export interface DoctorOptions {
  config?: string;
  port: string;
  warehouse?: string;
  json?: boolean;
}

export type { Check } from './offline-checks.js';

export async function doctor(opts: DoctorOptions): Promise<void> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    process.stderr.write(`cortex-proxy: --port must be a number from 1 to 65535 (got '${opts.port}')\n`);
    process.exit(2);
  }
  const checks = await runChecks(loadContext(opts.config), port, opts.warehouse);
  const failed = checks.filter((c) => c.status === 'fail').length;
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ok: failed === 0, failed, checks }, null, 2) + '\n');
  } else {
    const c = colorsFor(process.stdout);
    const out = formatChecks(checks, c);
    const warned = checks.filter((k) => k.status === 'warn').length;
    out.push('');
    out.push(
      failed === 0
        ? c.green(`All checks passed${warned ? ` (${warned} warning${warned > 1 ? 's' : ''})` : ''}.`) + ' Next: cortex-proxy serve'
        : c.red(`${failed} check${failed > 1 ? 's' : ''} failed.`) + ' Fix the ✗ lines above and run cortex-proxy doctor again.',
    );
    process.stdout.write(out.join('\n') + '\n');
  }
  process.exitCode = failed === 0 ? 0 : 1;
}

export async function runChecks(ctx: ConfigContext, port: number, warehouse?: string): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);

  // ── config parses, env vars present ──
  const envOnly = ctx.error && /is not set/.test(ctx.error.detail);
  if (ctx.error && !envOnly) add({ id: 'config', title: 'config', status: 'fail', detail: oneLine(ctx.error.message.split('\n')[0]), fix: ctx.error.hint });
  else if (ctx.config?.demo) add({ id: 'config', title: 'config', status: 'fail', detail: 'no account configured: serve would start in demo mode', fix: 'run cortex-proxy init (or set SNOWFLAKE_ACCOUNT and SNOWFLAKE_PAT)' });
  else if (ctx.file) {
    const count = ctx.config ? new Set(ctx.config.deployments.map((d) => d.modelName)).size : 0;
    const n = ctx.config ? `${count} model${count === 1 ? '' : 's'}` : 'parses';
    const ws = ctx.config?.warnings ?? [];
    const warn = ws.length ? `; ${ws.length} warning${ws.length > 1 ? 's' : ''} below` : '';
    add({ id: 'config', title: 'config', status: warn ? 'warn' : 'ok', detail: `${ctx.file}: ${n}${warn}`, fix: warn ? 'see the warnings' : undefined });
  } else add({ id: 'config', title: 'config', status: 'ok', detail: 'no file: zero-config from SNOWFLAKE_ACCOUNT + SNOWFLAKE_PAT' });
  // Every warning, each once (serve prints the same list at start-up).
  if (ctx.config && !ctx.config.demo) for (const w of ctx.config.warnings) add({ id: 'config-warning', title: 'config warning', status: 'warn', detail: oneLine(w) });
  // Which calls go through the Cortex AI Gateway and which stay on the account path (cortex/gateway.ts).
  if (ctx.config) for (const note of gatewayNotes(ctx.config)) add({ id: 'gateway', title: 'AI Gateway', status: 'ok', detail: note });

  if (ctx.file) {
    const dotEnv = ctx.envFiles.length ? ctx.envFiles.join(', ') : `${dirOf(ctx.file)}/.env`;
    const missing = missingVarsCheck(ctx.refs, ctx.env, dotEnv);
    if (missing) add(missing);
    else add({ id: 'env', title: 'environment variables', status: 'ok', detail: ctx.refs.length ? `${ctx.refs.join(', ')} set${ctx.envFiles.length ? ` (.env: ${ctx.envFiles.join(', ')})` : ''}` : 'the config refers to none' });
  } else if (!ctx.config?.demo) add({ id: 'env', title: 'environment variables', status: ctx.error ? 'fail' : 'ok', detail: ctx.error ? oneLine(ctx.error.detail) : 'SNOWFLAKE_ACCOUNT and SNOWFLAKE_PAT set', fix: ctx.error?.hint });

  const config = ctx.config && !ctx.config.demo ? ctx.config : undefined;
  const skip = (id: string, title: string, why: string) => add({ id, title, status: 'skip', detail: `skipped: ${why}` });
  if (!config) {
    for (const [id, title] of [['pat', 'PAT form'], ['token', 'token type'], ['host', 'account host'], ['credential', 'credential'], ['sql', 'region (SQL API)'], ['models', 'models']])
      skip(id, title, 'needs a loaded config');
  } else await accountChecks(ctx, config.deployments, add, warehouse);

  // ── port, master key, .env mode (need no account) ──
  add(await portCheck(port));
  add(masterKeyCheck(ctx.masterKey));
  if (process.platform === 'win32') skip('env-mode', '.env mode', 'file modes do not apply on Windows');
  else if (!ctx.envFiles.length) skip('env-mode', '.env mode', 'no .env file');
  else {
    const open = ctx.envFiles.filter((f) => (fs.statSync(f).mode & 0o077) !== 0);
    add(open.length ? { id: 'env-mode', title: '.env mode', status: 'fail', detail: `readable by other users: ${open.map((f) => `${f} (${(fs.statSync(f).mode & 0o777).toString(8)})`).join(', ')}`, fix: `chmod 600 ${open.join(' ')}` } : { id: 'env-mode', title: '.env mode', status: 'ok', detail: `0600: ${ctx.envFiles.join(', ')}` });
  }
  return checks;
}

async function accountChecks(ctx: ConfigContext, deployments: Deployment[], add: (c: Check) => void, warehouse?: string): Promise<void> {
  // One account check per distinct (api_base, credential); almost always one.
  const targets = new Map<string, Target>();
  for (const d of deployments) targets.set(`${d.apiBase}\u0000${credentialKey(d)}`, { apiBase: d.apiBase, auth: d.auth });
  const refusedTargets = new Set<string>();
  let available: string[] | undefined;
  let region: string | undefined;
  let crossRegion: string | undefined;
  const many = targets.size > 1;

  for (const [tkey, target] of targets) {
    const host = hostOf(target.apiBase);
    const sfx = many ? ` (${host})` : '';
    // PAT form and token type
    const token = staticToken(target.auth);
    if (target.auth.type !== 'pat' || token === undefined) {
      add({ id: 'pat', title: `PAT form${sfx}`, status: 'skip', detail: `skipped: the credential is ${target.auth.type}, not a PAT` });
      add({ id: 'token', title: `token type${sfx}`, status: 'ok', detail: `${target.auth.type} (X-Snowflake-Authorization-Token-Type set to match)` });
    } else {
      const prefixed = ctx.refs.some((n) => ctx.env[n]?.trim() === `pat/${token}`) || ctx.env.SNOWFLAKE_PAT?.trim() === `pat/${token}`;
      add({ id: 'pat', title: `PAT form${sfx}`, status: 'ok', detail: prefixed ? 'pat/<token> (the LiteLLM form; the prefix is stripped)' : 'bare token (fine: the pat/ prefix is optional)' });
      add(tokenCheck(token, `token type${sfx}`, RESTART_NOTE));
    }

    // host resolves and answers; credential accepted
    const hostname = new URL(target.apiBase).hostname.replace(/^\[|\]$/g, '');
    let address: string;
    try {
      address = net.isIP(hostname) ? hostname : (await dns.lookup(hostname)).address;
    } catch (err) {
      add({ id: 'host', title: `account host${sfx}`, status: 'fail', detail: `cannot resolve ${hostname} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, fix: 'check the account identifier in api_base / SNOWFLAKE_ACCOUNT: orgname-accountname (Snowsight → account menu → account identifier), or a locator such as xy12345.us-east-2.aws' });
      add({ id: 'credential', title: `credential${sfx}`, status: 'skip', detail: 'skipped: the host does not resolve' });
      refusedTargets.add(tkey);
      continue;
    }
    let models: ModelsResult;
    const t0 = performance.now();
    try {
      models = await listModels(target);
    } catch (err) {
      if (!(err instanceof NetworkFailure)) throw err;
      add({ id: 'host', title: `account host${sfx}`, status: 'fail', detail: `${hostname} resolves (${address}) but ${err.message}`, fix: 'check your network, VPN or HTTPS proxy, and that the account identifier is right' });
      add({ id: 'credential', title: `credential${sfx}`, status: 'skip', detail: 'skipped: the host does not answer' });
      refusedTargets.add(tkey);
      continue;
    }
    const ms = Math.round(performance.now() - t0);
    add({ id: 'host', title: `account host${sfx}`, status: 'ok', detail: `${host} resolves (${address}) and answers (HTTP ${models.ok ? 200 : models.answer.status} in ${ms} ms)` });
    let refusal: Refusal | undefined;
    if (models.ok) {
      available = models.models;
      add({ id: 'credential', title: `credential${sfx}`, status: 'ok', detail: `accepted; ${models.models.length} models available to this account` });
    } else if (models.answer.status === 401 || models.answer.status === 403) {
      refusal = classifyRefusal(models.answer);
      add({ id: 'credential', title: `credential${sfx}`, status: 'fail', detail: refusal.detail, fix: refusal.fix });
      // A role without CORTEX_USER can still run SQL (to show the role); the other refusals block everything.
      if (refusal.cause !== 'no-cortex-role') refusedTargets.add(tkey);
    } else {
      add({ id: 'credential', title: `credential${sfx}`, status: 'warn', detail: `the models list answered HTTP ${models.answer.status}; the model checks below decide`, fix: 'none needed if the models answer' });
    }

    // region and cross-region via the SQL API, when this credential may use it
    if (refusedTargets.has(tkey)) add({ id: 'sql', title: `region (SQL API)${sfx}`, status: 'skip', detail: 'skipped: the credential was refused' });
    else {
      try {
        const who = await runSql(target, 'SELECT CURRENT_REGION(), CURRENT_ACCOUNT(), CURRENT_USER(), CURRENT_ROLE()', { warehouse });
        if (!who.ok) {
          const needsWh = who.code === '000606' || /warehouse/i.test(who.message);
          add({ id: 'sql', title: `region (SQL API)${sfx}`, status: 'skip', detail: `skipped: the SQL API is not available to this credential (HTTP ${who.status}: ${oneLine(who.message).slice(0, 160)})`, fix: needsWh ? 'pass --warehouse <name>' : undefined });
        } else {
          const row = who.rows[0] ?? [];
          region = row[0] ?? undefined;
          const role = row[3] ?? '?';
          const param = await runSql(target, "SHOW PARAMETERS LIKE 'CORTEX_ENABLED_CROSS_REGION' IN ACCOUNT", { warehouse });
          if (param.ok && param.rows[0]) crossRegion = column(param, param.rows[0], 'value') ?? undefined;
          const roleNote = refusal?.cause === 'no-cortex-role' ? ` — grant SNOWFLAKE.CORTEX_USER to role ${role}` : '';
          add({ id: 'sql', title: `region (SQL API)${sfx}`, status: 'ok', detail: `region ${region}, user ${row[2] ?? '?'}, role ${role}, cross-region inference ${crossRegion ?? 'unknown (SHOW PARAMETERS not allowed)'}${roleNote}` });
          await gatewayChecks(target, deployments, add, sfx, warehouse); // SHOW AI GATEWAYS, the AI quota (doctor-gateway.ts)
        }
      } catch (err) {
        if (!(err instanceof NetworkFailure)) throw err;
        add({ id: 'sql', title: `region (SQL API)${sfx}`, status: 'skip', detail: `skipped: ${err.message}` });
      }
    }
  }

  // each model on each wire it may use (cortex/wires.ts wiresFor: the router's own auto rules): its cortex_api, or for
  // auto the wire a plain request gets and the one after the account refused v1 (the proxy falls back between them),
  // so auto passes when any answers and the others are warnings.
  const probed = new Set<string>();
  const wires = Object.values(WIRES);
  for (const d of deployments) {
    if (d.cortexModel.includes('*')) {
      // A wildcard deployment serves whatever the account offers: nothing fixed to probe.
      add({ id: 'model', title: `model ${d.modelName}`, status: 'ok', detail: `wildcard: serves snowflake/${d.cortexModel} for the names it matches${available ? ` (${available.length} models on the account)` : ''}` });
      continue;
    }
    const tkey = `${d.apiBase}\u0000${credentialKey(d)}`;
    const key = `${tkey}\u0000${d.cortexModel}\u0000${d.wire}`;
    if (probed.has(key)) continue;
    probed.add(key);
    const title = (w: string) => `model ${d.modelName}${wires.length > 1 ? ` · ${w}` : ''}`;
    if (refusedTargets.has(tkey)) {
      add({ id: 'model', title: title(String(d.wire)), status: 'skip', detail: 'skipped: the credential was refused or the host is unreachable' });
      continue;
    }
    const results: Array<{ wire: string; r: Awaited<ReturnType<typeof probeModel>> }> = [];
    for (const wireName of wiresFor(d)) {
      const r = await probeModel({ ...d, wire: wireName }, WIRES[wireName]);
      if (!r.ok && r.reason === 'not-applicable') continue;
      results.push({ wire: wireName, r });
    }
    const anyOk = results.some((x) => x.r.ok);
    for (const { wire: w, r } of results) {
      if (r.ok) {
        add({ id: 'model', title: title(w), status: 'ok', detail: `${d.cortexModel} answered a 1-token request in ${r.ms} ms` });
        continue;
      }
      const near = available ? nearestModel(d.cortexModel, available) : undefined;
      const instead = near ? `use ${near} instead (model: snowflake/${near})` : 'pick a model from cortex-proxy models';
      let detail = r.detail;
      let fix: string | undefined;
      if (r.reason === 'region') {
        const where = region ? ` ${region}` : '';
        if (!crossRegion || crossRegion.toUpperCase() === 'DISABLED') {
          detail = `${d.cortexModel} is not available in your region${where} and cross-region inference is ${crossRegion ? 'DISABLED' : 'probably disabled'}`;
          fix = `an ACCOUNTADMIN runs ALTER ACCOUNT SET CORTEX_ENABLED_CROSS_REGION = 'ANY_REGION'; (or a region group such as 'AWS_US'), or ${instead}`;
        } else {
          detail = `${d.cortexModel} is not served in your region${where} nor through cross-region inference (${crossRegion})`;
          fix = `widen CORTEX_ENABLED_CROSS_REGION (e.g. 'ANY_REGION'), or ${instead}`;
        }
      } else if (r.reason === 'unknown-model') fix = `check the id in model: snowflake/${d.cortexModel}; ${instead}`;
      else if (r.reason === 'refused') fix = r.refusal?.fix;
      else if (r.reason === 'network') fix = 'check your network';
      if (anyOk) {
        // cortex_api auto: another wire answers, so the proxy works; say why this one does not.
        add({ id: 'model', title: title(w), status: 'warn', detail: `${detail} — cortex_api auto uses another wire for it`, fix: fix ?? 'none needed' });
      } else add({ id: 'model', title: title(w), status: 'fail', detail, fix });
    }
    if (!results.length) add({ id: 'model', title: title(String(d.wire)), status: 'fail', detail: `no wire can carry ${d.cortexModel}`, fix: 'check litellm_params.cortex_api for this model' });
  }
}

function credentialKey(d: Deployment): string {
  const t = staticToken(d.auth);
  return `${d.auth.type}:${t ? t.slice(-12) : JSON.stringify(Object.keys(d.auth))}`;
}

async function portCheck(port: number): Promise<Check> {
  const free = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    const s = net.createServer();
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(null)));
  });
  if (!free) return { id: 'port', title: 'proxy port', status: 'ok', detail: `127.0.0.1:${port} is free` };
  if (free.code !== 'EADDRINUSE') return { id: 'port', title: 'proxy port', status: 'fail', detail: `cannot listen on 127.0.0.1:${port} (${free.code})`, fix: 'pick another port with --port' };
  try {
    const r = await request(`http://127.0.0.1:${port}/health`, { headersTimeout: 3000, bodyTimeout: 3000 });
    const body = (await r.body.json().catch(() => undefined)) as { name?: string; version?: string; demo?: boolean } | undefined;
    if (r.statusCode === 200 && body?.name === 'cortex-proxy')
      return { id: 'port', title: 'proxy port', status: 'ok', detail: `127.0.0.1:${port} is already served by cortex-proxy ${body.version ?? ''}${body.demo ? ' (in demo mode)' : ''}`.trim() };
  } catch {
    /* not HTTP, or not answering */
  }
  return { id: 'port', title: 'proxy port', status: 'fail', detail: `127.0.0.1:${port} is taken by another program (not cortex-proxy)`, fix: `stop it (lsof -i :${port} shows which) or run cortex-proxy serve --port <another>` };
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function dirOf(file: string): string {
  return file.replace(/[/\\][^/\\]*$/, '') || '.';
}
