// The benchmark's upstream, in a process of its own (so it never shares an event loop with a contender): the
// built-in Cortex emulator, plus a tiny OpenAI-compatible endpoint used only when the emulator does not serve
// /api/v2/cortex/v1/chat/completions itself (Portkey reaches Cortex through its openai provider). The run
// sets the timing knobs (ttfbMs, chunkDelayMs, chunkChars) over IPC; both answer with the same text and timing.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startEmulator, type Knobs } from '../src/emulator/index.js';
import { defaultReply } from '../src/emulator/reply.js';
import type { CompleteCall } from '../src/emulator/validate.js';

export type UpstreamMessage = { type: 'knobs'; knobs: Partial<Knobs> };
export interface UpstreamReady {
  type: 'ready';
  /** http://127.0.0.1:PORT of the emulator. */
  url: string;
  /** Base URL of the fallback OpenAI-compatible endpoint (…/api/v2/cortex/v1). */
  shimBase: string;
}

const emu = await startEmulator({ port: 0, host: '127.0.0.1', quiet: true, recordLimit: 100 });
let knobs: Knobs = { ...emu.knobs };

/** The emulator's demo answer for this question, so both upstreams send the same text. */
function answerText(model: string, question: string): string {
  const call = { model, messages: [{ role: 'user', text: question, toolUses: [], toolResults: [], images: 0 }], tools: [] };
  return defaultReply(call as unknown as CompleteCall).text ?? '';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function shim(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  let body: { model?: string; stream?: boolean; messages?: Array<{ content?: unknown }> };
  try {
    body = JSON.parse(Buffer.concat(parts).toString('utf8'));
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"body is not JSON"}}');
    return;
  }
  if (!req.url?.endsWith('/chat/completions')) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
    return;
  }
  const model = String(body.model ?? 'claude-sonnet-4-5');
  const last = body.messages?.[body.messages.length - 1]?.content;
  const text = answerText(model, typeof last === 'string' ? last : '');
  const id = `chatcmpl-${Math.random().toString(36).slice(2)}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = { prompt_tokens: 12, completion_tokens: Math.ceil(text.length / 4), total_tokens: 12 + Math.ceil(text.length / 4) };
  if (knobs.ttfbMs > 0) await sleep(knobs.ttfbMs);
  if (!body.stream) {
    const out = JSON.stringify({
      id, object: 'chat.completion', created, model,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out);
    return;
  }
  const chunk = (delta: object, finish: string | null, extra = '') =>
    `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"choices":[{"index":0,"delta":${JSON.stringify(delta)},"finish_reason":${JSON.stringify(finish)}}]${extra}}\n\n`;
  const frames = [chunk({ role: 'assistant', content: '' }, null)];
  for (let i = 0; i < text.length; i += knobs.chunkChars) frames.push(chunk({ content: text.slice(i, i + knobs.chunkChars) }, null));
  frames.push(chunk({}, 'stop', `,"usage":${JSON.stringify(usage)}`), 'data: [DONE]\n\n');
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let gone = false;
  res.on('close', () => (gone = true));
  if (knobs.chunkDelayMs <= 0) {
    res.end(frames.join(''));
    return;
  }
  for (let i = 0; i < frames.length && !gone; i++) {
    if (i > 1) await sleep(knobs.chunkDelayMs); // role frame and first content frame together, as the emulator's first frame
    if (!res.write(frames[i])) await new Promise((r) => res.once('drain', r));
  }
  res.end();
}

const shimServer = createServer((req, res) => {
  shim(req, res).catch(() => res.destroy());
});
await new Promise<void>((resolve) => shimServer.listen(0, '127.0.0.1', resolve));
const shimPort = (shimServer.address() as AddressInfo).port;

process.on('message', (m: UpstreamMessage) => {
  if (m.type === 'knobs') {
    emu.setKnobs(m.knobs);
    knobs = { ...emu.knobs };
    process.send?.({ type: 'ok' });
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', url: emu.url, shimBase: `http://127.0.0.1:${shimPort}/api/v2/cortex/v1` } satisfies UpstreamReady);
