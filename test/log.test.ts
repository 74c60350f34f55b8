// serve's logger batches info lines (one write per event-loop turn instead of a write per request) without
// delaying a warning, losing a line at exit, or letting a secret through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createLogger } from '../src/core/log.js';
import { ROOT } from './helpers.js';

test('batched: the info lines of one turn go out in one write, in order, on the next turn', async () => {
  const writes: string[] = [];
  const log = createLogger('info', (s) => writes.push(s), { batch: true });
  log.info('first');
  log.info('second');
  log.debug('not at this level');
  assert.equal(writes.length, 0, 'nothing written within the turn');
  await nextTurn();
  assert.equal(writes.length, 1);
  assert.match(writes[0], /^\S+ INFO  first\n\S+ INFO  second\n$/);
});

test('batched: a warning is written at once, after the info lines queued before it', () => {
  const writes: string[] = [];
  const log = createLogger('info', (s) => writes.push(s), { batch: true });
  log.info('request one');
  log.warn('upstream refused');
  assert.equal(writes.length, 1);
  assert.match(writes[0], /INFO  request one\n.*WARN  upstream refused\n$/);
});

test('batched: registered secrets are redacted in queued lines too', async () => {
  const writes: string[] = [];
  const log = createLogger('info', (s) => writes.push(s), { batch: true });
  log.addSecret('pat-0123456789abcdef');
  log.info('token pat-0123456789abcdef in a line');
  await nextTurn();
  assert.doesNotMatch(writes.join(''), /0123456789abcdef/);
  assert.match(writes.join(''), /token \*\*\* in a line/);
});

test('batched: lines queued when the process exits are written, not lost', () => {
  const code = `import { createLogger } from './src/core/log.ts';
const log = createLogger('info', (s) => process.stdout.write(s), { batch: true });
log.info('the last request line');
process.exit(0);`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' });
  assert.match(out, /INFO  the last request line\n$/);
});

test('unbatched (the default): every line is its own write, at once', () => {
  const writes: string[] = [];
  const log = createLogger('info', (s) => writes.push(s));
  log.info('a');
  log.info('b');
  assert.equal(writes.length, 2);
});
