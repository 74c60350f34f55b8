// The real coding agents from npm, driven non-interactively through the real proxy (bin/cortex-proxy.js)
// in front of the strict built-in emulator. For each agent the emulator answers its main turn with a call of
// the agent's own file-writing (or shell) tool — scripted with `when`, so the agent's side requests (titles,
// quota probes, memory) get the demo reply instead — the agent really runs it in a temporary workspace, sends
// the result back, and ends on the emulator's summary of that result.
//
// Each agent runs once per upstream wire (litellm_params.cortex_api: complete, openai, anthropic): the same
// agent request must complete its round trip whichever Cortex endpoint the proxy translates it to. One test
// file per agent and wire (test/e2e-agent-<bin>-<wire>.test.ts calls agentTest(bin, wire)) keeps each file far
// inside the runner's 60 s per-file timeout even on a busy machine. A wire the emulator does not serve (yet) is
// skipped with a note.
//
// The agents are not root devDependencies (about 1 GB): they live in test/agents/package.json with a lockfile,
// pinned exactly, and CI installs them with `npm ci --prefix test/agents`. Without that install every test
// here is skipped with that hint, so `npm test` on a fresh clone still passes.
//
// Every agent gets a fresh HOME, only the environment below (no keys from the developer's shell), its telemetry
// and update checks off, and HTTP(S)_PROXY pointing at a local egress trap: the trap tunnels loopback targets
// (Qwen Code sends even loopback traffic through a configured proxy) and refuses and records every other host,
// so "no traffic outside this machine" is asserted, not assumed.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startEmulator, type Emulator, type ReceivedRequest } from '../src/emulator/index.js';
import { WIRES } from '../src/cortex/wires.js';
import type { WireName as CortexWire } from '../src/config/types.js';
import { ROOT, startProxy, tempDir, writeFiles, type RunningProxy } from './helpers.js';

const AGENTS_DIR = join(ROOT, 'test', 'agents');
const BIN_DIR = join(AGENTS_DIR, 'node_modules', '.bin');
const installed = existsSync(BIN_DIR);
const INSTALL_HINT = 'agent CLIs not installed: run `npm ci --prefix test/agents`';
// npm test gives each test file 60 s (--test-timeout): an agent that hangs is killed well before, with its output.
const AGENT_TIMEOUT_MS = 50_000;
const TEST_TIMEOUT_MS = 57_000;

const PAT = 'test-pat-agents-' + 'p'.repeat(40);
const MASTER = 'sk-test-agents-' + 'm'.repeat(32);
const MODEL = 'claude-sonnet-4-5';
const SMALL_MODEL = 'claude-haiku-4-5';
const PROMPT = 'Create a file hello.txt containing hi';

/** An upstream wire pinned with cortex_api (the registry, src/cortex/wires.ts), or `gateway`: api_base is the Cortex AI Gateway (docs/ai-gateway.md). */
export type WireName = CortexWire | 'gateway';
const GATEWAY_BASE = '/api/v2/aigateways/SNOWFLAKE';
/** The Cortex path each upstream wire calls, from the registry (through the gateway, the harness's Claude models use its /v1/messages). */
const WIRE_PATHS = {
  ...Object.fromEntries(Object.values(WIRES).map((w) => [w.name, `/api/v2${w.path}`])),
  gateway: GATEWAY_BASE + WIRES.anthropic.gatewayPath!,
} as Record<WireName, string>; // responses: OpenAI models only, pass a model (Codex)
/** The gateway's path for every model that is not Claude. */
const GATEWAY_CHAT_PATH = GATEWAY_BASE + WIRES.openai.gatewayPath!;

// Model names equal to the Cortex ids Claude Code and the others are told to ask for; the wire pinned.
const proxyYaml = (apiBase: string, wire: WireName, models = [MODEL, SMALL_MODEL]) => `model_list:
${models
  .map(
    (m) => `  - model_name: ${m}
    litellm_params:
      model: snowflake/${m}
      api_base: ${wire === 'gateway' ? `${apiBase}/aigateways/SNOWFLAKE` : apiBase}
      api_key: os.environ/SNOWFLAKE_PAT
${wire === 'gateway' ? '' : `      cortex_api: ${wire}\n`}`,
  )
  .join('')}general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
`;

// ---------------------------------------------------------------------------------------------------------
// Egress trap: an HTTP proxy on 127.0.0.1 that tunnels loopback targets and refuses everything else.

interface EgressTrap {
  url: string;
  /** Every non-loopback host an agent tried to reach, in order. */
  outside: string[];
  close(): Promise<void>;
}

const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)$/i;

async function startEgressTrap(): Promise<EgressTrap> {
  const outside: string[] = [];
  const server: Server = createServer((req, res) => {
    // Plain-HTTP proxying sends absolute URIs.
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (!LOOPBACK_HOST.test(target.hostname)) {
      outside.push(`${req.method} ${target.origin}`);
      res.writeHead(403).end();
      return;
    }
    const up = httpRequest(target, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connect', (req, socket, head) => {
    socket.on('error', () => {});
    const m = /^(.*):(\d+)$/.exec(req.url ?? '');
    const host = m?.[1] ?? '';
    if (!m || !LOOPBACK_HOST.test(host)) {
      outside.push(`CONNECT ${req.url}`);
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const up = connect(Number(m[2]), host.replace(/^\[|\]$/g, ''), () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('close', () => up.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    outside,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Running an agent.

interface AgentRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** Spawns the agent in its own process group, kills the whole group after `timeoutMs`, never hangs. */
function runAgent(bin: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; stdin?: string; timeoutMs: number }): Promise<AgentRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      killGroup(); // helpers an agent left behind (shells, servers) go with it
      resolve({ code, signal, timedOut, stdout, stderr });
    });
  });
}

/** A fresh HOME and workspace, and an environment built from nothing but what the agent needs. */
function sandbox(name: string, trapUrl: string): { root: string; home: string; ws: string; env: NodeJS.ProcessEnv } {
  const root = tempDir(`cortex-proxy-agent-${name}-`);
  const home = join(root, 'home');
  const ws = join(root, 'workspace');
  mkdirSync(home);
  mkdirSync(ws);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    USER: process.env.USER ?? 'tester',
    SHELL: '/bin/bash',
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    NO_COLOR: '1',
    PWD: ws, // opencode takes its project directory from PWD
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    HTTP_PROXY: trapUrl,
    HTTPS_PROXY: trapUrl,
    http_proxy: trapUrl,
    https_proxy: trapUrl,
    NO_PROXY: '127.0.0.1,localhost,::1',
    no_proxy: '127.0.0.1,localhost,::1',
    ...(process.env.CI ? { CI: process.env.CI } : {}),
  };
  return { root, home, ws, env };
}

// ---------------------------------------------------------------------------------------------------------

/** Resolves once the proxy logged `count` lines matching `pattern` after `mark` (bounded). */
function proxyLines(proxy: RunningProxy, mark: number, pattern: RegExp, count: number): Promise<string[]> {
  const lines = () => proxy.stderr().slice(mark).split('\n').filter((l) => pattern.test(l));
  return new Promise((resolve) => {
    const check = () => {
      const found = lines();
      if (found.length < count) return false;
      cleanup();
      resolve(found);
      return true;
    };
    const timer = setTimeout(() => {
      cleanup();
      resolve(lines());
    }, 5000);
    const cleanup = () => {
      clearTimeout(timer);
      proxy.child.stderr!.off('data', check);
    };
    if (!check()) proxy.child.stderr!.on('data', check);
  });
}

/** The tool-call ids whose results a Cortex request carries, in any wire's shape. */
function toolResultIds(r: ReceivedRequest): string[] {
  type Part = { type?: string; tool_use_id?: string; tool_results?: { tool_use_id?: string } };
  type Msg = { role?: string; tool_call_id?: string; content?: unknown; content_list?: Part[] };
  const ids: string[] = [];
  for (const m of ((r.body as { messages?: Msg[] })?.messages ?? [])) {
    if (m.role === 'tool' && m.tool_call_id) ids.push(m.tool_call_id); // openai
    for (const c of Array.isArray(m.content) ? (m.content as Part[]) : []) if (c?.type === 'tool_result' && c.tool_use_id) ids.push(c.tool_use_id); // anthropic
    for (const c of m.content_list ?? []) if (c?.type === 'tool_results' && c.tool_results?.tool_use_id) ids.push(c.tool_results.tool_use_id); // complete
  }
  const input = (r.body as { input?: unknown })?.input;
  if (Array.isArray(input)) for (const i of input as Array<{ type?: string; call_id?: string }>) if (i?.type === 'function_call_output' && i.call_id) ids.push(i.call_id); // responses

  return ids;
}

interface AgentCase {
  name: string;
  bin: string;
  /** The proxy route the agent calls (as logged). */
  route: string;
  /** The session header the agent sends (it becomes x-snowflake-ai-gateway-conversation-id), when it sends one. */
  conversationHeader?: string;
  /** The tool call the emulator answers the main turn with. */
  tool: (ws: string) => { name: string; input: Record<string, unknown> };
  /** Arguments, extra environment, files (paths relative to HOME) and stdin for one run. */
  setup: (s: { home: string; ws: string; proxyUrl: string; model: string; extraConfig?: string }) => { args: string[]; env?: Record<string, string>; files?: Record<string, string>; stdin?: string };
}

const CASES: AgentCase[] = [
  {
    name: 'Claude Code',
    bin: 'claude',
    route: 'POST /v1/messages',
    conversationHeader: 'x-claude-code-session-id',
    tool: (ws) => ({ name: 'Write', input: { file_path: join(ws, 'hello.txt'), content: 'hi' } }),
    setup: ({ proxyUrl }) => ({
      args: ['-p', PROMPT, '--permission-mode', 'acceptEdits'],
      env: {
        ANTHROPIC_BASE_URL: proxyUrl,
        ANTHROPIC_AUTH_TOKEN: MASTER,
        ANTHROPIC_MODEL: MODEL,
        ANTHROPIC_DEFAULT_SONNET_MODEL: MODEL,
        ANTHROPIC_DEFAULT_OPUS_MODEL: MODEL,
        ANTHROPIC_DEFAULT_HAIKU_MODEL: SMALL_MODEL,
        ANTHROPIC_SMALL_FAST_MODEL: SMALL_MODEL,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_ERROR_REPORTING: '1',
      },
    }),
  },
  {
    name: 'Codex CLI',
    bin: 'codex',
    route: 'POST /v1/responses',
    conversationHeader: 'session-id',
    // This build offers exec_command {cmd} (no apply_patch); the command runs in Codex's workspace-write sandbox.
    tool: () => ({ name: 'exec_command', input: { cmd: 'printf hi > hello.txt' } }),
    setup: ({ home, ws, proxyUrl, model, extraConfig }) => ({
      args: ['exec', '--skip-git-repo-check', '-C', ws, PROMPT],
      env: { CODEX_HOME: join(home, '.codex'), CORTEX_PROXY_MASTER_KEY: MASTER },
      files: {
        '.codex/config.toml': `model = "${model}"
model_provider = "cortex"
approval_policy = "never"
sandbox_mode = "workspace-write"
${extraConfig ?? ''}
[model_providers.cortex]
name = "cortex-proxy"
base_url = "${proxyUrl}/v1"
env_key = "CORTEX_PROXY_MASTER_KEY"
wire_api = "responses"

[features]
plugins = false
remote_plugin = false
apps = false

[analytics]
enabled = false
`,
      },
    }),
  },
  {
    name: 'opencode',
    bin: 'opencode',
    route: 'POST /v1/chat/completions',
    tool: (ws) => ({ name: 'write', input: { filePath: join(ws, 'hello.txt'), content: 'hi' } }),
    setup: ({ home, proxyUrl }) => ({
      args: ['run', '--pure', '-m', `cortex/${MODEL}`],
      stdin: PROMPT,
      env: {
        OPENCODE_CONFIG: join(home, 'opencode.json'),
        CORTEX_PROXY_MASTER_KEY: MASTER,
        OPENCODE_DISABLE_AUTOUPDATE: '1',
        OPENCODE_DISABLE_MODELS_FETCH: '1',
        OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
        OPENCODE_DISABLE_DEFAULT_PLUGINS: '1',
        OPENCODE_DISABLE_SHARE: '1',
        OPENCODE_DISABLE_CLAUDE_CODE: '1',
        OPENCODE_DISABLE_EXTERNAL_SKILLS: '1',
        // opencode installs @opencode-ai/plugin into its config folder in the background on every start (with
        // npm's own config): offline, and a closed loopback registry, make that fail at once without a download.
        npm_config_offline: 'true',
        npm_config_registry: 'http://127.0.0.1:9/',
      },
      files: {
        'opencode.json': JSON.stringify({
          $schema: 'https://opencode.ai/config.json',
          autoupdate: false,
          share: 'disabled',
          provider: {
            cortex: {
              npm: '@ai-sdk/openai-compatible',
              name: 'cortex-proxy',
              options: { baseURL: `${proxyUrl}/v1`, apiKey: '{env:CORTEX_PROXY_MASTER_KEY}' },
              models: { [MODEL]: { name: 'Claude Sonnet 4.5 (Cortex)', tool_call: true } },
            },
          },
        }),
      },
    }),
  },
  {
    name: 'Continue CLI',
    bin: 'cn',
    route: 'POST /v1/chat/completions',
    tool: (ws) => ({ name: 'Write', input: { filepath: join(ws, 'hello.txt'), content: 'hi' } }),
    setup: ({ home, proxyUrl }) => ({
      args: ['-p', PROMPT, '--auto', '--config', join(home, 'continue.yaml')],
      env: { CONTINUE_GLOBAL_DIR: join(home, '.continue'), CONTINUE_CLI_ENABLE_TELEMETRY: '0', CONTINUE_METRICS_ENABLED: '0' },
      files: {
        'continue.yaml': `name: cortex-proxy
version: 1.0.0
schema: v1
models:
  - name: Claude Sonnet 4.5 (Cortex)
    provider: openai
    model: ${MODEL}
    apiBase: ${proxyUrl}/v1
    apiKey: ${MASTER}
    roles: [chat, edit, apply]
    capabilities: [tool_use]
`,
      },
    }),
  },
  {
    name: 'Qwen Code',
    bin: 'qwen',
    route: 'POST /v1/chat/completions',
    tool: (ws) => ({ name: 'write_file', input: { file_path: join(ws, 'hello.txt'), content: 'hi' } }),
    setup: ({ proxyUrl }) => ({
      args: ['-p', PROMPT, '--approval-mode', 'yolo', '--auth-type', 'openai'],
      env: { OPENAI_BASE_URL: `${proxyUrl}/v1`, OPENAI_API_KEY: MASTER, OPENAI_MODEL: MODEL },
      files: {
        '.qwen/settings.json': JSON.stringify({
          general: { enableAutoUpdate: false },
          privacy: { usageStatisticsEnabled: false },
          telemetry: { enabled: false },
        }),
      },
    }),
  },
];

const tail = (s: string, n = 3000) => (s.length > n ? '…' + s.slice(-n) : s);

/** Registers the test of one agent (by its bin name) on `wire`, with its own emulator, proxy and egress trap. */
export function agentTest(
  agent: string,
  wire: WireName,
  opts: {
    model?: string;
    /** Top-level TOML lines for the agent's config (Codex only), e.g. a reasoning effort. */
    extraConfig?: string;
    /** Reasoning the emulator answers the main turn with (summary text of an OpenAI reasoning item). */
    thinking?: string;
    /** More assertions on what reached the emulator, after the common ones. */
    check?: (requests: ReceivedRequest[], why: string) => void;
  } = {},
): void {
  // Another model than the harness's Claude (only agents whose setup takes it, e.g. Codex); through the gateway a
  // model that is not Claude goes over its /v1/chat/completions.
  const model = opts.model ?? MODEL;
  if ((opts.model || opts.extraConfig) && agent !== 'codex') throw new Error(`agentTest: only the codex case takes another model or config (${agent})`);
  const expectedPath = wire === 'gateway' && !model.startsWith('claude') ? GATEWAY_CHAT_PATH : WIRE_PATHS[wire];
  const c = CASES.find((x) => x.bin === agent);
  if (!c) throw new Error(`no agent case for ${agent}`);
  let emu: Emulator;
  let trap: EgressTrap;
  let proxy: RunningProxy;
  /** Whether the emulator answers the wire's Cortex path (a path it does not know is a 404). */
  let served = false;

  before(async () => {
    if (!installed) return;
    trap = await startEgressTrap();
    emu = await startEmulator({ pats: [PAT], quiet: true });
    const r = await fetch(emu.url + WIRE_PATHS[wire], {
      method: 'POST',
      headers: { authorization: `Bearer ${PAT}`, 'content-type': 'application/json' },
      body: '{}',
    });
    await r.arrayBuffer();
    served = r.status !== 404;
    const dir = tempDir();
    writeFiles(dir, {
      'cortex-proxy.yaml': proxyYaml(emu.apiBase, wire, model === MODEL ? undefined : [model]),
      '.env': `SNOWFLAKE_PAT=${PAT}\nLITELLM_MASTER_KEY=${MASTER}\n`,
    });
    proxy = await startProxy(['--config', 'cortex-proxy.yaml'], { cwd: dir });
  });
  after(async () => {
    await proxy?.stop();
    await emu?.close();
    await trap?.close();
  });
  beforeEach(() => {
    if (!installed) return;
    emu.reset();
    trap.outside.length = 0;
  });

  const bin = join(BIN_DIR, c.bin);
  const skip = !installed ? INSTALL_HINT : !existsSync(bin) ? `${c.bin} missing in test/agents: run \`npm ci --prefix test/agents\`` : false;

  test(`${c.name} writes a file through the proxy (${wire} wire${model === MODEL ? '' : `, ${model}`}): tool call, tool result, final answer`, { skip, timeout: TEST_TIMEOUT_MS }, async (t) => {
    if (!served) return t.skip(`the emulator does not serve ${WIRE_PATHS[wire]}`);
    const { root, home, ws, env } = sandbox(c.bin, trap.url);
    const s = c.setup({ home, ws, proxyUrl: proxy.url, model, extraConfig: opts.extraConfig });
    for (const [rel, text] of Object.entries(s.files ?? {})) {
      const p = join(home, rel);
      mkdirSync(join(p, '..'), { recursive: true });
      writeFileSync(p, text, { mode: 0o600 });
    }
    const call = c.tool(ws);
    emu.script({ when: { tool: call.name, lastUserIncludes: 'hello.txt' }, toolCalls: [call], ...(opts.thinking ? { thinking: opts.thinking } : {}) });
    const mark = proxy.stderr().length;

    const r = await runAgent(bin, s.args, { cwd: ws, env: { ...env, ...s.env }, stdin: s.stdin, timeoutMs: AGENT_TIMEOUT_MS });
    const why = `\n--- sandbox (kept on failure): ${root}\n--- stdout\n${tail(r.stdout)}\n--- stderr\n${tail(r.stderr)}\n--- proxy log\n${tail(proxy.stderr().slice(mark))}`;

    assert.equal(r.timedOut, false, `${c.name} did not finish within ${AGENT_TIMEOUT_MS / 1000} s${why}`);
    assert.equal(r.code, 0, `${c.name} exit code${why}`);
    // The emulator's call was consumed by the main turn, and the agent ran it.
    const called = emu.requests.find((q) => q.reply?.toolCalls.some((t) => t.name === call.name));
    assert.ok(called, `the scripted ${call.name} call was never sent to ${c.name}${why}`);
    const id = called.reply!.toolCalls[0].id;
    assert.equal(readFileSync(join(ws, 'hello.txt'), 'utf8'), 'hi', `hello.txt written by ${c.name}'s ${call.name}`);
    // The tool result came back through the proxy, tied to the call, and the final answer was printed.
    assert.ok(emu.requests.flatMap(toolResultIds).includes(id), `no tool result for ${id} reached Cortex${why}`);
    assert.match(r.stdout, new RegExp(`Tool results received: ${call.name} returned`), `final answer printed${why}`);
    // The strict emulator refused nothing the proxy sent, and the proxy logged the agent's requests.
    const refused = emu.requests.filter((q) => q.outcome !== 'ok').map((q) => `${q.status} ${q.path} ${q.error?.message} ${q.error?.detail ?? ''}`);
    assert.deepEqual(refused, [], `requests the emulator refused${why}`);
    const chat = new Set([...Object.values(WIRE_PATHS), GATEWAY_CHAT_PATH]);
    assert.deepEqual([...new Set(emu.requests.filter((q) => chat.has(q.path)).map((q) => q.path))], [expectedPath], 'every model call went through the pinned wire');
    const logged = await proxyLines(proxy, mark, new RegExp(`${c.route.replace(/[/?]/g, '\\$&')}\\S* status=200 .*model=${model}`), 2);
    assert.ok(logged.length >= 2, `proxy log lines for ${c.route}${why}`);
    if (wire === 'gateway') {
      // Every gateway call carries trace context (cortex/trace.ts): a W3C traceparent, the application's name.
      const gw = emu.requests.filter((q) => q.path === expectedPath);
      for (const q of gw) {
        assert.match(q.headers.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/, `traceparent on ${q.path}${why}`);
        assert.match(q.headers['x-snowflake-application'] ?? '', /^cortex-proxy\//);
        assert.equal(q.headers['x-api-key'], undefined, 'never x-api-key to the gateway');
      }
      if (c.conversationHeader) {
        const ids = new Set(gw.map((q) => q.headers['x-snowflake-ai-gateway-conversation-id']));
        assert.equal(ids.size, 1, `one conversation id over the whole session: ${[...ids].join(', ')}${why}`);
        assert.match([...ids][0] ?? '', /^[A-Za-z0-9._:-]{8,}$/, `${c.name}'s ${c.conversationHeader} became the conversation id${why}`);
      }
    }
    opts.check?.(emu.requests, why);
    // Telemetry, update checks and the like stayed off: nothing tried to leave the machine.
    assert.deepEqual(trap.outside, [], `${c.name} tried to reach hosts outside this machine`);
    rmSync(root, { recursive: true, force: true });
  });
}
