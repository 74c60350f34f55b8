// `npm run bench [-- --quick] [--rounds N] [--no-readme] [--no-build]`: cortex-proxy against the floor (direct to
// the emulator), nginx proxy_pass and the Portkey gateway, side by side in one run, alternating contenders per
// round. Contenders are pinned to core 0; the emulator, the load generator and this script to core 1. Full runs
// write bench/results/<date>.json and the tables in bench/README.md; --quick (< 30 s, for CI) checks only for
// gross regressions and exits 1 on one. See bench/README.md for the method.
import { execFileSync, fork, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Job, JobResult, Target } from './driver.js';
import type { UpstreamMessage, UpstreamReady } from './upstream.js';
import type { Knobs } from '../src/emulator/index.js';
import { defaultReply } from '../src/emulator/reply.js';
import type { CompleteCall } from '../src/emulator/validate.js';
import {
  BENCH, BENCH_MASTER_KEY, ROOT, cortexProxyConfig, cortexProxyLaunch, freePort, hasTaskset, installPortkey, launch, nginxBinary,
  nginxLaunch, nginxVersion, passthroughLaunch, portkeyLaunch, portkeyPatched, portkeyVersion, stop, type Launch, type Managed,
} from './contenders.js';
import { processTree, rssKb } from './procfs.js';
import {
  TARGETS, figuresTable, median, met, percentile, ratioTables, summarize, targetsTable, workersTable, type ContenderResult, type RoundFigures, type WorkersPhase,
} from './report.js';

// ---- settings ------------------------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const S = {
  rounds: Number(flag('--rounds') ?? (QUICK ? 1 : 3)),
  c1Requests: QUICK ? 100 : 300,
  throughputMs: QUICK ? 600 : 1500,
  ttftStreams: QUICK ? 3 : 5,
  ttftWarmup: QUICK ? 0 : 1,
  streamCpuStreams: 64,
  coldStarts: QUICK ? 1 : 5,
  memStreams: 1000,
};
/** The fixed upstream latency: the emulator waits this long before answering. */
const UPSTREAM_MS = 5;
const MODEL = 'claude-sonnet-4-5';
const STREAM_CHUNKS = 200;
const NONSTREAM_KNOBS: Partial<Knobs> = { ttfbMs: UPSTREAM_MS, chunkDelayMs: 0, chunkChars: 16 };
// 200 one-character content chunks, 1 ms apart (TTFT at c=1) or 2 ms apart (CPU per chunk at c=32).
const TTFT_KNOBS: Partial<Knobs> = { ttfbMs: UPSTREAM_MS, chunkDelayMs: 1, chunkChars: 1 };
const STREAM_KNOBS: Partial<Knobs> = { ttfbMs: UPSTREAM_MS, chunkDelayMs: 2, chunkChars: 1 };
// 1,000 concurrent streams of 20 chunks, 50 ms apart (~1 s each).
const MEMORY_KNOBS: Partial<Knobs> = { ttfbMs: UPSTREAM_MS, chunkDelayMs: 50, chunkChars: 10 };

const log = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = performance.now();
const loadavg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

// The load generator and the emulator share core 1 with this script; contenders get core 0 to themselves.
if (hasTaskset) execFileSync('taskset', ['-a', '-p', '-c', os.cpus().length > 1 ? '1' : '0', String(process.pid)], { stdio: 'ignore' });

// ---- the question: the emulator's demo answer to it is exactly STREAM_CHUNKS characters -------------------------

function answer(q: string): string {
  const call = { model: MODEL, messages: [{ role: 'user', text: q, toolUses: [], toolResults: [], images: 0 }], tools: [] };
  return defaultReply(call as unknown as CompleteCall).text ?? '';
}
const QUESTION = (() => {
  const want = STREAM_CHUNKS - (answer('x').length - 1);
  let q = 'how much latency does a proxy add to every call? '.repeat(4).slice(0, want);
  if (q.endsWith(' ')) q = q.slice(0, -1) + '?';
  if (want < 1 || want > 120 || answer(q).length !== STREAM_CHUNKS) throw new Error(`cannot size the question for a ${STREAM_CHUNKS}-character answer`);
  return q;
})();

// ---- request shapes ---------------------------------------------------------------------------------------------

const JSON_HEADERS = { 'content-type': 'application/json', authorization: 'Bearer bench-pat' };
const messages = [{ role: 'user', content: QUESTION }];
type Shape = (stream: boolean) => Omit<Target, 'origin'>;
const cortexComplete: Shape = (stream) => ({
  path: '/api/v2/cortex/inference:complete',
  headers: { ...JSON_HEADERS, 'x-snowflake-authorization-token-type': 'PROGRAMMATIC_ACCESS_TOKEN' },
  body: JSON.stringify({ model: MODEL, messages, max_tokens: 1024, stream }),
  stream,
});
const openaiChat = (pathname: string, model: string, extra: Record<string, string> = {}): Shape => (stream) => ({
  path: pathname,
  headers: { ...JSON_HEADERS, ...extra },
  body: JSON.stringify({ model, messages, max_completion_tokens: 1024, stream }),
  stream,
});
const anthropicMessages: Shape = (stream) => ({
  path: '/api/v2/cortex/v1/messages',
  headers: { ...JSON_HEADERS, 'anthropic-version': '2023-06-01' },
  body: JSON.stringify({ model: MODEL, max_tokens: 1024, messages, stream }),
  stream,
});

// ---- child processes -----------------------------------------------------------------------------------------

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cortex-bench-'));
const started: Managed[] = [];
let upstream: ChildProcess | undefined;
let driver: ChildProcess | undefined;

async function cleanup(): Promise<void> {
  await Promise.all(started.map((m) => stop(m)));
  upstream?.kill();
  driver?.kill();
  rmSync(tmp, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => void cleanup().finally(() => process.exit(130)));
}

function forkTs(file: string): ChildProcess {
  return fork(path.join(BENCH, file), [], { execArgv: ['--import', 'tsx'], cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}
function firstMessage<T>(child: ChildProcess, pred: (m: any) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: any) => {
      if (!pred(m)) return;
      child.off('message', onMsg);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null) => reject(new Error(`${child.spawnargs.join(' ')} exited (${code})`));
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
}

let jobId = 0;
async function job(j: Omit<Job, 'id'>): Promise<JobResult> {
  const id = ++jobId;
  const p = firstMessage<JobResult>(driver!, (m) => m.id === id);
  driver!.send({ ...j, id });
  return p;
}
async function knobs(k: Partial<Knobs>): Promise<void> {
  const p = firstMessage(upstream!, (m) => m.type === 'ok');
  upstream!.send({ type: 'knobs', knobs: k } satisfies UpstreamMessage);
  await p;
}

// ---- contenders ----------------------------------------------------------------------------------------------

interface Contender {
  res: ContenderResult;
  target: (stream: boolean) => Target;
  /** For cold starts and the long-lived instance. */
  launch?: () => Promise<Launch>;
  proc?: Managed;
}

async function main(): Promise<number> {
  const notes: string[] = [];
  const loadBefore = loadavg();
  log(`cortex-proxy bench${QUICK ? ' (quick)' : ''}: ${os.cpus().length} CPUs, load average ${loadBefore.join(' ')}${hasTaskset ? '' : ' (no taskset: processes are not pinned)'}`);
  if (loadBefore[0] > 1.5) log(`  note: the machine is busy (1-min load ${loadBefore[0]}): figures will be noisy; the results record it`);
  if (!argv.includes('--no-build')) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });

  upstream = forkTs('upstream.ts');
  driver = forkTs('driver.ts');
  const [up] = await Promise.all([
    firstMessage<UpstreamReady>(upstream, (m) => m.type === 'ready'),
    firstMessage(driver, (m) => m.type === 'ready'),
  ]);
  const emuPort = Number(new URL(up.url).port);
  await knobs(NONSTREAM_KNOBS);

  // Which OpenAI-compatible endpoint Portkey (and the openai wire's floor) use: the emulator's own, when it has one.
  const probeV1 = await job({ target: { origin: up.url, ...openaiChat('/api/v2/cortex/v1/chat/completions', MODEL)(false) }, concurrency: 1, requests: 1, warmup: 0 });
  const v1Chat = probeV1.n === 1 ? `${up.url}/api/v2/cortex/v1` : up.shimBase;
  const v1Route = probeV1.n === 1 ? "the emulator's /api/v2/cortex/v1/chat/completions" : "bench/upstream.ts's OpenAI-compatible stand-in (the emulator has no /v1/chat/completions here)";
  const probeMsgs = await job({ target: { origin: up.url, ...anthropicMessages(false) }, concurrency: 1, requests: 1, warmup: 0 });

  const contenders: Contender[] = [];
  const floor = (name: string, label: string, route: string, origin: string, shape: Shape): Contender => ({
    res: { name, label, kind: 'floor', route, rounds: [], coldStartMs: [] },
    target: (stream) => ({ origin, ...shape(stream) }),
  });
  contenders.push(floor('direct', 'direct (floor)', 'client → emulator inference:complete', up.url, cortexComplete));
  contenders.push(floor('direct-v1chat', 'direct /v1/chat', `client → ${v1Route}`, new URL(v1Chat).origin, openaiChat(`${new URL(v1Chat).pathname}/chat/completions`, MODEL)));
  if (probeMsgs.n === 1) contenders.push(floor('direct-v1messages', 'direct /v1/messages', "client → the emulator's /api/v2/cortex/v1/messages", up.url, anthropicMessages));

  // nginx
  const nginx = nginxBinary();
  if (nginx && !QUICK) {
    const port = await freePort();
    const c: Contender = {
      res: { name: 'nginx', label: `nginx ${nginxVersion(nginx)}`, kind: 'proxy', floor: 'direct', route: 'client → nginx proxy_pass (keep-alive upstream, no buffering, access_log off) → emulator inference:complete', rounds: [], coldStartMs: [] },
      target: (stream) => ({ origin: `http://127.0.0.1:${port}`, ...cortexComplete(stream) }),
      launch: async () => nginxLaunch(tmp, nginx, port, emuPort, c.target(false)),
    };
    contenders.push(c);
  } else if (!nginx) notes.push('nginx: not installed, skipped (apt-get install -y nginx-light)');

  // The 25-line Node passthrough: what Node itself costs, under the same load (--quick's yardstick too).
  {
    const port = await freePort();
    const c: Contender = {
      res: { name: 'node-passthrough', label: 'node passthrough', kind: 'proxy', floor: 'direct', route: 'client → bench/passthrough.mjs (node:http + undici Pool, nothing parsed) → emulator inference:complete', rounds: [], coldStartMs: [] },
      target: (stream) => ({ origin: `http://127.0.0.1:${port}`, ...cortexComplete(stream) }),
      launch: async () => passthroughLaunch(tmp, port, up.url, c.target(false)),
    };
    contenders.push(c);
  }

  // Portkey
  if (!QUICK) {
    if (!portkeyVersion()) {
      log('installing bench/ dependencies (Portkey gateway) with npm ci --prefix bench …');
      if (!installPortkey()) notes.push('portkey: npm ci --prefix bench failed, skipped');
    }
    const version = portkeyVersion();
    if (version) {
      const { file, patched } = portkeyPatched();
      const port = await freePort();
      const customHost = v1Chat;
      const c: Contender = {
        res: {
          name: 'portkey', label: `portkey ${version}`, kind: 'proxy', floor: 'direct-v1chat',
          route: `client → Portkey (openai provider, x-portkey-custom-host) → ${v1Route}${patched ? '; streaming patched for Node 20 (bench/contenders.ts)' : ''}`,
          rounds: [], coldStartMs: [],
        },
        target: (stream) => ({
          origin: `http://127.0.0.1:${port}`,
          ...openaiChat('/v1/chat/completions', MODEL, { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': customHost })(stream),
        }),
        launch: async () => portkeyLaunch(tmp, file, port, c.target(false)),
      };
      contenders.push(c);
      notes.push(
        `portkey ${version}: its \`cortex\` provider answers 500 "Provider cortex not found" in the npm build, so it is measured through its openai provider with x-portkey-custom-host → ${v1Route}.` +
          (patched ? ' Its streaming fails on Node 20 ("TypeError: immutable" appending headers to a fetch Response); the bench gives it a mutable copy of the Response at that one call.' : ''),
      );
    }
  }

  // cortex-proxy: one process, one deployment per wire of src/cortex/wires.ts WIRES (read now, so new wires join).
  // A wire that does not serve the bench's model (responses: OpenAI models only) has no like-for-like floor here:
  // noted as skipped rather than measured against another model's answer.
  const served = await wiresServing(MODEL);
  const wires = (await wireNames()).filter((w) => {
    if (served.has(w)) return true;
    notes.push(`cortex-proxy (${w}): skipped (this wire does not serve ${MODEL}, the bench's model; it needs its own floor)`);
    return false;
  });
  const config = cortexProxyConfig(tmp, `${up.url}/api/v2`, MODEL, wires);
  const cpPort = await freePort();
  const FLOORS: Record<string, string> = { complete: 'direct', openai: 'direct-v1chat', anthropic: 'direct-v1messages' };
  const UPSTREAM_PATH: Record<string, string> = { complete: 'inference:complete', openai: '/v1/chat/completions', anthropic: '/v1/messages' };
  const cpTarget = (w: string) => (stream: boolean): Target => ({
    origin: `http://127.0.0.1:${cpPort}`,
    ...openaiChat('/v1/chat/completions', `bench-${w}`, { authorization: `Bearer ${BENCH_MASTER_KEY}` })(stream),
  });
  const cortexLaunch = async () => cortexProxyLaunch(tmp, config, cpPort, cpTarget('complete')(false));
  const ours: Contender[] = wires.map((w) => ({
    res: {
      name: `cortex-proxy/${w}`, label: `cortex-proxy (${w})`, kind: 'proxy',
      floor: contenders.some((c) => c.res.name === FLOORS[w]) ? FLOORS[w] : 'direct',
      route: `OpenAI Chat client → cortex-proxy (full translation, cortex_api: ${w}) → emulator ${UPSTREAM_PATH[w] ?? w}`,
      rounds: [], coldStartMs: [],
    },
    target: cpTarget(w),
  }));
  ours.sort((a, b) => Number(b.res.name === 'cortex-proxy/complete') - Number(a.res.name === 'cortex-proxy/complete'));
  ours[0].launch = cortexLaunch; // the process serving every wire
  contenders.push(...ours);

  // ---- cold starts (fresh processes, alternating) ----
  const launchers = contenders.filter((c) => c.launch);
  for (let i = 0; i < S.coldStarts; i++) {
    for (const c of launchers) {
      const { m, coldMs, coldCpuMs } = await launch(await c.launch!());
      c.res.coldStartMs.push(Math.round(coldMs * 10) / 10);
      (c.res.coldStartCpuMs ??= []).push(coldCpuMs);
      await stop(m);
    }
  }
  for (const c of ours.slice(1)) [c.res.coldStartMs, c.res.coldStartCpuMs] = [ours[0].res.coldStartMs, ours[0].res.coldStartCpuMs]; // one process serves every wire
  log(`cold start (ms, median of ${S.coldStarts}): ${launchers.map((c) => `${c.res.label} ${median(c.res.coldStartMs).toFixed(0)}`).join(', ')}`);

  // ---- long-lived instances; idle RSS after one served request and a pause ----
  for (const c of launchers) {
    const { m } = await launch(await c.launch!());
    started.push(m);
    c.proc = m;
  }
  for (const c of ours.slice(1)) c.proc = ours[0].proc;
  await sleep(1000);
  const idle = new Map<Managed, number>();
  for (const c of launchers) idle.set(c.proc!, rssKb(processTree(c.proc!.pids)) / 1024);

  // Wires whose endpoint the emulator does not serve (yet) are reported, not measured.
  const active: Contender[] = [];
  for (const c of contenders) {
    const probe = await job({ target: c.target(false), concurrency: 1, requests: 1, warmup: 0 });
    if (probe.n === 1) active.push(c);
    else {
      c.res.skipped = `probe failed: ${probe.firstError?.slice(0, 200)}`;
      notes.push(`${c.res.label}: skipped (${c.res.skipped})`);
      log(`  skip ${c.res.label}: ${c.res.skipped}`);
    }
  }

  // ---- rounds: every phase runs each contender in turn; the order rotates every round ----
  const loadPerRound: number[][] = [];
  const pidsOf = (c: Contender) => (c.proc ? c.proc.pids : undefined);
  for (let r = 0; r < S.rounds; r++) {
    const order = active.map((_, i) => active[(i + r) % active.length]);
    const figs = new Map<Contender, RoundFigures>(order.map((c) => [c, {}]));
    const isProxy = (c: Contender) => c.res.kind === 'proxy';
    const isMainFloor = (c: Contender) => c.res.name === 'direct';

    await knobs(NONSTREAM_KNOBS);
    for (const c of order) {
      const j = await job({ target: c.target(false), concurrency: 1, requests: S.c1Requests, warmup: 30, pids: pidsOf(c) });
      figs.get(c)!.c1 = {
        p50: percentile(j.latency, 50), p99: percentile(j.latency, 99), n: j.n, errors: j.errors,
        cpuUsPerReq: j.cpuUs !== undefined && j.n ? j.cpuUs / j.n : undefined,
      };
      noteError(c, j);
    }
    await knobs(TTFT_KNOBS);
    for (const c of order) {
      const j = await job({ target: c.target(true), concurrency: 1, requests: S.ttftStreams, warmup: S.ttftWarmup, pids: pidsOf(c) });
      figs.get(c)!.ttft = { p50: percentile(j.ttft, 50), n: j.n, errors: j.errors, framesPerStream: j.n ? j.frames / j.n : 0 };
      noteError(c, j);
    }
    await knobs(NONSTREAM_KNOBS);
    for (const conc of QUICK ? [32] : [32, 128]) {
      for (const c of order.filter((c) => isProxy(c) || isMainFloor(c))) {
        const j = await job({ target: c.target(false), concurrency: conc, durationMs: S.throughputMs, warmup: conc * 4, pids: pidsOf(c) });
        const f = {
          rps: j.n / (j.elapsedMs / 1000), n: j.n, errors: j.errors,
          cpuUsPerReq: j.cpuUs !== undefined && j.n ? j.cpuUs / j.n : undefined,
          busy: j.cpuUs !== undefined ? j.cpuUs / (j.elapsedMs * 1000) : undefined,
        };
        if (conc === 32) figs.get(c)!.c32 = f;
        else figs.get(c)!.c128 = f;
        noteError(c, j);
        if (conc === 32 && j.coreBusy) coreLoad.push({ contender: c.res.name, round: r + 1, coreBusy: j.coreBusy.map((x) => Math.round(x * 100) / 100), proxyBusy: f.busy });
      }
    }
    if (!QUICK) {
      await knobs(STREAM_KNOBS);
      for (const c of order.filter(isProxy)) {
        const j = await job({ target: c.target(true), concurrency: 32, requests: S.streamCpuStreams, warmup: 32, pids: pidsOf(c) });
        figs.get(c)!.stream = {
          cpuUsPerChunk: j.cpuUs !== undefined && j.n ? j.cpuUs / (j.n * STREAM_CHUNKS) : undefined,
          n: j.n, errors: j.errors, framesPerStream: j.n ? j.frames / j.n : 0,
        };
        noteError(c, j);
      }
    }
    for (const [c, f] of figs) c.res.rounds.push(f);
    loadPerRound.push(loadavg());
    log(`round ${r + 1}/${S.rounds} done (${((performance.now() - t0) / 1000).toFixed(0)} s, load ${loadavg().join(' ')})`);
    for (const c of order) {
      const f = figs.get(c)!;
      log(`  ${c.res.label.padEnd(28)} c1 p50 ${f.c1?.p50.toFixed(2)} p99 ${f.c1?.p99.toFixed(2)} ms · ttft ${f.ttft?.p50.toFixed(2)} ms` +
        (f.c32 ? ` · c32 ${f.c32.rps.toFixed(0)}/s${f.c32.cpuUsPerReq !== undefined ? ` ${f.c32.cpuUsPerReq.toFixed(0)} µs/req` : ''}` : '') +
        (f.c128 ? ` · c128 ${f.c128.rps.toFixed(0)}/s` : '') +
        (f.stream?.cpuUsPerChunk !== undefined ? ` · ${f.stream.cpuUsPerChunk.toFixed(1)} µs/chunk` : ''));
    }
  }

  // ---- memory: idle, peak under 1,000 concurrent streams (twice), and after each (leak check) ----
  if (!QUICK) {
    await knobs(MEMORY_KNOBS);
    for (const c of launchers.filter((c) => active.includes(c))) {
      const pids = c.proc!.pids;
      const mem = { idleRssMb: idle.get(c.proc!)!, peakRssMb: [] as number[], afterRssMb: [] as number[], streams: S.memStreams, streamErrors: 0 };
      for (let wave = 0; wave < 2; wave++) {
        const j = await job({ target: c.target(true), concurrency: S.memStreams, requests: S.memStreams, warmup: 0, pids, rssEveryMs: 25, timeoutMs: 60_000 });
        mem.peakRssMb.push((j.peakRssKb ?? NaN) / 1024);
        mem.streamErrors += j.errors;
        noteError(c, j);
        await sleep(3000);
        mem.afterRssMb.push(rssKb(processTree(pids)) / 1024);
      }
      c.res.memory = mem;
      log(`memory ${c.res.label}: idle ${mem.idleRssMb.toFixed(1)} MB, peak ${mem.peakRssMb.map((x) => x.toFixed(1)).join('/')} MB, after ${mem.afterRssMb.map((x) => x.toFixed(1)).join('/')} MB`);
    }
    for (const c of ours.slice(1)) c.res.memory = ours[0].res.memory;
  } else {
    for (const c of ours) c.res.memory = { idleRssMb: idle.get(ours[0].proc!)!, peakRssMb: [NaN], afterRssMb: [NaN], streams: 0, streamErrors: 0 };
  }

  // ---- every core: serve --workers N against one worker, fresh processes, alternating ----
  if (!QUICK && active.includes(ours[0])) {
    ours[0].res.workers = await everyCore(config, (port) => ({ ...cpTarget('complete')(false), origin: `http://127.0.0.1:${port}` }));
    log(workersTable(ours[0].res.workers));
  }

  // ---- figures ----
  const results = contenders.map((c) => c.res);
  for (const c of results) if (!c.skipped) c.summary = summarize(c, results.find((f) => f.name === c.floor));
  const durationS = Math.round((performance.now() - t0) / 100) / 10;
  const loadAfter = loadavg();
  const date = new Date();
  const out = {
    date: date.toISOString(),
    quick: QUICK,
    durationS,
    load: { before: loadBefore, perRound: loadPerRound, after: loadAfter, coreBusyAtC32: coreLoad },
    machine: {
      cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryMb: Math.round(os.totalmem() / 2 ** 20), os: `${os.type()} ${os.release()}`,
      node: process.version, pinned: hasTaskset,
    },
    git: gitState(),
    setup: {
      upstreamLatencyMs: UPSTREAM_MS, model: MODEL, rounds: S.rounds, c1Requests: S.c1Requests, throughputMs: S.throughputMs,
      ttftStreams: S.ttftStreams, streamCpuStreams: S.streamCpuStreams, streamChunks: STREAM_CHUNKS, coldStarts: S.coldStarts,
      memoryStreams: QUICK ? 0 : S.memStreams, knobs: { nonStream: NONSTREAM_KNOBS, ttft: TTFT_KNOBS, stream: STREAM_KNOBS, memory: MEMORY_KNOBS },
    },
    notes,
    contenders: results,
    targets: TARGETS.map((t) => ({
      ...t,
      values: Object.fromEntries(ours.filter((c) => c.res.summary).map((c) => [c.res.name, c.res.summary![t.key]])),
      met: ours.filter((c) => c.res.summary).every((c) => met(t, c.res.summary![t.key] as number) !== false),
    })),
  };
  log('');
  log(figuresTable(results));
  log('');
  log(targetsTable(results));
  for (const n of notes) log(`note: ${n}`);
  log(`\n${durationS} s; load average before ${loadBefore.join(' ')}, after ${loadAfter.join(' ')}`);

  if (!QUICK || argv.includes('--save')) {
    mkdirSync(path.join(BENCH, 'results'), { recursive: true });
    const file = path.join(BENCH, 'results', `${date.toISOString().slice(0, 19).replace(/:/g, '-')}${QUICK ? '-quick' : ''}.json`);
    writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
    log(`results: ${path.relative(ROOT, file)}`);
    if (!QUICK && !argv.includes('--no-readme')) {
      writeReadme(out, path.relative(BENCH, file));
      log('tables written to bench/README.md');
    }
  }
  return QUICK ? quickVerdict(results) : 0;

  function noteError(c: Contender, j: JobResult) {
    if (j.errors) c.res.firstError ??= j.firstError;
  }
}

/**
 * Throughput at c=128 of a fresh `serve` with one worker (pinned to core 0, as every contender) and with N (one per
 * core, on every core), alternating over the rounds, with the CPU the load generator and the emulator used meanwhile:
 * on a small box they share the cores with the workers, which caps the scaling the bench can show.
 */
async function everyCore(config: string, target: (port: number) => Target): Promise<WorkersPhase> {
  const n = Math.max(2, os.availableParallelism());
  const phase: WorkersPhase = { n, concurrency: 128, durationMs: S.throughputMs, runs: [] };
  await knobs(NONSTREAM_KNOBS);
  for (let r = 0; r < S.rounds; r++) {
    for (const workers of r % 2 ? [n, 1] : [1, n]) {
      const port = await freePort();
      const { m } = await launch(cortexProxyLaunch(tmp, config, port, target(port), { workers }));
      started.push(m);
      try {
        const j = await job({ target: target(port), concurrency: phase.concurrency, durationMs: phase.durationMs, warmup: phase.concurrency * 4, pids: m.pids, peerPids: [driver!.pid!, upstream!.pid!] });
        const us = j.elapsedMs * 1000;
        phase.runs.push({
          round: r + 1, workers, rps: j.n / (j.elapsedMs / 1000), errors: j.errors, cpuUsPerReq: (j.cpuUs ?? NaN) / j.n,
          primaryUsPerReq: workers > 1 ? (j.rootCpuUs ?? NaN) / j.n : undefined,
          proxyCores: (j.cpuUs ?? NaN) / us, peerCores: (j.peerCpuUs ?? NaN) / us, coreBusy: (j.coreBusy ?? []).map((x) => Math.round(x * 1000) / 1000),
        });
        if (j.errors) log(`  ${workers} worker(s): ${j.errors} failed requests (${j.firstError})`);
      } finally {
        await stop(m);
        started.splice(started.indexOf(m), 1);
      }
    }
  }
  return phase;
}

const coreLoad: Array<{ contender: string; round: number; coreBusy: number[]; proxyBusy?: number }> = [];

/**
 * --quick: fail only on gross regressions, judged against references measured in the same run (so a busy CI machine
 * does not fail it): latency against direct, CPU-bound figures against the node passthrough.
 */
function quickVerdict(results: ContenderResult[]): number {
  const direct = results.find((r) => r.name === 'direct')!.summary!;
  const node = results.find((r) => r.name === 'node-passthrough')?.summary ?? direct;
  const fails: string[] = [];
  for (const c of results.filter((r) => r.name.startsWith('cortex-proxy') && r.summary)) {
    const s = c.summary!;
    const floor = results.find((r) => r.name === c.floor)?.summary ?? direct;
    if (s.errors > 0) fails.push(`${c.label}: ${s.errors} failed requests (${c.firstError ?? ''})`);
    if (!(s.p50Ms <= 3 * floor.p50Ms)) fails.push(`${c.label}: p50 at c=1 ${s.p50Ms.toFixed(2)} ms > 3× direct (${floor.p50Ms.toFixed(2)} ms)`);
    if (!(s.ttftMs <= 3 * floor.ttftMs)) fails.push(`${c.label}: stream TTFT ${s.ttftMs.toFixed(2)} ms > 3× direct (${floor.ttftMs.toFixed(2)} ms)`);
    if (!(s.rps32 >= node.rps32 / 3)) fails.push(`${c.label}: ${s.rps32.toFixed(0)} req/s at c=32 < a third of the node passthrough's (${node.rps32.toFixed(0)})`);
    const coldLimit = Math.max(1000, 4 * node.coldStartMs);
    if (!(s.coldStartMs <= coldLimit)) fails.push(`${c.label}: cold start ${s.coldStartMs.toFixed(0)} ms > ${coldLimit.toFixed(0)} ms (1 s, or 4× the node passthrough's)`);
  }
  if (results.some((r) => r.name.startsWith('cortex-proxy') && r.name !== 'cortex-proxy/complete' && r.skipped)) {
    log('note: some wires were skipped (see above); not a failure');
  }
  if (results.find((r) => r.name === 'cortex-proxy/complete')?.skipped) fails.push('cortex-proxy (complete) could not be measured');
  for (const f of fails) log(`FAIL ${f}`);
  log(fails.length ? `bench --quick: ${fails.length} gross regression(s)` : 'bench --quick: no gross regression');
  return fails.length ? 1 : 0;
}

/** The wires of the registry whose `serves` rule admits the model (every wire without one). */
async function wiresServing(model: string): Promise<Set<string>> {
  const { WIRES } = await import('../src/cortex/wires.js');
  const { modelInfo } = await import('../src/cortex/models.js');
  const info = modelInfo(model);
  return new Set(Object.values(WIRES).filter((w) => !w.serves || w.serves.test(info)).map((w) => w.name));
}

/** The keys of WIRES in src/cortex/wires.ts (the wire registry), read from its text (no need to load the server here). */
async function wireNames(): Promise<string[]> {
  const src = readFileSync(path.join(ROOT, 'src/cortex/wires.ts'), 'utf8');
  const m = /export const WIRES\b[^=]*=\s*\{([^}]*)\}/.exec(src);
  if (m) {
    const keys = [...m[1].matchAll(/(?:^|,)\s*['"]?([A-Za-z0-9_-]+)['"]?\s*(?::|,|$)/g)].map((k) => k[1]);
    if (keys.length) return keys;
  }
  return Object.keys((await import('../src/cortex/wires.js')).WIRES);
}

function gitState(): { commit?: string; dirty?: boolean } {
  const r = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const d = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' });
  return { commit: r.stdout.trim() || undefined, dirty: d.stdout.trim().length > 0 };
}

/** Replaces the generated part of bench/README.md (between the markers) with this run's tables. */
function writeReadme(out: { date: string; durationS: number; load: { before: number[]; after: number[]; perRound: number[][] }; machine: Record<string, unknown>; git: { commit?: string; dirty?: boolean }; notes: string[]; contenders: ContenderResult[] }, file: string): void {
  const readme = path.join(BENCH, 'README.md');
  const text = readFileSync(readme, 'utf8');
  const start = '<!-- bench:results:start -->';
  const end = '<!-- bench:results:end -->';
  const i = text.indexOf(start);
  const k = text.indexOf(end);
  if (i < 0 || k < 0) throw new Error(`bench/README.md lacks the ${start} … ${end} markers`);
  const busy = out.load.before[0] > 1.5 || out.load.after[0] > 1.5;
  const block = [
    start,
    `Run of ${out.date.slice(0, 16).replace('T', ' ')} UTC ([${file}](${file})): ${out.machine.cpus} × ${out.machine.cpu}, Node ${out.machine.node}, ` +
      `${out.durationS} s, git ${out.git.commit?.slice(0, 8) ?? '?'}${out.git.dirty ? ' + uncommitted changes' : ''}.`,
    '',
    `**Load during the run:** 1/5/15-min load average ${out.load.before.join(' / ')} before, ${out.load.perRound.map((l) => l[0]).join(', ')} after each round, ${out.load.after.join(' / ')} at the end` +
      (busy ? ' — **other work was running on these 2 cores, so the figures are contaminated** (slower and noisier than on a quiet machine).' : ' (a quiet machine).'),
    '',
    figuresTable(out.contenders),
    '',
    'Ratios, cortex-proxy ÷ peer (below 1× is better, except throughput where above 1× is better):',
    '',
    ratioTables(out.contenders),
    '',
    ...out.contenders.filter((c) => c.workers).flatMap((c) => [workersTable(c.workers!), '']),
    'Targets (issue 7):',
    '',
    targetsTable(out.contenders),
    '',
    ...out.contenders.map((c) => `- **${c.label}**: ${c.route}${c.skipped ? ` — skipped: ${c.skipped}` : ''}`),
    ...out.notes.filter((n) => !n.includes('skipped')).map((n) => `- ${n}`),
    end,
  ].join('\n');
  writeFileSync(readme, text.slice(0, i) + block + text.slice(k + end.length));
}

const code = await main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error)?.stack ?? err}\n`);
  return 2;
});
await cleanup();
process.exit(code);
