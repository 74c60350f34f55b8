// The one error type of config loading: a message with the file, line and column at fault, and a hint.

export class ConfigError extends Error {
  /** Absolute path of the offending file, when a file is at fault. */
  readonly file?: string;
  /** 1-based line and column of the offending YAML node. */
  readonly line?: number;
  readonly column?: number;
  /** What to do about it. */
  readonly hint: string;
  /** The message without location and hint. */
  readonly detail: string;

  constructor(detail: string, hint: string, where: { file?: string; display?: string; line?: number; column?: number } = {}) {
    let loc = '';
    if (where.file) {
      loc = where.display ?? where.file;
      if (where.line) loc += `:${where.line}${where.column ? `:${where.column}` : ''}`;
      loc += ': ';
    }
    super(`${loc}${detail}\n  hint: ${hint}`);
    this.name = 'ConfigError';
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
    this.hint = hint;
    this.detail = detail;
  }
}
