// The shape of src/ that keeps the code easy to carry on (issue 17): no import circle between source files (type-only
// and lazy `import()` edges count: a circle shows code in the wrong place), and no source file over 700 lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.join(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'src');
const MAX_LINES = 700;
/**
 * Files still over MAX_LINES, each with the most lines it may have until its split lands (issue 17: the wire
 * planning module takes the shared rules out of complete.ts; config/ gets reader, discovery and env modes apart).
 * Remove an entry when its file is split; never add one.
 */
const KNOWN_LARGE: Record<string, number> = {
  'src/cortex/complete.ts': 800,
  'src/config/load.ts': 800,
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** file → the source files it imports (relative specifiers, `.js` written for `.ts` as NodeNext wants). */
function importGraph(files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const info = ts.preProcessFile(fs.readFileSync(f, 'utf8'), true, true);
    const deps: string[] = [];
    for (const imp of info.importedFiles) {
      if (!imp.fileName.startsWith('.')) continue;
      const target = path.resolve(path.dirname(f), imp.fileName).replace(/\.js$/, '.ts');
      if (fs.existsSync(target)) deps.push(target);
    }
    graph.set(f, deps);
  }
  return graph;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const rel = (f: string) => path.relative(ROOT, f).split(path.sep).join('/');

test('the circle check finds a circle, type-only and lazy imports included', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-proxy-arch-'));
  try {
    fs.writeFileSync(path.join(dir, 'a.ts'), "import type { B } from './b.js';\nexport type A = B;\n");
    fs.writeFileSync(path.join(dir, 'b.ts'), "export type B = import('./c.js').C;\n");
    fs.writeFileSync(path.join(dir, 'c.ts'), "export type C = string;\nexport const load = () => import('./a.js');\n");
    fs.writeFileSync(path.join(dir, 'd.ts'), "import { load } from './c.js';\nexport const d = load;\n");
    const found = circles(importGraph(sourceFiles(dir)));
    assert.deepEqual(found.map((c) => c.map((f) => path.basename(f)).sort()), [['a.ts', 'b.ts', 'c.ts']]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('no import circle in src/', () => {
  const found = circles(importGraph(sourceFiles(SRC)));
  assert.deepEqual(
    found.map((c) => c.map(rel).sort().join(' → ')),
    [],
    'move the shared part to a lower module (types to server/context.ts or server/route.ts, helpers to core/)',
  );
});

test(`no source file over ${MAX_LINES} lines`, () => {
  const over: string[] = [];
  for (const f of sourceFiles(SRC)) {
    const text = fs.readFileSync(f, 'utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    const limit = KNOWN_LARGE[rel(f)] ?? MAX_LINES;
    if (lines > limit) over.push(`${rel(f)}: ${lines} lines (at most ${limit})`);
  }
  assert.deepEqual(over, [], 'split the file by what it owns (docs/ARCHITECTURE.md)');
});
