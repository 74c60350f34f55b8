// The README stays short and every moved section stays reachable (issue 17 item 5): README.md opens with the two
// commands and is at most 320 lines, and every relative link in README.md and docs/*.md resolves — the file exists
// and, for `#anchor`, a heading with that GitHub slug exists in the target file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Lines outside fenced code blocks (a `# comment` in a shell block is not a heading, a link there is not a link). */
function prose(text: string): string[] {
  const out: string[] = [];
  let fence = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) { fence = !fence; continue; }
    if (!fence) out.push(line);
  }
  return out;
}

/** GitHub's heading anchor: the rendered text, lower-cased, punctuation but `-` and `_` removed, spaces as `-`; repeats get -1, -2, … */
export function slugs(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(markdown)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const text = m[1].replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text.replace(/`/g, '').toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every markdown link target in prose, inline code spans removed first. */
function links(markdown: string): { target: string; line: number }[] {
  const out: { target: string; line: number }[] = [];
  const lines = markdown.split('\n');
  let fence = false;
  lines.forEach((raw, i) => {
    if (/^\s*```/.test(raw)) { fence = !fence; return; }
    if (fence) return;
    // a link label may be code (`[`init`](…)`), so drop only code spans that are not a whole label
    const line = raw.replace(/(?<!\[)`[^`]*`(?!\])/g, '``');
    for (const m of line.matchAll(/!?\[(?:[^\]]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push({ target: m[1], line: i + 1 });
  });
  return out;
}

test('slugs follow GitHub: code, punctuation and repeats', () => {
  const s = slugs('# A public URL for Cursor: `serve --tunnel`\n## `model_info`: overriding the catalogue\n## `cortex-proxy connect <client>`\n## Metrics\n## Metrics\n```sh\n# not a heading\n```\n');
  assert.deepEqual([...s], ['a-public-url-for-cursor-serve---tunnel', 'model_info-overriding-the-catalogue', 'cortex-proxy-connect-client', 'metrics', 'metrics-1']);
});

test('README.md opens with the two commands and stays at most 320 lines', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const lines = readme.split('\n');
  const fence = lines.indexOf('```sh');
  assert.ok(fence >= 0 && fence <= 3, 'the first block comes right after the title');
  assert.match(lines[fence + 1], /^npm ci && npm start\s+# /, 'first: run it');
  assert.match(lines[fence + 2], /^npm test\s+# /, 'second: test it');
  assert.equal(lines[fence + 3], '```');
  assert.ok(lines.length <= 320, `README.md has ${lines.length} lines; details belong in docs/`);
});

test('every docs/ page is linked from README.md', () => {
  const targets = new Set(links(readFileSync(join(root, 'README.md'), 'utf8')).map((l) => l.target.split('#')[0]));
  for (const page of pages.filter((p) => p !== 'README.md')) assert.ok(targets.has(page), `README.md links ${page}`);
});

test('every relative link and anchor in README.md and docs/*.md resolves', () => {
  const cache = new Map<string, Set<string>>();
  const anchorsOf = (file: string) => {
    if (!cache.has(file)) cache.set(file, slugs(readFileSync(file, 'utf8')));
    return cache.get(file)!;
  };
  const broken: string[] = [];
  let checked = 0;
  for (const page of pages) {
    const file = join(root, page);
    for (const { target, line } of links(readFileSync(file, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      checked++;
      const [path, anchor] = target.split('#', 2);
      const dest = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
      if (!existsSync(dest)) { broken.push(`${page}:${line}: ${target} (no ${relative(root, dest)})`); continue; }
      if (anchor !== undefined && dest.endsWith('.md') && !anchorsOf(dest).has(anchor.toLowerCase())) {
        broken.push(`${page}:${line}: ${target} (no heading #${anchor} in ${relative(root, dest)})`);
      }
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(checked > 50, `${checked} links checked`);
});

test('the checker notices a broken file and a broken anchor', () => {
  const s = slugs('# Team gateway\n## `cortex-proxy keys`\n');
  assert.ok(s.has('cortex-proxy-keys'));
  assert.ok(!s.has('team-gateways'));
  assert.deepEqual(links('see [a](docs/nope.md#x) and `[not](a-link.md)` and [`b`](#team-gateway)').map((l) => l.target), ['docs/nope.md#x', '#team-gateway']);
});
