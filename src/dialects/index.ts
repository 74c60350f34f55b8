// The client dialects the server answers in, each with its paths and id prefix: a new dialect is one folder plus one
// entry here (server/app.ts registers a chat route for every path listed).
import { anthropicMessages } from './anthropic-messages/index.js';
import { chatCompletions } from './chat-completions.js';
import type { Dialect } from './dialect.js';
import { openaiResponses } from './openai-responses/index.js';

export const DIALECTS: readonly Dialect[] = [chatCompletions, anthropicMessages, openaiResponses];
