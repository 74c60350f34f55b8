// Terminal output for the CLI commands: colour only on a TTY and never with NO_COLOR, ✓/✗ lines, and errors
// that say what to do. Secrets are never passed to these functions.
import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

/** Colour for a stream: only when it is a terminal and NO_COLOR is unset (https://no-color.org). */
export function colorsFor(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): Colors {
  const enabled = Boolean(stream.isTTY) && !('NO_COLOR' in env && env.NO_COLOR !== '') && env.TERM !== 'dumb';
  return pc.createColors(enabled);
}

export type CheckStatus = 'ok' | 'fail' | 'warn' | 'skip';

export function mark(status: CheckStatus, c: Colors): string {
  switch (status) {
    case 'ok':
      return c.green('✓');
    case 'fail':
      return c.red('✗');
    case 'warn':
      return c.yellow('!');
    case 'skip':
      return c.dim('–');
  }
}

/** Exit with a message on stderr: code 2 for usage errors, 1 for a failed check. */
export function die(message: string, hint?: string, code = 1): never {
  const c = colorsFor(process.stderr);
  process.stderr.write(`${c.red('cortex-proxy:')} ${message}\n${hint ? `  ${c.dim('hint:')} ${hint}\n` : ''}`);
  process.exit(code);
}

/** True when the command may ask questions: stdin and stdout are terminals and --yes was not given. */
export function canPrompt(yes: boolean | undefined): boolean {
  return !yes && Boolean(process.stdin.isTTY) && Boolean(process.stdout.isTTY);
}
