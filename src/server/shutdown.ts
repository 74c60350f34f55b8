// The shutdown deadline (general_settings.shutdown_timeout, server/limits.ts): serve's SIGTERM/SIGINT handler lets
// in-flight answers finish through App.close(); past the deadline the connections still open are cut, so those
// exchanges end the usual way (upstream requests closed, usage records written) and close() can complete. Should
// anything still hang after that, the usage log is flushed and the process exits anyway.
import type { Server } from 'node:http';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from './limits.js';

/** After the deadline, close() has this long to complete before the process exits regardless. */
const LAST_RESORT_MS = 5_000;

export function armShutdownDeadline(server: Server, timeoutMs: number | undefined, flush: () => Promise<unknown>): void {
  const deadline = setTimeout(() => {
    server.closeAllConnections();
    setTimeout(() => void flush().finally(() => process.exit(0)), LAST_RESORT_MS).unref();
  }, timeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS);
  deadline.unref();
}
