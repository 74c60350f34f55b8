// A crash (an uncaught exception or an unhandled rejection: always a bug) is reported through the logger, which
// redacts every registered secret, instead of Node's raw print of the error, whose message or properties could hold
// a token; then the process exits 1 as it would have.
import type { Logger } from './log.js';

export function reportCrashes(log: Logger): void {
  const crash = (what: string) => (err: unknown) => {
    try {
      if (!log.enabled('error')) log.level = 'error'; // even with --log-level silent, a crash says why
      log.error(`cortex-proxy crashed (${what}; please report it): ${(err as Error)?.stack ?? String(err)}`);
    } finally {
      process.exit(1);
    }
  };
  process.on('uncaughtException', crash('uncaught exception'));
  process.on('unhandledRejection', crash('unhandled promise rejection'));
}
