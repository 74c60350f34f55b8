#!/usr/bin/env node
// Thin launcher: the CLI is bundled into dist/ by `npm run build` (run by `npm ci` through `prepare`).
//
// A plain `serve` (only -c/--config, -p/--port, --host, --log-level, -q/--quiet, --workers) takes a fast path: the
// same code bundled as one CommonJS file (dist/serve.cjs), compiled from a V8 code cache kept in
// ~/.cache/cortex-proxy (or $XDG_CACHE_HOME/cortex-proxy, $CORTEX_PROXY_CACHE_DIR), without commander. Node 20's ESM
// loader cannot use a code cache; this roughly halves the CPU the proxy's own code takes to start (bench/README.md).
// The cache is keyed by the bundle's content hash, the Node version and the architecture; V8 rejects one that does
// not fit. Any problem with it (no home, unwritable, corrupt, another owner) only means an ordinary compile; a
// rejected or missing cache is written anew, atomically, 1 s after the server listens. CORTEX_PROXY_CODE_CACHE=0
// turns it off. Everything else (--help, --tunnel, other commands, anything unusual) goes through dist/cli.mjs.
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

function cacheDir() {
  if (process.env.CORTEX_PROXY_CACHE_DIR) return process.env.CORTEX_PROXY_CACHE_DIR;
  if (process.env.XDG_CACHE_HOME) return path.join(process.env.XDG_CACHE_HOME, 'cortex-proxy');
  const home = os.homedir();
  return home ? path.join(home, '.cache', 'cortex-proxy') : undefined; // never a shared temporary folder
}

/** This user's own, and not writable by its group or others (always true where there are no uids). */
function ownOnly(p) {
  if (typeof process.getuid !== 'function') return true;
  const st = statSync(p);
  return st.uid === process.getuid() && (st.mode & 0o022) === 0;
}

/** Compiles dist/serve.cjs (with the code cache when there is a usable one) and returns its exports. */
function loadServeBundle(file, debug) {
  const source = readFileSync(file, 'utf8');
  const tag = /\/\/ cortex-proxy-bundle-hash: ([0-9a-f]+)\n$/.exec(source.slice(-120))?.[1];
  const dir = tag ? cacheDir() : undefined;
  const cacheFile = dir && path.join(dir, `serve-${tag}-${process.version}-${process.arch}.v8`);
  let cached;
  let untrusted = false;
  try {
    // The cache is code: only one that this user owns, in a folder of its own, neither writable by anyone else.
    if (cacheFile && existsSync(cacheFile)) {
      if (ownOnly(dir) && ownOnly(cacheFile)) cached = readFileSync(cacheFile);
      else untrusted = true;
    }
  } catch {
    // none yet
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData: cached });
  const used = cached !== undefined && !script.cachedDataRejected;
  if (debug) process.stderr.write(`${new Date().toISOString()} DEBUG code cache: ${used ? 'used' : cached ? 'rejected' : untrusted ? 'not used (another user owns or may write it)' : 'none'} (${cacheFile ?? 'no cache folder'})\n`);
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, path.dirname(file));
  if (used || !cacheFile) return { serve: module.exports.serve, save: () => {} };
  const save = () => {
    try {
      if (existsSync(dir) && !ownOnly(dir)) return; // a folder others may write: no cache there at all
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      renameSync(tmp, cacheFile); // atomic: workers and other starts never read half a file
    } catch {
      // no cache this time
    }
  };
  return { serve: module.exports.serve, save };
}

/** A plain serve's options (src/cli/serve-argv.ts, built to dist/serve-argv.cjs), or undefined: take the full CLI. */
function plainServeArgs() {
  if (process.env.CORTEX_PROXY_CODE_CACHE === '0') return undefined;
  try {
    return createRequire(import.meta.url)('../dist/serve-argv.cjs').plainServe(process.argv.slice(2));
  } catch {
    return undefined; // no build yet: dist/cli.mjs's import below says so
  }
}

const opts = plainServeArgs();
const bundle = fileURLToPath(new URL('../dist/serve.cjs', import.meta.url));
if (opts && existsSync(bundle)) {
  const { serve, save } = loadServeBundle(bundle, opts.logLevel === 'debug');
  // After start-up and the first requests, so the cache holds their compiled functions too.
  serve(opts).then(() => setTimeout(save, 1000).unref());
} else {
  import('../dist/cli.mjs').catch((err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.mjs')) {
      console.error('cortex-proxy: dist/cli.mjs is missing. Run `npm run build` (or `npm ci`) first.');
    } else {
      console.error(err);
    }
    process.exit(1);
  });
}
