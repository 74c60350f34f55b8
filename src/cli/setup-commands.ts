// The commands that take a new user from an account name to a working agent: init → doctor → serve → connect,
// plus models. Each action is imported lazily, so `serve` does not pay for prompts it never shows.
import { Command, Option } from 'commander';
import { CLIENTS } from './clients.js';

export function addSetupCommands(program: Command): void {
  program
    .command('init')
    .description('write a checked config and a private .env for your Snowflake account (asks, or takes flags with --yes)')
    .option('--account <id>', 'account identifier, e.g. myorg-myaccount (default: $SNOWFLAKE_ACCOUNT)')
    .addOption(new Option('--auth <method>', 'how the proxy signs in to Snowflake').choices(['pat', 'keypair', 'oauth']))
    .option('--pat-file <file>', 'read the programmatic access token from a file (- = stdin); default: $SNOWFLAKE_PAT')
    .option('--private-key <file>', 'key-pair: the private key file (.p8); default: $SNOWFLAKE_PRIVATE_KEY_PATH (passphrase: $SNOWFLAKE_PRIVATE_KEY_PASSPHRASE)')
    .option('--user <name>', 'key-pair: your Snowflake login name; default: $SNOWFLAKE_USER')
    .option('--oauth-token-file <file>', 'OAuth: a file holding the access token (re-read when it changes); or $SNOWFLAKE_OAUTH_TOKEN')
    .option('--models <ids>', 'comma-separated Cortex model ids (default: $SNOWFLAKE_MODELS, else Claude/OpenAI models the account has)')
    .option('--dir <dir>', 'folder to write cortex-proxy.yaml and .env into (default: the current folder)')
    .option('--global', 'write into your user config folder, where cortex-proxy looks from any folder')
    .option('--force', 'replace existing files (the old ones are kept as .bak-<time> copies)')
    .option('-y, --yes', 'ask nothing: take everything from flags and the environment (scripts, CI)')
    .option('--no-verify', 'do not check the credential against Snowflake before writing')
    .option('--gateway', "send chat through the account's Cortex AI Gateway (found with SHOW AI GATEWAYS; docs/ai-gateway.md)")
    .option('--no-gateway', 'keep chat on /api/v2/cortex even when the account has a Cortex AI Gateway')
    .addHelpText(
      'after',
      `
Examples:
  $ cortex-proxy init                                       # asks for the account, the token and the models
  $ SNOWFLAKE_ACCOUNT=myorg-myacct SNOWFLAKE_PAT=... cortex-proxy init --yes
  $ cortex-proxy init --yes --account myorg-myacct --pat-file ~/pat.txt --models claude-sonnet-4-5,openai-gpt-4.1
  $ cortex-proxy init --global --force                      # user-wide config, replacing the old one
  $ cortex-proxy init --yes --auth keypair --account myorg-myacct --user ME --private-key ~/.snowflake/rsa_key.p8

The token and a generated master key go into .env (mode 0600); neither is ever printed.`,
    )
    .action(async (opts) => (await import('./init.js')).init(opts));

  // `cortex-proxy foo` would otherwise read as `serve foo` ("too many arguments for 'serve'").
  const serve = program.commands.find((c) => c.name() === 'serve');
  serve?.allowExcessArguments(true).hook('preAction', (cmd) => {
    if (cmd.args.length) cmd.error(`error: unknown command '${cmd.args[0]}' (commands: ${program.commands.map((c) => c.name()).join(', ')}; see cortex-proxy --help)`);
  });

  program
    .command('doctor')
    .description('check the config, the credential, each model, the region and the port; prints a fix for each ✗')
    .option('-c, --config <file>', 'config file (default: the same search as serve)')
    .option('-p, --port <port>', 'the port the proxy should use', process.env.PORT ?? '4000')
    .option('--warehouse <name>', 'warehouse for the SQL API checks (region, cross-region), if your account needs one')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Examples:
  $ cortex-proxy doctor
  $ cortex-proxy doctor --config litellm_config.yaml --port 8080
  $ cortex-proxy doctor --json | jq '.checks[] | select(.status=="fail")'

Exit code 0 when nothing failed (warnings allowed), 1 otherwise.`,
    )
    .action(async (opts) => (await import('./doctor.js')).doctor(opts));

  program
    .command('connect')
    .description('print the exact settings for a client (base URL, key, model names); --write edits its config file')
    .argument('<client>', `one of: ${CLIENTS.join(', ')}`)
    .option('-c, --config <file>', 'config file (default: the same search as serve)')
    .option('-p, --port <port>', 'the port the proxy listens on', process.env.PORT ?? '4000')
    .option('--base-url <url>', 'the proxy URL the client should use (e.g. the https tunnel URL from serve --tunnel)')
    .option('-m, --model <name>', 'the configured model name to use (default: the first tool-capable one)')
    .option('--show-key', 'print the master key itself instead of where it is')
    .option('--write', "write the settings into the client's config file (a timestamped backup is kept)")
    .addHelpText(
      'after',
      `
Examples:
  $ cortex-proxy connect claude-code
  $ cortex-proxy connect codex --write
  $ cortex-proxy connect cursor --base-url https://example.trycloudflare.com
  $ cortex-proxy connect continue --model claude-sonnet-4-5 --write`,
    )
    .action(async (client, opts) => (await import('./connect.js')).connect(client, opts));

  program
    .command('models')
    .description('list the Cortex models your account can use, with context size, tools and vision')
    .option('-c, --config <file>', 'config file (default: the same search as serve)')
    .option('--warehouse <name>', 'warehouse for SHOW CORTEX BASE MODELS, if your account needs one')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Examples:
  $ cortex-proxy models
  $ cortex-proxy models --json`,
    )
    .action(async (opts) => (await import('./models.js')).models(opts));
}
