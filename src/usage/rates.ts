// Estimated AI credits per request. These are estimates: Snowflake's bill (CORTEX_REST_API_USAGE_HISTORY and the
// Service Consumption Table) is the truth.
//
// Defaults: the Cortex REST API rates Snowflake publishes in USD per million tokens (Service Consumption Table,
// tables 6(b) "REST API with prompt caching" and 6(c) "REST API", global routing, as quoted in Snowflake's
// "Cortex REST API Billing & Cost Analysis" guide), divided by $2.00 per AI credit (global routing price).
// Models not listed here get no estimate until general_settings.credit_rates names them.
// Cached input: billed at the cache-read rate only when a request read ≥ 1,024 cached tokens (Snowflake's rule).

export interface CreditRate {
  /** AI credits per million input (prompt) tokens. */
  input: number;
  /** AI credits per million output (completion) tokens. */
  output: number;
  /** AI credits per million prompt tokens read from the cache (default: the input rate). */
  cachedInput?: number;
}

export type CreditRates = Record<string, CreditRate>;

const usd = (input: number, output: number, cachedInput?: number): CreditRate => ({
  input: input / 2,
  output: output / 2,
  ...(cachedInput !== undefined ? { cachedInput: cachedInput / 2 } : {}),
});

export const DEFAULT_CREDIT_RATES: Readonly<CreditRates> = Object.freeze({
  // 6(b): REST API with prompt caching (input, output, cache read; USD per 1M tokens)
  'claude-sonnet-4-5': usd(3.0, 15.0, 0.3),
  'claude-sonnet-4-6': usd(3.0, 15.0, 0.3),
  'claude-haiku-4-5': usd(1.0, 5.0, 0.1),
  'claude-opus-4-5': usd(5.0, 25.0, 0.5),
  'claude-opus-4-6': usd(5.0, 25.0, 0.5),
  'openai-gpt-5': usd(1.25, 10.0, 0.13),
  'openai-gpt-5.2': usd(1.75, 14.0, 0.18),
  'openai-gpt-5.4': usd(2.5, 15.0, 0.25),
  'openai-gpt-4.1': usd(2.0, 8.0, 0.5),
  // 6(c): REST API (input, output)
  'deepseek-r1': usd(1.35, 5.4),
  'mistral-large2': usd(2.0, 6.0),
  'llama3.3-70b': usd(0.72, 0.72),
  'llama4-maverick': usd(0.24, 0.97),
  'snowflake-llama-3.3-70b': usd(0.72, 0.72),
});

export const CACHE_DISCOUNT_MIN_TOKENS = 1024;

export interface Billable {
  model: string | null;
  cortex_model: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
}

/** The rate for a record: the Cortex model first, then the client's model name. */
export function rateFor(r: Pick<Billable, 'model' | 'cortex_model'>, rates: CreditRates): CreditRate | undefined {
  return (r.cortex_model ? rates[r.cortex_model] : undefined) ?? (r.model ? rates[r.model] : undefined);
}

/** Estimated AI credits, or undefined when the model has no rate. 0 for a request that used no tokens. */
export function estimateCredits(r: Billable, rates: CreditRates): number | undefined {
  if (r.prompt_tokens === 0 && r.completion_tokens === 0) return 0;
  const rate = rateFor(r, rates);
  if (!rate) return undefined;
  const cached = rate.cachedInput !== undefined && r.cached_tokens >= CACHE_DISCOUNT_MIN_TOKENS ? Math.min(r.cached_tokens, r.prompt_tokens) : 0;
  return ((r.prompt_tokens - cached) * rate.input + cached * (rate.cachedInput ?? rate.input) + r.completion_tokens * rate.output) / 1e6;
}

/** Defaults overlaid with the config's credit_rates. */
export function mergeRates(overrides: CreditRates | undefined): CreditRates {
  return { ...DEFAULT_CREDIT_RATES, ...(overrides ?? {}) };
}
