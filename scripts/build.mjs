// Bundles the CLI into one ESM file so start-up reads one file instead of hundreds (cold start matters).
import { build } from 'esbuild';
await build({
  entryPoints: ['src/cli/index.ts'],
  outfile: 'dist/cli.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  logLevel: 'warning',
  banner: { js: "import { createRequire as __cpCreateRequire } from 'node:module'; const require = __cpCreateRequire(import.meta.url);" },
});

// The dashboard (/ui): its page, script and style, and uPlot's browser build, copied next to the bundle
// (src/ui/assets.ts reads them from dist/ui/), so users need no build step and no node_modules at run time.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
mkdirSync('dist/ui', { recursive: true });
for (const f of ['index.html', 'app.js', 'style.css']) copyFileSync(`src/ui/${f}`, `dist/ui/${f}`);
const resolve = createRequire(import.meta.url).resolve;
copyFileSync(resolve('uplot/dist/uPlot.iife.min.js'), 'dist/ui/uPlot.js');
copyFileSync(resolve('uplot/dist/uPlot.min.css'), 'dist/ui/uPlot.css');
