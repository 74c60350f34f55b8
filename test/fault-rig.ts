// The fault-matrix rig shared by test/faults.test.ts and test/faults-stream.test.ts: the emulator and the real
// CLI (request_timeout 1 s, num_retries 1) with a model on each Cortex wire of the registry (src/cortex/wires.ts),
// reset before each test, and after each
// test the check that every exchange let go of its upstream request and connection (the emulator has nothing
// pending; the proxy's in-flight and busy-connection gauges are back to zero).
import { afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { WIRES } from '../src/cortex/wires.js';
import { deploymentInfo } from '../src/cortex/models.js';
import type { Wire } from '../src/cortex/wire.js';
import { wireModels, type ProxyRig } from './proxy-rig.js';
import { call, useReliabilityRig, waitSettled, type DialectName } from './reliability-helpers.js';

export const PAT = 'faults-pat-' + 'p'.repeat(40);
export const MASTER = 'sk-faults-master-' + 'k'.repeat(32);
export const TEXT = 'The first words arrive, and then the upstream misbehaves in one way or another.';

/** One model per registered wire, named m-<wire> (Claude where the wire serves it): a new wire is in the matrix at once. */
export const WIRE_MODELS: ReadonlyArray<{ wire: Wire; model: string; cortexModel: string }> = Object.values(WIRES).map((wire) => ({
  wire,
  model: `m-${wire.name}`,
  cortexModel: ['claude-sonnet-4-5', 'openai-gpt-4.1'].find((m) => !wire.serves || wire.serves.test(deploymentInfo({ cortexModel: m } as never)))!,
}));

/** Registers the hooks; the returned object is filled in before the first test. */
export function useFaultRig(): ProxyRig {
  const rig = useReliabilityRig(PAT, MASTER, (apiBase) =>
    'model_list:\n' +
    wireModels({ m: ['claude-sonnet-4-5', 'complete'], ...Object.fromEntries(WIRE_MODELS.map((w) => [w.model, [w.cortexModel, w.wire.name]])) }, apiBase) +
    'litellm_settings:\n  num_retries: 1\n  request_timeout: 1\n' +
    'general_settings:\n  master_key: os.environ/CORTEX_PROXY_MASTER_KEY\n  disable_spend_logs: true\n'
  );
  // Every exchange lets go of its upstream request and connection.
  afterEach(() => waitSettled(rig.emu, rig.proxy.url, MASTER, 3000));
  return rig;
}

/** An HTTP error before any output, in the dialect's own envelope. */
export function assertHttpError(a: Awaited<ReturnType<typeof call>>, status: number, message: RegExp, d: DialectName): void {
  assert.equal(a.status, status, `${d}: status (body ${a.raw.slice(0, 300)})`);
  assert.ok(a.httpError, `${d}: the error is in the ${d} envelope: ${a.raw.slice(0, 300)}`);
  assert.match(a.httpError!, message, d);
}

/** Output, then the dialect's terminal error event (never a clean end). */
export function assertStreamError(a: Awaited<ReturnType<typeof call>>, message: RegExp, d: DialectName): void {
  assert.equal(a.status, 200, d);
  assert.ok(a.text.length > 0 && TEXT.startsWith(a.text), `${d}: the output before the failure reached the client (${JSON.stringify(a.text)})`);
  assert.ok(a.streamError, `${d}: a terminal error event: ${a.raw.slice(-400)}`);
  assert.match(a.streamError!, message, d);
  assert.equal(a.clean, false, `${d}: no clean end after the error`);
}
