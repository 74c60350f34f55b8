// Where does cortex-proxy spend its CPU? Runs the built proxy (dist/cli.mjs) under `node --cpu-prof` against the
// bench's emulator, drives one scenario, stops it, and prints self time by bundled module (esbuild's `// path`
// comments map bundle lines back to sources) and by function.
//
//   node --import tsx bench/profile.ts startup            # spawn → first served request
//   node --import tsx bench/profile.ts requests [N]       # N non-streaming requests at c=32 (default 4000)
//   node --import tsx bench/profile.ts stream [N]         # N 200-chunk streams at c=32 (default 200)
//   node --import tsx bench/profile.ts file.cpuprofile    # just analyse a profile
// Options: --wire complete|openai|anthropic, --keep DIR (keep the .cpuprofile), --top N, --passthrough (profile
// bench/passthrough.mjs instead, under the same load: the yardstick's own profile, to compare module by module).
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH, BENCH_MASTER_KEY, ROOT, cortexProxyConfig, cortexProxyLaunch, freePort, hasTaskset, launch, passthroughLaunch, stop } from './contenders.js';
import { runJob, type Target } from './driver.js';
import type { UpstreamReady } from './upstream.js';

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const DIST = path.join(ROOT, 'dist');

/** Bundle file + line (0-based) → source module, from esbuild's `// src/…` / `// node_modules/…` markers. */
const markers = new Map<string, Array<[number, string]>>();
function moduleOf(file: string, line: number): string {
  let marks = markers.get(file);
  if (!marks) {
    marks = [];
    try {
      readFileSync(file, 'utf8').split('\n').forEach((l, i) => {
        const m = /^\/\/ (?:\.\.\/[^/\s]+\/)*((?:src|node_modules|scripts)\/\S+)$/.exec(l); // also a linked node_modules (../main/node_modules/…)
        if (m) marks!.push([i, m[1]]);
      });
    } catch {
      // a chunk of an earlier build, already gone
    }
    markers.set(file, marks);
  }
  let found = `${path.basename(file)} (prologue)`;
  let lo = 0;
  let hi = marks.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (marks[mid][0] <= line) {
      found = marks[mid][1];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

export function analyse(file: string, top = 25): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const n of p.nodes) {
    const us = self.get(n.id) ?? 0;
    if (!us) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    let where: string;
    const file = url.replace(/^file:\/\//, '');
    if (file.startsWith(DIST) && /\.[cm]js$/.test(file)) where = moduleOf(file, lineNumber); // serve.cjs: `serve`'s fast path
    else if (!url) where = functionName.startsWith('(') ? functionName : '(native)';
    else if (url.startsWith('node:')) where = url;
    else where = path.relative(ROOT, file);
    if (where === '(idle)') continue;
    total += us;
    byModule.set(where, (byModule.get(where) ?? 0) + us);
    const at = !url ? '' : where !== file && file.startsWith(DIST) ? ` (${path.basename(file)}:${lineNumber + 1})` : `:${lineNumber + 1}`;
    const fn = `${functionName || '(anonymous)'}  ${where}${at}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const rows = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => `${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
  return [
    `${file}: ${(total / 1000).toFixed(1)} ms of CPU samples (idle excluded), ${((p.endTime - p.startTime) / 1000).toFixed(0)} ms wall`,
    '', 'self time by module:', ...rows(byModule), '', 'self time by function:', ...rows(byFunction),
  ].join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const top = Number(opt('--top') ?? 25);
  const scenario = argv[0] ?? 'requests';
  if (scenario.endsWith('.cpuprofile')) {
    console.log(analyse(scenario, top));
    return;
  }
  if (!['startup', 'requests', 'stream'].includes(scenario)) throw new Error(`unknown scenario ${scenario}`);
  const wire = opt('--wire') ?? 'complete';
  const count = Number(argv[1] && /^\d+$/.test(argv[1]) ? argv[1] : scenario === 'stream' ? 200 : 4000);
  if (hasTaskset) execFileSync('taskset', ['-a', '-p', '-c', os.cpus().length > 1 ? '1' : '0', String(process.pid)], { stdio: 'ignore' });
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cortex-prof-'));
  const up = fork(path.join(BENCH, 'upstream.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const ready = await new Promise<UpstreamReady>((resolve) => up.on('message', (m: UpstreamReady) => m.type === 'ready' && resolve(m)));
    const knobs = scenario === 'stream' ? { ttfbMs: 5, chunkDelayMs: 2, chunkChars: 1 } : { ttfbMs: 5, chunkDelayMs: 0, chunkChars: 16 };
    await new Promise((resolve) => {
      up.once('message', resolve);
      up.send({ type: 'knobs', knobs });
    });
    const config = cortexProxyConfig(tmp, `${ready.url}/api/v2`, 'claude-sonnet-4-5', [wire]);
    const port = await freePort();
    const body = (stream: boolean) => JSON.stringify({ model: `bench-${wire}`, messages: [{ role: 'user', content: 'how much latency does a proxy add to every call? how much latency does a pr' }], max_completion_tokens: 1024, stream });
    const target = (stream: boolean): Target => ({
      origin: `http://127.0.0.1:${port}`, path: '/v1/chat/completions', headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_MASTER_KEY}` }, body: body(stream), stream,
    });
    const passthrough = argv.includes('--passthrough');
    // The passthrough forwards the client's own inference:complete request, as in the bench's node passthrough row.
    const direct = (stream: boolean): Target => ({
      origin: `http://127.0.0.1:${port}`, path: '/api/v2/cortex/inference:complete', headers: { 'content-type': 'application/json', authorization: 'Bearer bench-pat' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'how much latency does a proxy add to every call? how much latency does a pr' }], max_tokens: 1024, stream }), stream,
    });
    const l = passthrough ? passthroughLaunch(tmp, port, ready.url, direct(false)) : cortexProxyLaunch(tmp, config, port, target(false));
    const profDir = path.join(tmp, 'prof');
    mkdirSync(profDir);
    // `taskset -c 0 node <cli> …` → `taskset -c 0 node --cpu-prof --cpu-prof-dir=… <cli> …`
    const at = l.args.indexOf(process.execPath);
    l.args.splice(at < 0 ? 0 : at + 1, 0, '--cpu-prof', `--cpu-prof-dir=${profDir}`);
    if (at < 0) l.cmd = process.execPath;
    const { m, coldMs } = await launch(l);
    console.log(`cold start ${coldMs.toFixed(0)} ms`);
    if (scenario !== 'startup') {
      const r = await runJob({ id: 1, target: (passthrough ? direct : target)(scenario === 'stream'), concurrency: 32, requests: count, warmup: 200, pids: m.pids });
      console.log(`${r.n} ${scenario} at c=32 in ${r.elapsedMs.toFixed(0)} ms, ${r.errors} errors, ${r.cpuUs !== undefined ? (r.cpuUs / r.n).toFixed(0) : '?'} µs CPU each`);
    }
    await stop(m);
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('no profile written');
    console.log(analyse(path.join(profDir, file), top));
    const keep = opt('--keep');
    if (keep) {
      mkdirSync(keep, { recursive: true });
      execFileSync('cp', [path.join(profDir, file), path.join(keep, `${scenario}-${wire}.cpuprofile`)]);
    }
  } finally {
    up.kill();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
