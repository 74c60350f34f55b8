// Limits shared by every replica (general_settings.redis_url): the rules of team/limits.ts as Lua scripts, so each
// decision is one atomic round trip (EVALSHA) on Redis's clock. The node-redis client (@redis/client) is imported
// only when redis_url is set. Per key: cp:{id}:rpm (zset of admissions), cp:{id}:tpm (hash second → tokens),
// cp:{id}:inflight (zset request → lease end), cp:{id}:reserve (hash request → worst-case cost).
import { createHash } from 'node:crypto';
import type { AdmitRequest, AdmitResult, Limiter, Refusal } from './limits.js';
import { LEASE_MS, WINDOW_MS } from './limits.js';
import { importDriver } from './drivers.js';

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const ADMIT = `${NOW}
local reqId = ARGV[1]
local rpm = tonumber(ARGV[2])
local tpm = tonumber(ARGV[3])
local par = tonumber(ARGV[4])
local limit = tonumber(ARGV[5])
local spent = tonumber(ARGV[6])
local cost = tonumber(ARGV[7])
local lease = tonumber(ARGV[8])
local win = ${WINDOW_MS}
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
if #dead > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  redis.call('HDEL', KEYS[4], unpack(dead))
end
if rpm >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)
  local n = redis.call('ZCARD', KEYS[1])
  if n >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[1], n - rpm, n - rpm, 'WITHSCORES')
    return {0, 'rpm', tonumber(oldest[2]) + win - now}
  end
end
if tpm >= 0 then
  local sec = math.floor(now / 1000)
  local all = redis.call('HGETALL', KEYS[2])
  local used = 0
  local live = {}
  for i = 1, #all, 2 do
    local b = tonumber(all[i])
    local n = tonumber(all[i + 1])
    if b <= sec - 60 then
      redis.call('HDEL', KEYS[2], all[i])
    else
      used = used + n
      table.insert(live, {b, n})
    end
  end
  if used >= tpm then
    table.sort(live, function(x, y) return x[1] < y[1] end)
    local left = used
    local at = now + 1000
    for _, e in ipairs(live) do
      left = left - e[2]
      at = (e[1] + 61) * 1000
      if left < tpm then break end
    end
    return {0, 'tpm', at - now}
  end
end
local inflight = redis.call('ZCARD', KEYS[3])
if par >= 0 and inflight >= par then return {0, 'parallel', 1000} end
if limit >= 0 then
  if spent >= limit then return {0, 'budget', 0} end
  if inflight > 0 then
    local reserved = 0
    for _, v in ipairs(redis.call('HVALS', KEYS[4])) do reserved = reserved + tonumber(v) end
    if spent + reserved + cost > limit then return {0, 'budget_busy', 1000} end
  end
end
if rpm >= 0 then
  redis.call('ZADD', KEYS[1], now, reqId)
  redis.call('PEXPIRE', KEYS[1], win + 1000)
end
redis.call('ZADD', KEYS[3], now + lease, reqId)
redis.call('PEXPIRE', KEYS[3], lease * 2)
redis.call('HSET', KEYS[4], reqId, ARGV[7])
redis.call('PEXPIRE', KEYS[4], lease * 2)
return {1}`;

const SETTLE = `redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
local tokens = tonumber(ARGV[2])
if tokens > 0 then
  local t = redis.call('TIME')
  redis.call('HINCRBY', KEYS[2], t[1], tokens)
  redis.call('PEXPIRE', KEYS[2], ${WINDOW_MS + 2000})
end
return 1`;

const RENEW = `${NOW}
for i = 1, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + ${LEASE_MS}, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ${LEASE_MS * 2})
return 1`;

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const SCRIPTS = { admit: { text: ADMIT, sha: sha1(ADMIT) }, settle: { text: SETTLE, sha: sha1(SETTLE) }, renew: { text: RENEW, sha: sha1(RENEW) } };

const keysOf = (id: string) => [`cp:{${id}}:rpm`, `cp:{${id}}:tpm`, `cp:{${id}}:inflight`, `cp:{${id}}:reserve`];

interface Client {
  connect(): Promise<unknown>;
  close?(): Promise<void>;
  quit?(): Promise<unknown>;
  destroy?(): void;
  ping(): Promise<string>;
  evalSha(sha: string, opts: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, opts: { keys: string[]; arguments: string[] }): Promise<unknown>;
  on(event: 'error', fn: (err: Error) => void): unknown;
  isReady: boolean;
}

export class RedisLimiter implements Limiter {
  readonly kind = 'redis' as const;
  private constructor(private readonly client: Client) {}

  /** Connects (the first connection must succeed within a few seconds); reconnects on its own later. */
  static async connect(url: string, onError: (err: Error) => void): Promise<RedisLimiter> {
    const { createClient } = await importDriver(() => import('@redis/client'), '@redis/client', 'general_settings.redis_url (Redis)');
    let started = false;
    const client = createClient({
      url,
      disableOfflineQueue: true, // while disconnected, commands fail at once instead of piling up
      socket: {
        connectTimeout: 3000,
        // At start-up a few quick tries, then give up (the caller says so); once connected, reconnect for ever.
        reconnectStrategy: (retries: number, cause: Error) => (started || retries < 3 ? Math.min(100 * 2 ** retries, 2000) : cause),
      },
    }) as unknown as Client;
    client.on('error', onError);
    await client.connect();
    started = true;
    return new RedisLimiter(client);
  }

  private async run(name: keyof typeof SCRIPTS, keys: string[], args: string[]): Promise<unknown> {
    const s = SCRIPTS[name];
    try {
      return await this.client.evalSha(s.sha, { keys, arguments: args });
    } catch (err) {
      if (!String((err as Error)?.message).includes('NOSCRIPT')) throw err;
      return this.client.eval(s.text, { keys, arguments: args });
    }
  }

  async admit(a: AdmitRequest): Promise<AdmitResult> {
    const n = (v: number | undefined) => (v === undefined ? '-1' : String(v));
    const r = (await this.run('admit', keysOf(a.keyId), [
      a.reqId, n(a.rpm), n(a.tpm), n(a.maxParallel), n(a.budget?.limit), String(a.budget?.spent ?? 0), String(a.budget?.cost ?? 0), String(LEASE_MS),
    ])) as [number, string?, number?];
    if (Number(r[0]) === 1) return { ok: true };
    return { ok: false, reason: r[1] as Refusal, retryAfterMs: Math.max(0, Number(r[2] ?? 1000)) };
  }

  async settle(keyId: string, reqId: string, tokens: number): Promise<void> {
    await this.run('settle', keysOf(keyId), [reqId, String(Math.max(0, Math.round(tokens)))]);
  }

  async renew(entries: Array<{ keyId: string; reqId: string }>): Promise<void> {
    const by = new Map<string, string[]>();
    for (const e of entries) by.set(e.keyId, [...(by.get(e.keyId) ?? []), e.reqId]);
    await Promise.all([...by].map(([id, reqs]) => this.run('renew', [keysOf(id)[2]], reqs)));
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    try {
      if (this.client.close) await this.client.close();
      else await this.client.quit?.();
    } catch {
      this.client.destroy?.();
    }
  }
}
