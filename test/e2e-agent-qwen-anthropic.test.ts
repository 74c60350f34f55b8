// The real 'qwen' agent CLI through the proxy on the 'anthropic' upstream wire; see agent-harness.ts.
import { agentTest } from './agent-harness.js';

agentTest('qwen', 'anthropic');
