// The dashboard's static files. scripts/build.mjs copies src/ui/{index.html,app.js,style.css} and uPlot's
// browser build into dist/ui/ next to the bundle, so an installed cortex-proxy needs nothing at run time; when
// running from source (tsx) the files come from src/ui/ and node_modules/uplot.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  type: string;
}

const FILES: Record<string, { type: string; names: string[]; module?: string }> = {
  'index.html': { type: 'text/html; charset=utf-8', names: ['index.html'] },
  'app.js': { type: 'text/javascript; charset=utf-8', names: ['app.js'] },
  'style.css': { type: 'text/css; charset=utf-8', names: ['style.css'] },
  'uPlot.js': { type: 'text/javascript; charset=utf-8', names: ['uPlot.js'], module: 'uplot/dist/uPlot.iife.min.js' },
  'uPlot.css': { type: 'text/css; charset=utf-8', names: ['uPlot.css'], module: 'uplot/dist/uPlot.min.css' },
};

const cache = new Map<string, Asset | null>();

function candidates(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // dist/cli.mjs → dist/ui/; src/ui/assets.ts → src/ui/
  return [path.join(here, 'ui'), here];
}

/** The named dashboard file, or undefined when it is not there (a build without the dashboard). */
export function asset(name: string): Asset | undefined {
  if (cache.has(name)) return cache.get(name) ?? undefined;
  const spec = FILES[name];
  let found: Asset | null = null;
  if (spec) {
    for (const dir of candidates()) {
      for (const n of spec.names) {
        try {
          found = { body: fs.readFileSync(path.join(dir, n)), type: spec.type };
          break;
        } catch {
          /* next */
        }
      }
      if (found) break;
    }
    if (!found && spec.module) {
      try {
        found = { body: fs.readFileSync(createRequire(import.meta.url).resolve(spec.module)), type: spec.type };
      } catch {
        /* not installed */
      }
    }
  }
  cache.set(name, found);
  return found ?? undefined;
}
