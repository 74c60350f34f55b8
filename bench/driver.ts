// The load generator, in a process of its own (pinned to the core the emulator uses, away from the contender):
// an undici Pool per job, `concurrency` workers each sending the same request back to back, timing every
// request (and, for streams, the first content token), and reading the contender's CPU time and RSS from /proc
// at the edges of the measured part. Jobs arrive over IPC from run.ts; one result goes back per job.
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { cpuUs, processTree, rssKb } from './procfs.js';

export interface Target {
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  stream: boolean;
}

export interface Job {
  id: number;
  target: Target;
  concurrency: number;
  /** Measured requests (or stop at durationMs, whichever comes first). */
  requests?: number;
  durationMs?: number;
  /** Requests sent before measuring (JIT, connections, pools). */
  warmup: number;
  /** Contender process trees: CPU time is read at the start and end of the measured part. */
  pids?: number[];
  /** Other processes (the emulator; this load generator's own pid) whose CPU time over the measured part is reported. */
  peerPids?: number[];
  /** Sample the contender's RSS every this many ms during the measured part; the peak is reported. */
  rssEveryMs?: number;
  /** undici headers/body timeout per request (default 30 s). */
  timeoutMs?: number;
}

export interface JobResult {
  id: number;
  n: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  /** Per-request latency (full response), ms. */
  latency: number[];
  /** Streams: time to the first content token, ms. */
  ttft: number[];
  /** Streams: SSE data frames received, summed. */
  frames: number;
  /** Contender CPU time over the measured part, µs (undefined without pids). */
  cpuUs?: number;
  peakRssKb?: number;
  /** CPU time of peerPids over the measured part, µs. */
  peerCpuUs?: number;
  /** CPU time of the pids themselves, without their descendants (serve --workers: the primary), µs. */
  rootCpuUs?: number;
  /** Busy fraction of each CPU over the measured part (/proc/stat): shows foreign load and a saturated core. */
  coreBusy?: number[];
}

/** Per-CPU [busy, total] jiffies from /proc/stat. */
function coreTimes(): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const line of readFileSync('/proc/stat', 'latin1').split('\n')) {
    if (!/^cpu\d/.test(line)) continue;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = v[3] + (v[4] ?? 0); // idle + iowait
    const total = v.reduce((a, b) => a + b, 0);
    out.push([total - idle, total]);
  }
  return out;
}

const CONTENT = /"(?:content|text)":"[^"]/;

function countFrames(s: string): number {
  let n = 0;
  for (let i = s.indexOf('data:'); i !== -1; i = s.indexOf('data:', i + 5)) n++;
  return n;
}

async function one(pool: Pool, t: Target, res: JobResult, record: boolean): Promise<void> {
  const start = performance.now();
  let ttft: number | undefined;
  let frames = 0;
  try {
    const r = await pool.request({ method: 'POST', path: t.path, headers: t.headers, body: t.body });
    if (r.statusCode !== 200) {
      const text = await r.body.text();
      throw new Error(`HTTP ${r.statusCode}: ${text.slice(0, 300)}`);
    }
    if (t.stream) {
      let tail = ''; // a content match may straddle two reads
      for await (const chunk of r.body) {
        const s = (chunk as Buffer).toString('utf8');
        if (ttft === undefined && CONTENT.test(tail + s)) ttft = performance.now() - start;
        else tail = s.slice(-32);
        frames += countFrames(s);
      }
      if (ttft === undefined) throw new Error('stream ended without content');
    } else {
      const text = await r.body.text();
      if (!text.includes('"content"') && !text.includes('"text"')) throw new Error(`no content in ${text.slice(0, 200)}`);
    }
  } catch (err) {
    if (!record) return;
    res.errors++;
    res.firstError ??= (err as Error).message;
    return;
  }
  if (!record) return;
  res.n++;
  res.latency.push(performance.now() - start);
  if (ttft !== undefined) res.ttft.push(ttft);
  res.frames += frames;
}

export async function runJob(job: Job): Promise<JobResult> {
  const res: JobResult = { id: job.id, n: 0, errors: 0, elapsedMs: 0, latency: [], ttft: [], frames: 0 };
  const pool = new Pool(job.target.origin, {
    connections: job.concurrency,
    pipelining: 1,
    headersTimeout: job.timeoutMs ?? 30_000,
    bodyTimeout: job.timeoutMs ?? 30_000,
    keepAliveTimeout: 60_000,
  });
  try {
    // Warm-up at the job's concurrency, so every connection exists before measuring.
    let left = job.warmup;
    await Promise.all(
      Array.from({ length: Math.min(job.concurrency, Math.max(job.warmup, 0)) }, async () => {
        while (left-- > 0) await one(pool, job.target, res, false);
      }),
    );
    const pids = job.pids?.length ? processTree(job.pids) : [];
    let peak = 0;
    const sampler = job.rssEveryMs && pids.length ? setInterval(() => (peak = Math.max(peak, rssKb(pids))), job.rssEveryMs) : undefined;
    const cpu0 = pids.length ? cpuUs(pids) : 0;
    const peerCpu0 = job.peerPids ? cpuUs(job.peerPids) : 0;
    const rootCpu0 = job.pids?.length ? cpuUs(job.pids) : 0;
    const cores0 = coreTimes();
    const start = performance.now();
    const end = job.durationMs ? start + job.durationMs : Infinity;
    let budget = job.requests ?? Infinity;
    await Promise.all(
      Array.from({ length: job.concurrency }, async () => {
        while (budget > 0 && performance.now() < end) {
          budget--;
          await one(pool, job.target, res, true);
        }
      }),
    );
    res.elapsedMs = performance.now() - start;
    const cores1 = coreTimes();
    res.coreBusy = cores1.map(([b, t], i) => (t - cores0[i][1] > 0 ? (b - cores0[i][0]) / (t - cores0[i][1]) : NaN));
    if (pids.length) res.cpuUs = cpuUs(pids) - cpu0;
    if (job.peerPids) res.peerCpuUs = cpuUs(job.peerPids) - peerCpu0;
    if (job.pids?.length) res.rootCpuUs = cpuUs(job.pids) - rootCpu0;
    if (sampler) {
      clearInterval(sampler);
      res.peakRssKb = Math.max(peak, rssKb(pids));
    }
  } finally {
    await pool.destroy();
  }
  return res;
}

process.on('message', (job: Job) => {
  runJob(job).then(
    (r) => process.send?.(r),
    (err) => process.send?.({ id: job.id, n: 0, errors: 1, firstError: String(err), elapsedMs: 0, latency: [], ttft: [], frames: 0 }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
