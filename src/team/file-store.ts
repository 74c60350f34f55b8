// The embedded team store, for one machine (no database, no native module):
//
//   <dir>/keys.json              { version, keys: KeyRecord[] }: rewritten whole (temp file, fsync, rename) under
//                                <dir>/keys.lock, so the CLI and a running server can both change it
//   <dir>/spend-YYYY-MM.jsonl    the spend ledger: one line per keyed request {k, t, c, ts}, appended and
//                                fdatasync'ed before the answer's last bytes go out; totals are the sum of the lines
//
// The usage records themselves stay in the usage log (usage/log.ts); this store only adds what budgets need.
// Several processes on the machine share it: each re-reads keys.json when it changes and tails the ledger.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { KeyRecord } from './keys.js';
import { keyState } from './keys.js';
import { StoreConflict, StoreNotFound, type KeyChanges, type Spend, type TeamStore, type UsageRow } from './store.js';

const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 5_000;

interface KeysFile {
  version: number;
  keys: KeyRecord[];
}

export class FileStore implements TeamStore {
  readonly kind = 'file' as const;
  private readonly keysPath: string;
  private readonly lockPath: string;
  private seen: { mtimeMs: number; size: number; version: number } | undefined;
  /** The ledger being tailed: its month, how far it was read, and the totals per key and period. */
  private ledger = { month: '', offset: 0, rest: '', totals: new Map<string, Spend>() };
  private tailing: Promise<void> | undefined;
  private appendHandle: { month: string; fh: fsp.FileHandle } | undefined;

  constructor(readonly dir: string) {
    this.keysPath = path.join(dir, 'keys.json');
    this.lockPath = path.join(dir, 'keys.lock');
  }

  get where(): string {
    return this.dir;
  }

  async migrate(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  async keysSince(version: number): Promise<KeyChanges> {
    let st: fs.Stats;
    try {
      st = await fsp.stat(this.keysPath);
    } catch {
      return { version: 0, keys: [], full: version !== 0 };
    }
    if (this.seen && version !== 0 && this.seen.mtimeMs === st.mtimeMs && this.seen.size === st.size && this.seen.version === version)
      return { version, keys: [], full: false };
    const file = await this.read();
    this.seen = { mtimeMs: st.mtimeMs, size: st.size, version: file.version };
    if (file.version === version && version !== 0) return { version, keys: [], full: false };
    return { version: file.version, keys: file.keys, full: true };
  }

  async insertKey(k: KeyRecord): Promise<void> {
    await this.change((f) => {
      if (f.keys.some((o) => o.label === k.label && o.revokedAt === undefined))
        throw new StoreConflict(`an active key is already labelled '${k.label}'`);
      f.keys.push(k);
    });
  }

  async updateKey(id: string, change: (k: KeyRecord) => KeyRecord): Promise<KeyRecord> {
    let out: KeyRecord | undefined;
    await this.change((f) => {
      const i = f.keys.findIndex((k) => k.id === id);
      if (i === -1) throw new StoreNotFound(`no key with id ${id}`);
      out = change(f.keys[i]);
      f.keys[i] = out;
    });
    return out!;
  }

  async spend(which: Array<[string, string]>): Promise<Spend[]> {
    await this.tail();
    return which.map(([id, period]) => {
      const s = this.ledger.totals.get(`${id} ${period}`);
      return s ? { ...s } : { tokens: 0, credits: 0 };
    });
  }

  async record(rows: UsageRow[]): Promise<void> {
    let text = '';
    for (const r of rows) {
      if (!r.key_id) continue;
      const tokens = r.prompt_tokens + r.completion_tokens;
      text += JSON.stringify({ k: r.key_id, t: tokens, c: r.credits ?? 0, ts: Date.parse(r.ts) }) + '\n';
    }
    if (!text) return;
    const month = new Date().toISOString().slice(0, 7);
    if (this.appendHandle?.month !== month) {
      await this.appendHandle?.fh.close().catch(() => {});
      await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.appendHandle = { month, fh: await fsp.open(this.ledgerPath(month), 'a', 0o600) };
    }
    // One write() with O_APPEND: lines of concurrent processes never interleave; then the data reaches the disk.
    await this.appendHandle.fh.write(text);
    await this.appendHandle.fh.datasync();
  }

  async ping(): Promise<void> {
    await fsp.access(this.dir, fs.constants.W_OK).catch(async () => {
      await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    });
  }

  async close(): Promise<void> {
    await this.appendHandle?.fh.close().catch(() => {});
    this.appendHandle = undefined;
  }

  // ───────────────────────────── internals ─────────────────────────────

  private ledgerPath(month: string): string {
    return path.join(this.dir, `spend-${month}.jsonl`);
  }

  /** Reads the ledger lines written since the last call (by any process) into the totals. */
  private tail(): Promise<void> {
    this.tailing ??= this.readLedger().finally(() => (this.tailing = undefined));
    return this.tailing;
  }

  private async readLedger(): Promise<void> {
    const month = new Date().toISOString().slice(0, 7);
    const l = this.ledger;
    if (l.month !== month) this.ledger = { month, offset: 0, rest: '', totals: new Map() };
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.ledgerPath(month), 'r');
    } catch {
      return;
    }
    try {
      const { size } = await fh.stat();
      const cur = this.ledger;
      if (size <= cur.offset) return;
      const buf = Buffer.alloc(size - cur.offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, cur.offset);
      cur.offset += bytesRead;
      const text = cur.rest + buf.subarray(0, bytesRead).toString('utf8');
      const lines = text.split('\n');
      cur.rest = lines.pop() ?? '';
      for (const line of lines) {
        let e: { k?: unknown; t?: unknown; c?: unknown; ts?: unknown };
        try {
          e = JSON.parse(line);
        } catch {
          continue;
        }
        if (typeof e.k !== 'string' || typeof e.t !== 'number' || typeof e.ts !== 'number') continue;
        const iso = new Date(e.ts).toISOString();
        for (const period of [`d:${iso.slice(0, 10)}`, `m:${iso.slice(0, 7)}`]) {
          const key = `${e.k} ${period}`;
          const s = cur.totals.get(key) ?? { tokens: 0, credits: 0 };
          s.tokens += e.t;
          s.credits += typeof e.c === 'number' ? e.c : 0;
          cur.totals.set(key, s);
        }
      }
    } finally {
      await fh.close();
    }
  }

  private async read(): Promise<KeysFile> {
    let text: string;
    try {
      text = await fsp.readFile(this.keysPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 0, keys: [] };
      throw err;
    }
    const f = JSON.parse(text) as KeysFile;
    if (typeof f.version !== 'number' || !Array.isArray(f.keys)) throw new Error(`${this.keysPath} is not a cortex-proxy keys file`);
    return f;
  }

  /** Read, change and rewrite keys.json under the lock (atomic rename: readers never see half a file). */
  private async change(mutate: (f: KeysFile) => void): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.lock();
    try {
      const f = await this.read();
      mutate(f);
      f.version++;
      const tmp = `${this.keysPath}.${process.pid}.tmp`;
      const fh = await fsp.open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify(f, null, 1) + '\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, this.keysPath);
    } finally {
      await fsp.rm(this.lockPath, { force: true });
    }
  }

  private async lock(): Promise<void> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      try {
        const fh = await fsp.open(this.lockPath, 'wx', 0o600);
        await fh.writeFile(String(process.pid));
        await fh.close();
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      // A lock left by a process that died holding it goes stale.
      const st = await fsp.stat(this.lockPath).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > LOCK_STALE_MS) {
        await fsp.rm(this.lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${this.lockPath} is held by another process; remove it if no cortex-proxy is changing keys`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** Active keys first, then by label: the order lists show. */
export function sortKeys(keys: KeyRecord[], now = Date.now()): KeyRecord[] {
  const rank = (k: KeyRecord) => (keyState(k, now) === 'active' ? 0 : 1);
  return [...keys].sort((a, b) => rank(a) - rank(b) || a.label.localeCompare(b.label) || a.createdAt - b.createdAt);
}
