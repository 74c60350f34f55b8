// The real 'codex' agent CLI through the proxy with the Cortex AI Gateway as upstream (api_base …/aigateways/SNOWFLAKE:
// Claude over the gateway's /v1/messages, a traceparent and the agent's session as conversation id on every call); see agent-harness.ts.
import { agentTest } from './agent-harness.js';

agentTest('codex', 'gateway');
