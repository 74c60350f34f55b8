// `cortex-proxy usage`: read the usage log for a period, group it, estimate credits, and print a table, CSV or JSON.
import fs from 'node:fs';
import readline from 'node:readline';
import { listLogFiles } from './log.js';
import { parseRecord, type UsageRecord } from './record.js';
import { addTo, emptyTotals, type Totals } from './live.js';
import { rateFor, type CreditRates } from './rates.js';

export type GroupBy = 'model' | 'client' | 'day' | 'key';

/** '30m', '24h', '7d', '2w', an ISO date or date-time, or 'all' → the start of the period (ms since the epoch). */
export function parseSince(s: string, now = Date.now()): number {
  const t = s.trim().toLowerCase();
  if (t === 'all') return -Infinity;
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)$/.exec(t);
  if (m) {
    const unit = { s: 1e3, m: 6e4, min: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 }[m[2] as 's']!;
    return now - Number(m[1]) * unit;
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const d = Date.parse(s.trim());
    if (Number.isFinite(d)) return d;
  }
  throw new Error(`--since must be a duration such as 30m, 24h or 7d, a date such as 2026-11-01, or all (got '${s}')`);
}

/** Records of the period, oldest first. Files whose month ended before `since` are not opened. */
export async function readRecords(dir: string, since: number, until = Infinity): Promise<UsageRecord[]> {
  const out: UsageRecord[] = [];
  for (const f of listLogFiles(dir)) {
    const [y, mo] = f.month.split('-').map(Number);
    if (Date.UTC(y, mo, 1) <= since) continue; // the whole month is before the period
    const rl = readline.createInterface({ input: fs.createReadStream(f.path, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of rl) {
      const r = parseRecord(line);
      if (!r || r.demo) continue; // demo mode's emulator answers: no account, no spend
      const t = Date.parse(r.ts);
      if (t >= since && t < until) out.push(r);
    }
  }
  return out.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
}

export interface Group extends Totals {
  key: string;
}

export interface Report {
  totals: Totals;
  groups: Group[];
  /** Models that used tokens but have no credit rate. */
  unratedModels: string[];
}

export function groupKey(r: UsageRecord, by: GroupBy): string {
  switch (by) {
    case 'model':
      return r.model ?? '(none)';
    case 'client':
      return r.client;
    case 'key':
      return r.key;
    case 'day':
      return r.ts.slice(0, 10);
  }
}

export function aggregate(records: UsageRecord[], by: GroupBy, rates: CreditRates): Report {
  const totals = emptyTotals();
  const groups = new Map<string, Group>();
  const unrated = new Set<string>();
  for (const r of records) {
    addTo(totals, r, rates);
    const k = groupKey(r, by);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { key: k, ...emptyTotals() }));
    addTo(g, r, rates);
    if ((r.prompt_tokens || r.completion_tokens) && !rateFor(r, rates)) unrated.add(r.cortex_model ?? r.model ?? '(none)');
  }
  const list = [...groups.values()];
  if (by === 'day') list.sort((a, b) => (a.key < b.key ? -1 : 1));
  else list.sort((a, b) => b.total_tokens - a.total_tokens || b.requests - a.requests || (a.key < b.key ? -1 : 1));
  return { totals, groups: list, unratedModels: [...unrated].sort() };
}

// Stored fields (model names from clients, key labels, Snowflake's model names) are printed to a terminal or opened
// in a spreadsheet: control characters (C0, DEL, C1 such as the 8-bit CSI), bidi overrides and isolates (which can
// reorder what a reader sees) are shown escaped, and CSV cells that a spreadsheet would run as a formula are quoted.
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** What JSON.stringify leaves raw inside strings (it escapes C0 itself; the output's own newlines must stay). */
const UNSAFE_IN_JSON = /[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const escapeChar = (c: string) => {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** A stored string made safe for a terminal: control and bidi characters escaped, at most `max` characters. */
export function safeText(s: string, max = 120): string {
  const t = s.replace(UNSAFE, escapeChar);
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

/** JSON text with C1 controls and bidi characters written as \u escapes (JSON.stringify leaves them raw). */
export function safeJson(text: string): string {
  return text.replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A CSV cell: terminal-safe, a leading = + - @ (a spreadsheet formula) prefixed with ', quoted when needed. */
export function csvCell(v: string): string {
  let t = safeText(v, 1000);
  if (/^[=+\-@]/.test(t)) t = `'${t}`;
  return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

const n = (v: number) => v.toLocaleString('en-US');
export const fmtCredits = (c: number) => (c === 0 ? '0' : c >= 100 ? c.toFixed(1) : c >= 1 ? c.toFixed(3) : c.toFixed(5));

/** A plain-text table: the first column left-aligned, the others right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join('\n');
}

const COLUMNS = ['requests', 'errors', 'prompt', 'cached', 'completion', 'total tokens', 'est. credits*'];

function cells(g: Totals): string[] {
  return [n(g.requests), n(g.errors), n(g.prompt_tokens), n(g.cached_tokens), n(g.completion_tokens), n(g.total_tokens), g.unrated && g.credits === 0 ? '–' : fmtCredits(g.credits) + (g.unrated ? '+' : '')];
}

export function formatText(rep: Report, by: GroupBy, period: string): string {
  const head = by === 'day' ? 'day (UTC)' : by;
  const rows = rep.groups.map((g) => [safeText(g.key), ...cells(g)]);
  rows.push(['TOTAL', ...cells(rep.totals)]);
  let s = `Usage ${period}\n\n${table([head, ...COLUMNS], rows)}\n\n`;
  s += '* Estimated AI credits from published Cortex REST API rates (or general_settings.credit_rates); Snowflake\'s bill is the truth.\n';
  if (rep.unratedModels.length)
    s += `  No rate for ${rep.unratedModels.map((m) => safeText(m)).join(', ')} ('+' / '–'): add general_settings.credit_rates in the config to include them.\n`;
  return s;
}

export function formatCsv(rep: Report, by: GroupBy): string {
  const head = [by, 'requests', 'errors', 'prompt_tokens', 'cached_tokens', 'completion_tokens', 'total_tokens', 'estimated_credits', 'unrated_requests'];
  const row = (k: string, g: Totals) =>
    [csvCell(k), g.requests, g.errors, g.prompt_tokens, g.cached_tokens, g.completion_tokens, g.total_tokens, Number(g.credits.toFixed(6)), g.unrated].join(',');
  return [head.join(','), ...rep.groups.map((g) => row(g.key, g)), row('TOTAL', rep.totals)].join('\n') + '\n';
}
