// `include:` — other YAML files merged into the config the way LiteLLM merges them
// (https://docs.litellm.ai/docs/proxy/config_management): paths are relative to the config's folder; a top-level
// list (model_list) is extended with the included file's items, any other top-level key is replaced by the
// included file's value (said in a warning when that replaces something the config set). One level: an
// `include:` inside an included file is not followed (LiteLLM does not either).
//   include:
//     - models.yaml
//     - team/extra-models.yaml
import fs from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, visit, YAMLSeq, type Node } from 'yaml';
import { parseConfigYaml } from './yaml.js';
import type { Entry } from './routing.js';
import type { IncludedFile } from './file-ctx.js';

export interface IncludeReader {
  readonly file: string;
  readonly warnings: string[];
  readonly owners: WeakMap<object, IncludedFile>;
  readonly files: string[];
  deref(node: unknown): Node | null;
  entries(node: unknown, where: string): Entry[];
  string(e: Entry, name: string, example: string): string | undefined;
  fail(node: unknown, detail: string, hint: string): never;
  warn(node: unknown, text: string): void;
}

const MAX_INCLUDES = 64;
const MAX_BYTES = 4 * 1024 * 1024;
const HINT = 'write include: with the files to merge, relative to this config:\n    include:\n      - models.yaml';

/** Merges every included file into `top` (the config's top-level entries) and removes `include` from it. */
export function applyIncludes(ctx: IncludeReader, top: Map<string, Entry>, display: (p: string) => string): void {
  const inc = top.get('include');
  if (!inc) return;
  top.delete('include');
  const node = ctx.deref(inc.value);
  if (node === null || (isScalar(node) && node.value === null)) return;
  const items: unknown[] = isSeq(node) ? node.items : isScalar(node) ? [node] : ctx.fail(node, 'include must be a file name or a list of file names', HINT);
  if (items.length > MAX_INCLUDES) ctx.fail(node, `include names ${items.length} files (at most ${MAX_INCLUDES})`, 'merge some of them');
  const base = path.dirname(ctx.file);
  const seen = new Set<string>([path.resolve(ctx.file)]);
  items.forEach((item, i) => {
    const name = ctx.string({ key: 'include', keyNode: item, value: ctx.deref(item) }, `include[${i}]`, 'models.yaml');
    if (!name) return;
    const abs = path.resolve(base, name);
    const shown = display(abs);
    if (seen.has(abs)) ctx.fail(item, `include[${i}]: ${shown} is already part of the config`, 'name each file once, and not the config itself');
    seen.add(abs);
    let text: string;
    try {
      const st = fs.statSync(abs);
      if (!st.isFile()) ctx.fail(item, `include[${i}]: ${shown} is not a file`, HINT);
      if (st.size > MAX_BYTES) ctx.fail(item, `include[${i}]: ${shown} is larger than 4 MB`, 'a config file is a few kilobytes; check the path');
      text = fs.readFileSync(abs, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!code) throw err;
      ctx.fail(item, `include[${i}]: ${shown} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`, `paths are relative to the config's folder (${display(base) || '.'})`);
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const { doc, lc } = parseConfigYaml(text, abs, shown, ctx.warnings);
    const owner: IncludedFile = { file: abs, display: shown, lc, doc };
    visit(doc, { Node: (_k, n) => void ctx.owners.set(n, owner), Pair: (_k, p) => void ctx.owners.set(p, owner) });
    ctx.files.push(abs);
    const root = ctx.deref(doc.contents as Node | null);
    if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) {
      ctx.warn(item, `include[${i}]{at}: ${shown} is empty`);
      return;
    }
    if (!isMap(root)) ctx.fail(root, `the top level of ${shown} must be a mapping (model_list:, litellm_settings:, …)`, 'write it like the config itself, e.g. model_list: with its entries');
    for (const e of ctx.entries(root, shown)) {
      if (e.key === 'include') {
        ctx.warn(e.keyNode, `include{at} inside an included file is not followed — name ${shown}'s includes in the main config`);
        continue;
      }
      const mine = top.get(e.key);
      const theirs = ctx.deref(e.value);
      const ours = mine ? ctx.deref(mine.value) : null;
      if (mine && isSeq(ours) && isSeq(theirs)) {
        const merged = new YAMLSeq();
        merged.items = [...ours.items, ...theirs.items];
        top.set(e.key, { key: e.key, keyNode: mine.keyNode, value: merged as unknown as Node });
        continue;
      }
      if (mine && !(ours === null || (isScalar(ours) && ours.value === null)))
        ctx.warn(e.keyNode, `${e.key}{at} from ${shown} replaces the config's ${e.key} (include: extends lists and replaces everything else, as in LiteLLM)`);
      top.set(e.key, e);
    }
  });
}
