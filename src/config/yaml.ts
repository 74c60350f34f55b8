// Reading a config file's YAML the way PyYAML (LiteLLM's reader) reads it, so a file that runs under LiteLLM loads
// here: YAML 1.1 scalars (`1_000`, `0x1F`, `on`/`off`/`yes`/`no` — but not `y`/`n`, which PyYAML keeps as strings),
// duplicate keys allowed (the last one wins; config/load.ts warns), merge keys (`<<: *defaults`). A file with more
// than one document is refused with one plain message, as PyYAML's safe_load refuses it.
import { LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import { ConfigError } from './errors.js';

const BOOL = 'tag:yaml.org,2002:bool';
/** PyYAML's booleans (yaml's 1.1 schema also takes y/Y/n/N). */
const PY_TRUE = /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/;
const PY_FALSE = /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;

type Tag = { tag: string; test?: RegExp; resolve?: (s: string) => unknown };
const pyTags = (tags: unknown[]) =>
  (tags as Tag[]).map((t) => {
    if (t.tag !== BOOL || !t.test || !t.resolve) return t;
    const r = t.resolve('') as unknown;
    const value = r && typeof r === 'object' && 'value' in r ? (r as { value: unknown }).value : r;
    return { ...t, test: value === true ? PY_TRUE : PY_FALSE };
  });

const HINTS: Record<string, string> = {
  TAB_AS_INDENT: 'YAML does not allow tabs for indentation; replace them with spaces',
  BAD_ALIAS: 'check anchors (&name) and aliases (*name)',
  MISSING_CHAR: 'check for an unclosed quote or bracket',
  BAD_INDENT: 'check the indentation: nested keys need more spaces than their parent, siblings the same number',
  BLOCK_AS_IMPLICIT_KEY: 'check the indentation and that every "key: value" has a space after the colon',
  MULTILINE_IMPLICIT_KEY: 'check the indentation and that every "key: value" has a space after the colon',
};

export function parseConfigYaml(text: string, file: string, display: string, warnings: string[]): { doc: Document; lc: LineCounter } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, merge: true, prettyErrors: true, uniqueKeys: false, version: '1.1', customTags: pyTags as never });
  const err = doc.errors[0];
  if (err?.code === 'MULTIPLE_DOCS') {
    const line = err.linePos?.[0].line;
    throw new ConfigError(
      `${display} holds more than one YAML document (a '---' line after the first one)`,
      `keep one document: delete the '---' line and merge what follows into the first part (or put it in its own file and name that file under include:)`,
      { file, display, line },
    );
  }
  if (err) throw yamlError(err, file, display);
  for (const w of doc.warnings) {
    const line = w.linePos?.[0].line;
    warnings.push(`YAML warning${line ? ` at line ${line}` : ''}: ${firstSentence(w.message)}`);
  }
  return { doc, lc };
}

function yamlError(err: YAMLError, file: string, display: string): ConfigError {
  const pos = err.linePos?.[0];
  const hint =
    (err.code === 'MISSING_CHAR' && /indicator/.test(err.message)
      ? 'check the indentation: the keys of a list item must line up with the first key after its "- "'
      : HINTS[err.code]) ?? 'check the YAML near this line: spaces (not tabs) for indentation, "key: value" pairs, list items starting with "- "';
  return new ConfigError(`invalid YAML: ${firstSentence(err.message)}`, hint, { file, display, line: pos?.line, column: pos?.col });
}

/** yaml's messages append a source excerpt (which could show a literal secret) and API advice; keep the description. */
function firstSentence(message: string): string {
  return message
    .split('\n')[0]
    .replace(/ at line \d+, column \d+:?\s*$/, '')
    .replace(/;? ?please use YAML\.\w+\(\)[^.]*\.?/i, '')
    .trim();
}
