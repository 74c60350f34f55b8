// serve's live status line on a terminal: one line at the bottom of stderr, redrawn at most once a second when
// something changed, with log lines printed above it:
//
//   ● 42 requests · 1.2M tokens (1.1M prompt, 95.3k completion) · 2 errors · 1 in flight · ~3.21 credits
//
// Off when stderr is not a TTY (pipes, files, CI) and with --quiet.
import type { Totals } from './live.js';

export interface StatusSource {
  totals(): Totals;
  inFlight(): number;
}

export interface StatusLine {
  /** Writes a log line above the status line (the logger's sink). */
  write(line: string): void;
  attach(source: StatusSource): void;
  stop(): void;
}

const short = (n: number) =>
  n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(n);

export function formatStatus(t: Totals, inFlight: number, color = false): string {
  const dot = color ? (t.errors ? '\x1b[33m●\x1b[0m' : '\x1b[32m●\x1b[0m') : '●';
  let s = `${dot} ${t.requests} request${t.requests === 1 ? '' : 's'} · ${short(t.total_tokens)} tokens (${short(t.prompt_tokens)} prompt, ${short(t.completion_tokens)} completion)`;
  s += ` · ${t.errors} error${t.errors === 1 ? '' : 's'} · ${inFlight} in flight`;
  if (t.credits > 0) s += ` · ~${t.credits >= 1 ? t.credits.toFixed(2) : t.credits.toFixed(4)} credits`;
  return s;
}

export function createStatusLine(
  out: { write(s: string): boolean | void; isTTY?: boolean; columns?: number },
  opts: { enabled: boolean; color?: boolean; intervalMs?: number },
): StatusLine {
  const enabled = opts.enabled && out.isTTY === true;
  let shown = '';
  let source: StatusSource | undefined;
  let timer: NodeJS.Timeout | undefined;
  const render = () => {
    if (!source) return '';
    const s = formatStatus(source.totals(), source.inFlight(), opts.color);
    const cols = out.columns ?? 120;
    return s.length > cols - 1 ? s.slice(0, cols - 2) + '…' : s;
  };
  const draw = (force = false) => {
    const s = render();
    if (!s || (!force && s === shown)) return;
    out.write(`\r\x1b[2K${s}`);
    shown = s;
  };
  return {
    write(line) {
      if (!enabled || !shown) {
        out.write(line);
        return;
      }
      out.write(`\r\x1b[2K${line}`);
      out.write(shown);
    },
    attach(s) {
      source = s;
      if (!enabled) return;
      draw(true);
      timer = setInterval(() => draw(), opts.intervalMs ?? 1000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (enabled && shown) out.write('\r\x1b[2K');
      shown = '';
    },
  };
}
