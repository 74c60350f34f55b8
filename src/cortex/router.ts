// Model name → deployment. Several deployments of one name are used in turn (round robin).
import type { Deployment } from '../config/types.js';
import { ProxyError } from '../core/errors.js';

export class Router {
  private readonly byName = new Map<string, Deployment[]>();
  private readonly turn = new Map<string, number>();

  constructor(deployments: Deployment[]) {
    for (const d of deployments) {
      const list = this.byName.get(d.modelName);
      if (list) list.push(d);
      else this.byName.set(d.modelName, [d]);
    }
  }

  get modelNames(): string[] {
    return [...this.byName.keys()];
  }

  resolve(model: string): Deployment {
    const list = this.byName.get(model);
    if (!list) {
      throw new ProxyError(
        'not_found',
        `model '${model}' is not configured in cortex-proxy. Configured models: ${this.modelNames.join(', ')}. ` +
          'Add it to model_list in the config (model_name: <name>, litellm_params.model: snowflake/<cortex model>).',
        { code: 'model_not_found', param: 'model' },
      );
    }
    if (list.length === 1) return list[0];
    const i = this.turn.get(model) ?? 0;
    this.turn.set(model, (i + 1) % list.length);
    return list[i];
  }
}
