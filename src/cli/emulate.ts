// `cortex-proxy emulate`: the built-in Cortex emulator as a standalone server (demo upstream, manual tests).
import { startEmulator } from '../emulator/index.js';

export async function emulate(opts: { port: string; host: string; pat?: string[] }): Promise<void> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`cortex-proxy: --port must be a number from 0 to 65535 (got '${opts.port}')\n`);
    process.exit(2);
  }
  const emu = await startEmulator({ port, host: opts.host, pats: opts.pat?.length ? opts.pat : undefined }).catch((err: NodeJS.ErrnoException) => {
    // One clear line, no stack trace, for what a user can fix.
    if (err.code === 'EADDRINUSE') fail(`port ${port} on ${opts.host} is already in use: stop the other process (lsof -i :${port}) or pass --port (0 picks a free one)`);
    if (err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') fail(`cannot listen on ${opts.host}:${port} (${err.code}): pick another --port or --host`);
    throw err;
  });
  process.stderr.write(
    `Cortex emulator on ${emu.url}\n  api_base for a config: ${emu.apiBase}\n  ${opts.pat?.length ? 'accepts the given PATs only' : 'accepts any bearer token'}; script it via POST ${emu.url}/_emulator/script\n`,
  );
  process.stdout.write(`listening on ${emu.url}\n`);
  const stop = () => void emu.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function fail(message: string): never {
  process.stderr.write(`cortex-proxy: ${message}\n`);
  process.exit(2);
}
