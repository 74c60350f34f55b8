// The CLI: one file per command; this file only wires them to commander.
import { Command, Option } from 'commander';
import { VERSION } from '../server/app.js';

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
  .option('-p, --port <port>', 'port to listen on (0 = any free port)', process.env.PORT ?? '4000')
  .option('--host <host>', 'address to listen on; anything but loopback requires a master key', '127.0.0.1')
  .addOption(new Option('--log-level <level>', 'log verbosity').choices(['debug', 'info', 'warn', 'error', 'silent']).default('info'))
  .addHelpText(
    'after',
    `
Examples:
  $ cortex-proxy serve                                  # demo mode, or SNOWFLAKE_ACCOUNT + SNOWFLAKE_PAT
  $ cortex-proxy serve --config litellm_config.yaml     # the quickstart's LiteLLM config, unchanged
  $ cortex-proxy serve --port 8080 --log-level debug`,
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

await program.parseAsync(process.argv);
