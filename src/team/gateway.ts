// The team gateway at run time: a mirror of the virtual keys (one Map lookup per request; changes polled from the
// store every 500 ms, so a revoked key is refused by every replica within a second), admission of a virtual key's
// chat requests (allowed models, limits, budget: ctx.admit), and usage rows committed to the store before the
// answer's last bytes go out (ctx.beforeEnd) — an answer the client received completely always has its record.
//
//   serve ──► startTeam(ctx) ──► store (file | PostgreSQL) + limiter (memory | Redis)
//   app.ts authorize ──► lookup(sha256(key)) ──► x is a virtual key's exchange (keyLabel = its label)
//   proxy.ts, embed.ts, count_tokens ──► admit(x, {model, …}) ──► beforeEnd(x): commit ──► onExchange: settle, late rows
//   proxy.ts fallbacks, /v1/models ──► allows(x, model): only the models the key may use
// Admission rules (docs/admission.md): every model route admits through ctx.admit; a virtual key is enforced
// whether or not a master key is set, and once any (unrevoked) virtual key exists a request without one is refused.
import os from 'node:os';
import type { IncomingMessage } from 'node:http';
import { ProxyError } from '../core/errors.js';
import { randomId } from '../core/ids.js';
import { deploymentInfo } from '../cortex/models.js';
import { estimateInputTokens } from '../core/tokens.js';
import type { Admission, AppContext, Exchange } from '../server/context.js';
import type { Logger } from '../server/log.js';
import { toRecord } from '../usage/record.js';
import { estimateCredits, mergeRates, type CreditRates } from '../usage/rates.js';
import { telemetryOf } from '../usage/telemetry.js';
import { budgetOf, keyState, periodEnd, periodKey, type KeyRecord } from './keys.js';
import { MemoryLimiter, type Limiter, type AdmitResult } from './limits.js';
import { openStore } from './open-store.js';
import type { TeamStore, UsageRow } from './store.js';
import type { Router } from '../cortex/router.js';

export const POLL_MS = 500;
/** A lookup that misses triggers a refresh at most this often (unknown keys cannot flood the database). */
const MISS_REFRESH_MS = 100;
const RENEW_MS = 15_000;
/** Rows that could not be stored are retried; beyond this many the oldest are dropped (with a warning). */
const MAX_RETRY_ROWS = 100_000;

interface Track {
  req: IncomingMessage;
  key?: KeyRecord;
  reqId: string;
  limiter?: Limiter;
  committed: boolean;
}

const gateways = new WeakMap<AppContext, TeamGateway>();
/** The virtual key of an exchange (set by authorize). */
const principals = new WeakMap<Exchange, KeyRecord>();

export function gatewayOf(ctx: AppContext): TeamGateway | undefined {
  return gateways.get(ctx);
}

export function setPrincipal(x: Exchange, key: KeyRecord): void {
  principals.set(x, key);
}

/**
 * Whether the exchange's key may use a model name (always, without a virtual key or without a model list). A name
 * that reaches an allowed model_name through an alias is that model (Claude Code's claude-sonnet-4-5-20250929 for
 * a key allowed claude-sonnet-4-5: config/model-names.ts).
 */
export function keyAllows(x: Exchange, model: string, router?: Pick<Router, 'nameOf'>): boolean {
  const key = principals.get(x);
  if (!key?.models || key.models.includes(model)) return true;
  const name = router?.nameOf(model);
  return name !== undefined && key.models.includes(name);
}

export class TeamGateway {
  readonly replica = `${os.hostname()}:${process.pid}`;
  private readonly byHash = new Map<string, KeyRecord>();
  private readonly hashesOf = new Map<string, string[]>();
  private readonly byId = new Map<string, KeyRecord>();
  /** Unrevoked virtual keys in the mirror (expired ones count: the operator uses keys). */
  private unrevoked = 0;
  private version = 0;
  private lastRefresh = 0;
  private refreshing: Promise<void> | undefined;
  private missRefresh: Promise<void> | undefined;
  private readonly tracks = new WeakMap<Exchange, Track>();
  private readonly running = new Set<Track>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly memory = new MemoryLimiter();
  private readonly rates: CreditRates;
  private readonly defaultKey: string;
  /** Store errors (readiness); cleared by the next success. */
  storeError: string | undefined;
  limiterError: string | undefined;
  private pending: { rows: UsageRow[]; waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> } = { rows: [], waiters: [] };
  private flushing: Promise<void> | undefined;
  private retry: UsageRow[] = [];
  private closed = false;

  constructor(
    private readonly ctx: AppContext,
    readonly store: TeamStore,
    readonly limiter: Limiter,
    private readonly log: Logger,
  ) {
    this.rates = telemetryOf(ctx)?.rates ?? mergeRates(ctx.config.settings.creditRates);
    this.defaultKey = ctx.config.settings.masterKey ? 'unauthenticated' : 'none';
  }

  /** Every chat exchange gets a row in the store (PostgreSQL); the file store keeps only virtual keys' spend. */
  get recordsAll(): boolean {
    return this.store.kind === 'postgres';
  }

  /**
   * Virtual keys are in use: some key was created and not revoked. From then on every model request must present
   * a key (the master key or a virtual key), also when no master key is configured (team/auth.ts).
   */
  get keysInUse(): boolean {
    return this.unrevoked > 0;
  }

  /** Active virtual keys in the mirror. */
  get keyCount(): number {
    const now = Date.now();
    let n = 0;
    for (const k of new Set(this.byHash.values())) if (keyState(k, now) === 'active') n++;
    return n;
  }

  async start(): Promise<void> {
    await this.store.migrate();
    await this.refresh();
    const poll = setInterval(() => void this.refresh().catch(() => {}), POLL_MS);
    const renew = setInterval(() => void this.renewLeases(), RENEW_MS);
    const retry = setInterval(() => void this.retryRows(), 2000);
    for (const t of [poll, renew, retry]) t.unref();
    this.timers.push(poll, renew, retry);
    const ctx = this.ctx;
    ctx.admit = (x, a, req) => this.admit(x, a, req);
    ctx.allows = (x, model) => keyAllows(x, model, ctx.router);
    ctx.beforeEnd = (x) => this.beforeEnd(x);
    ctx.onExchange.push((x, req) => this.finished(x, req));
    gateways.set(ctx, this);
  }

  // ───────────────────────────── keys ─────────────────────────────

  /** Reads the keys that changed since the last poll (all of them the first time). Coalesced. */
  refresh(): Promise<void> {
    this.refreshing ??= this.store
      .keysSince(this.version)
      .then((c) => {
        if (c.full) {
          this.byHash.clear();
          this.hashesOf.clear();
          this.byId.clear();
        }
        for (const k of c.keys) this.put(k);
        if (c.full || c.keys.length) {
          let n = 0;
          for (const k of this.byId.values()) if (k.revokedAt === undefined) n++;
          this.unrevoked = n;
        }
        this.version = c.version;
        this.lastRefresh = Date.now();
        if (this.storeError) this.log.info(`team store ${this.store.where} is reachable again`);
        this.storeError = undefined;
      })
      .catch((err) => {
        if (!this.storeError) this.log.warn(`team store ${this.store.where}: ${(err as Error).message}`);
        this.storeError = (err as Error).message;
        throw err;
      })
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private put(k: KeyRecord): void {
    for (const h of this.hashesOf.get(k.id) ?? []) this.byHash.delete(h);
    const hashes = [k.hash];
    if (k.prevHash && k.prevExpiresAt !== undefined && k.prevExpiresAt > Date.now()) hashes.push(k.prevHash);
    for (const h of hashes) this.byHash.set(h, k);
    this.hashesOf.set(k.id, hashes);
    this.byId.set(k.id, k);
  }

  /**
   * The key whose sha256 (hex) this is, refused with a clear 401 when revoked or expired; undefined when unknown.
   * A miss waits for a re-read of the store (at most one per 100 ms, shared by every miss meanwhile), so a key
   * created a moment ago on another replica works and unknown keys cannot flood the database.
   */
  lookup(hash: string): KeyRecord | undefined | Promise<KeyRecord | undefined> {
    const k = this.byHash.get(hash);
    if (k) return this.check(k, hash);
    if (!this.missRefresh) {
      const wait = Math.max(0, this.lastRefresh + MISS_REFRESH_MS - Date.now());
      this.missRefresh = new Promise((r) => setTimeout(r, wait))
        .then(() => this.refresh())
        .finally(() => (this.missRefresh = undefined));
    }
    return this.missRefresh.then(
      () => {
        const again = this.byHash.get(hash);
        return again ? this.check(again, hash) : undefined;
      },
      () => undefined,
    );
  }

  private check(k: KeyRecord, hash: string): KeyRecord {
    const now = Date.now();
    const state = keyState(k, now);
    if (state === 'revoked') throw new ProxyError('auth', `this API key (${k.label}) was revoked; ask your admin for a new one`, { code: 'invalid_api_key' });
    if (state === 'expired')
      throw new ProxyError('auth', `this API key (${k.label}) expired at ${new Date(k.expiresAt!).toISOString()}; ask your admin for a new one`, { code: 'invalid_api_key' });
    if (hash !== k.hash && !(k.prevExpiresAt !== undefined && k.prevExpiresAt > now))
      throw new ProxyError('auth', `this API key (${k.label}) was rotated; use the new key`, { code: 'invalid_api_key' });
    return k;
  }

  // ───────────────────────────── admission ─────────────────────────────

  private async admit(x: Exchange, a: Admission, req: IncomingMessage): Promise<void> {
    const key = principals.get(x);
    if (!key) {
      if (this.recordsAll && !a.free) this.tracks.set(x, { req, reqId: '', committed: false });
      return;
    }
    if (key.models && !keyAllows(x, a.model, this.ctx.router))
      throw new ProxyError('permission', `the key '${key.label}' may not use the model '${clip(a.model)}'; it may use: ${key.models.join(', ')}`, { code: 'model_not_allowed', param: 'model' });
    if (a.free) return; // answered locally (count_tokens): nothing spent, nothing to limit
    const reqId = randomId('', 9);
    let budget: { limit: number; spent: number; cost: number } | undefined;
    const b = budgetOf(key);
    if (b) {
      const [spent] = await this.store.spend([[key.id, periodKey(b.period)]]).catch((err) => {
        throw new ProxyError('unavailable', `cannot read the key's budget from the team store (${(err as Error).message}); try again shortly`, { retryAfter: 2 });
      });
      const deployment = a.deployment;
      const info = deploymentInfo(deployment);
      let prompt: number;
      let maxOut: number;
      if (a.chat) {
        const floor = this.ctx.config.settings.minOutputTokens ?? 0;
        maxOut = Math.min(Math.max(a.chat.maxTokens ?? deployment.maxTokens ?? info.maxOutputTokens, floor), info.maxOutputTokens || Infinity);
        prompt = Math.min(estimateInputTokens(a.chat), info.contextWindow || Infinity);
      } else {
        maxOut = 0; // embeddings: input tokens only
        prompt = a.inputTokens ?? 0;
      }
      let cost: number;
      if (b.unit === 'tokens') cost = prompt + maxOut;
      else {
        const c = estimateCredits({ model: a.model, cortex_model: deployment.cortexModel, prompt_tokens: prompt, completion_tokens: maxOut, cached_tokens: 0 }, this.rates);
        if (c === undefined)
          throw new ProxyError('permission', `the key '${key.label}' has a credit budget, but the model '${clip(a.model)}' (${deployment.cortexModel}) has no credit rate: add it to general_settings.credit_rates`, { code: 'model_not_allowed', param: 'model' });
        cost = c;
      }
      budget = { limit: b.limit, spent: b.unit === 'tokens' ? spent.tokens : spent.credits, cost };
    }
    const request = { keyId: key.id, reqId, rpm: key.rpm, tpm: key.tpm, maxParallel: key.maxParallel, budget };

    let limiter = this.limiter;
    let r: AdmitResult;
    try {
      r = await limiter.admit(request);
      if (this.limiterError) this.log.info('shared limits (Redis) are reachable again');
      this.limiterError = undefined;
    } catch (err) {
      // Redis unreachable: keep serving with this replica's own limits (readiness reports it).
      if (!this.limiterError) this.log.warn(`shared limits (Redis) unreachable, using this replica's own limits: ${(err as Error).message}`);
      this.limiterError = (err as Error).message;
      limiter = this.memory;
      r = this.memory.admitSync(request);
    }
    if (!r.ok) throw refusal(key, r, budget, b?.period, b?.unit);
    const t: Track = { req, key, reqId, limiter, committed: false };
    this.tracks.set(x, t);
    this.running.add(t);
  }

  // ───────────────────────────── usage rows ─────────────────────────────

  /** Before the answer's last bytes: its row is stored (durably) first. Never throws: the answer goes out anyway. */
  private async beforeEnd(x: Exchange): Promise<void> {
    const t = this.tracks.get(x);
    if (!t || t.committed) return;
    t.committed = true;
    const row = this.rowOf(x, t.key, 200, t.req);
    try {
      await this.enqueue(row, true);
    } catch (err) {
      if (!this.storeError) this.log.warn(`team store ${this.store.where}: usage not stored yet, retrying (${(err as Error).message})`);
      this.storeError = (err as Error).message;
      this.keepForRetry([row]);
    }
  }

  /** After the exchange (context.onExchange): frees its limits and stores the rows that were not committed. */
  private finished(x: Exchange, req: IncomingMessage): void {
    const t = this.tracks.get(x);
    const key = t?.key ?? principals.get(x);
    if (t) {
      this.running.delete(t);
      if (t.limiter && t.key) {
        const tokens = x.usage ? x.usage.promptTokens + x.usage.completionTokens : 0;
        t.limiter.settle(t.key.id, t.reqId, tokens).catch((err) => {
          if (t.limiter !== this.limiter) return;
          if (!this.limiterError) this.log.warn(`shared limits (Redis): ${(err as Error).message}`);
          this.limiterError = (err as Error).message;
        });
      }
      if (t.committed) return;
    }
    if (x.dialect === 'http') return; // not a model call
    if (!key && !this.recordsAll) return;
    const row = this.rowOf(x, key, x.status ?? 0, req);
    void this.enqueue(row, false).catch(() => this.keepForRetry([row]));
  }

  private rowOf(x: Exchange, key: KeyRecord | undefined, status: number, req: IncomingMessage | undefined): UsageRow {
    const rec = toRecord(x.status === undefined ? { ...x, status } : x, req ?? NO_REQ, this.defaultKey);
    return { ...rec, key_id: key?.id ?? null, credits: estimateCredits(rec, this.rates) ?? null, replica: this.replica };
  }

  /** Group commit: rows that arrive while a write is under way go together in the next one. */
  private enqueue(row: UsageRow, wait: boolean): Promise<void> {
    const p = new Promise<void>((resolve, reject) => {
      this.pending.rows.push(row);
      this.pending.waiters.push({ resolve, reject });
    });
    this.flushing ??= this.flushLoop().finally(() => (this.flushing = undefined));
    return wait ? p : p.catch(() => {});
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.rows.length) {
      const batch = this.pending;
      this.pending = { rows: [], waiters: [] };
      try {
        await this.store.record(batch.rows);
        if (this.storeError) this.log.info(`team store ${this.store.where} is reachable again`);
        this.storeError = undefined;
        for (const w of batch.waiters) w.resolve();
      } catch (err) {
        for (const w of batch.waiters) w.reject(err);
      }
    }
  }

  private keepForRetry(rows: UsageRow[]): void {
    this.retry.push(...rows);
    if (this.retry.length > MAX_RETRY_ROWS) {
      const n = this.retry.length - MAX_RETRY_ROWS;
      this.retry.splice(0, n);
      this.log.warn(`team store unreachable for long: ${n} usage rows dropped`);
    }
  }

  private async retryRows(): Promise<void> {
    if (!this.retry.length || this.closed) return;
    const rows = this.retry;
    this.retry = [];
    try {
      await this.store.record(rows);
      this.storeError = undefined;
      this.log.info(`team store: ${rows.length} delayed usage rows stored`);
    } catch {
      this.keepForRetry(rows);
    }
  }

  private async renewLeases(): Promise<void> {
    const shared = [...this.running].filter((t) => t.limiter === this.limiter && t.key).map((t) => ({ keyId: t.key!.id, reqId: t.reqId }));
    if (shared.length) await this.limiter.renew(shared).catch(() => {});
  }

  // ───────────────────────────── readiness, shutdown ─────────────────────────────

  async readiness(): Promise<{ ready: boolean; store: string; limits: string; keys: number }> {
    const withTimeout = (p: Promise<void>) =>
      Promise.race([p.then(() => 'ok'), new Promise<string>((r) => setTimeout(() => r('error: no answer within 2 s'), 2000).unref())]).catch(
        (err) => `error: ${(err as Error).message}`,
      );
    const [store, limits] = await Promise.all([withTimeout(this.store.ping()), this.limiter.kind === 'redis' ? withTimeout(this.limiter.ping()) : Promise.resolve('ok')]);
    return { ready: store === 'ok' && limits === 'ok', store, limits, keys: this.keyCount };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.flushing;
    if (this.retry.length) await this.store.record(this.retry).catch(() => this.log.warn(`team store: ${this.retry.length} usage rows could not be stored at shutdown`));
    await this.limiter.close().catch(() => {});
    await this.store.close().catch(() => {});
  }
}

const NO_REQ = { headers: {} } as IncomingMessage;

function refusal(key: KeyRecord, r: Extract<AdmitResult, { ok: false }>, budget: { limit: number; spent: number } | undefined, period?: 'day' | 'month', unit?: 'tokens' | 'credits'): ProxyError {
  const secs = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
  switch (r.reason) {
    case 'rpm':
      return new ProxyError('rate_limit', `the key '${key.label}' is limited to ${key.rpm} requests per minute; retry in ${secs} s`, { code: 'rate_limit_exceeded', retryAfter: secs });
    case 'tpm':
      return new ProxyError('rate_limit', `the key '${key.label}' is limited to ${key.tpm} tokens per minute; retry in ${secs} s`, { code: 'rate_limit_exceeded', retryAfter: secs });
    case 'parallel':
      return new ProxyError('rate_limit', `the key '${key.label}' may have ${key.maxParallel} requests in flight at once; retry when one has finished`, { code: 'rate_limit_exceeded', retryAfter: secs });
    case 'budget_busy':
      return new ProxyError('rate_limit', `the key '${key.label}' has almost used its ${period} budget: its requests now run one at a time; retry in a moment`, { code: 'rate_limit_exceeded', retryAfter: secs });
    case 'budget': {
      const end = periodEnd(period ?? 'month');
      const used = unit === 'credits' ? `${round(budget!.spent)} of ${budget!.limit} AI credits` : `${budget!.spent} of ${budget!.limit} tokens`;
      return new ProxyError('budget', `the key '${key.label}' has used its ${period} budget (${used}); it resets at ${new Date(end).toISOString()}`, {
        code: 'budget_exceeded',
        retryAfter: Math.max(1, Math.ceil((end - Date.now()) / 1000)),
      });
    }
  }
}

function passwordOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const pw = new URL(url).password;
    return pw ? decodeURIComponent(pw) : undefined;
  } catch {
    return undefined;
  }
}

const round = (n: number) => Math.round(n * 1e4) / 1e4;

/** A client-supplied name in an error: at most 100 characters. */
const clip = (s: string) => (s.length > 100 ? `${s.slice(0, 100)}…` : s);

/**
 * Opens the store and the limiter the settings name and installs the gateway on the app's context. Fails (with a
 * message naming the service) when the database or Redis cannot be reached at start-up.
 */
export async function startTeam(ctx: AppContext, log: Logger, opts: { memoryLimiter?: Limiter } = {}): Promise<TeamGateway> {
  const s = ctx.config.settings;
  const store = await openStore(s);
  let limiter: Limiter;
  if (s.redisUrl) {
    const { RedisLimiter } = await import('./redis-limits.js');
    let complained = false;
    limiter = await RedisLimiter.connect(s.redisUrl, (err) => {
      if (!complained) log.warn(`Redis: ${err.message || err.name}`);
      complained = true;
    }).catch((err: Error) => {
      throw new Error(`cannot connect to Redis (general_settings.redis_url): ${err.message || err.name}`);
    });
  } else limiter = opts.memoryLimiter ?? new MemoryLimiter(); // serve --workers: the primary's (server/cluster.ts)
  for (const url of [s.databaseUrl, s.redisUrl]) log.addSecret(passwordOf(url));
  const g = new TeamGateway(ctx, store, limiter, log);
  try {
    await g.start();
  } catch (err) {
    await limiter.close().catch(() => {});
    await store.close().catch(() => {});
    throw new Error(`cannot open the team store ${store.where}: ${(err as Error).message}`);
  }
  return g;
}
