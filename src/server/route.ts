// What a route is: a method, the dialect whose error envelope it answers in, whether it is public, and its handler.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dialect } from '../dialects/dialect.js';
import type { AppContext, Exchange } from './context.js';

export interface Route {
  method: 'GET' | 'POST';
  /** Dialect whose error envelope this route answers errors in (default: OpenAI's). */
  envelope?: Dialect;
  /** Served without the master key (nothing secret, nothing that spends credits); a function decides per config. */
  public?: boolean | ((ctx: AppContext) => boolean);
  /** Polled often (dashboard, metrics): its request log line only at --log-level debug. */
  quiet?: boolean;
  handle(ctx: AppContext, req: IncomingMessage, res: ServerResponse, x: Exchange): Promise<void> | void;
}
