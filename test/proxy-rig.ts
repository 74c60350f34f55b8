// The rig of the end-to-end tests that drive the real CLI against the strict emulator: the emulator, the CLI
// (bin/cortex-proxy.js) in a temporary folder with a cortex-proxy.yaml written for the emulator's address, and the
// real openai and @anthropic-ai/sdk clients pointed at the proxy (no SDK retries). The emulator is reset before each
// test; the proxy and the emulator stop after the file.
import { after, before, beforeEach } from 'node:test';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import type { ReceivedRequest } from '../src/emulator/types.js';
import { cleanEnv, modelEntry, startProxy, tempDir, writeFiles, type RunningProxy } from './helpers.js';

export interface ProxyRig {
  emu: Emulator;
  proxy: RunningProxy;
  /** The openai SDK on `${proxy.url}/v1`, authenticated with the master key. */
  openai: OpenAI;
  /** The @anthropic-ai/sdk client on `proxy.url`, authenticated with the master key. */
  anthropic: Anthropic;
  /** The folder the proxy runs in (its config, usage log, key store). */
  dir: string;
  /** What Cortex received since the last reset, the proxy's model-list probe (/api/v2/cortex/models) aside. */
  upstream(): ReceivedRequest[];
}

export interface ProxyRigOptions {
  /** The PAT the emulator accepts, given to the proxy as SNOWFLAKE_PAT. */
  pat: string;
  /** Given to the proxy as `masterEnv` (the config names it) and used by both SDK clients. */
  master?: string;
  /** The environment variable that carries `master`; LITELLM_MASTER_KEY unless said otherwise. */
  masterEnv?: string;
  /** More environment variables for the proxy (over cleanEnv). */
  env?: Record<string, string>;
  /** The cortex-proxy.yaml text for the emulator at `apiBase`. */
  config(apiBase: string): string;
  /** Extra `serve` arguments (e.g. --quiet). */
  args?: string[];
}

/** Registers the file's hooks; the returned rig is filled in before the first test. */
export function useProxyRig(o: ProxyRigOptions): ProxyRig {
  const rig = { upstream: () => rig.emu.requests.filter((r) => r.path !== '/api/v2/cortex/models') } as ProxyRig;
  before(async () => {
    rig.emu = await startEmulator({ pats: [o.pat], quiet: true });
    rig.dir = tempDir();
    writeFiles(rig.dir, { 'cortex-proxy.yaml': o.config(rig.emu.apiBase) });
    const env = cleanEnv({ SNOWFLAKE_PAT: o.pat, ...(o.master === undefined ? {} : { [o.masterEnv ?? 'LITELLM_MASTER_KEY']: o.master }), ...o.env });
    rig.proxy = await startProxy(o.args ?? [], { cwd: rig.dir, env });
    const apiKey = o.master ?? 'no-master-key';
    rig.openai = new OpenAI({ baseURL: `${rig.proxy.url}/v1`, apiKey, maxRetries: 0 });
    rig.anthropic = new Anthropic({ baseURL: rig.proxy.url, apiKey, maxRetries: 0 });
  });
  after(async () => {
    await rig.proxy?.stop();
    await rig.emu?.close();
  });
  beforeEach(() => rig.emu.reset());
  return rig;
}

/** model_list entries on `apiBase`, one per model_name → [Cortex model, cortex_api]. */
export function wireModels(models: Record<string, [string, string]>, apiBase: string): string {
  return Object.entries(models)
    .map(([name, [id, api]]) => modelEntry(name, `snowflake/${id}`, apiBase, `      cortex_api: ${api}\n`))
    .join('');
}
