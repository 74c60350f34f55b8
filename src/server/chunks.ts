// Reads an upstream body chunk by chunk with 'data' events rather than `for await`, whose async iterator costs a
// promise and a generator step per chunk (a measurable share of the CPU per streamed chunk: bench/README.md).
import type { Readable } from 'node:stream';

/**
 * Calls onChunk for every chunk until the body ends. onChunk answers true (go on at once), false (stop: the body is
 * destroyed and the promise resolves) or a promise of either (the body is paused until it settles, so a slow client
 * slows the upstream read). Rejects with the body's error, with what onChunk threw, or with ERR_STREAM_PREMATURE_CLOSE
 * when the body closed without ending — as `for await` would.
 */
const ignore = () => undefined;

export function forEachChunk(body: Readable, onChunk: (chunk: Buffer) => boolean | Promise<boolean>): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      if (err === undefined) resolve();
      else reject(err);
    };
    const stop = (err?: unknown) => {
      settle(err);
      // Destroying an undici body emits an abort error; with no listener left it would crash the process.
      body.on('error', ignore);
      body.destroy();
    };
    const onData = (chunk: Buffer) => {
      if (settled) return;
      let go: boolean | Promise<boolean>;
      try {
        go = onChunk(chunk);
      } catch (err) {
        stop(err);
        return;
      }
      if (go === true) return;
      if (go === false) {
        stop();
        return;
      }
      body.pause();
      go.then(
        (ok) => {
          if (settled) return;
          if (ok) body.resume();
          else stop();
        },
        (err) => stop(err),
      );
    };
    const onEnd = () => settle();
    const onError = (err: Error) => settle(err);
    const onClose = () => settle(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
  });
}
