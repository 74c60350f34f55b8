#!/usr/bin/env node
// Thin launcher: the CLI is bundled into dist/cli.mjs by `npm run build` (run by `npm ci` through `prepare`).
import('../dist/cli.mjs').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.mjs')) {
    console.error('cortex-proxy: dist/cli.mjs is missing. Run `npm run build` (or `npm ci`) first.');
  } else {
    console.error(err);
  }
  process.exit(1);
});
