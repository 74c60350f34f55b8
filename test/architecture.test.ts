// The shape of src/ that keeps the code easy to carry on (issue 17): no import circle between source files (type-only
// and lazy `import()` edges count: a circle shows code in the wrong place), no source file over 700 lines, and
// docs/ARCHITECTURE.md's Files table naming exactly the files under src/.
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
 * Files still over MAX_LINES, each with the most lines it may have until its split lands. Empty since issue 17 split
 * config/load.ts (reader) from config/discovery.ts and config/env-modes.ts.
 * Remove an entry when its file is split; never add one.
 */
const KNOWN_LARGE: Record<string, number> = {};
/** Layers below server/: nothing in them may import a file under src/server/ (the HTTP server builds on them). */
const BELOW_SERVER = ['config', 'cortex', 'core'];

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

/** Imports from a file under one of `lower` (folders of `root`) into `root`/server/, as `from → to`. */
function upwardImports(graph: Map<string, string[]>, root: string, lower: string[]): string[] {
  const server = path.join(root, 'server') + path.sep;
  const out: string[] = [];
  for (const [f, deps] of graph) {
    if (!lower.some((d) => f.startsWith(path.join(root, d) + path.sep))) continue;
    for (const t of deps) if (t.startsWith(server)) out.push(`${path.relative(root, f)} → ${path.relative(root, t)}`.split(path.sep).join('/'));
  }
  return out;
}

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

test('the layering check finds an import from config/ into server/, type-only included', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-proxy-arch-'));
  try {
    for (const d of ['config', 'server', 'cortex']) fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, 'server', 'log.ts'), 'export type Logger = string;\n');
    fs.writeFileSync(path.join(dir, 'server', 'app.ts'), "import type { C } from '../config/load.js';\nexport type A = C;\n");
    fs.writeFileSync(path.join(dir, 'config', 'load.ts'), "import type { Logger } from '../server/log.js';\nexport type C = Logger;\n");
    fs.writeFileSync(path.join(dir, 'cortex', 'client.ts'), "import type { C } from '../config/load.js';\nexport type D = C;\n");
    assert.deepEqual(upwardImports(importGraph(sourceFiles(dir)), dir, BELOW_SERVER), ['config/load.ts → server/log.ts']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test(`no import from src/${BELOW_SERVER.join(', src/')} into src/server/`, () => {
  assert.deepEqual(
    upwardImports(importGraph(sourceFiles(SRC)), SRC, BELOW_SERVER),
    [],
    'move what the lower layer needs out of server/ (the logger is core/log.ts; general_settings readers are config/server-settings.ts)',
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

// ─── docs/ARCHITECTURE.md's Files table stays true to src/ ───

/**
 * What docs/ARCHITECTURE.md gets wrong about `files` (paths under src/, as `server/app.ts`): the files it does not name
 * and the files it names that do not exist. A file is named by its file name in backticks in its top folder's row
 * (`| \`src/server/\` | \`app.ts\` (routes), …`; a nested file, as dialects/openai-chat/decode.ts, by its name too), or by
 * its path anywhere in the doc (`server/proxy.ts`, `src/cortex/wires.ts`). Paths outside src/ (test/, dist/) are not its business.
 */
function docGaps(doc: string, files: string[]): { unnamed: string[]; absent: string[] } {
  const folders = new Set(files.map((f) => f.split('/')[0]));
  const rowNames = new Map<string, Set<string>>(); // folder → the bare file names its row gives in backticks
  for (const [, folder, rest] of doc.matchAll(/^\| `src\/([\w-]+)\/` \|(.*)$/gm)) {
    const names = rowNames.get(folder) ?? new Set<string>();
    for (const [, t] of rest.matchAll(/`([^`]+)`/g)) if (/^[\w.-]+\.(?:ts|js|html|css)$/.test(t)) names.add(t);
    rowNames.set(folder, names);
  }
  const paths = new Set<string>();
  for (const [, p] of doc.matchAll(/(?<![\w./<-])(?:src\/)?((?:[\w-]+\/)+[\w.-]+\.(?:ts|js|html|css))(?![\w/])/g)) {
    if (folders.has(p.split('/')[0]) || rowNames.has(p.split('/')[0])) paths.add(p);
  }
  const base = (f: string) => f.slice(f.lastIndexOf('/') + 1);
  const unnamed = files.filter((f) => !paths.has(f) && !rowNames.get(f.split('/')[0])?.has(base(f))).map((f) => `src/${f}`);
  const absent = [
    ...[...rowNames].flatMap(([folder, names]) => [...names].filter((n) => !files.some((f) => f.startsWith(`${folder}/`) && base(f) === n)).map((n) => `${n} (in the src/${folder}/ row)`)),
    ...[...paths].filter((p) => !files.includes(p)).map((p) => `src/${p}`),
  ];
  return { unnamed, absent };
}

test('the doc check finds a file the doc does not name and a name with no file', () => {
  const doc = '| `src/core/` | `types.ts` (canonical types), `gone.ts` (removed) |\n| `src/cli/` | `serve.ts`; `core/old.ts` moved, see `test/x.test.ts` |\n';
  assert.deepEqual(docGaps(doc, ['core/types.ts', 'core/cancel.ts', 'cli/serve.ts', 'server/app.ts']), {
    unnamed: ['src/core/cancel.ts', 'src/server/app.ts'],
    absent: ['gone.ts (in the src/core/ row)', 'src/core/old.ts'],
  });
});

test('docs/ARCHITECTURE.md names every file under src/, and only files that exist', () => {
  const files = (fs.readdirSync(SRC, { recursive: true }) as string[]).map((f) => f.split(path.sep).join('/')).filter((f) => fs.statSync(path.join(SRC, f)).isFile());
  const { unnamed, absent } = docGaps(fs.readFileSync(path.join(ROOT, 'docs/ARCHITECTURE.md'), 'utf8'), files);
  const say = [
    unnamed.length ? `not named in docs/ARCHITECTURE.md: ${unnamed.join(', ')}; add each to its folder's row of the Files table as \`name.ts\` (what it owns)` : '',
    absent.length ? `named in docs/ARCHITECTURE.md but absent from src/: ${absent.join(', ')}; rename or remove them in the doc` : '',
  ].filter(Boolean);
  assert.deepEqual(say, [], say.join('\n'));
});

// ─── the wire registry (issue 17): every wire name anywhere comes from src/cortex/wires.ts ───

test('every registered wire declares its name, path, probe and auto rule; exactly one is auto\'s otherwise', async () => {
  const { WIRES, WIRE_NAMES } = await import('../src/cortex/wires.js');
  const { deploymentInfo } = await import('../src/cortex/models.js');
  assert.ok(WIRE_NAMES.length >= 4, WIRE_NAMES.join(', '));
  for (const [key, w] of Object.entries(WIRES)) {
    assert.equal(w.name, key, `WIRES.${key} is named ${w.name}`);
    assert.match(w.path, /^\/cortex\//, `${key}: its account path`);
    if (w.gatewayPath !== undefined) assert.match(w.gatewayPath, /^\/v1\//, `${key}: its AI Gateway path`);
    assert.equal(typeof w.probe, 'function', `${key}: doctor's probe`);
    assert.ok(Number.isInteger(w.maxImages) && w.maxImages > 0, `${key}: the images it takes per request`);
    assert.ok(w.auto === 'otherwise' || typeof w.auto === 'function', `${key}: its auto rule`);
    // The probe encodes, for a model the wire serves, to the path the wire declares (the path the log line names).
    const model = [`claude-sonnet-4-5`, 'openai-gpt-5', 'llama3.1-70b'].find((m) => !w.serves || w.serves.test(deploymentInfo({ cortexModel: m } as never)))!;
    const d = { modelName: model, cortexModel: model, wire: key, apiBase: 'https://acme.snowflakecomputing.com/api/v2', auth: { type: 'pat', token: 'x' } } as never;
    assert.equal(w.encodeRequest(w.probe(d), d).path, w.path, `${key}: encodeRequest's path`);
  }
  assert.equal(Object.values(WIRES).filter((w) => w.auto === 'otherwise').length, 1);
});

test('cortex_api accepts exactly auto and the registry\'s wire names, and its error lists them', async () => {
  const { WIRE_NAMES, CORTEX_API_VALUES } = await import('../src/cortex/wires.js');
  const { loadConfig } = await import('../src/config/load.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cortex-proxy-arch-'));
  const load = (api: string, model: string) => {
    fs.writeFileSync(path.join(dir, 'cortex-proxy.yaml'), `model_list:\n  - model_name: m\n    litellm_params:\n      model: snowflake/${model}\n      api_base: https://acme-main.snowflakecomputing.com/api/v2\n      cortex_api: ${api}\n`);
    return loadConfig({ cwd: dir, env: { SNOWFLAKE_PAT: 'test-pat-' + 'a'.repeat(40) } });
  };
  try {
    assert.deepEqual(CORTEX_API_VALUES, ['auto', ...WIRE_NAMES]);
    for (const api of CORTEX_API_VALUES) {
      const ok = ['claude-sonnet-4-5', 'openai-gpt-5'].map((m) => {
        try {
          return load(api, m).deployments[0].wire;
        } catch {
          return undefined;
        }
      });
      assert.ok(ok.includes(api), `cortex_api: ${api} is accepted for some model`);
    }
    let message = '';
    try {
      load('no-such-wire', 'claude-sonnet-4-5');
    } catch (e) {
      message = (e as { detail?: string }).detail ?? String(e);
    }
    for (const api of CORTEX_API_VALUES) assert.ok(message.includes(api), `the error names ${api}: ${message}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('docs/upstream.md documents every cortex_api value the registry accepts', async () => {
  const { CORTEX_API_VALUES } = await import('../src/cortex/wires.js');
  const doc = fs.readFileSync(path.join(ROOT, 'docs/upstream.md'), 'utf8');
  for (const api of CORTEX_API_VALUES) assert.match(doc, new RegExp(`^\\| \`${api}\`( \\(default\\))? \\|`, 'm'), `a row for cortex_api: ${api}`);
});

test('router and doctor pick wires with the one auto rule (model_info.base_model included)', async () => {
  const { WIRE_NAMES, wiresFor } = await import('../src/cortex/wires.js');
  const { Router } = await import('../src/cortex/router.js');
  const base = { apiBase: 'https://acme.snowflakecomputing.com/api/v2', auth: { type: 'pat', token: 'x' }, wire: 'auto' };
  const deployments = [
    { ...base, modelName: 'c', cortexModel: 'claude-sonnet-4-5' },
    { ...base, modelName: 'o', cortexModel: 'openai-gpt-4.1' },
    // A fine-tuned or private id the catalogue does not know, declared a Claude model through model_info.base_model.
    { ...base, modelName: 'b', cortexModel: 'my-tuned-model', info: { baseModel: 'claude-sonnet-4-5' } },
    { ...base, modelName: 'g', cortexModel: 'claude-sonnet-4-5', gateway: 'https://acme.snowflakecomputing.com/api/v2/aigateways/SNOWFLAKE' },
  ] as never[];
  const router = new Router(deployments);
  for (const d of deployments as Array<{ modelName: string }>) {
    const probes = wiresFor(d as never);
    for (const w of probes) assert.ok(WIRE_NAMES.includes(w), `${d.modelName}: doctor probes ${w}, a registered wire`);
    assert.ok(probes.includes(router.wireFor(d as never)), `${d.modelName}: doctor probes the wire the router uses (${router.wireFor(d as never)}), got ${probes.join(', ')}`);
  }
});

test('no source file outside the wire registry lists wire names itself', async () => {
  const { WIRE_NAMES } = await import('../src/cortex/wires.js');
  const lit = `'(?:${WIRE_NAMES.join('|')})'`;
  const list = new RegExp(`${lit}\\s*[,|]\\s*${lit}`);
  const found: string[] = [];
  for (const f of sourceFiles(SRC)) {
    const r = rel(f);
    if (r === 'src/cortex/wires.ts' || r.startsWith('src/emulator/')) continue; // the emulator models Cortex on its own
    fs.readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      if (list.test(line)) found.push(`${r}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(found, [], 'read the wire names from src/cortex/wires.ts (WIRE_NAMES, CORTEX_API_VALUES, isWireName)');
});

test('a refusal has one wording: preflight and every wire that serves the model say the same (cortex/plan.ts)', async () => {
  const { WIRES } = await import('../src/cortex/wires.js');
  const { preflightChat } = await import('../src/cortex/preflight.js');
  const { deploymentInfo } = await import('../src/cortex/models.js');
  const model = 'llama3.1-70b'; // no tools, no images
  const d = { modelName: 'm', cortexModel: model, wire: 'auto', apiBase: 'https://acme.snowflakecomputing.com/api/v2', auth: { type: 'pat', token: 'x' } } as never;
  const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
  const requests = {
    tools: { tools: [{ name: 't', jsonSchema: {} }], messages: [{ role: 'user', parts: [{ type: 'text', text: 'x' }] }] },
    images: { messages: [{ role: 'user', parts: [{ type: 'image', mediaType: 'image/png', base64: PNG }, { type: 'text', text: 'x' }] }] },
  };
  const message = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    return 'no refusal';
  };
  for (const [what, extra] of Object.entries(requests)) {
    const chat = { model: 'm', stream: false, includeUsage: false, unsupported: [], ...extra } as never;
    const said = message(() => preflightChat(chat, d));
    assert.notEqual(said, 'no refusal', `preflight refuses ${what} on ${model}`);
    for (const w of Object.values(WIRES)) {
      if (w.serves && !w.serves.test(deploymentInfo(d))) continue;
      assert.equal(message(() => w.encodeRequest(chat, d)), said, `${w.name} refuses ${what} as preflight does`);
    }
  }
});

test('every wire: tool_choice naming a tool the request lacks is a 400 on tool_choice; none without tool turns sends no tools (cortex/plan.ts toolsToSend)', async () => {
  const { WIRES } = await import('../src/cortex/wires.js');
  const { deploymentInfo } = await import('../src/cortex/models.js');
  const { ProxyError } = await import('../src/core/errors.js');
  for (const w of Object.values(WIRES)) {
    const model = ['claude-sonnet-4-5', 'openai-gpt-4.1'].find((m) => !w.serves || w.serves.test(deploymentInfo({ cortexModel: m } as never)))!;
    const d = { modelName: 'm', cortexModel: model, wire: w.name, apiBase: 'https://acme.snowflakecomputing.com/api/v2', auth: { type: 'pat', token: 'x' } } as never;
    const chat = (toolChoice: unknown) =>
      ({ model: 'm', stream: true, includeUsage: false, unsupported: [], toolChoice, tools: [{ name: 'get_weather', jsonSchema: { type: 'object' } }], messages: [{ role: 'user', parts: [{ type: 'text', text: 'x' }] }] }) as never;
    assert.throws(
      () => w.encodeRequest(chat({ type: 'tool', name: 'rm_rf' }), d),
      (e: unknown) => e instanceof ProxyError && e.kind === 'invalid_request' && e.param === 'tool_choice' && /"rm_rf", which is not among the request's tools/.test(e.message),
      `${w.name}: a tool_choice naming a missing tool`,
    );
    assert.match(JSON.stringify(w.encodeRequest(chat({ type: 'tool', name: 'get_weather' }), d).body.tool_choice), /get_weather/, `${w.name}: the named tool is chosen`);
    assert.equal(w.encodeRequest(chat({ type: 'none' }), d).body.tools, undefined, `${w.name}: tool_choice none, no tool turns: no tools`);
  }
});

test('every wire: decodeJson reads a 200 body given as text as it reads the parsed body, and text that is not JSON is one upstream error (cortex/decoder.ts bodyJson)', async () => {
  const { WIRES } = await import('../src/cortex/wires.js');
  type Event = { type: string; error?: { kind: string; message: string } };
  const decode = (w: (typeof WIRES)[keyof typeof WIRES], body: unknown) => {
    const events: Event[] = [];
    w.decodeJson(body, { requestId: 'r1' }, (e) => events.push(e as Event));
    return events.map((e) => (e.error ? { type: e.type, kind: e.error.kind, message: e.error.message } : e));
  };
  const expired = { code: '390112', message: 'Your session has expired. Please login again.' };
  for (const w of Object.values(WIRES)) {
    const parsed = decode(w, expired);
    assert.equal(parsed.length, 1, `${w.name}: one event for an error dressed as 200`);
    assert.equal(parsed[0].type, 'error', w.name);
    assert.deepEqual(decode(w, JSON.stringify(expired)), parsed, `${w.name}: the same from the text`);
    assert.deepEqual(decode(w, Buffer.from(JSON.stringify(expired))), parsed, `${w.name}: the same from a Buffer`);
    assert.deepEqual(decode(w, '<html>502 Bad Gateway</html>'), [{ type: 'error', kind: 'upstream', message: 'Cortex answered 200 with a body that is not JSON (Snowflake request id: r1)' }], w.name);
  }
});
