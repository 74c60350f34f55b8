// The upstream answer's body as the proxy reads it (cortex/upstream-body.ts): fed by undici's dispatch callbacks,
// one reader, backpressure back to the socket. What a user would notice if it were wrong: lost or reordered text,
// a slow client that makes the proxy buffer a whole answer, an upstream call left running after the proxy stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamBody } from '../src/cortex/upstream-body.js';

function body() {
  const calls = { aborted: [] as Error[], resumed: 0 };
  const b = new UpstreamBody({ abort: (err) => calls.aborted.push(err), resume: () => calls.resumed++ });
  return { b, calls };
}
const buf = (s: string) => Buffer.from(s);

test('chunks that arrive before the reader are handed to it in order, then the end', async () => {
  const { b } = body();
  assert.equal(b.push(buf('a')), true);
  assert.equal(b.push(buf('b')), true);
  b.end();
  const seen: string[] = [];
  await b.forEach((c) => (seen.push(c.toString()), true));
  assert.deepEqual(seen, ['a', 'b']);
});

test('a reader that waits (a slow client) pauses the socket; it resumes once the reader caught up', async () => {
  const { b, calls } = body();
  let release!: (ok: boolean) => void;
  const seen: string[] = [];
  const done = b.forEach((c) => {
    seen.push(c.toString());
    return seen.length === 1 ? new Promise<boolean>((r) => (release = r)) : true;
  });
  assert.equal(b.push(buf('first')), false, 'the socket is paused while the reader waits');
  assert.equal(b.paused, true);
  b.push(buf('second')); // undici may still deliver what it already read
  assert.equal(b.buffered, 6);
  release(true);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, ['first', 'second']);
  assert.equal(calls.resumed, 1, 'the socket reads again');
  b.end();
  await done;
});

test('held data past 64 KB without a reader pauses the socket instead of buffering the whole answer', async () => {
  const { b, calls } = body();
  const piece = Buffer.alloc(16 * 1024, 'x');
  let pushes = 0;
  while (pushes < 100 && b.push(piece)) pushes++;
  assert.ok(pushes >= 3 && pushes <= 4, `paused after ${pushes + 1} chunks of 16 KB`);
  let total = 0;
  const done = b.forEach((c) => ((total += c.length), true));
  assert.equal(calls.resumed, 1);
  b.end();
  await done;
  assert.equal(total, (pushes + 1) * piece.length);
});

test('a reader that answers false stops the upstream call and resolves', async () => {
  const { b, calls } = body();
  b.push(buf('enough'));
  await b.forEach(() => false);
  assert.equal(calls.aborted.length, 1);
  assert.equal(b.push(buf('more')), false, 'nothing more is taken');
});

test('a broken upstream rejects the reader with its error; a reader that throws aborts the call with that error', async () => {
  const one = body();
  const pending = one.b.forEach(() => true);
  one.b.fail(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
  await assert.rejects(pending, /other side closed/);

  const two = body();
  two.b.push(buf('x'));
  await assert.rejects(
    two.b.forEach(() => {
      throw new Error('decoder bug');
    }),
    /decoder bug/,
  );
  assert.match(String(two.calls.aborted[0]), /decoder bug/);
});

test('text(max) keeps the first max bytes of a huge error page and reads the rest away', async () => {
  const { b } = body();
  b.push(buf('0123456789'));
  b.push(buf('abcdefghij'));
  b.end();
  assert.equal(await b.text(12), '0123456789ab');
});

test('destroy with an error (the idle watchdog) rejects the waiting reader with it; onClose listeners run once', async () => {
  const { b, calls } = body();
  let closed = 0;
  b.onClose(() => closed++);
  const pending = b.forEach(() => true);
  b.destroy(Object.assign(new Error('no stream event for 100 ms'), { code: 'UND_ERR_BODY_TIMEOUT' }));
  await assert.rejects(pending, /no stream event/);
  assert.equal(calls.aborted.length, 1);
  b.end();
  assert.equal(closed, 1);
});
