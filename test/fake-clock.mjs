// Preloaded into a spawned CLI (NODE_OPTIONS=--import=<this file>) by tests that need time to pass without
// waiting: Date.now() is shifted by the number of milliseconds in the file named by CORTEX_PROXY_TEST_CLOCK_FILE
// (read on every call, so the test moves the clock by rewriting the file). Not part of the product.
import { readFileSync } from 'node:fs';

const file = process.env.CORTEX_PROXY_TEST_CLOCK_FILE;
if (file) {
  const realNow = Date.now;
  Date.now = () => {
    let offset = 0;
    try {
      offset = Number(readFileSync(file, 'utf8')) || 0;
    } catch {
      // no file: no offset
    }
    return realNow() + offset;
  };
}
