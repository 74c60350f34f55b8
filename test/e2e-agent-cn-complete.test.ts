// The real 'cn' agent CLI through the proxy on the 'complete' upstream wire; see agent-harness.ts.
import { agentTest } from './agent-harness.js';

agentTest('cn', 'complete');
