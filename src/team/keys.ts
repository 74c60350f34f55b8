// Virtual keys: what one is (KeyRecord), how its secret is made and stored (sha256 only; the plain key is shown
// once), its policy (allowed models, RPM/TPM, parallel requests, a token or credit budget per day or month,
// expiry), and the checks shared by the `keys` CLI and the /admin routes.
import { createHash, randomBytes } from 'node:crypto';

/** The plain key: `sk-cp-` + 256 random bits (base64url). */
export const KEY_PREFIX = 'sk-cp-';

export type BudgetPeriod = 'day' | 'month';

export interface KeyPolicy {
  /** Model names (as clients ask for them) this key may use; absent = every configured model. */
  models?: string[];
  /** Requests per minute (sliding minute). */
  rpm?: number;
  /** Tokens (prompt + completion) per minute (sliding minute; checked before a request, counted after it). */
  tpm?: number;
  /** Requests (streams included) in flight at once. */
  maxParallel?: number;
  /** Token budget per period (prompt + completion tokens). */
  budgetTokens?: number;
  /** Estimated AI-credit budget per period (usage/rates.ts). */
  budgetCredits?: number;
  /** The budget's period (UTC day or month); default month. */
  budgetPeriod?: BudgetPeriod;
  /** Refused from this instant on (ms since the epoch). */
  expiresAt?: number;
}

export interface KeyRecord extends KeyPolicy {
  /** Stable id (survives rotation: the budget and the usage history stay with it). */
  id: string;
  /** sha256 (hex) of the plain key. The plain key itself is never stored. */
  hash: string;
  /** During a rotation's grace period: the previous key's hash, valid until prevExpiresAt. */
  prevHash?: string;
  prevExpiresAt?: number;
  /** Recognisable, harmless part of the key for lists: `sk-cp-AbCd…wxYz`. */
  hint: string;
  /** Who or what the key is for; usage, metrics and the dashboard show it. Unique among active keys. */
  label: string;
  owner?: string;
  createdAt: number;
  updatedAt: number;
  revokedAt?: number;
}

export function newKeyId(): string {
  return 'key_' + randomBytes(6).toString('hex');
}

export function generateKey(): { key: string; hash: string; hint: string } {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, hash: hashKey(key), hint: keyHint(key) };
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function keyHint(key: string): string {
  return `${key.slice(0, KEY_PREFIX.length + 4)}…${key.slice(-4)}`;
}

/** Active: not revoked and not expired at `now`. */
export function keyState(k: KeyRecord, now = Date.now()): 'active' | 'revoked' | 'expired' {
  if (k.revokedAt !== undefined) return 'revoked';
  if (k.expiresAt !== undefined && k.expiresAt <= now) return 'expired';
  return 'active';
}

// ───────────────────────────── budget periods ─────────────────────────────

/** The budget bucket a moment falls in: `d:2026-11-28` or `m:2026-11` (UTC). */
export function periodKey(period: BudgetPeriod, now = Date.now()): string {
  const iso = new Date(now).toISOString();
  return period === 'day' ? `d:${iso.slice(0, 10)}` : `m:${iso.slice(0, 7)}`;
}

/** When the current period ends (ms since the epoch). */
export function periodEnd(period: BudgetPeriod, now = Date.now()): number {
  const d = new Date(now);
  return period === 'day'
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

// ───────────────────────────── policy input (CLI flags, admin JSON) ─────────────────────────────

export class KeyInputError extends Error {}

/** '30d', '12h', '90m', '2w', or a date / date-time → an instant after `now`. */
export function parseExpiry(s: string, now = Date.now()): number {
  const t = s.trim();
  const m = /^(\d+(?:\.\d+)?)\s*(m|min|h|d|w)$/i.exec(t);
  let at: number;
  if (m) at = now + Number(m[1]) * { m: 6e4, min: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 }[m[2].toLowerCase() as 'm']!;
  else if (/^\d{4}-\d{2}-\d{2}/.test(t)) at = Date.parse(t.length === 10 ? `${t}T00:00:00Z` : t);
  else throw new KeyInputError(`expiry must be a duration such as 30d, 12h or 2w, or a date such as 2026-12-31 (got '${s}')`);
  if (!Number.isFinite(at)) throw new KeyInputError(`expiry '${s}' is not a valid date`);
  if (at <= now) throw new KeyInputError(`expiry '${s}' is in the past`);
  return at;
}

/** A duration such as 10m, 1h or 0 → milliseconds (for rotate's grace period). */
export function parseDuration(s: string): number {
  const t = s.trim();
  if (t === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|min|h|d)$/i.exec(t);
  if (!m) throw new KeyInputError(`a duration is a number and a unit, such as 30s, 10m, 1h or 1d (got '${s}')`);
  return Number(m[1]) * { s: 1e3, m: 6e4, min: 6e4, h: 3.6e6, d: 8.64e7 }[m[2].toLowerCase() as 's']!;
}

export interface KeyInput extends KeyPolicy {
  label?: string;
  owner?: string;
}

const LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9._@+:-]{0,63}$/;

/**
 * Checks and normalises a key's fields (from the admin API's JSON, or CLI flags turned into the same shape).
 * `raw` uses the API's snake_case names: label, owner, models, rpm, tpm, max_parallel, budget_tokens,
 * budget_credits, budget_period, expires (a duration or date) or expires_at (ISO).
 */
export function parseKeyInput(raw: unknown, now = Date.now()): KeyInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new KeyInputError('the body must be a JSON object');
  const o = raw as Record<string, unknown>;
  const known = new Set(['label', 'owner', 'models', 'rpm', 'tpm', 'max_parallel', 'budget_tokens', 'budget_credits', 'budget_period', 'expires', 'expires_at']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new KeyInputError(`unknown field '${k}' (known: ${[...known].join(', ')})`);
  const out: KeyInput = {};
  if (o.label !== undefined && o.label !== null) {
    if (typeof o.label !== 'string' || !LABEL_RE.test(o.label))
      throw new KeyInputError('label must be 1–64 letters, digits or . _ @ + : - (starting with a letter or digit), e.g. alice or ci-bot');
    out.label = o.label;
  }
  if (o.owner !== undefined && o.owner !== null) {
    if (typeof o.owner !== 'string' || o.owner.length > 200 || /[\x00-\x1f\x7f]/.test(o.owner)) throw new KeyInputError('owner must be a short string (e.g. an e-mail address)');
    out.owner = o.owner;
  }
  if (o.models !== undefined && o.models !== null) {
    const list = typeof o.models === 'string' ? o.models.split(',') : o.models;
    if (!Array.isArray(list) || list.some((m) => typeof m !== 'string')) throw new KeyInputError('models must be a list of model names');
    const models = [...new Set((list as string[]).map((m) => m.trim()).filter(Boolean))];
    if (models.length === 0) throw new KeyInputError('models is empty: leave it out to allow every model');
    out.models = models;
  }
  const int = (name: string, field: 'rpm' | 'tpm' | 'maxParallel' | 'budgetTokens') => {
    const v = o[name];
    if (v === undefined || v === null) return;
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0 || n > 1e15) throw new KeyInputError(`${name} must be a positive integer`);
    out[field] = n;
  };
  int('rpm', 'rpm');
  int('tpm', 'tpm');
  int('max_parallel', 'maxParallel');
  int('budget_tokens', 'budgetTokens');
  if (o.budget_credits !== undefined && o.budget_credits !== null) {
    const n = typeof o.budget_credits === 'string' ? Number(o.budget_credits) : o.budget_credits;
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > 1e12) throw new KeyInputError('budget_credits must be a positive number of AI credits');
    out.budgetCredits = n;
  }
  if (out.budgetTokens !== undefined && out.budgetCredits !== undefined)
    throw new KeyInputError('a key has a token budget or a credit budget, not both');
  if (o.budget_period !== undefined && o.budget_period !== null) {
    if (o.budget_period !== 'day' && o.budget_period !== 'month') throw new KeyInputError("budget_period must be 'day' or 'month'");
    if (out.budgetTokens === undefined && out.budgetCredits === undefined) throw new KeyInputError('budget_period needs budget_tokens or budget_credits');
    out.budgetPeriod = o.budget_period;
  }
  if (o.expires !== undefined && o.expires !== null) {
    if (typeof o.expires !== 'string') throw new KeyInputError('expires must be a duration (30d) or a date (2026-12-31)');
    out.expiresAt = parseExpiry(o.expires, now);
  }
  if (o.expires_at !== undefined && o.expires_at !== null) {
    const at = typeof o.expires_at === 'string' ? Date.parse(o.expires_at) : NaN;
    if (!Number.isFinite(at)) throw new KeyInputError('expires_at must be an ISO date-time');
    if (at <= now) throw new KeyInputError('expires_at is in the past');
    out.expiresAt = at;
  }
  return out;
}

/** A key as the CLI's --json and the admin API show it: never the hash, never the plain key. */
export function publicKey(k: KeyRecord, spend?: { tokens: number; credits: number }, now = Date.now()) {
  return {
    id: k.id,
    label: k.label,
    owner: k.owner ?? null,
    key_hint: k.hint,
    status: keyState(k, now),
    ...limitColumns(k),
    budget_period: k.budgetTokens !== undefined || k.budgetCredits !== undefined ? (k.budgetPeriod ?? 'month') : null,
    ...(spend ? { spent_tokens: spend.tokens, spent_credits: round6(spend.credits) } : {}),
    expires_at: k.expiresAt !== undefined ? new Date(k.expiresAt).toISOString() : null,
    created_at: new Date(k.createdAt).toISOString(),
    revoked_at: k.revokedAt !== undefined ? new Date(k.revokedAt).toISOString() : null,
    previous_key_valid_until: k.prevHash && k.prevExpiresAt !== undefined && k.prevExpiresAt > now ? new Date(k.prevExpiresAt).toISOString() : null,
  };
}

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;

/** A key's limits under their snake_case names, null where unset: the admin API, the CLI's --json and the PostgreSQL
 * row (team/pg-store.ts) name them alike. */
export function limitColumns(k: KeyPolicy) {
  return {
    models: k.models ?? null,
    rpm: k.rpm ?? null,
    tpm: k.tpm ?? null,
    max_parallel: k.maxParallel ?? null,
    budget_tokens: k.budgetTokens ?? null,
    budget_credits: k.budgetCredits ?? null,
  };
}

/** Has a budget: which unit, and the period. */
export function budgetOf(k: KeyPolicy): { unit: 'tokens' | 'credits'; limit: number; period: BudgetPeriod } | undefined {
  if (k.budgetTokens !== undefined) return { unit: 'tokens', limit: k.budgetTokens, period: k.budgetPeriod ?? 'month' };
  if (k.budgetCredits !== undefined) return { unit: 'credits', limit: k.budgetCredits, period: k.budgetPeriod ?? 'month' };
  return undefined;
}
