// The real 'codex' agent CLI on an OpenAI reasoning model (openai-gpt-5, reasoning effort low, summaries on) over the
// Cortex Responses wire: Codex asks for reasoning.encrypted_content, gets the emulator's sealed reasoning item back
// through the proxy, and replays it on the next turn (without its id, as Codex does); the strict emulator verifies the
// seal, so an altered or invented item would be a refused request. See agent-harness.ts.
import assert from 'node:assert/strict';
import { agentTest } from './agent-harness.js';

const PATH = '/api/v2/cortex/v1/responses';

agentTest('codex', 'responses', {
  model: 'openai-gpt-5',
  extraConfig: 'model_reasoning_effort = "low"\nmodel_reasoning_summary = "auto"\nmodel_supports_reasoning_summaries = true\n',
  thinking: 'I will write hello.txt with the shell.',
  check(requests, why) {
    const calls = requests.filter((q) => q.path === PATH);
    const bodies = calls.map((q) => q.body as Record<string, any>);
    assert.ok(bodies.every((b) => Array.isArray(b.include) && b.include.includes('reasoning.encrypted_content')), `the wire asks for encrypted reasoning${why}`);
    const replayed = bodies.flatMap((b) => (b.input as any[]).filter((i) => i.type === 'reasoning'));
    assert.ok(replayed.length > 0, `Codex's next turn carried the reasoning item back to Cortex${why}`);
    for (const r of replayed) assert.match(r.encrypted_content, /^gAAAAB/, `the emulator's own sealed content came back${why}`);
  },
});
