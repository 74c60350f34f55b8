// The real 'codex' agent CLI on an OpenAI model through the proxy with the Cortex AI Gateway as upstream: Codex's
// Responses requests reach the gateway's /v1/chat/completions (the gateway serves every model but Claude there), with a
// traceparent and Codex's session as conversation id on every call; see agent-harness.ts.
import { agentTest } from './agent-harness.js';

agentTest('codex', 'gateway', { model: 'openai-gpt-4.1' });
