// LiteLLM's ways of naming a model, read from the config (cortex/router.ts resolves them per request):
//   - wildcard model_names (https://docs.litellm.ai/docs/wildcard_routing), checked here:
//       - model_name: "*"            # every name not configured otherwise
//         litellm_params: { model: snowflake/* }
//       - model_name: "cortex/*"     # cortex/claude-4-sonnet → claude-4-sonnet
//         litellm_params: { model: snowflake/* }
//   - router_settings.model_group_alias (https://docs.litellm.ai/docs/proxy/configs, router_settings): a name →
//     a model_name, written `alias: target` or `alias: { model: target, hidden: true }` (hidden: not in /v1/models):
//       model_group_alias:
//         claude-sonnet-4-5-20250929: claude-sonnet-4-5
//         claude-haiku-4-5-20251001: { model: claude-sonnet-4-5, hidden: true }
import { isMap, isScalar } from 'yaml';
import type { Deployment } from './types.js';
import type { Entry, RoutingReader } from './reader.js';
import { CORTEX_ID, compilePattern, fillTemplate, isPattern, matchPattern } from '../cortex/wildcards.js';

export interface PendingAlias {
  name: string;
  nameNode: unknown;
  model: string;
  modelNode: unknown;
  hidden: boolean;
}

const stars = (s: string) => s.split('*').length - 1;
const ALIAS_HINT = 'write it the LiteLLM way:\n    model_group_alias:\n      claude-sonnet-4-5-20250929: claude-sonnet-4-5\n      gpt-4: { model: openai-gpt-4.1, hidden: true }';

/** The model_name / litellm_params.model pair of one deployment, when either holds a wildcard. */
export function checkWildcard(ctx: RoutingReader, modelName: string, cortexModel: string, nameNode: unknown, modelNode: unknown): void {
  if (!isPattern(cortexModel)) {
    if (!CORTEX_ID.test(cortexModel))
      ctx.fail(modelNode, `'${cortexModel}' is not a valid Cortex model id`, 'use an id such as claude-4-sonnet, openai-gpt-4.1 or llama3.1-70b');
    return;
  }
  if (!isPattern(modelName))
    ctx.fail(modelNode, `model '${modelName}': the wildcard model snowflake/${cortexModel} needs a wildcard model_name`, 'write model_name: "*" (every name clients ask for) or a prefix pattern such as model_name: "cortex/*"');
  if (stars(cortexModel) > stars(modelName))
    ctx.fail(modelNode, `snowflake/${cortexModel} has more '*' than model_name '${modelName}'`, 'each * of the model is filled with what the matching * of model_name matched: use as many or fewer');
  if (!/^[A-Za-z0-9._:*-]+$/.test(cortexModel))
    ctx.fail(modelNode, `'${cortexModel}' is not a valid Cortex model id pattern`, 'write model: snowflake/* or e.g. snowflake/claude-*');
  if (modelName.length > 200) ctx.fail(nameNode, 'model_name is longer than 200 characters', 'shorten it');
}

/** router_settings.model_group_alias. */
export function parseModelGroupAlias(ctx: RoutingReader, e: Entry, name: string, out: PendingAlias[]): void {
  const node = ctx.deref(e.value);
  if (node === null || node === undefined || (isScalar(node) && node.value === null)) return;
  if (!isMap(node)) ctx.fail(node, `${name} must be a mapping of alias: model_name`, ALIAS_HINT);
  for (const a of ctx.entries(node, name)) {
    const where = `${name}.${a.key}`;
    const v = ctx.deref(a.value);
    let model: string | undefined;
    let modelNode: unknown = v;
    let hidden = false;
    if (isMap(v)) {
      for (const f of ctx.entries(v, where)) {
        if (f.key === 'model') {
          model = ctx.string(f, `${where}.model`, 'claude-sonnet-4-5');
          modelNode = f.value;
        } else if (f.key === 'hidden') hidden = ctx.bool(f, `${where}.hidden`) ?? false;
        else ctx.unknown(f, where, ['model', 'hidden'], new Set());
      }
    } else model = ctx.string({ key: a.key, keyNode: a.keyNode, value: v }, where, 'claude-sonnet-4-5');
    if (!model) ctx.fail(v ?? a.keyNode, `${where} names no model`, ALIAS_HINT);
    out.push({ name: a.key.trim(), nameNode: a.keyNode, model, modelNode, hidden });
  }
}

/** Whether a request for `name` finds a deployment without aliases (exact, litellm_params.model, wildcard). */
export function servedBy(deployments: readonly Deployment[], name: string): boolean {
  for (const d of deployments) {
    if (!isPattern(d.modelName)) {
      if (d.modelName === name || `snowflake/${d.cortexModel}` === name) return true;
      continue;
    }
    const caps = matchPattern(compilePattern(d.modelName), name);
    if (caps && fillTemplate(d.cortexModel, caps) !== undefined) return true;
  }
  return false;
}
