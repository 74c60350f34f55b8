// The in-process rig of the team-gateway tests: the real HTTP app (server/app.ts) with the team gateway on a key store
// in a fresh folder, listening on 127.0.0.1 in front of its own strict emulator. Every app a file starts is closed
// (app, team gateway, emulator) after that file.
import { after } from 'node:test';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { startEmulator, type Emulator, type EmulatorOptions } from '../src/emulator/index.js';
import { createApp, type App } from '../src/server/app.js';
import { createLogger } from '../src/server/log.js';
import { DEFAULT_SETTINGS, type Config, type Routing, type Settings } from '../src/config/types.js';
import { startTeam, type TeamGateway } from '../src/team/gateway.js';
import { tempDir } from './helpers.js';

export interface TeamApp {
  url: string;
  app: App;
  team: TeamGateway;
  emu: Emulator;
}

export interface TeamAppOptions {
  master: string;
  /** model_name → Cortex model: each a PAT deployment with cortex_api auto on the app's emulator. */
  models: Record<string, string>;
  routing?: Routing;
  /** Over DEFAULT_SETTINGS with the master key and a fresh team store folder. */
  settings?: Partial<Settings>;
  emulator?: EmulatorOptions;
}

/** Registers the file's after() hook; returns the function that starts one app. */
export function useTeamApps(): (o: TeamAppOptions) => Promise<TeamApp> {
  const running: TeamApp[] = [];
  after(async () => {
    for (const r of running) {
      await r.app.close();
      await r.team.close();
      await r.emu.close();
    }
  });
  return async (o) => {
    const emu = await startEmulator({ quiet: true, ...o.emulator });
    const config: Config = {
      deployments: Object.entries(o.models).map(([modelName, cortexModel]) => ({ modelName, cortexModel, apiBase: emu.apiBase, auth: { type: 'pat', token: 'pat-x' }, wire: 'auto' })),
      ...(o.routing ? { routing: o.routing } : {}),
      settings: { ...DEFAULT_SETTINGS, masterKey: o.master, databasePath: path.join(tempDir(), 'team'), ...o.settings },
      source: 'test',
      demo: false,
      warnings: [],
    };
    const log = createLogger('silent');
    const app = createApp(config, log);
    const team = await startTeam(app.context, log);
    await new Promise<void>((r) => app.server.listen(0, '127.0.0.1', () => r()));
    const r = { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, app, team, emu };
    running.push(r);
    return r;
  };
}
