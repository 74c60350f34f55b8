// `cortex-proxy keys create|list|revoke|rotate`: virtual keys in the team store the config names (the embedded
// store on this machine, or general_settings.database_url). A running server picks changes up within a second.
// The plain key is printed once, alone on stdout (KEY=$(cortex-proxy keys create --label alice) works); only its
// sha256 is stored.
import { loadConfigOrExit } from './config-context.js';
import { createKey, listKeys, revokeKey, rotateKey, type PublicKey } from '../team/admin.js';
import { KeyInputError, parseDuration } from '../team/keys.js';
import { openStore } from '../team/open-store.js';
import { StoreConflict, StoreNotFound, type TeamStore } from '../team/store.js';
import { table } from '../usage/report.js';

export interface KeysOptions {
  config?: string;
  json?: boolean;
}

export interface CreateOptions extends KeysOptions {
  label?: string;
  owner?: string;
  models?: string;
  rpm?: string;
  tpm?: string;
  maxParallel?: string;
  budgetTokens?: string;
  budgetCredits?: string;
  period?: string;
  expires?: string;
}

async function withStore<T>(opts: KeysOptions, fn: (store: TeamStore) => Promise<T>): Promise<T> {
  const store: TeamStore = await openStore(loadConfigOrExit(opts.config, fail).settings);
  try {
    await store.migrate();
    return await fn(store);
  } catch (err) {
    if (err instanceof KeyInputError || err instanceof StoreConflict || err instanceof StoreNotFound) fail(err.message);
    fail(`team store ${store.where}: ${(err as Error).message}`);
  } finally {
    await store.close();
  }
}

export async function keysCreate(opts: CreateOptions): Promise<void> {
  const raw: Record<string, unknown> = {
    label: opts.label,
    owner: opts.owner,
    models: opts.models,
    rpm: opts.rpm,
    tpm: opts.tpm,
    max_parallel: opts.maxParallel,
    budget_tokens: opts.budgetTokens,
    budget_credits: opts.budgetCredits,
    budget_period: opts.period,
    expires: opts.expires,
  };
  const out = await withStore(opts, (store) => createKey(store, raw));
  if (opts.json) return print(JSON.stringify({ key: out.key, ...out.info }, null, 2));
  process.stderr.write(`Created ${out.info.id} for ${out.info.label}: ${describe(out.info)}.\nThe key (shown only this once; only its sha256 is stored):\n\n`);
  print(out.key);
  process.stderr.write(`\nClients use it like the master key: base URL http://<host>:4000/v1, API key = this key.\n`);
}

export async function keysList(opts: KeysOptions & { all?: boolean }): Promise<void> {
  const keys = await withStore(opts, (store) => listKeys(store, { all: opts.all }));
  if (opts.json) return print(JSON.stringify({ keys }, null, 2));
  if (keys.length === 0) return print('No virtual keys yet: cortex-proxy keys create --label <name>');
  print(
    table(
      ['label', 'id', 'key', 'status', 'models', 'limits', 'budget (spent / limit)', 'expires'],
      keys.map((k) => [
        k.label + (k.owner ? ` (${k.owner})` : ''),
        k.id,
        k.key_hint,
        k.status,
        k.models ? k.models.join(',') : 'all',
        limits(k) || '–',
        budget(k) || '–',
        k.expires_at ? k.expires_at.slice(0, 16).replace('T', ' ') : '–',
      ]),
    ),
  );
}

export async function keysRevoke(ref: string, opts: KeysOptions): Promise<void> {
  const info = await withStore(opts, (store) => revokeKey(store, ref));
  if (opts.json) return print(JSON.stringify(info, null, 2));
  print(`Revoked ${info.id} (${info.label}): every server refuses it within a second.`);
}

export async function keysRotate(ref: string, opts: KeysOptions & { grace?: string }): Promise<void> {
  let grace = 0;
  if (opts.grace !== undefined) {
    try {
      grace = parseDuration(opts.grace);
    } catch (err) {
      fail((err as Error).message);
    }
  }
  const out = await withStore(opts, (store) => rotateKey(store, ref, grace));
  if (opts.json) return print(JSON.stringify({ key: out.key, ...out.info }, null, 2));
  const old = out.info.previous_key_valid_until ? `the old key works until ${out.info.previous_key_valid_until}` : 'the old key stopped working';
  process.stderr.write(`Rotated ${out.info.id} (${out.info.label}): ${old}. The new key (shown only this once):\n\n`);
  print(out.key);
}

function describe(k: PublicKey): string {
  return [`models ${k.models ? k.models.join(', ') : 'all'}`, limits(k), budget(k) && `budget ${budget(k)}`, k.expires_at && `expires ${k.expires_at}`].filter(Boolean).join('; ');
}

function limits(k: PublicKey): string {
  return [k.rpm && `${k.rpm} rpm`, k.tpm && `${k.tpm} tpm`, k.max_parallel && `${k.max_parallel} parallel`].filter(Boolean).join(', ');
}

function budget(k: PublicKey): string {
  if (k.budget_tokens !== null) return `${'spent_tokens' in k ? `${k.spent_tokens} / ` : ''}${k.budget_tokens} tokens per ${k.budget_period}`;
  if (k.budget_credits !== null) return `${'spent_credits' in k ? `${k.spent_credits} / ` : ''}${k.budget_credits} credits per ${k.budget_period}`;
  return '';
}

function print(s: string): void {
  process.stdout.write(s + '\n');
}

function fail(message: string): never {
  process.stderr.write(`cortex-proxy keys: ${message}\n`);
  process.exit(2);
}
