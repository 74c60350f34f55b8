// The types every route shares: the app's context (config, router, upstream, log and the hooks that telemetry,
// the team gateway and the tunnel guard install), one exchange's record, and what a model request asks to spend.
import type { IncomingMessage } from 'node:http';
import type { Config, Deployment, WireName } from '../config/types.js';
import type { ChatRequest, Usage } from '../core/types.js';
import type { ProxyError } from '../core/errors.js';
import type { Upstream } from '../cortex/client.js';
import type { ResolveImagesOptions } from '../cortex/images.js';
import type { Router } from '../cortex/router.js';
import type { TraceContext } from '../cortex/trace.js';
import type { BrowserGuard } from './browser-guard.js';
import type { Logger } from './log.js';

/** What one exchange did, for the request log (and later the usage log). */
export interface Exchange {
  startedAt: number;
  dialect: string;
  model?: string;
  /** The deployment that served it (Cortex model id, wire). */
  cortexModel?: string;
  wire?: string;
  /** The model_name that answered when it was not the first deployment tried (a fallback's, or another deployment of the same name). */
  fallback?: string;
  /** Deployments passed over before the answer, with why (e.g. "model-a (claude-4-sonnet via anthropic): 429 rate_limit"). */
  skipped?: string[];
  /** The wire this request last found refused (403/404) on its account and moved off (cortex/wires.ts whenRefused). */
  refusedWire?: WireName;
  /** HTTP status the client got (200 for a stream that later failed in-band: see error). */
  status?: number;
  /** The client went away before the answer was complete. */
  clientClosed?: boolean;
  usage?: Usage;
  requestId?: string;
  retries: number;
  ttftMs?: number;
  error?: string;
  /** The client's address, when the request log should show it (serve --tunnel: server/tunnel-guard.ts). */
  remote?: string;
  /** The error's kind (core/errors.ts ErrorKind), for metrics and the usage log. */
  errorKind?: string;
  /** The client asked for a streamed answer. */
  stream?: boolean;
  /** Which client key was used ('master'; virtual keys: their label). Never the key itself. */
  keyLabel?: string;
  /** The trace every upstream call of this exchange carries (cortex/trace.ts); its id is in the log line and usage record. */
  trace?: TraceContext;
}

export interface AppContext {
  config: Config;
  router: Router;
  upstream: Upstream;
  log: Logger;
  /** Headers added to every answer (e.g. the demo-mode marker). */
  extraHeaders: Record<string, string>;
  /** Called once per finished HTTP exchange (usage log, metrics, dashboard). Must not throw or block. */
  onExchange: Array<(x: Exchange, req: IncomingMessage) => void>;
  /** Host, Origin and CORS checks (server/browser-guard.ts); serve adds the --host name and the tunnel's host. */
  browser: BrowserGuard;
  /**
   * Called when client authentication failed (server/tunnel-guard.ts: counts the failure per client address); may
   * answer another error instead (429 while that address is throttled).
   */
  authFailed?: (req: IncomingMessage, err: ProxyError, x: Exchange) => ProxyError | undefined;
  /** Set while tunnelled (server/tunnel-guard.ts): the client's real address, shown in the request log. */
  clientAddress?: (req: IncomingMessage) => string;
  /** Called when a chat exchange has been routed (model, wire, stream known), before the upstream call (in-flight gauges). */
  onStart?: Array<(x: Exchange, req: IncomingMessage) => void>;
  /**
   * A decoded model request may go on (team/gateway.ts: a virtual key's models, limits and budget); refuses by
   * throwing. Every model route calls it: chat (every dialect and Cursor shape), count_tokens, embeddings.
   */
  admit?: (x: Exchange, a: Admission, req: IncomingMessage) => Promise<void>;
  /** TEST SEAM (cortex/images.ts): set only by tests, never from configuration. */
  imageFetchTestSeam?: ResolveImagesOptions['testSeam'];
  /** Whether the exchange's client may use a model name (fallbacks, /v1/models); absent = every model. */
  allows?: (x: Exchange, model: string) => boolean;
  /** Awaited before an answer's last bytes are written (team/gateway.ts: its usage row is stored first). Never throws. */
  beforeEnd?: (x: Exchange) => Promise<void>;
}

/** What a model request asks to spend, for admission (ctx.admit). */
export type Admission =
  | { model: string; deployment: Deployment; chat: ChatRequest; free?: false; inputTokens?: undefined }
  | { model: string; deployment: Deployment; inputTokens: number; free?: false; chat?: undefined }
  /** Answered locally (count_tokens): the key and its model list are checked, nothing is spent or limited. */
  | { model: string; free: true; deployment?: undefined; chat?: undefined; inputTokens?: undefined };
