// LiteLLM's `credential_list` (https://docs.litellm.ai/docs/proxy/configs, "Credentials"): named sets of
// litellm_params that deployments take with `litellm_credential_name`. The deployment's own params win.
//   credential_list:
//     - credential_name: snowflake-main
//       credential_values:
//         api_base: https://myorg-myaccount.snowflakecomputing.com/api/v2
//         api_key: os.environ/SNOWFLAKE_PAT
//       credential_info: { description: production account }
//   model_list:
//     - model_name: claude-sonnet-4-5
//       litellm_params: { model: snowflake/claude-sonnet-4-5, litellm_credential_name: snowflake-main }
import { isMap, isScalar, isSeq } from 'yaml';
import type { Entry, RoutingReader } from './routing.js';

export type Credentials = Map<string, Map<string, Entry>>;

const HINT = 'write it the LiteLLM way:\n    credential_list:\n      - credential_name: snowflake-main\n        credential_values:\n          api_base: https://<account>.snowflakecomputing.com/api/v2\n          api_key: os.environ/SNOWFLAKE_PAT';

/** credential_list → name → its credential_values entries. `checkKey` warns about keys a deployment would not use. */
export function parseCredentialList(ctx: RoutingReader, e: Entry, checkKey: (v: Entry, section: string) => void): Credentials {
  const out: Credentials = new Map();
  const node = ctx.deref(e.value);
  if (node === null || node === undefined || (isScalar(node) && node.value === null)) return out;
  if (!isSeq(node)) ctx.fail(node, 'credential_list must be a list of credentials', HINT);
  node.items.forEach((item, i) => {
    const where = `credential_list[${i}]`;
    const m = ctx.deref(item);
    if (!isMap(m)) ctx.fail(m ?? node, `${where} must be a mapping with credential_name and credential_values`, HINT);
    const fields = new Map(ctx.entries(m, where).map((f) => [f.key, f]));
    for (const f of fields.values()) if (!['credential_name', 'credential_values', 'credential_info'].includes(f.key)) ctx.unknown(f, where, ['credential_name', 'credential_values', 'credential_info'], new Set());
    const ne = fields.get('credential_name');
    const name = ne ? ctx.string(ne, `${where}.credential_name`, 'snowflake-main') : undefined;
    if (!name) ctx.fail(ne?.value ?? m, `${where} has no credential_name`, HINT);
    if (out.has(name)) ctx.fail(ne!.value, `${where}: a credential named '${name}' is already defined`, 'give each credential its own credential_name');
    const ve = fields.get('credential_values');
    const values = ve ? ctx.deref(ve.value) : null;
    if (!isMap(values)) ctx.fail(values ?? ne!.keyNode, `${where}.credential_values must be a mapping of litellm_params (api_base, api_key, …)`, HINT);
    const entries = new Map(ctx.entries(values, `${where}.credential_values`).map((v) => [v.key, v]));
    for (const v of entries.values()) {
      if (v.key === 'model' || v.key === 'litellm_credential_name')
        ctx.fail(v.keyNode, `${where}.credential_values.${v.key} cannot be part of a credential`, 'a credential holds how to reach the account (api_base, api_key, …), not the model');
      checkKey(v, `${where}.credential_values`);
    }
    out.set(name, entries);
  });
  return out;
}

/** Adds the named credential's values to a deployment's litellm_params (its own values win). */
export function applyCredential(ctx: RoutingReader, params: Map<string, Entry>, credentials: Credentials, pw: string): void {
  const ce = params.get('litellm_credential_name');
  if (!ce) return;
  const name = ctx.string(ce, `${pw}.litellm_credential_name`, 'snowflake-main');
  if (!name) return;
  const values = credentials.get(name);
  if (!values) {
    const known = [...credentials.keys()];
    ctx.fail(ce.value, `${pw}.litellm_credential_name: no credential named '${name}' in credential_list`, known.length ? `credentials defined: ${known.join(', ')}` : HINT);
  }
  for (const [k, v] of values) if (!params.has(k)) params.set(k, v);
}
