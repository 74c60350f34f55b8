// Remote-image resolution: Cortex only takes base64 images (reference/cortex-api.md §5), so every ImagePart
// that still carries a `url` is turned into {mediaType, base64} before encoding. data: URLs are decoded in
// place; http(s) URLs are fetched with undici (size cap enforced while streaming, redirects followed a few
// times). The media type is taken from the bytes when they are recognisable (Claude rejects a declared type
// that does not match the data), else from a declared allowed image type.
import { request, interceptors, getGlobalDispatcher, type Dispatcher } from 'undici';
import { ProxyError, invalidRequest } from '../core/errors.js';
import type { ChatRequest, ImagePart } from '../core/types.js';

/** content_type values inference:complete accepts (SPEC ImageDetails). */
export const ALLOWED_IMAGE_TYPES: ReadonlySet<string> = new Set([
  'image/jpeg',
  'image/jpg',
  'image/png',
  'image/gif',
  'image/webp',
  'image/heic',
  'image/heif',
]);

export interface ResolveImagesOptions {
  /** Largest image accepted, in decoded bytes. */
  maxBytes: number;
  /** Whole-fetch limit per image (default 30 s). */
  timeoutMs?: number;
  /** undici dispatcher (tests, proxies); default: the global one. */
  dispatcher?: Dispatcher;
}

const MAX_REDIRECTS = 3;

/** Every ImagePart with a url, anywhere in the conversation (tool results included). */
function remoteImages(req: ChatRequest): ImagePart[] {
  const out: ImagePart[] = [];
  for (const m of req.messages) {
    for (const p of m.parts) {
      if (p.type === 'image') {
        if (p.url && !p.base64) out.push(p);
      } else if (p.type === 'tool_result') {
        for (const q of p.parts) if (q.type === 'image' && q.url && !q.base64) out.push(q);
      }
    }
  }
  return out;
}

/** Replaces every image `url` by base64 data (in place). Throws ProxyError(invalid_request) naming the image. */
export async function resolveImages(req: ChatRequest, opts: ResolveImagesOptions): Promise<void> {
  const parts = remoteImages(req);
  if (parts.length === 0) return;
  // One fetch per distinct URL, all in parallel.
  const byUrl = new Map<string, Promise<{ mediaType: string; base64: string }>>();
  for (const p of parts) {
    const url = p.url!;
    if (!byUrl.has(url)) byUrl.set(url, resolveOne(url, opts));
  }
  const results = new Map<string, { mediaType: string; base64: string }>();
  await Promise.all(
    [...byUrl].map(async ([url, pending]) => {
      results.set(url, await pending);
    }),
  );
  for (const p of parts) {
    const r = results.get(p.url!)!;
    p.mediaType = r.mediaType;
    p.base64 = r.base64;
    delete p.url;
  }
}

async function resolveOne(url: string, opts: ResolveImagesOptions): Promise<{ mediaType: string; base64: string }> {
  const scheme = url.slice(0, url.indexOf(':') + 1).toLowerCase();
  if (scheme === 'data:') return decodeDataUrl(url, opts.maxBytes);
  if (scheme === 'http:' || scheme === 'https:') return fetchImage(url, opts);
  throw invalidRequest(
    `image URL scheme ${scheme ? `"${scheme}"` : '(none)'} is not supported: send a data: URL or an http(s) URL`,
    'image_url',
  );
}

/** data:[<mediatype>][;base64],<data> */
export function decodeDataUrl(url: string, maxBytes: number): { mediaType: string; base64: string } {
  const comma = url.indexOf(',');
  if (comma === -1) throw invalidRequest('malformed data: URL for an image (no comma)', 'image_url');
  const meta = url.slice(5, comma).split(';');
  const declared = meta[0].trim().toLowerCase();
  const isBase64 = meta.slice(1).some((s) => s.trim().toLowerCase() === 'base64');
  const payload = url.slice(comma + 1);
  let bytes: Buffer;
  if (isBase64) {
    const clean = payload.replace(/\s+/g, '');
    if (clean.length * 0.75 > maxBytes + 3) throw tooLarge('data: URL', maxBytes);
    bytes = Buffer.from(clean, 'base64');
  } else {
    try {
      bytes = Buffer.from(decodeURIComponent(payload), 'latin1');
    } catch {
      throw invalidRequest('malformed data: URL for an image (bad percent-encoding)', 'image_url');
    }
  }
  if (bytes.length === 0) throw invalidRequest('the image data: URL is empty', 'image_url');
  if (bytes.length > maxBytes) throw tooLarge('data: URL', maxBytes);
  const mediaType = pickMediaType(bytes, declared);
  if (!mediaType)
    throw invalidRequest(
      `unsupported image type in data: URL (${declared || 'none declared'}); Cortex accepts png, jpeg, gif, webp, heic and heif`,
      'image_url',
    );
  return { mediaType, base64: bytes.toString('base64') };
}

/** The URL without query or fragment (they may hold signed credentials). */
function shown(url: string): string {
  try {
    const u = new URL(url);
    return u.origin + u.pathname;
  } catch {
    return url.split(/[?#]/, 1)[0].slice(0, 200);
  }
}

function tooLarge(what: string, maxBytes: number): ProxyError {
  return invalidRequest(`image too large: ${what} exceeds the ${maxBytes}-byte limit for images`, 'image_url');
}

async function fetchImage(url: string, opts: ResolveImagesOptions): Promise<{ mediaType: string; base64: string }> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const name = shown(url);
  const dispatcher = (opts.dispatcher ?? getGlobalDispatcher()).compose(
    interceptors.redirect({ maxRedirections: MAX_REDIRECTS }),
  );
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: 'GET',
      dispatcher,
      headers: { accept: 'image/*', 'user-agent': 'cortex-proxy' },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw invalidRequest(`could not fetch image ${name}: ${reason(err)}`, 'image_url');
  }
  const status = res.statusCode;
  if (status < 200 || status >= 300) {
    await res.body.dump().catch(() => undefined);
    throw invalidRequest(`could not fetch image ${name}: HTTP ${status}`, 'image_url');
  }
  const declaredLength = Number(headerValue(res.headers['content-length']));
  if (Number.isFinite(declaredLength) && declaredLength > opts.maxBytes) {
    discard(res.body);
    throw tooLarge(name, opts.maxBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      const b = chunk as Buffer;
      size += b.length;
      if (size > opts.maxBytes) {
        discard(res.body);
        throw tooLarge(name, opts.maxBytes);
      }
      chunks.push(b);
    }
  } catch (err) {
    if (err instanceof ProxyError) throw err;
    throw invalidRequest(`could not fetch image ${name}: ${reason(err)}`, 'image_url');
  }
  const bytes = Buffer.concat(chunks, size);
  if (size === 0) throw invalidRequest(`could not fetch image ${name}: empty body`, 'image_url');
  const declared = (headerValue(res.headers['content-type']) ?? '').split(';', 1)[0].trim().toLowerCase();
  const mediaType = pickMediaType(bytes, declared);
  if (!mediaType)
    throw invalidRequest(
      `${name} is not a supported image (content-type ${declared || 'missing'}); Cortex accepts png, jpeg, gif, webp, heic and heif`,
      'image_url',
    );
  return { mediaType, base64: bytes.toString('base64') };
}

/** Stops reading a body we no longer want (the abort error it raises has nobody to tell). */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function reason(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { name?: string; code?: string; message?: string };
    if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') return 'timed out';
    if (e.code) return e.code;
    if (e.message) return e.message.slice(0, 120);
  }
  return 'network error';
}

/** The recognised type of the bytes, else the declared type when Cortex accepts it, else undefined. */
export function pickMediaType(bytes: Uint8Array, declared: string): string | undefined {
  return sniffImageType(bytes) ?? (ALLOWED_IMAGE_TYPES.has(declared) ? declared : undefined);
}

/** png / jpeg / gif / webp by magic bytes. */
export function sniffImageType(b: Uint8Array): string | undefined {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a)
    return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38 && (b[4] === 0x37 || b[4] === 0x39) && b[5] === 0x61)
    return 'image/gif';
  if (b.length >= 12 && b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50)
    return 'image/webp';
  return undefined;
}
