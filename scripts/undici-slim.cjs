'use strict'
// What dist/cli.mjs bundles for `import … from 'undici'` (scripts/build.mjs): the dispatchers, the request API,
// errors, the global dispatcher and the redirect interceptor, taken from the same undici modules its index.js loads — but
// without fetch, WebSocket, EventSource, the caches, mocks and proxy agents, which cortex-proxy never uses and
// which made up half of the bundle (≈ 0.8 MB that every start-up had to compile). Measured in bench/README.md.
// scripts/build.mjs refuses to build when src/ imports a name from 'undici' that this file does not export.
const Dispatcher = require('undici/lib/dispatcher/dispatcher')
const api = require('undici/lib/api')
const errors = require('undici/lib/core/errors')
const util = require('undici/lib/core/util')
const { getGlobalDispatcher, setGlobalDispatcher } = require('undici/lib/global')

Object.assign(Dispatcher.prototype, api) // as undici's index.js: pool.request(), client.stream(), …

// undici's index.js makeDispatcher, unchanged: request(url, opts) on opts.dispatcher or the global dispatcher.
function makeDispatcher (fn) {
  return (url, opts, handler) => {
    if (typeof opts === 'function') {
      handler = opts
      opts = null
    }
    if (!url || (typeof url !== 'string' && typeof url !== 'object' && !(url instanceof URL))) {
      throw new errors.InvalidArgumentError('invalid url')
    }
    if (opts != null && typeof opts !== 'object') {
      throw new errors.InvalidArgumentError('invalid opts')
    }
    if (opts && opts.path != null) {
      if (typeof opts.path !== 'string') {
        throw new errors.InvalidArgumentError('invalid opts.path')
      }
      let path = opts.path
      if (!opts.path.startsWith('/')) {
        path = `/${path}`
      }
      url = new URL(util.parseOrigin(url).origin + path)
    } else {
      if (!opts) {
        opts = typeof url === 'object' ? url : {}
      }
      url = util.parseURL(url)
    }
    const { agent, dispatcher = getGlobalDispatcher() } = opts
    if (agent) {
      throw new errors.InvalidArgumentError('unsupported opts.agent. Did you mean opts.client?')
    }
    return fn.call(dispatcher, {
      ...opts,
      origin: url.origin,
      path: url.search ? `${url.pathname}${url.search}` : url.pathname,
      method: opts.method || (opts.body ? 'PUT' : 'GET')
    }, handler)
  }
}

module.exports = {
  Dispatcher,
  Client: require('undici/lib/dispatcher/client'),
  Pool: require('undici/lib/dispatcher/pool'),
  Agent: require('undici/lib/dispatcher/agent'),
  errors,
  interceptors: {
    redirect: require('undici/lib/interceptor/redirect')
  },
  getGlobalDispatcher,
  setGlobalDispatcher,
  request: makeDispatcher(api.request)
}
