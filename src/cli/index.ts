// The CLI: one file per command; this file only wires them to commander.
import { Command, Option } from 'commander';
import { VERSION } from '../server/app.js';
import { addSetupCommands } from './setup-commands.js';
import { DEFAULT_HOST, DEFAULT_LOG_LEVEL, defaultPort } from './serve-argv.js';
import { LOG_LEVELS } from '../core/log.js';

const program = new Command();
program
  .name('cortex-proxy')
  .description('A small, fast gateway that lets coding agents use Snowflake Cortex through the API they already speak.')
  .version(VERSION, '-v, --version')
  .showHelpAfterError();

program
  .command('serve', { isDefault: true })
  .description('run the proxy (demo mode against the built-in emulator when no account is configured)')
  .option('-c, --config <file>', 'LiteLLM-style config file (default: ./litellm_config.yaml or ./cortex-proxy.yaml if present)')
  .option('-p, --port <port>', 'port to listen on (0 = any free port)', defaultPort())
  .option('--host <host>', 'address to listen on; anything but loopback requires a master key', DEFAULT_HOST)
  .addOption(new Option('--log-level <level>', 'log verbosity').choices([...LOG_LEVELS]).default(DEFAULT_LOG_LEVEL))
  .option('-q, --quiet', 'no live status line (requests, tokens, errors) under the log on a terminal')
  .option('--tunnel [tool]', 'also start a public HTTPS tunnel (cloudflared or ngrok, if installed) for clients that call from the internet, such as Cursor; needs a strong master key')
  .option('--workers <n>', 'processes serving requests: a number, or auto (one per core); default general_settings.workers, else 1 (docs/workers.md)')
  .addHelpText(
    'after',
    `
Examples:
  $ cortex-proxy serve                                  # demo mode, or SNOWFLAKE_ACCOUNT + SNOWFLAKE_PAT
  $ cortex-proxy serve --tunnel                         # plus a public https URL for Cursor (cloudflared or ngrok)
  $ cortex-proxy serve --config litellm_config.yaml     # the quickstart's LiteLLM config, unchanged
  $ cortex-proxy serve --port 8080 --log-level debug
  $ cortex-proxy serve --workers auto                   # every core of the machine (docs/workers.md)`,
  )
  .action(async (opts) => {
    const { serve } = await import('./serve.js');
    await serve(opts);
  });

program
  .command('emulate')
  .description('run the built-in Cortex emulator (a strict stand-in for Snowflake Cortex inference:complete)')
  .option('-p, --port <port>', 'port to listen on (0 = any free port)', '4001')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--pat <token...>', 'accept only these PATs (default: any bearer token)')
  .addHelpText(
    'after',
    `
Examples:
  $ cortex-proxy emulate --port 4001
  then use api_base: http://127.0.0.1:4001/api/v2 in a config`,
  )
  .action(async (opts) => {
    const { emulate } = await import('./emulate.js');
    await emulate(opts);
  });

program
  .command('usage')
  .description('what your agents spent: requests, tokens and estimated credits from the usage log (optionally next to Snowflake\'s own figures)')
  .option('-c, --config <file>', 'config file (for usage_log_dir, credit_rates and, with --snowflake, the account)')
  .option('--since <when>', 'period: 30m, 24h, 7d, a date (2026-11-01) or all', '24h')
  .addOption(new Option('--by <group>', 'one row per').choices(['model', 'client', 'day', 'key']).default('model'))
  .option('--json', 'JSON output')
  .option('--csv', 'CSV output (one line per row)')
  .option('--snowflake', "also query SNOWFLAKE.ACCOUNT_USAGE.CORTEX_REST_API_USAGE_HISTORY through the SQL API and compare (Snowflake's view lags up to 45 minutes)")
  .option('--warehouse <name>', 'warehouse for the --snowflake query (default: the user\'s default warehouse; or SNOWFLAKE_WAREHOUSE)')
  .option('--role <name>', 'role for the --snowflake query (needs IMPORTED PRIVILEGES on database SNOWFLAKE)')
  .option('--dir <folder>', 'read the usage log from this folder')
  .addHelpText(
    'after',
    `
Examples:
  $ cortex-proxy usage                                  # last 24 hours by model
  $ cortex-proxy usage --since 7d --by client
  $ cortex-proxy usage --since 2026-11-01 --by day --csv > usage.csv
  $ cortex-proxy usage --snowflake --warehouse COMPUTE_WH   # next to Snowflake's own numbers`,
  )
  .action(async (opts) => {
    const { usage } = await import('./usage.js');
    await usage(opts);
  });

// keys: virtual keys for a team (cli/keys.ts, team/).
const keys = program
  .command('keys')
  .description('virtual keys for a team: one per person or tool, each with its own models, limits, budget and expiry')
  .addHelpText(
    'after',
    `
Examples:
  $ cortex-proxy keys create --label alice --owner alice@example.com --budget-tokens 2000000 --period day
  $ cortex-proxy keys create --label ci --models claude-sonnet-4-5 --rpm 30 --max-parallel 2 --expires 90d
  $ cortex-proxy keys list
  $ cortex-proxy keys rotate alice --grace 10m
  $ cortex-proxy keys revoke alice
The keys live in the team store: general_settings.database_url (PostgreSQL), or the embedded store on this machine.`,
  );
const keysAction = (name: 'keysCreate' | 'keysList') => async (opts: Record<string, unknown>) => {
  const mod = await import('./keys.js');
  await mod[name](opts as never);
};
keys
  .command('create')
  .description('create a key and print it once')
  .option('-c, --config <file>', 'config file (for database_url / database_path)')
  .option('--label <name>', 'who or what the key is for (unique among active keys; usage and metrics show it)')
  .option('--owner <text>', 'owner, e.g. an e-mail address')
  .option('--models <names>', 'comma-separated model names the key may use (default: all)')
  .option('--rpm <n>', 'requests per minute')
  .option('--tpm <n>', 'tokens per minute')
  .option('--max-parallel <n>', 'requests (streams) in flight at once')
  .option('--budget-tokens <n>', 'token budget per period (prompt + completion)')
  .option('--budget-credits <n>', 'estimated AI-credit budget per period')
  .addOption(new Option('--period <period>', 'budget period (UTC)').choices(['day', 'month']))
  .option('--expires <when>', 'expiry: a duration (30d, 12h) or a date (2026-12-31)')
  .option('--json', 'JSON output (includes the key)')
  .action(keysAction('keysCreate'));
keys
  .command('list')
  .description("the keys with this period's spend")
  .option('-c, --config <file>', 'config file (for database_url / database_path)')
  .option('--all', 'revoked keys too')
  .option('--json', 'JSON output')
  .action(keysAction('keysList'));
keys
  .command('revoke <key>')
  .description('revoke a key (by id, label or hint); every server refuses it within a second')
  .option('-c, --config <file>', 'config file (for database_url / database_path)')
  .option('--json', 'JSON output')
  .action(async (ref: string, opts) => (await import('./keys.js')).keysRevoke(ref, opts));
keys
  .command('rotate <key>')
  .description('a new secret for a key (same id, policy and budget); printed once')
  .option('-c, --config <file>', 'config file (for database_url / database_path)')
  .option('--grace <duration>', 'the old secret keeps working this long (e.g. 10m); default: it stops at once')
  .option('--json', 'JSON output (includes the key)')
  .action(async (ref: string, opts) => (await import('./keys.js')).keysRotate(ref, opts));

// init, doctor, connect, models: from an account name to a working agent.
addSetupCommands(program);

await program.parseAsync(process.argv);
