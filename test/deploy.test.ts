// The deployment recipe cannot run here (no Docker, no cluster), so it is linted: the YAML files parse strictly,
// they agree with each other and with the Dockerfile, the files they mount exist, and the team config they carry
// loads with the real config loader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parseDocument } from 'yaml';
import { loadConfig } from '../src/config/load.js';
import { clientAddressOf, TrustedProxies } from '../src/server/client-address.js';
import type { IncomingMessage } from 'node:http';
import { ROOT, runCli, tempDir, cleanEnv } from './helpers.js';

const DEPLOY = path.join(ROOT, 'deploy');
const ENV = {
  SNOWFLAKE_API_BASE: 'https://myorg-myaccount.snowflakecomputing.com/api/v2',
  SNOWFLAKE_PAT: 'pat-' + 'x'.repeat(40),
  LITELLM_MASTER_KEY: 'sk-' + 'm'.repeat(40),
  DATABASE_URL: 'postgres://cortex_proxy:secret@postgres:5432/cortex_proxy',
  REDIS_URL: 'redis://redis:6379',
};

function strict(file: string): any {
  const doc = parseDocument(fs.readFileSync(file, 'utf8'), { uniqueKeys: true, prettyErrors: true });
  assert.deepEqual(doc.errors.map((e) => e.message), [], file);
  return doc.toJS();
}

function dockerfile(): { copies: string[][]; cmd: string[]; user: string | undefined; from: string[] } {
  const lines = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  const copies = lines.filter((l) => /^COPY\s/.test(l) && !l.includes('--from=')).map((l) => l.trim().split(/\s+/).slice(1, -1));
  const cmd = JSON.parse(lines.find((l) => l.startsWith('CMD '))!.slice(4)) as string[];
  const users = lines.filter((l) => l.startsWith('USER ')).map((l) => l.slice(5).trim());
  const from = lines.filter((l) => l.startsWith('FROM ')).map((l) => l.split(/\s+/)[1]);
  return { copies, cmd, user: users.at(-1), from };
}

test('Dockerfile: Node 20 base, every COPY source exists, runs as a non-root user, and its CMD flags are serve flags', async () => {
  const d = dockerfile();
  for (const f of d.from) assert.match(f, /^node:20[-.]/);
  for (const srcs of d.copies) for (const s of srcs) assert.ok(fs.existsSync(path.join(ROOT, s)), `COPY ${s}`);
  assert.equal(d.user, 'node');
  assert.equal(d.cmd[0], 'serve');
  const help = await runCli(['serve', '--help'], { cwd: tempDir(), env: cleanEnv() });
  for (const flag of d.cmd.filter((a) => a.startsWith('--'))) assert.ok(help.stdout.includes(flag), `serve ${flag}`);
  const ignore = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
  assert.ok(ignore.includes('.env') && ignore.includes('node_modules'), 'secrets and host modules stay out of the build context');
});

test('docker-compose.yml: PostgreSQL and Redis with health checks, several replicas that wait for them, nginx in front', () => {
  const c = strict(path.join(DEPLOY, 'docker-compose.yml'));
  assert.deepEqual(Object.keys(c.services).sort(), ['cortex-proxy', 'lb', 'postgres', 'redis']);
  const proxy = c.services['cortex-proxy'];
  assert.ok(proxy.deploy.replicas >= 2);
  assert.deepEqual(proxy.depends_on, { postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
  assert.ok(c.services.postgres.healthcheck && c.services.redis.healthcheck);
  assert.match(proxy.environment.DATABASE_URL, /^postgres:\/\/cortex_proxy:\$\{POSTGRES_PASSWORD\}@postgres:5432\//);
  assert.equal(proxy.environment.REDIS_URL, 'redis://redis:6379');
  for (const v of [...proxy.volumes, ...c.services.lb.volumes]) {
    const [src] = String(v).split(':');
    assert.ok(fs.existsSync(path.join(DEPLOY, src)), `mounted file ${src}`);
  }
  assert.equal(proxy.build.context, '..');
  assert.ok(fs.existsSync(path.join(DEPLOY, proxy.build.context, 'Dockerfile')));
  assert.match(fs.readFileSync(path.join(DEPLOY, 'nginx.conf'), 'utf8'), /server cortex-proxy:4000[\s\S]*proxy_buffering off/);
  const example = fs.readFileSync(path.join(DEPLOY, 'team.env.example'), 'utf8');
  for (const name of ['SNOWFLAKE_API_BASE', 'SNOWFLAKE_PAT', 'LITELLM_MASTER_KEY', 'POSTGRES_PASSWORD']) assert.match(example, new RegExp(`^${name}=`, 'm'));
});

test('kubernetes.yaml: Secret, ConfigMap, Deployment (readiness on /health/ready, rolling updates) and Service agree', () => {
  const docs = parseAllDocuments(fs.readFileSync(path.join(DEPLOY, 'kubernetes.yaml'), 'utf8'), { uniqueKeys: true });
  assert.ok(Array.isArray(docs));
  for (const d of docs) assert.deepEqual(d.errors.map((e) => e.message), []);
  const objs = docs.map((d) => d.toJS()) as any[];
  assert.deepEqual(objs.map((o) => o.kind), ['Secret', 'ConfigMap', 'Deployment', 'Service']);
  for (const o of objs) assert.equal(o.metadata.name, 'cortex-proxy');
  const [secret, cm, deploy, svc] = objs;
  const spec = deploy.spec;
  assert.ok(spec.replicas >= 2);
  assert.equal(spec.strategy.rollingUpdate.maxUnavailable, 0);
  const c = spec.template.spec.containers[0];
  assert.equal(c.readinessProbe.httpGet.path, '/health/ready');
  assert.equal(c.livenessProbe.httpGet.path, '/health');
  assert.deepEqual(c.args, dockerfile().cmd, 'the same command as the image');
  assert.equal(c.envFrom[0].secretRef.name, secret.metadata.name);
  assert.equal(spec.template.spec.volumes[0].configMap.name, cm.metadata.name);
  assert.equal(c.volumeMounts[0].mountPath + '/cortex-proxy.yaml', c.args[c.args.indexOf('--config') + 1]);
  assert.deepEqual(spec.selector.matchLabels, svc.spec.selector);
  assert.deepEqual(Object.keys(secret.stringData).sort(), Object.keys(ENV).sort(), 'the Secret holds what the config refers to');

  // The config in the ConfigMap loads with the real loader, as a replica would.
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'cortex-proxy.yaml'), cm.data['cortex-proxy.yaml']);
  const cfg = loadConfig({ cwd: dir, env: { ...ENV } });
  assert.equal(cfg.settings.databaseUrl, ENV.DATABASE_URL);
  assert.equal(cfg.settings.redisUrl, ENV.REDIS_URL);
  assert.deepEqual(cfg.warnings, []);
});

test('deploy/team-config.yaml loads with the real loader: models, master key, database and Redis from the environment', () => {
  const dir = tempDir();
  fs.copyFileSync(path.join(DEPLOY, 'team-config.yaml'), path.join(dir, 'cortex-proxy.yaml'));
  const cfg = loadConfig({ cwd: dir, env: { ...ENV } });
  assert.deepEqual(cfg.warnings, []);
  assert.equal(cfg.deployments.length, 2);
  assert.equal(cfg.deployments[0].apiBase, ENV.SNOWFLAKE_API_BASE);
  assert.equal(cfg.settings.masterKey, ENV.LITELLM_MASTER_KEY);
  assert.equal(cfg.settings.databaseUrl, ENV.DATABASE_URL);
  assert.equal(cfg.settings.redisUrl, ENV.REDIS_URL);
  assert.equal(cfg.settings.disableSpendLogs, true);
  // The Host names nginx (its upstream name) and Kubernetes clients (the Service's name) send are allowed.
  const upstream = /upstream (\S+) \{/.exec(fs.readFileSync(path.join(DEPLOY, 'nginx.conf'), 'utf8'))![1];
  const service = /kind: Service\nmetadata:\n  name: (\S+)/.exec(fs.readFileSync(path.join(DEPLOY, 'kubernetes.yaml'), 'utf8'))![1];
  for (const name of [upstream, service]) assert.ok(cfg.settings.allowedHosts?.includes(name), name);
  // nginx forwards the client's address and the config trusts nginx's (Docker network) address for it, so failed
  // keys are counted per user behind the bundled nginx, while a client's own X-Forwarded-For is not believed.
  assert.match(fs.readFileSync(path.join(DEPLOY, 'nginx.conf'), 'utf8'), /proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
  const addressOf = clientAddressOf(new TrustedProxies(cfg.settings.trustedProxies ?? []));
  const viaNginx = (xff: string, from = '172.18.0.5') =>
    addressOf({ socket: { remoteAddress: from }, headers: { 'x-forwarded-for': xff } } as unknown as IncomingMessage);
  assert.equal(viaNginx('203.0.113.7'), '203.0.113.7');
  assert.equal(viaNginx('198.51.100.1, 203.0.113.7'), '203.0.113.7'); // the spoofed left entry does not count
  assert.equal(viaNginx('198.51.100.1', '203.0.113.9'), '203.0.113.9'); // a direct client cannot claim an address
});
