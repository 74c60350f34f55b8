// The limits that protect the proxy from its clients, and their general_settings keys (read by config/server-settings.ts):
//
//   general_settings:
//     client_header_timeout: 60    # seconds a client has to send a request's headers (slowloris)
//     client_body_timeout: 300     # seconds a client has to send a whole request, body included
//     shutdown_timeout: 10         # seconds in-flight answers get to finish after SIGTERM/SIGINT
//
// Also enforced, without keys: headers larger than 16 KB (Node's limit) get 431; bodies over max_request_body_mb
// get 413; idle keep-alive connections close after 65 s.
import type { ServerOptions } from 'node:http';
import type { Settings } from '../config/types.js';

export const DEFAULT_CLIENT_HEADER_TIMEOUT_MS = 60_000;
export const DEFAULT_CLIENT_BODY_TIMEOUT_MS = 300_000;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/** node:http server options from the settings. */
export function httpServerOptions(settings: Settings): ServerOptions {
  const body = settings.clientBodyTimeoutMs ?? DEFAULT_CLIENT_BODY_TIMEOUT_MS;
  // Node refuses a headers timeout longer than the whole-request one.
  const headers = Math.min(settings.clientHeaderTimeoutMs ?? DEFAULT_CLIENT_HEADER_TIMEOUT_MS, body);
  return {
    keepAliveTimeout: 65_000,
    headersTimeout: headers,
    requestTimeout: body,
    // How often Node looks for connections past those timeouts (its default, 30 s, would let a slow client stay
    // up to 30 s longer than the limit).
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headers / 4))),
  };
}
