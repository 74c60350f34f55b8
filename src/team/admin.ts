// Key administration, shared by the `cortex-proxy keys` CLI and the /admin HTTP routes: create, list, revoke,
// rotate. The plain key leaves this module exactly once, in the result of create or rotate.
import { sortKeys } from './file-store.js';
import { budgetOf, generateKey, KeyInputError, keyState, newKeyId, parseKeyInput, periodKey, publicKey, type KeyRecord } from './keys.js';
import { StoreNotFound, type TeamStore } from './store.js';

export type PublicKey = ReturnType<typeof publicKey>;

export async function createKey(store: TeamStore, raw: unknown, now = Date.now()): Promise<{ key: string; info: PublicKey }> {
  const input = parseKeyInput(raw, now);
  if (!input.label) throw new KeyInputError('a key needs a label (who or what it is for), e.g. --label alice');
  const { key, hash, hint } = generateKey();
  const rec: KeyRecord = { ...input, label: input.label, id: newKeyId(), hash, hint, createdAt: now, updatedAt: now };
  await store.insertKey(rec);
  return { key, info: publicKey(rec, { tokens: 0, credits: 0 }, now) };
}

export async function allKeys(store: TeamStore): Promise<KeyRecord[]> {
  return (await store.keysSince(0)).keys;
}

/** Keys with this period's spend (of their budget's period; month for keys without a budget). */
export async function listKeys(store: TeamStore, opts: { all?: boolean } = {}, now = Date.now()): Promise<PublicKey[]> {
  let keys = sortKeys(await allKeys(store), now);
  if (!opts.all) keys = keys.filter((k) => keyState(k, now) !== 'revoked');
  const spend = await store.spend(keys.map((k) => [k.id, periodKey(budgetOf(k)?.period ?? 'month', now)]));
  return keys.map((k, i) => publicKey(k, spend[i], now));
}

/** A key by id, by label (active keys first) or by its hint (`sk-cp-AbCd…wxYz` or its start). */
export async function findKey(store: TeamStore, ref: string, now = Date.now()): Promise<KeyRecord> {
  const keys = sortKeys(await allKeys(store), now);
  const r = ref.trim();
  const hit =
    keys.find((k) => k.id === r) ??
    keys.find((k) => k.label === r && keyState(k, now) !== 'revoked') ??
    keys.find((k) => k.label === r) ??
    (r.length >= 8 ? keys.find((k) => k.hint === r || (r.startsWith('sk-cp-') && k.hint.startsWith(r.replace(/….*$/, '')))) : undefined);
  if (!hit) throw new StoreNotFound(`no key '${ref}' (give its id, its label or its hint; see keys list)`);
  return hit;
}

export async function revokeKey(store: TeamStore, ref: string, now = Date.now()): Promise<PublicKey> {
  const k = await findKey(store, ref, now);
  const next = await store.updateKey(k.id, (cur) => (cur.revokedAt !== undefined ? cur : { ...cur, revokedAt: now, updatedAt: now, prevHash: undefined, prevExpiresAt: undefined }));
  return publicKey(next, undefined, now);
}

/**
 * A new secret for the same key (same id, policy, budget and spend). The old secret stops working at once, or
 * after `graceMs` so clients can be switched over.
 */
export async function rotateKey(store: TeamStore, ref: string, graceMs = 0, now = Date.now()): Promise<{ key: string; info: PublicKey }> {
  const k = await findKey(store, ref, now);
  if (keyState(k, now) !== 'active') throw new KeyInputError(`the key '${k.label}' is ${keyState(k, now)}: create a new one instead`);
  const { key, hash, hint } = generateKey();
  const next = await store.updateKey(k.id, (cur) => ({
    ...cur,
    hash,
    hint,
    prevHash: graceMs > 0 ? cur.hash : undefined,
    prevExpiresAt: graceMs > 0 ? now + graceMs : undefined,
    updatedAt: now,
  }));
  return { key, info: publicKey(next, undefined, now) };
}
