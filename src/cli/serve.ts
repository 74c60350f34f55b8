// `cortex-proxy serve`: load the config (or fall back to demo mode), start the HTTP server, stop cleanly.
import { gatewayNotes } from '../cortex/gateway.js';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pc from 'picocolors';
import type { ConfigError } from '../config/load.js';
import { loadConfigOrExit } from './config-context.js';
import type { Config } from '../config/types.js';
import { createApp } from '../server/app.js';
import { createLogger, isLogLevel, type Logger, type LogLevel } from '../server/log.js';
import { envRefs, formatChecks, LOOPBACK, masterKeyCheck, missingVarsCheck, patsOf, tokenCheck, type Check } from './offline-checks.js';
import { colorsFor } from './ui.js';
import type { Emulator } from '../emulator/index.js';
import { randomId } from '../core/ids.js';
import { installFailedAuthLimit, installTunnelGuard } from '../server/tunnel-guard.js';
import { armShutdownDeadline } from '../server/shutdown.js';
import { reportCrashes } from '../server/crash.js';
import { planTunnel, startTunnel, tunnelBanner, type RunningTunnel } from './tunnel.js';
import { createStatusLine } from '../usage/status-line.js';
import { openUsageLog, telemetryOf } from '../usage/telemetry.js';
import { startTeam } from '../team/gateway.js';
import { clusterRole, joinCluster, runPrimary } from '../server/cluster.js';
import { workerCount } from '../server/cluster-settings.js';
import cluster from 'node:cluster';

export interface ServeOptions {
  config?: string;
  port: string;
  host: string;
  logLevel: string;
  /** --tunnel [tool]: a public HTTPS tunnel with cloudflared or ngrok (true: whichever is installed). */
  tunnel?: string | boolean;
  /** No live status line on the terminal. */
  quiet?: boolean;
  /** --workers N|auto: processes serving requests (server/cluster.ts); default general_settings.workers, else 1. */
  workers?: string;
}

export async function serve(opts: ServeOptions): Promise<void> {
  const level = opts.logLevel as LogLevel;
  if (!isLogLevel(level)) fail(`--log-level must be one of debug, info, warn, error, silent (got '${opts.logLevel}')`);
  // On a terminal, a live status line sits under the log (usage/status-line.ts); --quiet turns it off.
  // serve --workers: no status line (the workers' log lines share the terminal; /ui shows the figures).
  const status = createStatusLine(process.stderr, { enabled: !opts.quiet && !cluster.isWorker && (opts.workers ?? '1') === '1', color: pc.isColorSupported });
  const log = createLogger(level, status.write, { batch: true });
  reportCrashes(log); // through the logger, so registered secrets are redacted from the report
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a number from 0 to 65535 (got '${opts.port}')`);

  const config = loadConfigOrExit(opts.config, fail, missingVarsBlock);
  // doctor's offline checks (cli/offline-checks.ts), as one block; fatal only where the proxy could not work at all
  // or would run open. The network checks stay with doctor: start-up must not wait on Snowflake.
  // serve --workers N: a primary and N workers (server/cluster.ts); the primary checks, the workers serve.
  const workers = workerCount(opts.workers, config.settings.workers);
  if (typeof workers === 'string') fail(workers);
  const role = clusterRole(workers);
  if (role !== 'worker') startupChecks(config, opts.host, log);
  // --tunnel: refused without a strong master key or in demo mode; the tool is found before listening (cli/tunnel.ts).
  const tunnelPlan = opts.tunnel && role !== 'worker' ? planTunnel(opts.tunnel, config) : undefined;
  let tunnel: RunningTunnel | undefined;
  // Demo mode keeps apart what it writes (usage records marked demo, the embedded key store): in a private
  // temporary folder, removed at exit, never under the user's home (CORTEX_PROXY_USAGE_DIR still wins).
  let demoDir: string | undefined;
  if (config.demo && role !== 'worker') {
    const dir = (demoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-proxy-demo-')));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    if (!process.env.CORTEX_PROXY_USAGE_DIR?.trim()) config.settings.usageLogDir ??= path.join(demoDir, 'usage');
    config.settings.databasePath ??= path.join(demoDir, 'team');
  }
  if (role === 'primary') return servePrimary(config, opts, log, workers, port, tunnelPlan);
  const link = role === 'worker' ? await joinCluster() : undefined;

  let emulator: Emulator | undefined;
  if (config.demo && link?.init.demo) {
    config.settings.databasePath = link.init.demo.databasePath; // the primary's demo folder: one key store
    for (const d of config.deployments) {
      d.apiBase = link.init.demo.apiBase; // the primary's emulator
      d.auth = { type: 'pat', token: link.init.demo.token };
    }
  } else if (config.demo) {
    // Demo mode: the built-in emulator stands in for Snowflake, reachable only from this process.
    const token = randomId('demo-', 24);
    const { startEmulator } = await import('../emulator/index.js'); // demo mode only: a real start-up never loads it
    emulator = await startEmulator({ port: 0, host: '127.0.0.1', pats: [token], quiet: true });
    for (const d of config.deployments) {
      d.apiBase = emulator.apiBase;
      d.auth = { type: 'pat', token };
    }
  }

  const app = createApp(config, log);
  if (link) app.context.router.limits.use(link.limiter()); // deployments' rpm/tpm counted once for every worker
  app.context.browser.allowHost(opts.host); // the --host name (every interface: the machine's name too)
  const failedAuth = link?.failedAuthLimiter(); // serve --workers: one count for every worker
  const tunnelTool = tunnelPlan?.tool ?? link?.init.tunnelTool;
  if (tunnelTool) installTunnelGuard(app, log, tunnelTool, failedAuth); // forwarded client addresses, failed-key limiting
  else installFailedAuthLimit(app, log, failedAuth); // the same limit for clients on other machines (--host)
  const telemetry = telemetryOf(app.context)!;
  if (link) link.attach(app, telemetry); // records to the primary, the single writer of the usage log
  const usageLog = link ? undefined : openUsageLog(app.context, telemetry); // closed (flushed) by app.close()
  // Virtual keys, budgets and shared limits (team/gateway.ts): the embedded store, or PostgreSQL and Redis.
  const team = await startTeam(app.context, log, { memoryLimiter: link?.limiter() }).catch((err: Error) => fail(err.message));
  await new Promise<void>((resolve, reject) => {
    app.server.once('error', reject);
    app.server.listen(link ? link.init.port : port, opts.host, () => resolve());
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE') fail(`port ${port} on ${opts.host} is already in use: stop the other process (lsof -i :${port}) or pass --port.`);
    throw err;
  });
  const addr = app.server.address() as AddressInfo;
  if (link) {
    // A worker: the primary prints the banner, owns the tunnel and tells it when to stop.
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      armShutdownDeadline(app.server, config.settings.shutdownTimeoutMs, () => link.flushRecords());
      await app.close();
      await team.close();
      await link.flushRecords(); // the last usage records reach the primary before this process ends
      process.exit(0);
    };
    process.on('SIGINT', () => void stop()); // Ctrl-C reaches the whole process group
    process.on('SIGTERM', () => void stop());
    link.ready(addr, { keysInUse: team.keysInUse, keyCount: team.keyCount, store: `${team.store.kind === 'postgres' ? 'PostgreSQL ' : ''}${team.store.where}`, limits: team.limiter.kind }, () => void stop());
    return;
  }
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const base = `http://${host}:${addr.port}`;

  if (config.demo) {
    process.stderr.write(
      pc.yellow(pc.bold('\n  DEMO MODE') + ': no Snowflake account configured; answers come from the built-in Cortex emulator.\n') +
        pc.yellow('  Connect a real account: cortex-proxy init (or set SNOWFLAKE_ACCOUNT and SNOWFLAKE_PAT, or pass --config litellm_config.yaml).\n\n'),
    );
  }
  log.info(`cortex-proxy ${config.demo ? '(demo) ' : ''}listening on ${base} (config: ${config.source}; models: ${[...new Set(config.deployments.map((d) => d.modelName))].join(', ')})`);
  log.info(`OpenAI base URL: ${base}/v1${config.settings.masterKey ? ' (API key: the master key)' : team.keysInUse ? ' (API key: a virtual key)' : ' (no API key needed)'}`);
  // Machine-readable line for scripts and tests that start us with --port 0.
  process.stdout.write(`listening on ${base}\n`);
  log.info(`dashboard: ${base}/ui · metrics: ${base}/metrics · usage log: ${usageLog ? usageLog.dir : 'off (disable_spend_logs)'}${demoDir && usageLog?.dir.startsWith(demoDir) ? ' (demo: kept apart, removed at exit)' : ''}`);
  for (const note of gatewayNotes(config)) log.info(note); // which calls go through the Cortex AI Gateway (cortex/gateway.ts)
  log.info(`keys: ${team.keyCount} virtual key(s) in ${team.store.kind === 'postgres' ? 'PostgreSQL ' : ''}${team.store.where} · limits: ${team.limiter.kind === 'redis' ? 'shared (Redis)' : 'this process'}`);
  if (team.keysInUse && !config.settings.masterKey)
    log.info('virtual keys exist and no master key is set: every model request needs a virtual key (docs/admission.md); the /admin routes need a master key');
  status.attach({ totals: () => telemetry.live.totals, inFlight: () => telemetry.metrics.inFlightCount() });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1); // a second signal: stop now
    stopping = true;
    status.stop();
    // Past shutdown_timeout the streams still open are cut (their records still written), then we exit.
    armShutdownDeadline(app.server, config.settings.shutdownTimeoutMs, () => usageLog?.close() ?? Promise.resolve());
    const closed = app.close(); // stops listening now, so no connection is accepted once the line below is out
    log.info(`${signal}: finishing in-flight requests, then stopping`);
    await tunnel?.stop();
    await closed;
    await team.close(); // the last usage rows reach the store
    await emulator?.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // `npm start` runs us under `sh -c`: npm passes SIGTERM to that shell, which dies without passing it on, and we
  // would keep listening as an orphan. Under npm start, being re-parented means npm is gone: stop as if signalled.
  if (process.env.npm_lifecycle_event === 'start' && process.platform !== 'win32') {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) void stop('npm start exited');
    }, 250).unref();
  }
  if (tunnelPlan) {
    tunnel = await startTunnel(tunnelPlan, addr.port, log, () => void stop(`${tunnelPlan.tool} exited`)).catch((err: Error) => fail(err.message));
    app.context.browser.allowHost(tunnel.url); // clients reach us under the tunnel's public host
    process.stderr.write(tunnelBanner(tunnel.url, config));
    process.stdout.write(`tunnel ${tunnel.url}\n`); // machine-readable, like the listening line
  }
}

/** serve --workers N: the primary forks the workers, prints the banner once they all listen, owns the tunnel. */
async function servePrimary(config: Config, opts: ServeOptions, log: Logger, workers: number, port: number, tunnelPlan: ReturnType<typeof planTunnel> | undefined): Promise<void> {
  let emulator: Emulator | undefined;
  let demo: { apiBase: string; token: string; databasePath?: string } | undefined;
  if (config.demo) {
    const token = randomId('demo-', 24);
    const { startEmulator } = await import('../emulator/index.js');
    emulator = await startEmulator({ port: 0, host: '127.0.0.1', pats: [token], quiet: true });
    demo = { apiBase: emulator.apiBase, token, databasePath: config.settings.databasePath };
  }
  let tunnel: RunningTunnel | undefined;
  let listenPort = port;
  const primary = await runPrimary({
    config,
    log,
    workers,
    port,
    host: opts.host,
    demo,
    tunnelTool: tunnelPlan?.tool,
    onReady(base, realPort, team, usageDir, pids) {
      if (config.demo) {
        process.stderr.write(
          pc.yellow(pc.bold('\n  DEMO MODE') + ': no Snowflake account configured; answers come from the built-in Cortex emulator.\n') +
            pc.yellow('  Connect a real account: cortex-proxy init (or set SNOWFLAKE_ACCOUNT and SNOWFLAKE_PAT, or pass --config litellm_config.yaml).\n\n'),
        );
      }
      log.info(`cortex-proxy ${config.demo ? '(demo) ' : ''}listening on ${base} with ${workers} workers (pids ${pids.join(', ')}; config: ${config.source}; models: ${[...new Set(config.deployments.map((d) => d.modelName))].join(', ')})`);
      log.info(`OpenAI base URL: ${base}/v1${config.settings.masterKey ? ' (API key: the master key)' : team.keysInUse ? ' (API key: a virtual key)' : ' (no API key needed)'}`);
      process.stdout.write(`listening on ${base}\n`);
      log.info(`dashboard: ${base}/ui · metrics: ${base}/metrics (every worker's figures) · usage log: ${usageDir ?? 'off (disable_spend_logs)'}${config.demo && usageDir?.startsWith(os.tmpdir()) ? ' (demo: kept apart, removed at exit)' : ''}`);
      log.info(`keys: ${team.keyCount} virtual key(s) in ${team.store} · limits: ${team.limits === 'redis' ? 'shared (Redis)' : `shared by the ${workers} workers (this machine)`}`);
      listenPort = realPort;
    },
    async onStopped() {
      await tunnel?.stop();
      await emulator?.close();
    },
  });
  process.on('SIGINT', () => void primary.stop('SIGINT'));
  process.on('SIGTERM', () => void primary.stop('SIGTERM'));
  if (process.env.npm_lifecycle_event === 'start' && process.platform !== 'win32') {
    const parent = process.ppid; // npm start: re-parented means npm is gone (see serve above)
    setInterval(() => {
      if (process.ppid !== parent) void primary.stop('npm start exited');
    }, 250).unref();
  }
  if (tunnelPlan) {
    // The tunnel process belongs to the primary; the workers learn its public host name.
    tunnel = await startTunnel(tunnelPlan, listenPort, log, () => void primary.stop(`${tunnelPlan.tool} exited`)).catch((err: Error) => fail(err.message));
    primary.allowHost(tunnel.url);
    process.stderr.write(tunnelBanner(tunnel.url, config));
    process.stdout.write(`tunnel ${tunnel.url}\n`);
  }
}

/** The start-up block: config warnings, each static PAT's form and expiry, the master key for this address. */
function startupChecks(config: Config, host: string, log: Logger): void {
  const checks: Check[] = config.warnings.map((w) => ({ id: 'config', title: 'config', status: 'warn', detail: w }));
  let fatal: string | undefined;
  if (!config.demo) {
    const pats = patsOf(config.deployments);
    const results = pats.map((p) => tokenCheck(p.token, pats.length > 1 ? `token (${p.models.join(', ')})` : 'token', 'then start cortex-proxy serve again'));
    checks.push(...results.filter((r) => r.status !== 'ok'));
    // Every model's credential is unusable: nothing could be served.
    const unusable = results.filter((r) => r.status === 'fail');
    const allPat = config.deployments.every((d) => d.auth.type === 'pat');
    if (allPat && pats.length > 0 && unusable.length === pats.length) fatal = `no model can reach Cortex: ${unusable[0].detail}`;
  }
  const key = config.settings.masterKey;
  const mk = masterKeyCheck(key === undefined ? undefined : { value: key, where: config.source === 'environment' || config.demo ? 'the environment' : config.source }, host);
  if (mk.status === 'fail' && config.demo) {
    // Demo mode has no account behind it: nothing to spend, so beyond loopback it is allowed, and says so.
    checks.push({ id: 'master-key', title: 'master key', status: 'warn', detail: `demo mode on ${host}${key ? ' with a weak master key' : ' without a master key'}: anyone who can reach it gets emulator answers (no account is configured, so no credits can be spent)`, fix: 'once you connect an account, set general_settings.master_key in the config (or CORTEX_PROXY_MASTER_KEY), or listen on loopback only with --host 127.0.0.1' });
  } else if (mk.status !== 'ok' && !(mk.status === 'warn' && !key)) {
    // No key on loopback is the ordinary local set-up (doctor says it, not every start); a weak one there warns.
    checks.push(LOOPBACK.has(host) ? { ...mk, status: 'warn' } : mk);
    if (mk.status === 'fail' && !LOOPBACK.has(host)) fatal ??= `refusing to listen on ${host} ${key ? 'with a weak master key' : 'without a master key'}: anyone who can reach this address could spend your Cortex credits`;
  }
  if (!checks.length) return;
  const c = colorsFor(process.stderr);
  const block = ['start-up checks (the offline part of cortex-proxy doctor):', ...formatChecks(checks, c, '  ')].join('\n');
  if (fatal) fail(`${fatal}\n${block}`);
  log.warn(block);
}

/** Every os.environ/ variable the config names that is not set, when the load stopped at the first of them. */
function missingVarsBlock(err: ConfigError): string {
  if (!err.file || !/ is not set$/.test(err.detail)) return '';
  let text: string;
  try {
    text = fs.readFileSync(err.file, 'utf8');
  } catch {
    return '';
  }
  const check = missingVarsCheck(envRefs(text), process.env, path.join(path.dirname(err.file), '.env'));
  return check ? `\n${formatChecks([check], colorsFor(process.stderr), '  ').join('\n')}` : '';
}

function fail(message: string): never {
  process.stderr.write(`cortex-proxy: ${message}\n`);
  process.exit(2);
}
