// `cortex-proxy models`: lands in the next commit.
import { die } from './ui.js';
export async function models(_opts: unknown): Promise<void> {
  die('models is not built yet in this revision');
}
