// Preloaded into a spawned CLI (NODE_OPTIONS=--import=<this file>) by test/security.test.ts: when
// CORTEX_PROXY_TEST_CRASH_AFTER_MS is set, an exception whose message holds the PAT and the master key is thrown
// from a timer that long after the proxy printed its `listening on` line (not after process start: a slow start-up
// on a busy machine must not crash it before it listens) — a stand-in for a bug, to check what a crash prints. Not
// part of the product.
const ms = Number(process.env.CORTEX_PROXY_TEST_CRASH_AFTER_MS);
if (ms > 0) {
  const write = process.stdout.write.bind(process.stdout);
  let armed = false;
  process.stdout.write = (chunk, ...rest) => {
    if (!armed && String(chunk).includes('listening on')) {
      armed = true;
      setTimeout(() => {
        const err = new Error(`simulated bug while holding ${process.env.SNOWFLAKE_PAT} and ${process.env.CORTEX_PROXY_MASTER_KEY}`);
        err.token = process.env.SNOWFLAKE_PAT;
        throw err;
      }, ms).unref();
    }
    return write(chunk, ...rest);
  };
}
