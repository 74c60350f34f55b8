// Remote-image resolution: Cortex only takes base64 images (reference/cortex-api.md §5), so every ImagePart
// that still carries a `url` is turned into {mediaType, base64} before encoding. data: URLs are decoded in
// place (the bytes decide the type). http(s) URLs are fetched as an SSRF-safe client would (docs/images.md):
//   general_settings.image_url_fetch: public (default) | off | any
//   - the host name is resolved first; under `public` every address must be public (cortex/addresses.ts), and the
//     connection goes to that checked address (undici connect.lookup pinned to it: no second DNS answer), with
//     the name kept for the Host header, SNI and the certificate check;
//   - redirects are followed by hand, at most 3, each target resolved and checked again;
//   - the answer must declare image/png|jpeg|gif|webp and its magic bytes must match;
//   - per image (max_image_mb) and per request (20 MiB of base64, counting inline images) caps while streaming,
//     a timeout over the whole fetch, 4 fetches at a time; the image count is checked before (preflightImages).
import { promises as dns } from 'node:dns';
import net from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { addressRisk } from './addresses.js';
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

/** general_settings.image_url_fetch: which http(s) image URLs the proxy fetches for a client. */
export type ImageUrlFetch = 'public' | 'off' | 'any';

/** Types an image fetched from a URL may have: declared by Content-Type and confirmed by its magic bytes. */
export const FETCHED_IMAGE_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** One resolved address of a host name. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** The production resolver: every address the system resolver knows for the name (getaddrinfo, /etc/hosts). */
export const systemResolver: Resolver = async (hostname) =>
  (await dns.lookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

export interface ResolveImagesOptions {
  /** Which URLs may be fetched (default public). */
  policy?: ImageUrlFetch;
  /** Largest image accepted, in decoded bytes. */
  maxBytes: number;
  /** Image data per request, in base64 characters (as it reaches Cortex), counting inline images too (default 20 MiB). */
  maxTotalBase64?: number;
  /** Whole-fetch limit per image, redirects included (default 30 s). */
  timeoutMs?: number;
  /** Images fetched at once per request (default 4). */
  concurrency?: number;
  /**
   * TEST SEAM, never set from configuration: a resolver standing in for DNS, and endpoints ("127.0.0.1:PORT") that
   * count as public, so tests on loopback can exercise the `public` path (name → checked address → connection).
   */
  testSeam?: { resolver?: Resolver; publicEndpoints?: ReadonlySet<string> };
}

const MAX_REDIRECTS = 3;
/** Cortex's v1 endpoints take at most 20 MiB of images per request (docs/images.md). */
export const MAX_IMAGE_REQUEST_BASE64 = 20 * 1024 * 1024;
const DEFAULT_CONCURRENCY = 4;
/** Image fetches in flight in the whole process (all requests together): bounds memory and sockets. */
export const PROCESS_FETCHES = 16;
let fetching = 0;
const queue: Array<() => void> = [];

/** Waits for one of the process's fetch slots; resolves to its release. Rejects when `signal` fires while waiting. */
function fetchSlot(signal: AbortSignal): Promise<() => void> {
  const release = () => {
    fetching--;
    queue.shift()?.();
  };
  if (fetching < PROCESS_FETCHES) {
    fetching++;
    return Promise.resolve(release);
  }
  return new Promise((resolve, reject) => {
    const go = () => {
      signal.removeEventListener('abort', onAbort);
      fetching++;
      resolve(release);
    };
    const onAbort = () => {
      const i = queue.indexOf(go);
      if (i !== -1) queue.splice(i, 1);
      reject(signal.reason);
    };
    queue.push(go);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Every ImagePart, anywhere in the conversation (tool results included). */
function allImages(req: ChatRequest): ImagePart[] {
  const out: ImagePart[] = [];
  for (const m of req.messages) {
    for (const p of m.parts) {
      if (p.type === 'image') out.push(p);
      else if (p.type === 'tool_result') for (const q of p.parts) if (q.type === 'image') out.push(q);
    }
  }
  return out;
}

const base64Length = (bytes: number) => 4 * Math.ceil(bytes / 3);

/**
 * Replaces every image `url` by base64 data (in place). Inline data first (no network), then http(s) URLs, a few at
 * a time, while the request's image total stays within maxTotalBase64. Throws ProxyError(invalid_request) naming
 * the image. The caller checks the image count before (server/proxy.ts: preflightImages).
 */
export async function resolveImages(req: ChatRequest, opts: ResolveImagesOptions): Promise<void> {
  const images = allImages(req);
  const maxTotal = opts.maxTotalBase64 ?? MAX_IMAGE_REQUEST_BASE64;
  let total = 0;
  const add = (base64Chars: number) => {
    total += base64Chars;
    if (total > maxTotal)
      throw invalidRequest(`the images of this request exceed ${mib(maxTotal)} MiB (base64), the most Cortex accepts per request; send fewer or smaller images`, 'image_url');
  };
  const remote = new Map<string, ImagePart[]>();
  for (const p of images) {
    if (p.base64 && !p.url) {
      add(p.base64.length);
      continue;
    }
    if (!p.url) continue;
    const scheme = p.url.slice(0, p.url.indexOf(':') + 1).toLowerCase();
    if (scheme === 'data:') {
      const r = decodeDataUrl(p.url, opts.maxBytes);
      add(r.base64.length);
      p.mediaType = r.mediaType;
      p.base64 = r.base64;
      delete p.url;
    } else if (scheme === 'http:' || scheme === 'https:') {
      const list = remote.get(p.url);
      if (list) list.push(p);
      else remote.set(p.url, [p]);
    } else
      throw invalidRequest(
        `image URL scheme ${scheme ? `"${scheme.slice(0, 20)}"` : '(none)'} is not supported: send a data: URL or an http(s) URL`,
        'image_url',
      );
  }
  if (remote.size === 0) return;
  const policy = opts.policy ?? 'public';
  if (policy === 'off')
    throw invalidRequest(
      'this proxy does not fetch image URLs (general_settings.image_url_fetch: off): send the image inline as a data: URL (base64)',
      'image_url',
    );
  // One fetch per distinct URL, `concurrency` at a time; the first failure stops the others.
  const urls = [...remote.keys()];
  const abort = new AbortController();
  let next = 0;
  let failure: unknown;
  const budget = { left: maxTotal - total };
  const worker = async () => {
    while (failure === undefined && next < urls.length) {
      const url = urls[next++];
      try {
        const release = await fetchSlot(abort.signal);
        let r: { mediaType: string; base64: string };
        try {
          r = await fetchImage(url, opts, policy, budget, abort.signal);
        } finally {
          release();
        }
        for (const p of remote.get(url)!) {
          p.mediaType = r.mediaType;
          p.base64 = r.base64;
          delete p.url;
        }
      } catch (err) {
        if (failure === undefined) failure = err;
        abort.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? DEFAULT_CONCURRENCY, urls.length) }, worker));
  if (failure !== undefined) throw failure;
}

const mib = (n: number) => Math.round((n / (1024 * 1024)) * 10) / 10;

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

/** The host of a URL as the connection sees it: brackets off an IPv6 literal. */
function hostOf(u: URL): string {
  return u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
}

/**
 * The addresses to connect to for a URL under the policy: the name is resolved once and every address it has must be
 * public (a name with one private address among public ones is refused: DNS answers can be chosen by an attacker).
 * Throws invalid_request naming the URL and the kind of address, never the address itself.
 */
export async function checkedAddresses(u: URL, policy: ImageUrlFetch, seam?: ResolveImagesOptions['testSeam']): Promise<ResolvedAddress[]> {
  const host = hostOf(u);
  const name = shown(u.href);
  let addresses: ResolvedAddress[];
  const literal = net.isIP(host);
  if (literal) addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  else {
    try {
      addresses = await (seam?.resolver ?? systemResolver)(host);
    } catch (err) {
      throw invalidRequest(`could not fetch image ${name}: the host name does not resolve (${(err as { code?: string }).code ?? 'DNS error'})`, 'image_url');
    }
    if (addresses.length === 0) throw invalidRequest(`could not fetch image ${name}: the host name does not resolve`, 'image_url');
  }
  if (policy === 'public') {
    const port = u.port || (u.protocol === 'https:' ? '443' : '80');
    for (const a of addresses) {
      if (seam?.publicEndpoints?.has(`${a.address}:${port}`)) continue;
      const risk = addressRisk(a.address);
      if (risk)
        throw invalidRequest(
          `image URL ${name} refused: ${literal ? 'it is' : 'its host name resolves to'} ${risk}. cortex-proxy fetches images only from public addresses ` +
            '(general_settings.image_url_fetch: public); send the image as a data: URL, or see docs/images.md for image_url_fetch: any',
          'image_url',
        );
    }
  }
  return addresses;
}

/**
 * A connect-time lookup that answers with the addresses that were checked, whatever name it is asked about: all of
 * them when asked for all (Node's happy eyeballs then tries IPv6 and IPv4 in turn), else the first.
 */
function pinnedLookup(targets: ResolvedAddress[]) {
  return (_hostname: string, options: unknown, callback?: (...args: unknown[]) => void) => {
    const cb = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
    if (all) cb(null, targets.map((t) => ({ address: t.address, family: t.family })));
    else cb(null, targets[0].address, targets[0].family);
  };
}

const REDIRECT = new Set([301, 302, 303, 307, 308]);

async function fetchImage(
  url: string,
  opts: ResolveImagesOptions,
  policy: ImageUrlFetch,
  budget: { left: number },
  stop: AbortSignal,
): Promise<{ mediaType: string; base64: string }> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const name = shown(url);
  const signal = AbortSignal.any([stop, AbortSignal.timeout(timeoutMs)]);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalidRequest(`image URL ${name} is not a valid URL`, 'image_url');
  }
  for (let hop = 0; ; hop++) {
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw invalidRequest(`image URL ${name} redirects to a ${u.protocol.slice(0, 20)} URL; only http(s) is fetched`, 'image_url');
    const targets = await withSignal(checkedAddresses(u, policy, opts.testSeam), signal, name);
    // A dispatcher per hop whose connections go to the checked address only (no second DNS answer); the URL keeps
    // the name, so the Host header and TLS (SNI, certificate check) are the name's.
    const agent = new Agent({ connect: { lookup: pinnedLookup(targets) as never }, connections: 1, pipelining: 0 });
    try {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(u, {
          method: 'GET',
          dispatcher: agent,
          headers: { accept: 'image/png, image/jpeg, image/gif, image/webp', 'user-agent': 'cortex-proxy' },
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal,
        });
      } catch (err) {
        throw invalidRequest(`could not fetch image ${name}: ${reason(err, stop)}`, 'image_url');
      }
      const status = res.statusCode;
      if (REDIRECT.has(status)) {
        discard(res.body);
        const location = headerValue(res.headers.location);
        if (!location) throw invalidRequest(`could not fetch image ${name}: HTTP ${status} without a Location`, 'image_url');
        if (hop >= MAX_REDIRECTS) throw invalidRequest(`could not fetch image ${name}: more than ${MAX_REDIRECTS} redirects`, 'image_url');
        try {
          u = new URL(location, u);
        } catch {
          throw invalidRequest(`could not fetch image ${name}: it redirects to an invalid URL`, 'image_url');
        }
        continue; // the next hop is resolved and checked like the first
      }
      return await readImage(res, name, opts.maxBytes, budget, stop);
    } finally {
      void agent.close().catch(() => undefined);
    }
  }
}

async function readImage(
  res: Dispatcher.ResponseData,
  name: string,
  maxBytes: number,
  budget: { left: number },
  stop: AbortSignal,
): Promise<{ mediaType: string; base64: string }> {
  const status = res.statusCode;
  if (status < 200 || status >= 300) {
    discard(res.body);
    throw invalidRequest(`could not fetch image ${name}: HTTP ${status}`, 'image_url');
  }
  let declared = (headerValue(res.headers['content-type']) ?? '').split(';', 1)[0].trim().toLowerCase();
  if (declared === 'image/jpg') declared = 'image/jpeg';
  if (!FETCHED_IMAGE_TYPES.has(declared)) {
    discard(res.body);
    throw invalidRequest(
      `${name} is not a supported image (content-type ${declared.slice(0, 60) || 'missing'}); fetched images must be image/png, image/jpeg, image/gif or image/webp`,
      'image_url',
    );
  }
  const declaredLength = Number(headerValue(res.headers['content-length']));
  if (Number.isFinite(declaredLength) && declaredLength > maxBytes) {
    discard(res.body);
    throw tooLarge(name, maxBytes);
  }
  const overTotal = () =>
    invalidRequest(`the images of this request exceed ${mib(MAX_IMAGE_REQUEST_BASE64)} MiB (base64), the most Cortex accepts per request; send fewer or smaller images`, 'image_url');
  if (Number.isFinite(declaredLength) && base64Length(declaredLength) > budget.left) {
    discard(res.body);
    throw overTotal();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let charged = 0; // base64 characters of this image taken from the request's budget so far (shared by the fetches in flight)
  try {
    for await (const chunk of res.body) {
      const b = chunk as Buffer;
      size += b.length;
      if (size > maxBytes) {
        discard(res.body);
        throw tooLarge(name, maxBytes);
      }
      const now = base64Length(size);
      budget.left -= now - charged;
      charged = now;
      if (budget.left < 0) {
        discard(res.body);
        throw overTotal();
      }
      chunks.push(b);
    }
  } catch (err) {
    if (err instanceof ProxyError) throw err;
    throw invalidRequest(`could not fetch image ${name}: ${reason(err, stop)}`, 'image_url');
  }
  if (size === 0) throw invalidRequest(`could not fetch image ${name}: empty body`, 'image_url');
  const bytes = Buffer.concat(chunks, size);
  const sniffed = sniffImageType(bytes);
  if (sniffed !== declared)
    throw invalidRequest(
      `${name} declares ${declared} but its bytes are ${sniffed ? `a ${sniffed.slice(6).toUpperCase()} image` : 'not a PNG, JPEG, GIF or WebP image'}`,
      'image_url',
    );
  return { mediaType: declared, base64: bytes.toString('base64') };
}

/** A promise that gives up when the signal fires (DNS lookups cannot be cancelled). */
function withSignal<T>(p: Promise<T>, signal: AbortSignal, name: string): Promise<T> {
  if (signal.aborted) return Promise.reject(invalidRequest(`could not fetch image ${name}: timed out`, 'image_url'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(invalidRequest(`could not fetch image ${name}: timed out`, 'image_url'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

/** Stops reading a body we no longer want (the abort error it raises has nobody to tell). */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function reason(err: unknown, stop?: AbortSignal): string {
  if (stop?.aborted) return 'cancelled (another image of the request failed)';
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
