// Plumbing for the reliability and security tests (faults, client behaviour, fuzz, soak, shutdown): one call per
// client dialect with its answer decoded the way that client reads it (HTTP error envelope, or the stream's text
// and terminal event), the proxy's gauges from /metrics, and its memory and descriptors from /proc.
import { readFileSync, readdirSync } from 'node:fs';
import { request, Agent, type Dispatcher } from 'undici';
import type { Emulator } from '../src/emulator/index.js';
import { useProxyRig, type ProxyRig } from './proxy-rig.js';

/** The reliability tests' rig (test/proxy-rig.ts): the CLI with --quiet, its master key in CORTEX_PROXY_MASTER_KEY. */
export function useReliabilityRig(pat: string, master: string, config: (apiBase: string) => string): ProxyRig {
  return useProxyRig({ pat, master, masterEnv: 'CORTEX_PROXY_MASTER_KEY', args: ['--quiet'], config });
}

export type DialectName = 'chat' | 'messages' | 'responses';
export const DIALECTS: DialectName[] = ['chat', 'messages', 'responses'];

export const PATHS: Record<DialectName, string> = { chat: '/v1/chat/completions', messages: '/v1/messages', responses: '/v1/responses' };

export function bodyFor(d: DialectName, model: string, prompt: string, stream: boolean): Record<string, unknown> {
  const messages = [{ role: 'user', content: prompt }];
  if (d === 'chat') return { model, messages, stream };
  if (d === 'messages') return { model, max_tokens: 512, messages, stream };
  return { model, input: prompt, stream, store: false };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The error message of an HTTP error, read from the dialect's own envelope (undefined: not that envelope). */
  httpError?: string;
  /** The error type/code the envelope carries. */
  errorType?: string;
  /** Streamed or JSON text of the answer. */
  text: string;
  /** The stream's terminal error event's message (chat: data {"error"}; messages: event error; responses: response.failed). */
  streamError?: string;
  /** The stream ended the way the dialect ends a complete answer ([DONE] after finish_reason, message_stop, response.completed). */
  clean: boolean;
  raw: string;
}

/** The dialect's error envelope, or undefined when the body is not in it. */
export function envelopeError(d: DialectName, body: unknown): { message: string; type?: string } | undefined {
  const b = body as Record<string, any> | null;
  if (!b || typeof b !== 'object') return undefined;
  if (d === 'messages') {
    if (b.type !== 'error' || typeof b.error?.message !== 'string') return undefined;
    return { message: b.error.message, type: b.error.type };
  }
  if (typeof b.error?.message !== 'string') return undefined;
  return { message: b.error.message, type: b.error.type ?? b.error.code };
}

export function parseSseEvents(text: string): Array<{ event?: string; data: string }> {
  const out: Array<{ event?: string; data: string }> = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length) out.push({ event, data: data.join('\n') });
  }
  return out;
}

/** Text, terminal error and clean end of a streamed answer, as the dialect's client reads them. */
export function readStream(d: DialectName, raw: string): Pick<Answer, 'text' | 'streamError' | 'clean'> {
  let text = '';
  let streamError: string | undefined;
  let clean = false;
  let finished = false;
  for (const ev of parseSseEvents(raw)) {
    if (ev.data === '[DONE]') {
      clean = finished && streamError === undefined;
      continue;
    }
    let j: any;
    try {
      j = JSON.parse(ev.data);
    } catch {
      streamError ??= `unparseable event: ${ev.data.slice(0, 80)}`;
      continue;
    }
    if (d === 'chat') {
      if (j.error) streamError ??= String(j.error.message);
      text += j.choices?.[0]?.delta?.content ?? '';
      if (j.choices?.[0]?.finish_reason) finished = true;
    } else if (d === 'messages') {
      if (ev.event === 'error' || j.type === 'error') streamError ??= String(j.error?.message);
      if (j.type === 'content_block_delta' && j.delta?.type === 'text_delta') text += j.delta.text;
      if (j.type === 'message_stop') clean = streamError === undefined;
    } else {
      if (j.type === 'response.output_text.delta') text += j.delta;
      if (j.type === 'response.failed') streamError ??= String(j.response?.error?.message);
      if (j.type === 'error') streamError ??= String(j.message ?? j.error?.message);
      if (j.type === 'response.completed') clean = streamError === undefined;
    }
  }
  return { text, streamError, clean };
}

function jsonText(d: DialectName, j: any): string {
  if (d === 'chat') return j.choices?.[0]?.message?.content ?? '';
  if (d === 'messages') return (j.content ?? []).filter((c: any) => c.type === 'text').map((c: any) => c.text).join('');
  return (j.output ?? []).flatMap((o: any) => o.content ?? []).filter((c: any) => c.type === 'output_text').map((c: any) => c.text).join('');
}

export interface CallOptions {
  key?: string;
  model?: string;
  prompt?: string;
  stream?: boolean;
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
  body?: unknown;
}

/** One request in a dialect, read to the end; never throws for HTTP or in-band errors (it reports them). */
export async function call(base: string, d: DialectName, o: CallOptions = {}): Promise<Answer> {
  const stream = o.stream ?? true;
  const body = o.body ?? bodyFor(d, o.model ?? 'm', o.prompt ?? 'hello', stream);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.key) headers.authorization = `Bearer ${o.key}`;
  const r = await request(base + PATHS[d], {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: o.signal,
    dispatcher: o.dispatcher,
  });
  const raw = await r.body.text();
  const out: Answer = { status: r.statusCode, headers: r.headers, text: '', clean: false, raw };
  const ct = String(r.headers['content-type'] ?? '');
  if (r.statusCode !== 200) {
    try {
      const e = envelopeError(d, JSON.parse(raw));
      out.httpError = e?.message;
      out.errorType = e?.type;
    } catch {
      // not JSON: httpError stays undefined, which the tests treat as a wrong envelope
    }
    return out;
  }
  if (ct.includes('text/event-stream')) return { ...out, ...readStream(d, raw) };
  const j = JSON.parse(raw);
  return { ...out, text: jsonText(d, j), clean: true };
}

/** Polls `check` every 20 ms until it returns true; fails with `what` after `ms`. For state with no event to wait on. */
export async function waitUntil(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until every exchange has let go of its upstream request and connection: the emulator has nothing pending and
 * the proxy's in-flight, busy-connection and queued-request gauges are back to zero. */
export async function waitSettled(emu: Pick<Emulator, 'requests'>, base: string, key: string, ms: number): Promise<void> {
  await waitUntil(async () => {
    if (emu.requests.some((r) => r.outcome === 'pending')) return false;
    const g = await gauges(base, key);
    return g.inFlight === 0 && g.upstreamBusy === 0 && g.upstreamQueued === 0;
  }, ms, 'no upstream request pending, no busy upstream connection, nothing in flight');
}

export interface ProxyGauges {
  inFlight: number;
  upstreamBusy: number;
  upstreamIdle: number;
  upstreamQueued: number;
}

/** The proxy's in-flight and upstream-connection gauges, from GET /metrics. */
export async function gauges(base: string, key?: string): Promise<ProxyGauges> {
  const r = await request(`${base}/metrics`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  const text = await r.body.text();
  if (r.statusCode !== 200) throw new Error(`/metrics answered ${r.statusCode}: ${text.slice(0, 200)}`);
  const sum = (re: RegExp) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  return {
    inFlight: sum(/^cortex_proxy_in_flight_requests\{[^}]*\} (\d+)$/gm),
    upstreamBusy: sum(/^cortex_proxy_upstream_connections\{state="busy"\} (\d+)$/gm),
    upstreamIdle: sum(/^cortex_proxy_upstream_connections\{state="idle"\} (\d+)$/gm),
    upstreamQueued: sum(/^cortex_proxy_upstream_queued_requests (\d+)$/gm),
  };
}

/** Resident memory of a process in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Open file descriptors (sockets, files, pipes) of a process (Linux /proc). */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** An agent with its own sockets, closed by the caller (so a test's connections never linger in the global pool). */
export function agent(connections = 16): Agent {
  return new Agent({ connections, pipelining: 1, keepAliveTimeout: 1000 });
}
