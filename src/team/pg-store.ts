// The PostgreSQL team store (general_settings.database_url), shared by every replica:
//
//   cp_migrations   applied schema versions; start-up applies the missing ones under an advisory lock, so replicas
//                   starting together on an empty database neither race nor fail
//   cp_keys         virtual keys (sha256 of the key, policy, revocation); every change takes the next `version`
//                   while holding an advisory transaction lock, so versions commit in order and a replica that
//                   polls `version > last seen` never misses a change
//   cp_usage        one row per request (the usage log's fields, key id, credits, replica), multi-row inserts
//   cp_spend        tokens and credits per key and period (d:YYYY-MM-DD, m:YYYY-MM), upserted in the same
//                   transaction as the usage rows
// The `pg` driver is imported here only, and this module only when database_url is set.
import type { Pool, PoolClient } from 'pg';
import { importDriver } from './drivers.js';
import { limitColumns, type KeyRecord } from './keys.js';
import { redactUrl, StoreConflict, StoreNotFound, type KeyChanges, type Spend, type TeamStore, type UsageRow } from './store.js';
import type { UsageRecord } from '../usage/record.js';
import { RECORD_VERSION } from '../usage/record.js';

/** pg_advisory_lock keys (two int4s: 'cpxy' and a purpose). */
const LOCK_NS = 0x63707879;
const LOCK_MIGRATE = 1;
const LOCK_KEYS = 2;

export const MIGRATIONS: Array<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'keys, usage, spend',
    sql: `
CREATE SEQUENCE cp_keys_version;
CREATE TABLE cp_keys (
  id text PRIMARY KEY,
  hash text NOT NULL UNIQUE,
  prev_hash text,
  prev_expires_at timestamptz,
  hint text NOT NULL,
  label text NOT NULL,
  owner text,
  models text[],
  rpm integer,
  tpm bigint,
  max_parallel integer,
  budget_tokens bigint,
  budget_credits double precision,
  budget_period text,
  expires_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  revoked_at timestamptz,
  version bigint NOT NULL
);
CREATE UNIQUE INDEX cp_keys_active_label ON cp_keys (label) WHERE revoked_at IS NULL;
CREATE INDEX cp_keys_prev_hash ON cp_keys (prev_hash) WHERE prev_hash IS NOT NULL;
CREATE INDEX cp_keys_version_idx ON cp_keys (version);
CREATE TABLE cp_usage (
  id bigserial PRIMARY KEY,
  ts timestamptz NOT NULL,
  key_id text,
  key_label text NOT NULL,
  dialect text NOT NULL,
  client text NOT NULL,
  model text,
  cortex_model text,
  wire text,
  stream boolean,
  status integer NOT NULL,
  latency_ms real NOT NULL,
  ttft_ms real,
  prompt_tokens integer NOT NULL,
  completion_tokens integer NOT NULL,
  cached_tokens integer NOT NULL,
  cache_write_tokens integer NOT NULL,
  credits double precision,
  retries integer NOT NULL,
  fallback text,
  request_id text,
  error_kind text,
  error text,
  client_closed boolean NOT NULL,
  replica text NOT NULL
);
CREATE INDEX cp_usage_ts ON cp_usage (ts);
CREATE INDEX cp_usage_key_ts ON cp_usage (key_id, ts);
CREATE TABLE cp_spend (
  key_id text NOT NULL,
  period text NOT NULL,
  tokens bigint NOT NULL DEFAULT 0,
  credits double precision NOT NULL DEFAULT 0,
  PRIMARY KEY (key_id, period)
);`,
  },
];

const USAGE_COLUMNS = [
  'ts', 'key_id', 'key_label', 'dialect', 'client', 'model', 'cortex_model', 'wire', 'stream', 'status', 'latency_ms', 'ttft_ms',
  'prompt_tokens', 'completion_tokens', 'cached_tokens', 'cache_write_tokens', 'credits', 'retries', 'fallback', 'request_id',
  'error_kind', 'error', 'client_closed', 'replica',
] as const;
/** Rows per INSERT (PostgreSQL takes at most 65,535 parameters). */
const ROWS_PER_INSERT = 1000;

export class PgStore implements TeamStore {
  readonly kind = 'postgres' as const;
  readonly where: string;
  private pool: Promise<Pool> | undefined;

  constructor(
    private readonly url: string,
    private readonly opts: { poolMax?: number; connectTimeoutMs?: number } = {},
  ) {
    this.where = redactUrl(url);
  }

  private getPool(): Promise<Pool> {
    this.pool ??= importDriver(() => import('pg'), 'pg', 'general_settings.database_url (PostgreSQL)').then((mod) => {
      const pg = (mod as unknown as { default?: typeof import('pg') }).default ?? mod;
      // bigint (int8) columns as numbers: token counts stay far below 2^53.
      pg.types.setTypeParser(20, (v: string) => Number(v));
      const pool = new pg.Pool({
        connectionString: this.url,
        max: this.opts.poolMax ?? 10,
        connectionTimeoutMillis: this.opts.connectTimeoutMs ?? 5000,
        idleTimeoutMillis: 30_000,
        application_name: 'cortex-proxy',
      });
      // An idle connection that breaks (database restart) must not crash the process; the next query reconnects.
      pool.on('error', () => {});
      return pool;
    });
    return this.pool;
  }

  private async tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await (await this.getPool()).connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }

  async migrate(): Promise<void> {
    const c = await (await this.getPool()).connect();
    try {
      // Session lock: a second replica waits here until the first has finished, then finds nothing to do.
      await c.query('SELECT pg_advisory_lock($1, $2)', [LOCK_NS, LOCK_MIGRATE]);
      try {
        await c.query('CREATE TABLE IF NOT EXISTS cp_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
        const done = new Set((await c.query<{ version: number }>('SELECT version FROM cp_migrations')).rows.map((r) => r.version));
        for (const m of MIGRATIONS) {
          if (done.has(m.version)) continue;
          await c.query('BEGIN');
          try {
            await c.query(m.sql);
            await c.query('INSERT INTO cp_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
            await c.query('COMMIT');
          } catch (err) {
            await c.query('ROLLBACK').catch(() => {});
            throw new Error(`database migration ${m.version} (${m.name}) failed: ${(err as Error).message}`);
          }
        }
      } finally {
        await c.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NS, LOCK_MIGRATE]).catch(() => {});
      }
    } finally {
      c.release();
    }
  }

  async keysSince(version: number): Promise<KeyChanges> {
    const pool = await this.getPool();
    const { rows } = await pool.query('SELECT * FROM cp_keys WHERE version > $1 ORDER BY version', [version]);
    const keys = rows.map(fromRow);
    const last = rows.length ? Number(rows[rows.length - 1].version) : version;
    return { version: last, keys, full: version === 0 };
  }

  async insertKey(k: KeyRecord): Promise<void> {
    try {
      await this.tx(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NS, LOCK_KEYS]);
        const v = toRow(k);
        const cols = Object.keys(v);
        await c.query(
          `INSERT INTO cp_keys (${cols.join(', ')}, version) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}, nextval('cp_keys_version'))`,
          Object.values(v),
        );
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new StoreConflict(`an active key is already labelled '${k.label}'`);
      throw err;
    }
  }

  async updateKey(id: string, change: (k: KeyRecord) => KeyRecord): Promise<KeyRecord> {
    try {
      return await this.tx(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NS, LOCK_KEYS]);
        const { rows } = await c.query('SELECT * FROM cp_keys WHERE id = $1 FOR UPDATE', [id]);
        if (!rows.length) throw new StoreNotFound(`no key with id ${id}`);
        const next = change(fromRow(rows[0]));
        const v = toRow(next);
        const cols = Object.keys(v).filter((c) => c !== 'id');
        await c.query(
          `UPDATE cp_keys SET ${cols.map((col, i) => `${col} = $${i + 2}`).join(', ')}, version = nextval('cp_keys_version') WHERE id = $1`,
          [id, ...cols.map((col) => v[col])],
        );
        return next;
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new StoreConflict('an active key already has that label');
      throw err;
    }
  }

  async spend(which: Array<[string, string]>): Promise<Spend[]> {
    if (which.length === 0) return [];
    const pool = await this.getPool();
    const { rows } = await pool.query<{ key_id: string; period: string; tokens: number; credits: number }>(
      'SELECT key_id, period, tokens, credits FROM cp_spend WHERE (key_id, period) IN (SELECT * FROM unnest($1::text[], $2::text[]))',
      [which.map((w) => w[0]), which.map((w) => w[1])],
    );
    const by = new Map(rows.map((r) => [`${r.key_id} ${r.period}`, r]));
    return which.map(([id, p]) => {
      const r = by.get(`${id} ${p}`);
      return r ? { tokens: Number(r.tokens), credits: Number(r.credits) } : { tokens: 0, credits: 0 };
    });
  }

  async record(rows: UsageRow[]): Promise<void> {
    if (rows.length === 0) return;
    // Spend per key and period, in a fixed order so concurrent replicas lock the rows alike (no deadlock).
    const spend = new Map<string, { key: string; period: string; tokens: number; credits: number }>();
    for (const r of rows) {
      if (!r.key_id) continue;
      const tokens = r.prompt_tokens + r.completion_tokens;
      const credits = r.credits ?? 0;
      if (tokens === 0 && credits === 0) continue;
      for (const period of [`d:${r.ts.slice(0, 10)}`, `m:${r.ts.slice(0, 7)}`]) {
        const id = `${r.key_id} ${period}`;
        const s = spend.get(id) ?? { key: r.key_id, period, tokens: 0, credits: 0 };
        s.tokens += tokens;
        s.credits += credits;
        spend.set(id, s);
      }
    }
    const sorted = [...spend.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map((e) => e[1]);
    await this.tx(async (c) => {
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        const chunk = rows.slice(i, i + ROWS_PER_INSERT);
        const params: unknown[] = [];
        const tuples = chunk.map((r) => {
          const base = params.length;
          params.push(
            r.ts, r.key_id, r.key, r.dialect, r.client, r.model, r.cortex_model, r.wire, r.stream, r.status, r.latency_ms, r.ttft_ms,
            r.prompt_tokens, r.completion_tokens, r.cached_tokens, r.cache_write_tokens, r.credits, r.retries, r.fallback, r.request_id,
            r.error_kind, r.error, r.client_closed, r.replica,
          );
          return `(${USAGE_COLUMNS.map((_, j) => `$${base + j + 1}`).join(', ')})`;
        });
        await c.query(`INSERT INTO cp_usage (${USAGE_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, params);
      }
      if (sorted.length) {
        await c.query(
          `INSERT INTO cp_spend (key_id, period, tokens, credits)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[])
           ON CONFLICT (key_id, period) DO UPDATE SET tokens = cp_spend.tokens + EXCLUDED.tokens, credits = cp_spend.credits + EXCLUDED.credits`,
          [sorted.map((s) => s.key), sorted.map((s) => s.period), sorted.map((s) => s.tokens), sorted.map((s) => s.credits)],
        );
      }
    });
  }

  async usageSince(since: number): Promise<UsageRecord[]> {
    const pool = await this.getPool();
    const { rows } = await pool.query(`SELECT * FROM cp_usage WHERE ts >= $1 ORDER BY ts`, [new Date(Number.isFinite(since) ? since : 0).toISOString()]);
    return rows.map((r): UsageRecord => ({
      v: RECORD_VERSION,
      ts: (r.ts as Date).toISOString(),
      dialect: r.dialect,
      client: r.client,
      key: r.key_label,
      model: r.model,
      cortex_model: r.cortex_model,
      wire: r.wire,
      stream: r.stream,
      status: r.status,
      latency_ms: r.latency_ms,
      ttft_ms: r.ttft_ms,
      prompt_tokens: r.prompt_tokens,
      completion_tokens: r.completion_tokens,
      cached_tokens: r.cached_tokens,
      cache_write_tokens: r.cache_write_tokens,
      retries: r.retries,
      fallback: r.fallback,
      request_id: r.request_id,
      error_kind: r.error_kind,
      error: r.error,
      client_closed: r.client_closed,
    }));
  }

  async ping(): Promise<void> {
    await (await this.getPool()).query('SELECT 1');
  }

  async close(): Promise<void> {
    if (!this.pool) return;
    const pool = await this.pool.catch(() => undefined);
    this.pool = undefined;
    await pool?.end().catch(() => {});
  }
}

const ms = (d: unknown) => (d instanceof Date ? d.getTime() : d === null || d === undefined ? undefined : Date.parse(String(d)));
const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function fromRow(r: Record<string, unknown>): KeyRecord {
  const k: KeyRecord = {
    id: r.id as string,
    hash: r.hash as string,
    hint: r.hint as string,
    label: r.label as string,
    createdAt: ms(r.created_at)!,
    updatedAt: ms(r.updated_at)!,
  };
  const set = <K extends keyof KeyRecord>(name: K, v: KeyRecord[K] | undefined) => {
    if (v !== undefined) k[name] = v;
  };
  set('prevHash', opt(r.prev_hash as string | null));
  set('prevExpiresAt', ms(r.prev_expires_at));
  set('owner', opt(r.owner as string | null));
  set('models', opt(r.models as string[] | null));
  set('rpm', opt(r.rpm as number | null));
  set('tpm', r.tpm === null ? undefined : Number(r.tpm));
  set('maxParallel', opt(r.max_parallel as number | null));
  set('budgetTokens', r.budget_tokens === null ? undefined : Number(r.budget_tokens));
  set('budgetCredits', opt(r.budget_credits as number | null));
  set('budgetPeriod', opt(r.budget_period as KeyRecord['budgetPeriod'] | null));
  set('expiresAt', ms(r.expires_at));
  set('revokedAt', ms(r.revoked_at));
  return k;
}

function toRow(k: KeyRecord): Record<string, unknown> {
  const t = (n: number | undefined) => (n === undefined ? null : new Date(n).toISOString());
  return {
    id: k.id,
    hash: k.hash,
    prev_hash: k.prevHash ?? null,
    prev_expires_at: t(k.prevExpiresAt),
    hint: k.hint,
    label: k.label,
    owner: k.owner ?? null,
    ...limitColumns(k),
    budget_period: k.budgetPeriod ?? null,
    expires_at: t(k.expiresAt),
    created_at: t(k.createdAt),
    updated_at: t(k.updatedAt),
    revoked_at: t(k.revokedAt),
  };
}
