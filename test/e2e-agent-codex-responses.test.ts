// The real 'codex' agent CLI on an OpenAI model through the proxy on the Cortex Responses wire (cortex_api: responses:
// Codex's Responses requests reach /api/v2/cortex/v1/responses, tools and all); see agent-harness.ts.
import { agentTest } from './agent-harness.js';

agentTest('codex', 'responses', { model: 'openai-gpt-4.1' });
