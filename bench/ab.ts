// Before/after on a busy machine: alternates two (or more) builds of the CLI, fresh processes each time, and compares
// cold start (wall and CPU), CPU per non-streaming request at c=32 and CPU per streamed chunk. Alternation makes
// the comparison fair even when other work shares the cores; absolute figures belong to `npm run bench`.
//
//   cp -r dist /tmp/before && <change, npm run build> && node --import tsx bench/ab.ts /tmp/before/cli.mjs dist/cli.mjs
// A build written `file.mjs#quiet` runs with --log-level silent and disable_spend_logs: true (what logging and the
// usage log cost); `file.mjs#workers=2` runs `serve --workers 2` on every core (its CPU figures sum the primary and the
// workers), for the multi-worker row (issue 16: throughput with 1 and with N workers, e.g. `--concurrency 128`):
//
//   node --import tsx bench/ab.ts dist/cli.mjs 'dist/cli.mjs#workers=2' --concurrency 128
// --startup measures only the cold start and the idle RSS (seconds per run instead of a load test):
//   node --import tsx bench/ab.ts /tmp/before/cli.mjs dist/cli.mjs --startup --runs 20
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH, BENCH_MASTER_KEY, cortexProxyConfig, cortexProxyLaunch, freePort, hasTaskset, launch, stop } from './contenders.js';
import { runJob, type Target } from './driver.js';
import { processTree, rssKb } from './procfs.js';
import { median } from './report.js';
import type { UpstreamReady } from './upstream.js';

const argv = process.argv.slice(2);
const runs = Number(argv.includes('--runs') ? argv[argv.indexOf('--runs') + 1] : 6);
const concurrency = Number(argv.includes('--concurrency') ? argv[argv.indexOf('--concurrency') + 1] : 32);
// --startup: only the cold start (wall and CPU) and the idle RSS 1 s after the first request (fast; for start-up work).
const startupOnly = argv.includes('--startup');
const builds = argv.filter((a) => /\.m?js(#quiet|#workers=\d+)?$/.test(a)).map((b) => path.resolve(b));
if (builds.length < 2) throw new Error('usage: bench/ab.ts <a/cli.mjs|a/bin/cortex-proxy.js> <b/…[#quiet|#workers=N]> [--runs N] [--concurrency N] [--startup]');
if (hasTaskset) execFileSync('taskset', ['-a', '-p', '-c', os.cpus().length > 1 ? '1' : '0', String(process.pid)], { stdio: 'ignore' });

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cortex-ab-'));
const up = fork(path.join(BENCH, 'upstream.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const ready = await new Promise<UpstreamReady>((resolve) => up.on('message', (m: UpstreamReady) => m.type === 'ready' && resolve(m)));
const knobs = (k: object) => new Promise((resolve) => (up.once('message', resolve), up.send({ type: 'knobs', knobs: k })));
const config = cortexProxyConfig(tmp, `${ready.url}/api/v2`, 'claude-sonnet-4-5', ['complete']);
const quietConfig = path.join(tmp, 'quiet.yaml');
writeFileSync(quietConfig, readFileSync(config, 'utf8') + '  disable_spend_logs: true\n');
const question = 'how much latency does a proxy add to every call? how much latency does a pr';
const target = (port: number, stream: boolean): Target => ({
  origin: `http://127.0.0.1:${port}`, path: '/v1/chat/completions', headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_MASTER_KEY}` },
  body: JSON.stringify({ model: 'bench-complete', messages: [{ role: 'user', content: question }], max_completion_tokens: 1024, stream }), stream,
});

type Row = { coldMs: number[]; coldCpuMs: number[]; cpuPerReq: number[]; rps: number[]; cpuPerChunk: number[]; rssMb: number[] };
const rows = new Map<string, Row>(builds.map((b) => [b, { coldMs: [], coldCpuMs: [], cpuPerReq: [], rps: [], cpuPerChunk: [], rssMb: [] }]));
try {
  for (let r = 0; r < runs; r++) {
    for (const b of r % 2 ? [...builds].reverse() : builds) {
      const row = rows.get(b)!;
      const port = await freePort();
      await knobs({ ttfbMs: 5, chunkDelayMs: 0, chunkChars: 16 });
      const quiet = b.endsWith('#quiet');
      const workers = Number(/#workers=(\d+)$/.exec(b)?.[1] ?? 1);
      const entry = b.replace(/#(quiet|workers=\d+)$/, '');
      const l = cortexProxyLaunch(tmp, quiet ? quietConfig : config, port, target(port, false), { entry, workers, quiet });
      const { m, coldMs, coldCpuMs } = await launch({ ...l, name: b });
      row.coldMs.push(coldMs);
      row.coldCpuMs.push(coldCpuMs);
      if (startupOnly) {
        await new Promise((r) => setTimeout(r, 1000));
        row.rssMb.push(rssKb(processTree(m.pids)) / 1024);
        await stop(m);
        continue;
      }
      const j = await runJob({ id: 0, target: target(port, false), concurrency, requests: 3000, warmup: 300, pids: m.pids });
      row.cpuPerReq.push(j.cpuUs! / j.n);
      row.rps.push(j.n / (j.elapsedMs / 1000));
      await knobs({ ttfbMs: 5, chunkDelayMs: 2, chunkChars: 1 });
      const s = await runJob({ id: 0, target: target(port, true), concurrency, requests: 64, warmup: 32, pids: m.pids, rssEveryMs: 50 });
      row.cpuPerChunk.push(s.cpuUs! / (s.n * 200));
      row.rssMb.push(s.peakRssKb! / 1024);
      await stop(m);
      if (j.errors || s.errors) console.log(`${b}: ${j.errors + s.errors} errors (${j.firstError ?? s.firstError})`);
    }
    process.stdout.write(`run ${r + 1}/${runs} (load ${os.loadavg()[0].toFixed(1)})\n`);
  }
} finally {
  up.kill();
  rmSync(tmp, { recursive: true, force: true });
}
const f = (xs: number[], d = 0) => median(xs).toFixed(d);
if (startupOnly) {
  console.log('\n| build | cold start (ms) | cold-start CPU (ms) | idle RSS (MB) |');
  console.log('|---|---:|---:|---:|');
  for (const [b, r] of rows) console.log(`| ${path.relative(process.cwd(), b)} | ${f(r.coldMs)} | ${f(r.coldCpuMs)} | ${f(r.rssMb, 1)} |`);
} else {
  console.log(`\n| build | cold start (ms) | cold-start CPU (ms) | CPU/request c=${concurrency} (µs) | req/s c=${concurrency} | CPU/chunk (µs) | peak RSS streaming (MB) |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [b, r] of rows) console.log(`| ${path.relative(process.cwd(), b)} | ${f(r.coldMs)} | ${f(r.coldCpuMs)} | ${f(r.cpuPerReq)} | ${f(r.rps)} | ${f(r.cpuPerChunk, 1)} | ${f(r.rssMb, 1)} |`);
}
console.log(`(medians of ${runs} alternating runs; 1-min load average at the end ${os.loadavg()[0].toFixed(1)})`);
process.exit(0);
