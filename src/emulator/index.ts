// The built-in Snowflake Cortex emulator: a strict test double of POST /api/v2/cortex/inference:complete and
// GET /api/v2/cortex/models (reference/cortex-api.md §1–§3, §6, §7, §13), used by the tests and as demo mode.
//
//   const emu = await startEmulator({ pats: ['secret'] });
//   emu.script({ text: 'hi' }, { toolCalls: [{ name: 'get_weather', input: { location: 'SF' } }] });
//   emu.inject({ status: 429, retryAfter: 1 });           // consumed before the next reply
//   ... point a deployment's api_base at emu.apiBase ...
//   await emu.close();
//
// Admin routes for a CLI-started emulator: POST /_emulator/script|inject|knobs|reset (JSON body: one item or
// an array), GET /_emulator/requests.
export { startEmulator, checkKnobs, checkFault, checkReply } from './server.js';
export { DEFAULT_KNOBS } from './types.js';
export type {
  Emulator,
  EmulatorOptions,
  Fault,
  Knobs,
  Outcome,
  ReceivedRequest,
  ReplyMatch,
  ScriptedReply,
  ScriptedToolCall,
  Variant,
} from './types.js';
export { REGION_UNAVAILABLE_MESSAGE } from './errors.js';
export { sampleFromSchema } from './reply.js';
