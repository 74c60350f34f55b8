// Small node:http helpers: bounded body reading, JSON answers, and an SSE writer that honours backpressure.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProxyError } from '../core/errors.js';

/** Reads the whole body, refusing (413) as soon as it passes `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume(); // drain and discard the rest so the 413 can be delivered
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('aborted', () => reject(new ProxyError('invalid_request', 'client aborted the request body')));
  });
}

function tooLarge(limit: number): ProxyError {
  return new ProxyError(
    'too_large',
    `request body is larger than ${Math.round(limit / (1024 * 1024))} MB; raise general_settings.max_request_body_mb if this is expected`,
  );
}

export function parseJson(buf: Buffer): unknown {
  if (buf.length === 0) throw new ProxyError('invalid_request', 'request body is empty; send a JSON object');
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new ProxyError('invalid_request', `request body is not valid JSON: ${(err as Error).message}`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text); // end() uncorks at once: the answer is on the socket before the exchange's bookkeeping runs (test/answer-first.test.ts)
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/**
 * Writes and waits while the socket buffer is full, so a slow client slows the upstream read too
 * (nothing piles up in memory). Resolves false when the client went away.
 */
export function write(res: ServerResponse, text: string): Promise<boolean> | boolean {
  if (res.destroyed) return false;
  if (res.write(text)) return true;
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
