// The general_settings keys that tune the HTTP server (limits, workers, browser defences, trusted proxies), read
// into Settings by config/load.ts; server/limits.ts, cluster-settings.ts, browser-guard.ts, client-address.ts use them.
import { isScalar, isSeq } from 'yaml';
import type { Settings } from './types.js';
import { clip } from '../core/clip.js';
import { parseCidr } from '../core/ip.js';
import type { Entry, SettingsReader } from '../usage/config.js';

// server/limits.ts: client_header_timeout, client_body_timeout, shutdown_timeout.
export const LIMIT_SETTING_KEYS = ['client_header_timeout', 'client_body_timeout', 'shutdown_timeout'];

export function readLimitSetting(ctx: SettingsReader, e: Entry, name: string, settings: Settings): void {
  const seconds = (example: string) => ctx.number(e, name, (n) => n > 0 && n <= 86_400, 'a positive number of seconds (at most 86400)', example);
  switch (e.key) {
    case 'client_header_timeout': {
      const s = seconds('60');
      if (s !== undefined) settings.clientHeaderTimeoutMs = Math.round(s * 1000);
      return;
    }
    case 'client_body_timeout': {
      const s = seconds('300');
      if (s !== undefined) settings.clientBodyTimeoutMs = Math.round(s * 1000);
      return;
    }
    case 'shutdown_timeout': {
      const s = seconds('10');
      if (s !== undefined) settings.shutdownTimeoutMs = Math.round(s * 1000);
      return;
    }
  }
}

// server/cluster-settings.ts: workers.
export const WORKER_SETTING_KEYS = ['workers'];
export const MAX_WORKERS = 256;

/** general_settings.workers: a number of processes, or "auto" (one per core). */
export function readWorkersSetting(ctx: SettingsReader, e: Entry, settings: Settings): void {
  const v = (e.value as { value?: unknown } | null)?.value;
  if (v === 'auto') {
    settings.workers = 'auto';
    return;
  }
  const n = ctx.number(e, 'general_settings.workers', (x) => Number.isInteger(x) && x >= 1 && x <= MAX_WORKERS, `a whole number of processes from 1 to ${MAX_WORKERS}, or auto (one per core)`, 'auto');
  if (n !== undefined) settings.workers = n;
}

// server/browser-guard.ts: allowed_hosts, cors_origins.
export const BROWSER_SETTING_KEYS = ['allowed_hosts', 'cors_origins'];

/** A list setting: a YAML list of strings, or one string with comma-separated values (os.environ/NAME allowed). */
export function readList(ctx: SettingsReader, e: Entry, name: string, example: string): string[] {
  const v = e.value as unknown;
  if (v === null || (isScalar(v) && v.value === null)) return [];
  if (isSeq(v)) {
    return v.items.map((item) => {
      if (!isScalar(item) || (typeof item.value !== 'string' && typeof item.value !== 'number'))
        ctx.fail(item, `${name} must be a list of strings`, `write ${e.key}: ${example}`);
      return String(item.value).trim();
    }).filter(Boolean);
  }
  const s = ctx.string(e, name, example);
  return (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);
}

export function readBrowserSetting(ctx: SettingsReader, e: Entry, name: string, settings: Settings): void {
  switch (e.key) {
    case 'allowed_hosts': {
      const example = '[cortex.example.com, "*.corp.example.com"]';
      const list = readList(ctx, e, name, example);
      for (const h of list)
        if (!/^(\*|(\*\.|\.)?[a-z0-9_-][a-z0-9_.-]*(:\d{1,5})?|\[[0-9a-f:.]+\](:\d{1,5})?|https?:\/\/[^\s/]+\/?)$/i.test(h))
          ctx.fail(e.value, `${name}: '${clip(h, 60)}' is not a host name`, `write host names, optionally with a port or a leading *., e.g. ${e.key}: ${example}`);
      settings.allowedHosts = list;
      return;
    }
    case 'cors_origins': {
      const example = '["https://chat.example.com"]';
      const list = readList(ctx, e, name, example);
      for (const o of list)
        if (!/^[a-z][a-z0-9+.-]*:\/\/[^\s/]+\/?$/i.test(o))
          ctx.fail(e.value, `${name}: '${clip(o, 60)}' is not an origin (scheme://host[:port])`, `write e.g. ${e.key}: ${example}; "*" and "null" are not accepted`);
      settings.corsOrigins = list;
      return;
    }
  }
}

// server/client-address.ts: trusted_proxies.
export const CLIENT_ADDRESS_SETTING_KEYS = ['trusted_proxies'];

export function readClientAddressSetting(ctx: SettingsReader, e: Entry, name: string, settings: Settings): void {
  if (e.key !== 'trusted_proxies') return;
  const example = '[127.0.0.1, 10.0.0.0/8]';
  const list = readList(ctx, e, name, example);
  for (const c of list)
    if (!parseCidr(c)) ctx.fail(e.value, `${name}: '${c.slice(0, 60)}' is not an IP address or CIDR range`, `write addresses or ranges, e.g. ${e.key}: ${example}`);
  settings.trustedProxies = list;
}
