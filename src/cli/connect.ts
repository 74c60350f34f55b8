// `cortex-proxy connect <client>`: lands in the next commit.
import { die } from './ui.js';
export async function connect(_client: string, _opts: unknown): Promise<void> {
  die('connect is not built yet in this revision');
}
