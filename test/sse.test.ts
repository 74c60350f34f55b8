import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser, parseSse } from '../src/cortex/sse.js';

function splitEvery(text: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += n) out.push(text.slice(i, i + n));
  return out;
}

function parseChunks(chunks: string[]): string[] {
  const out: string[] = [];
  const p = new SseParser({ onData: (d) => out.push(d) });
  for (const c of chunks) p.feed(c);
  p.end();
  return out;
}

const LF = 'data: {"a":1}\n\ndata: {"b":2}\n\n';

test('LF framing yields each data payload', () => {
  assert.deepEqual(parseSse(LF), ['{"a":1}', '{"b":2}']);
});

test('CRLF and CR framing give the same events as LF', () => {
  assert.deepEqual(parseSse(LF.replaceAll('\n', '\r\n')), ['{"a":1}', '{"b":2}']);
  assert.deepEqual(parseSse(LF.replaceAll('\n', '\r')), ['{"a":1}', '{"b":2}']);
});

test('one-character splits give identical events for LF, CRLF and CR', () => {
  for (const text of [LF, LF.replaceAll('\n', '\r\n'), LF.replaceAll('\n', '\r')]) {
    assert.deepEqual(parseChunks(splitEvery(text, 1)), ['{"a":1}', '{"b":2}']);
    assert.deepEqual(parseChunks(splitEvery(text, 3)), ['{"a":1}', '{"b":2}']);
  }
});

test('a CR at a chunk edge followed by LF in the next chunk is one line end', () => {
  assert.deepEqual(parseChunks(['data: x\r', '\n\r', '\ndata: y\r\n\r\n']), ['x', 'y']);
});

test('multi-line data is joined with \\n', () => {
  assert.deepEqual(parseSse('data: {\ndata:   "a": 1\ndata: }\n\n'), ['{\n  "a": 1\n}']);
});

test('no space after the colon; only one leading space is removed', () => {
  assert.deepEqual(parseSse('data:x\n\ndata:  y\n\n'), ['x', ' y']);
});

test('comments, id, retry and unknown fields are ignored', () => {
  assert.deepEqual(parseSse(': keep-alive\nid: 7\nretry: 100\nfoo: bar\ndata: z\n\n:\n\n'), ['z']);
});

test('event: message is delivered; other event names are skipped; names reset per event', () => {
  const text = 'event: message\ndata: a\n\nevent: ping\ndata: b\n\ndata: c\n\n';
  assert.deepEqual(parseSse(text), ['a', 'c']);
});

test('a leading BOM is stripped, even when it arrives alone', () => {
  assert.deepEqual(parseSse('\uFEFFdata: a\n\n'), ['a']);
  assert.deepEqual(parseChunks(['\uFEFF', 'data: a\n\n']), ['a']);
});

test('blank lines without data dispatch nothing; an empty data line dispatches ""', () => {
  assert.deepEqual(parseSse('\n\n\n'), []);
  assert.deepEqual(parseSse('data\n\n'), ['']);
});

test('end() delivers a final event that lacks its blank line (so truncation is visible)', () => {
  assert.deepEqual(parseChunks(['data: {"a":1}\n\ndata: {"b"']), ['{"a":1}', '{"b"']);
  assert.deepEqual(parseChunks(['data: last\n']), ['last']);
});
