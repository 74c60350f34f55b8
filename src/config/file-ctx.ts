// The file context of config loading: one config file (and the files it includes), its YAML nodes, the environment
// and the warnings so far. Every reader (load.ts and the config/*.ts modules) goes through it, so each problem is
// reported with its file and line, each value may be os.environ/NAME, and secrets never reach a message.
import path from 'node:path';
import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node } from 'yaml';
import { editDistance } from '../core/edit-distance.js';
import { ConfigError } from './errors.js';
import { AccountError } from './account.js';
import type { Credentials } from './credentials.js';

const ENV_REF = 'os.environ/';

export interface Entry {
  key: string;
  keyNode: Node;
  value: Node | null;
}

export type Where = { line?: number; column?: number };
export type IncludedFile = { file: string; display: string; lc: LineCounter; doc: Document };

export class FileCtx {
  /** LiteLLM keys already warned about in a model_list entry: generic name → its warning and lines. */
  private readonly litellmSeen = new Map<string, { index: number; lines: number[] }>();
  /** credential_list, by name (config/credentials.ts). */
  credentials: Credentials = new Map();
  /** A secret is written in the file itself (then the file's permissions matter: see loadFile). */
  literalSecret = false;
  constructor(
    readonly file: string,
    readonly display: string,
    readonly lc: LineCounter,
    readonly doc: Document,
    readonly env: NodeJS.ProcessEnv,
    readonly warnings: string[],
  ) {}

  /** Nodes of files read through `include:` (config/include.ts) → that file, so positions name the right file. */
  readonly owners = new WeakMap<object, IncludedFile>();
  /** Every file read (the config and its includes), for the permission check of literal secrets. */
  readonly files: string[] = [];

  private ownerOf(node: Node | null | undefined): { file: string; display: string; lc: LineCounter; doc: Document } {
    return (node && this.owners.get(node)) || this;
  }

  at(node: Node | null | undefined): Where {
    const start = node?.range?.[0];
    if (start === undefined) return {};
    const { line, col } = this.ownerOf(node).lc.linePos(start);
    return { line, column: col };
  }

  /** " at line N" (" at other.yaml line N" for an included file), for a warning. */
  private where(node: Node | null | undefined): string {
    const { line } = this.at(node);
    if (!line) return '';
    const o = this.ownerOf(node);
    return o.file === this.file ? ` at line ${line}` : ` at ${o.display} line ${line}`;
  }

  fail(node: Node | null | undefined, detail: string, hint: string): never {
    const o = this.ownerOf(node);
    throw new ConfigError(detail, hint, { file: o.file, display: o.display, ...this.at(node) });
  }

  failAccount(node: Node | null | undefined, err: unknown): never {
    if (err instanceof AccountError) this.fail(node, err.message, err.hint);
    throw err;
  }

  /** A warning, once: the same text twice (a mapping read twice, a repeated key) is shown once. */
  warn(node: Node | null | undefined, text: string): void {
    const line = text.replace('{at}', this.where(node));
    if (!this.warnings.includes(line)) this.warnings.push(line);
  }

  unknown(e: Entry, section: string, known: readonly string[], litellm: ReadonlySet<string>): void {
    const name = section ? `${section}.${e.key}` : e.key;
    // A key that only holds a YAML anchor (x: &defaults {...}) exists to be merged elsewhere; say nothing.
    const v = e.value as { anchor?: string } | null;
    if (v?.anchor) return;
    if (litellm.has(e.key)) {
      // Said once per key: the same key in every model_list entry is one warning listing its lines.
      const generic = name.replace(/\[\d+\]/g, '[]');
      const seen = this.litellmSeen.get(generic);
      const { line } = this.at(e.keyNode);
      if (seen && line) {
        seen.lines.push(line);
        this.warnings[seen.index] = `LiteLLM key '${generic}' (at lines ${seen.lines.join(', ')}) is not implemented by cortex-proxy — ignored`;
        return;
      }
      this.warn(e.keyNode, `LiteLLM key '${name}'{at} is not implemented by cortex-proxy — ignored`);
      if (line && generic !== name) this.litellmSeen.set(generic, { index: this.warnings.length - 1, lines: [line] });
      return;
    }
    const guess = closest(e.key, known);
    this.warn(e.keyNode, `unknown key '${name}'{at} — ignored${guess ? ` (did you mean '${guess}'?)` : ''}`);
  }

  deref(node: Node | null | undefined): Node | null {
    let n: unknown = node ?? null;
    for (let i = 0; i < 32 && isAlias(n); i++) {
      const target = n.resolve(this.ownerOf(n).doc);
      if (!target) this.fail(n, `alias *${n.source} points to no anchor`, `define &${n.source} before using *${n.source}`);
      n = target;
    }
    return (n as Node | null) ?? null;
  }

  /** A mapping's entries, with YAML merge keys (<<: *anchor) applied; explicit keys win over merged ones. */
  entries(node: Node, where: string, depth = 0): Entry[] {
    if (!isMap(node)) this.fail(node, `${where} must be a mapping (key: value lines)`, 'indent its keys under it, e.g.\n    num_retries: 2');
    const own = new Map<string, Entry>();
    const merged: Entry[] = [];
    for (const pair of node.items) {
      const k = pair.key as Node | null;
      const value = this.deref(pair.value as Node | null);
      if (isScalar(k) && typeof k.value === 'symbol') {
        if (depth > 16) this.fail(k, 'merge keys nest too deeply', 'simplify the anchors');
        const sources = isSeq(value) ? value.items.map((n) => this.deref(n as Node)) : [value];
        for (const src of sources) {
          if (!src || !isMap(src)) this.fail(k, `'<<' must merge a mapping`, 'write <<: *anchor where &anchor names a mapping');
          for (const e of this.entries(src, where, depth + 1)) if (!merged.some((m) => m.key === e.key)) merged.push(e);
        }
        continue;
      }
      if (!isScalar(k) || k.value === null || typeof k.value === 'object')
        this.fail(k ?? value, `${where} has a key that is not a plain word`, 'write keys as plain names, e.g. model_name:');
      const key = String(k.value);
      const dup = own.get(key);
      if (dup) this.warn(dup.keyNode as Node, `duplicate key '${where === 'the config' ? key : `${where}.${key}`}'{at}: the later one${this.where(k)} wins (as in PyYAML)`);
      own.set(key, { key, keyNode: k, value });
    }
    for (const e of merged) if (!own.has(e.key)) own.set(e.key, e);
    return [...own.values()];
  }

  /** A scalar's value with os.environ/NAME resolved. undefined when the value is empty (null). */
  scalar(e: Entry, name: string, expected: string, secret = false): { value: unknown; envName?: string } | undefined {
    const n = e.value;
    if (n === null || (isScalar(n) && n.value === null)) return undefined;
    if (!isScalar(n)) this.fail(n, `${name} must be ${expected}, not a ${isSeq(n) ? 'list' : 'mapping'}`, `write ${e.key}: <value> on one line`);
    const v = n.value;
    if (typeof v === 'string' && v.trim().startsWith(ENV_REF)) {
      const envName = v.trim().slice(ENV_REF.length);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(envName))
        this.fail(n, `${name} refers to os.environ/${secret ? '…' : envName}, which is not a valid variable name`, 'write os.environ/NAME with letters, digits and underscores');
      const resolved = this.env[envName];
      if (resolved === undefined)
        this.fail(n, `${name} refers to os.environ/${envName}, but ${envName} is not set`, `set ${envName} in your environment or in .env next to the config${this.envFileNote()}`);
      return { value: resolved, envName };
    }
    return { value: v };
  }

  private envFileNote(): string {
    const dir = path.dirname(this.display);
    return dir === '.' ? '' : ` (${path.join(dir, '.env')})`;
  }

  /** Describes a non-secret value for an error message. */
  got(s: { value: unknown; envName?: string }): string {
    const j = JSON.stringify(s.value) ?? String(s.value);
    const shown = j.length > 40 ? j.slice(0, 37) + '…' : j;
    return s.envName ? `got ${shown} from ${s.envName}` : `got ${shown}`;
  }

  bool(e: Entry, name: string): boolean | undefined {
    const s = this.scalar(e, name, 'true or false');
    if (!s) return undefined;
    if (typeof s.value === 'boolean') return s.value;
    if (typeof s.value === 'string') {
      const t = s.value.trim().toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(t)) return true;
      if (['false', 'no', 'off', '0'].includes(t)) return false;
    }
    this.fail(e.value, `${name} must be true or false (${this.got(s)})`, `write ${e.key}: true`);
  }

  number(e: Entry, name: string, ok: (n: number) => boolean, expected: string, example: string): number | undefined {
    const s = this.scalar(e, name, expected);
    if (!s) return undefined;
    let n = NaN;
    if (typeof s.value === 'number') n = s.value;
    else if (typeof s.value === 'string' && s.value.trim() !== '') n = Number(s.value.trim());
    if (!Number.isFinite(n) || !ok(n)) this.fail(e.value, `${name} must be ${expected} (${this.got(s)})`, `write e.g. ${e.key}: ${example}`);
    return n;
  }

  string(e: Entry, name: string, example: string): string | undefined {
    const s = this.scalar(e, name, 'a string');
    if (!s) return undefined;
    if (typeof s.value === 'number') return String(s.value);
    if (typeof s.value !== 'string') this.fail(e.value, `${name} must be a string (${this.got(s)})`, `write e.g. ${e.key}: ${example}`);
    return s.value.trim();
  }

  secretQuiet(e: Entry, name: string): { value: string; envName?: string } | undefined {
    const s = this.scalar(e, name, 'a string', true);
    if (!s) return undefined;
    if (typeof s.value !== 'string') this.fail(e.value, `${name} must be a string`, `quote the value`);
    return { value: s.value, envName: s.envName };
  }

  /** A secret string (api_key, master_key). Its value never reaches a message. */
  secret(e: Entry, name: string, example: string): { value: string; envName?: string } | undefined {
    const s = this.scalar(e, name, 'a string', true);
    if (!s) return undefined;
    if (typeof s.value !== 'string') this.fail(e.value, `${name} must be a string`, `write ${e.key}: ${example}, or quote the value`);
    if (!s.envName) {
      this.literalSecret = true;
      this.warn(e.value, `${name}{at} is written literally in the config file — prefer ${e.key}: ${example} with the value in .env`);
    }
    return { value: s.value, envName: s.envName };
  }
}

/** The closest candidate within edit distance 2 (for "did you mean"), if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    if (c === word) return undefined;
    const d = editDistance(word.toLowerCase(), c.toLowerCase(), bestD);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}
