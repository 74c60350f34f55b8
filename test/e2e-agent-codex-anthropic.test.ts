// The real 'codex' agent CLI through the proxy on the 'anthropic' upstream wire; see agent-harness.ts.
import { agentTest } from './agent-harness.js';

agentTest('codex', 'anthropic');
