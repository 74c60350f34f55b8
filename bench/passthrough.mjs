// The "25-line Node passthrough" reference: node:http in, undici out, nothing parsed or translated — the
// cost of Node itself, as a yardstick under the same load. argv: <port> <upstream origin>.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [port, origin] = [Number(process.argv[2]), process.argv[3]];
const pool = new Pool(origin, { connections: 256, pipelining: 1 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host']);

createServer(async (req, res) => {
  try {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
    const up = await pool.request({ method: req.method, path: req.url, headers, body: req });
    const out = {};
    for (const [k, v] of Object.entries(up.headers)) if (!HOP.has(k)) out[k] = v;
    res.writeHead(up.statusCode, out);
    for await (const chunk of up.body) res.write(chunk);
    res.end();
  } catch (err) {
    if (!res.headersSent) res.writeHead(502).end(String(err));
    else res.destroy();
  }
}).listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0)); // a clean exit, so `node --cpu-prof` writes its profile (bench/profile.ts --passthrough)
