// One logger for the whole process: levelled lines on stderr, with every registered secret redacted
// at the last moment, so no code path can leak a PAT or key into a log by accident.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  level: LogLevel;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /**
   * Register a value that must never appear in output (PATs, master key, JWTs). `rotating` values (JWTs minted
   * every 54 min, re-read OAuth tokens) are kept only while they are among the last MAX_ROTATING_SECRETS, so a
   * long-running proxy's list does not grow without bound (the older ones have expired).
   */
  addSecret(secret: string | undefined, rotating?: boolean): void;
  enabled(level: LogLevel): boolean;
  /** The text with every registered secret replaced by ***: for text that leaves the process by another way than the log (answers, usage records). */
  redact(text: string): string;
}

/** The levels, quietest last: --log-level's choices. */
export const LOG_LEVELS = Object.keys(ORDER) as LogLevel[];

export function isLogLevel(v: string): v is LogLevel {
  return Object.hasOwn(ORDER, v); // not `in`: "toString" is in every object
}

export const MAX_ROTATING_SECRETS = 64;

export interface LoggerOptions {
  /**
   * Info and debug lines are written together once per event-loop turn instead of one write each (serve: the request
   * log line was a write syscall per request, ≈5 % of its CPU under load). A warn or error line writes what is
   * queued and itself at once, and what is queued is written when the process exits.
   */
  batch?: boolean;
}

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l), opts: LoggerOptions = {}): Logger {
  const secrets: string[] = [];
  const rotating: string[] = [];
  const redact = (s: string) => {
    for (const secret of secrets) if (s.includes(secret)) s = s.split(secret).join('***');
    for (const secret of rotating) if (s.includes(secret)) s = s.split(secret).join('***');
    return s;
  };
  let queued = '';
  let flushing: NodeJS.Immediate | undefined;
  const flush = () => {
    if (flushing) clearImmediate(flushing);
    flushing = undefined;
    if (queued === '') return;
    const text = queued;
    queued = '';
    write(text);
  };
  if (opts.batch) process.once('exit', flush);
  const out = (lvl: LogLevel, msg: string) => {
    if (ORDER[lvl] < ORDER[logger.level]) return;
    const line = `${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${redact(msg)}\n`;
    if (!opts.batch) return write(line);
    queued += line;
    if (ORDER[lvl] >= ORDER.warn) flush();
    else flushing ??= setImmediate(flush); // not unref'd: an unref'd immediate lets the loop sleep in poll first
  };
  const logger: Logger = {
    level,
    debug: (m) => out('debug', m),
    info: (m) => out('info', m),
    warn: (m) => out('warn', m),
    error: (m) => out('error', m),
    enabled: (lvl) => ORDER[lvl] >= ORDER[logger.level],
    redact,
    addSecret(secret, isRotating) {
      // Short values would redact ordinary words; real secrets are long.
      if (!secret || secret.length < 8 || secrets.includes(secret) || rotating.includes(secret)) return;
      if (!isRotating) secrets.push(secret);
      else if (rotating.push(secret) > MAX_ROTATING_SECRETS) rotating.shift();
    },
  };
  return logger;
}
