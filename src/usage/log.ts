// The usage log: one JSON line per chat request (record.ts), in monthly files that roll over by size:
//
//   <dir>/usage-2026-11.jsonl, usage-2026-11.2.jsonl, usage-2026-11.3.jsonl, …, usage-2026-12.jsonl
//
// The request path only pushes a string onto an in-memory buffer; a timer (every second, or sooner when 256
// lines are waiting) appends the batch with one async write. close() writes whatever is left (serve calls it on
// SIGINT/SIGTERM). If the disk fails the proxy keeps serving: one warning, and the records of that batch are
// dropped. Files are created 0600 in a 0700 folder.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { UsageRecord } from './record.js';

export const DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024;
const FLUSH_MS = 1000;
const FLUSH_LINES = 256;
const MAX_BUFFERED = 20_000;

/** Where the usage log lives when neither the config nor CORTEX_PROXY_USAGE_DIR says. */
export function defaultUsageDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform, home = os.homedir()): string {
  if (env.CORTEX_PROXY_USAGE_DIR?.trim()) return path.resolve(env.CORTEX_PROXY_USAGE_DIR.trim());
  if (platform === 'win32') return path.join(env.LOCALAPPDATA?.trim() || path.join(home, 'AppData', 'Local'), 'cortex-proxy', 'usage');
  const xdg = env.XDG_DATA_HOME?.trim();
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'cortex-proxy', 'usage');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'cortex-proxy', 'usage');
  return path.join(home, '.local', 'share', 'cortex-proxy', 'usage');
}

const FILE_RE = /^usage-(\d{4})-(\d{2})(?:\.(\d+))?\.jsonl$/;

export interface LogFile {
  path: string;
  /** 'YYYY-MM' */
  month: string;
  segment: number;
}

/** The log's files, oldest first. */
export function listLogFiles(dir: string): LogFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const files: LogFile[] = [];
  for (const name of names) {
    const m = FILE_RE.exec(name);
    if (m) files.push({ path: path.join(dir, name), month: `${m[1]}-${m[2]}`, segment: m[3] ? Number(m[3]) : 1 });
  }
  return files.sort((a, b) => (a.month === b.month ? a.segment - b.segment : a.month < b.month ? -1 : 1));
}

export function fileName(month: string, segment: number): string {
  return segment <= 1 ? `usage-${month}.jsonl` : `usage-${month}.${segment}.jsonl`;
}

const monthOf = (d: Date) => d.toISOString().slice(0, 7);

export interface UsageLogOptions {
  /** Roll over to a new file once the current one reaches this size (default 50 MB). */
  maxFileBytes?: number;
  /** Called once per failure burst (the proxy logs a warning). */
  onError?: (message: string) => void;
  /** Clock, for tests. */
  now?: () => Date;
}

export class UsageLog {
  private buffer: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private current: { month: string; segment: number; size: number } | undefined;
  private failed = false;
  private dropped = 0;
  private readonly maxFileBytes: number;
  private readonly now: () => Date;

  constructor(
    readonly dir: string,
    private readonly opts: UsageLogOptions = {},
  ) {
    this.maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.now = opts.now ?? (() => new Date());
  }

  /** Queues one record. Never blocks, never throws. */
  append(rec: UsageRecord): void {
    if (this.buffer.length >= MAX_BUFFERED) {
      this.buffer.shift();
      this.dropped++;
    }
    this.buffer.push(JSON.stringify(rec) + '\n');
    if (this.buffer.length >= FLUSH_LINES) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes everything queued so far; resolves when it is on disk (or dropped after an error). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.buffer.length === 0) return this.writing;
    const lines = this.buffer;
    this.buffer = [];
    this.writing = this.writing.then(() => this.write(lines));
    return this.writing;
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private async write(lines: string[]): Promise<void> {
    try {
      const month = monthOf(this.now());
      if (!this.current || this.current.month !== month) await this.open(month);
      const cur = this.current!;
      // Lines go out in chunks that fit the current file; a full file rolls over to the next segment.
      let chunk = '';
      let bytes = 0;
      for (const line of lines) {
        const n = Buffer.byteLength(line);
        if (cur.size + bytes + n > this.maxFileBytes && cur.size + bytes > 0) {
          await this.appendChunk(chunk, bytes);
          chunk = '';
          bytes = 0;
          cur.segment++;
          cur.size = 0;
        }
        chunk += line;
        bytes += n;
      }
      await this.appendChunk(chunk, bytes);
      if (this.failed) {
        this.failed = false;
        this.opts.onError?.(`usage log: writing to ${this.dir} works again`);
      }
      if (this.dropped) {
        this.opts.onError?.(`usage log: ${this.dropped} records were dropped because the disk could not keep up`);
        this.dropped = 0;
      }
    } catch (err) {
      if (!this.failed) {
        this.failed = true;
        this.opts.onError?.(`usage log: cannot write to ${this.dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); usage records are being dropped`);
      }
      this.current = undefined;
    }
  }

  private async open(month: string): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const segs = listLogFiles(this.dir).filter((f) => f.month === month);
    const last = segs[segs.length - 1];
    let segment = last?.segment ?? 1;
    let size = 0;
    if (last) size = (await fsp.stat(last.path)).size;
    if (size >= this.maxFileBytes) {
      segment++;
      size = 0;
    }
    this.current = { month, segment, size };
  }

  private async appendChunk(chunk: string, bytes: number): Promise<void> {
    if (!chunk) return;
    const cur = this.current!;
    await fsp.appendFile(path.join(this.dir, fileName(cur.month, cur.segment)), chunk, { mode: 0o600 });
    cur.size += bytes;
  }
}
