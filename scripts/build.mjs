// Bundles the CLI into dist/cli.mjs so start-up reads a few files instead of hundreds (cold start matters). Code
// splitting puts what only some commands load (init/doctor/connect prompts, the emulator, usage reports) into
// chunks next to it, so `serve` never reads or compiles them; undici comes in slim (scripts/undici-slim.cjs).
// bench/README.md has the before/after.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const UNDICI_SLIM = path.resolve('scripts/undici-slim.cjs');
const undiciSlim = {
  name: 'undici-slim',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({ path: UNDICI_SLIM }));
  },
};
// A name imported from 'undici' that the slim entry lacks would be undefined at run time: refuse to build instead.
{
  const slim = readFileSync(UNDICI_SLIM, 'utf8');
  const missing = new Set();
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const f = path.join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else if (f.endsWith('.ts')) {
        for (const m of readFileSync(f, 'utf8').matchAll(/import\s*\{([^}]*)\}\s*from\s*'undici'/g)) {
          for (const part of m[1].split(',')) {
            const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0].trim();
            if (name && !part.trim().startsWith('type ') && !new RegExp(`^\\s*${name}[,:]`, 'm').test(slim)) missing.add(`${name} (${f})`);
          }
        }
      }
    }
  };
  walk('src');
  if (missing.size) {
    console.error(`build: src imports from 'undici' what scripts/undici-slim.cjs does not export: ${[...missing].join(', ')}. Add it there.`);
    process.exit(1);
  }
}

// `npm pack` / `npm publish` (its prepack and prepare scripts both build): no source maps (3 MB that users never
// load; package.json "files" leaves them out of the tarball in any case) and no chunk of an earlier build left in
// dist/. Both builds are then identical (same chunk names), so the second one changes nothing.
const packing = ['pack', 'publish'].includes(process.env.npm_command ?? '');
const common = {
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: packing ? false : 'linked',
  logLevel: 'warning',
  plugins: [undiciSlim],
  // The team gateway's database and Redis drivers stay in node_modules, imported only when configured (team/).
  external: ['pg', '@redis/client'],
};
const result = await build({
  ...common,
  entryPoints: { cli: 'src/cli/index.ts' },
  splitting: true,
  chunkNames: '[name]-[hash]', // next to cli.mjs: src/ui/assets.ts finds dist/ui/ from any of them
  outExtension: { '.js': '.mjs' },
  format: 'esm',
  metafile: true,
  banner: { js: "import { createRequire as __cpCreateRequire } from 'node:module'; const require = __cpCreateRequire(import.meta.url);" },
});
// `serve`'s fast path (bin/cortex-proxy.js): the same code as one CommonJS file, which Node 20 can compile from a V8
// code cache (vm.Script cachedData; its ESM loader cannot): bin/cortex-proxy.js loads it with the cache for a plain
// `serve`. Its last line is the hash of its content, the cache's key. bench/README.md has the before/after.
await build({
  ...common,
  entryPoints: { serve: 'src/cli/serve.ts' },
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  supported: { 'dynamic-import': false }, // import('pg') becomes require('pg'): no vm import callback needed
  legalComments: 'external', // dist/serve.cjs.LEGAL.txt: the bundled packages' license notices, unaltered
  define: { 'import.meta.url': '__cpImportMetaUrl' },
  banner: { js: "var __cpImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});
// What a plain `serve` command line means (src/cli/serve-argv.ts), for bin/cortex-proxy.js to pick the fast path.
await build({ ...common, entryPoints: { 'serve-argv': 'src/cli/serve-argv.ts' }, outExtension: { '.js': '.cjs' }, format: 'cjs', sourcemap: false });
{
  // Non-ASCII characters (in comments and regular expressions; esbuild escapes strings) as \\uXXXX, which means the
  // same there: one such character would make V8 keep the whole 1.5 MB text as UTF-16 (≈ 2.5 MB more RSS, measured).
  const text = readFileSync('dist/serve.cjs', 'utf8').replace(/[^\0-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  writeFileSync('dist/serve.cjs', `${text}${text.endsWith('\n') ? '' : '\n'}// cortex-proxy-bundle-hash: ${createHash('sha256').update(text).digest('hex').slice(0, 32)}\n`);
}

// Chunks of earlier builds (hashed names) go once the new set is written — a minute later, so a process started
// from the previous build can still load its lazy chunks (tests spawn the CLI while others rebuild).
const outputs = new Set(Object.keys(result.metafile.outputs).map((f) => path.resolve(f)));
for (const f of readdirSync('dist')) {
  const full = path.resolve('dist', f);
  if (/\.mjs(\.map)?$/.test(f) && !outputs.has(full) && (packing || Date.now() - statSync(full).mtimeMs > 60_000)) rmSync(full, { force: true });
}

// The dashboard (/ui): its page, script and style, and uPlot's browser build, copied next to the bundle
// (src/ui/assets.ts reads them from dist/ui/), so users need no build step and no node_modules at run time.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
mkdirSync('dist/ui', { recursive: true });
for (const f of ['index.html', 'app.js', 'style.css']) copyFileSync(`src/ui/${f}`, `dist/ui/${f}`);
const resolve = createRequire(import.meta.url).resolve;
copyFileSync(resolve('uplot/dist/uPlot.iife.min.js'), 'dist/ui/uPlot.js');
copyFileSync(resolve('uplot/dist/uPlot.min.css'), 'dist/ui/uPlot.css');
