// Preloaded into a spawned CLI (NODE_OPTIONS=--import=<this file>) by tests that use an api_base under .invalid:
// RFC 6761 says such names never resolve, but the system resolver would still ask the configured DNS server (off
// this machine). Here they fail locally with ENOTFOUND, as getaddrinfo reports an unknown host, and any other name
// that is not loopback fails too (with EAI_FAIL), so nothing leaves the machine. Not part of the product.
import dns from 'node:dns';

const LOCAL = new Set(['localhost', '127.0.0.1', '::1']);
const realLookup = dns.lookup;

function fail(host, code, cb) {
  const err = Object.assign(new Error(`getaddrinfo ${code} ${host}`), { code, errno: code === 'ENOTFOUND' ? -3008 : -3007, syscall: 'getaddrinfo', hostname: host });
  process.nextTick(cb, err);
  return {};
}

dns.lookup = function lookup(host, options, cb) {
  if (typeof options === 'function') {
    cb = options;
    options = {};
  }
  const h = String(host).replace(/\.$/, '').toLowerCase();
  if (h.endsWith('.invalid') || h === 'invalid') return fail(host, 'ENOTFOUND', cb);
  if (!LOCAL.has(h) && !/^127\./.test(h)) return fail(host, 'EAI_FAIL', cb);
  return realLookup.call(this, host, options, cb);
};
