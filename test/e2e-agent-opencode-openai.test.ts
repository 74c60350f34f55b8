// The real 'opencode' agent CLI through the proxy on the 'openai' upstream wire; see agent-harness.ts.
import { agentTest } from './agent-harness.js';

agentTest('opencode', 'openai');
