// The agents and editors `cortex-proxy connect` knows, by the name a user types: one list, read by the command's
// help (cli/setup-commands.ts) and by its settings table (cli/connect.ts), which must have an entry for each.
export const CLIENTS = ['cursor', 'claude-code', 'codex', 'continue', 'aider', 'open-webui', 'zed', 'cline', 'opencode'] as const;

export type ClientName = (typeof CLIENTS)[number];

export function isClientName(name: string): name is ClientName {
  return (CLIENTS as readonly string[]).includes(name);
}
