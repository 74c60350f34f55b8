// Where the team gateway keeps its state: virtual keys, usage records and per-key spend. One small interface, two
// backends: the embedded file store (one machine; team/file-store.ts) and PostgreSQL (replicas; team/pg-store.ts);
// team/open-store.ts picks one from the settings.
import type { UsageRecord } from '../usage/record.js';
import type { KeyRecord } from './keys.js';

/** A usage record as the team store keeps it: the usage log's record plus the key's id and the credit estimate. */
export interface UsageRow extends UsageRecord {
  key_id: string | null;
  credits: number | null;
  /** Which replica served it (host name and process id). */
  replica: string;
}

export interface Spend {
  tokens: number;
  credits: number;
}

export interface KeyChanges {
  /** Pass back to the next keysSince call. */
  version: number;
  keys: KeyRecord[];
  /** keys is the whole set (replace the mirror), not only what changed. */
  full: boolean;
}

export class StoreConflict extends Error {}
export class StoreNotFound extends Error {}

export interface TeamStore {
  readonly kind: 'file' | 'postgres';
  /** For messages: a folder, or the database URL without its password. */
  readonly where: string;
  /** Creates or upgrades the schema: idempotent, and safe when several replicas start at once. */
  migrate(): Promise<void>;
  /** Keys changed after `version` (0: all of them). */
  keysSince(version: number): Promise<KeyChanges>;
  /** Adds a key; StoreConflict when an active key already has its label. */
  insertKey(k: KeyRecord): Promise<void>;
  /** Read-modify-write of one key, atomically (StoreNotFound for an unknown id). */
  updateKey(id: string, change: (k: KeyRecord) => KeyRecord): Promise<KeyRecord>;
  /** Spend per [key id, period key] (periodKey in keys.ts); 0 where nothing was spent. */
  spend(which: Array<[string, string]>): Promise<Spend[]>;
  /**
   * Stores usage rows and adds the keyed ones to their keys' spend (day and month) in one durable step: when the
   * promise resolves, a crash of this process loses none of them.
   */
  record(rows: UsageRow[]): Promise<void>;
  /** Usage rows of a period (for `cortex-proxy usage` against the database); undefined when the backend has none. */
  usageSince?(since: number): Promise<UsageRecord[]>;
  /** Reachable? Throws when not (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A database URL for messages: the password replaced by ***. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the configured URL';
  }
}
