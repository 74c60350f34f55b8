// The dashboard in a real headless browser (Debian's chromium driven by playwright-core; no browser download):
// sign in with the master key, see the charts and tables filled after traffic, and save a screenshot to
// test-artifacts/dashboard.png (UPDATE_DOCS_SCREENSHOT=1 also writes docs/dashboard.png for docs/usage.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { cleanEnv, ROOT, startProxy, tempDir } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const MASTER = 'sk-dashboard-' + 'd'.repeat(32);
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

const skip = fs.existsSync(CHROMIUM) ? false : `chromium is not installed at ${CHROMIUM} (apt-get install -y chromium; .ci/run does it)`;

test('dashboard: log in with the master key, charts and tables show the traffic, screenshot', { skip, timeout: 90_000 }, async () => {
  const { chromium } = await import('playwright-core');
  // Demo mode (the built-in emulator answers) with a master key: the demo banner and the login form both show.
  const env = cleanEnv({ CORTEX_PROXY_MASTER_KEY: MASTER, CORTEX_PROXY_USAGE_DIR: path.join(tempDir(), 'usage') });
  const proxy = await startProxy(['--quiet'], { cwd: tempDir(), env });
  const userDataDir = tempDir('cortex-proxy-chromium-');
  // A fresh, empty profile (--user-data-dir) for every run.
  const browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    args: FLAGS,
    timeout: 30_000,
    viewport: { width: 1360, height: 1700 },
  });
  try {
    // Traffic from two kinds of clients and one mistake.
    const openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: MASTER, maxRetries: 0 });
    let prompt = 0;
    let completion = 0;
    for (const model of ['claude-sonnet-4-5', 'claude-sonnet-4-5', 'openai-gpt-4.1', 'claude-4-sonnet']) {
      const r = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: `Explain ${model} in one paragraph.` }] });
      prompt += r.usage!.prompt_tokens;
      completion += r.usage!.completion_tokens;
    }
    const m = await fetch(`${proxy.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': MASTER, 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'user-agent': 'claude-cli/2.1.197 (external, cli)' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 300, stream: true, messages: [{ role: 'user', content: 'Write a haiku about snow.' }] }),
    });
    const sse = await m.text();
    // message_delta carries the final (cumulative) usage
    prompt += Number([...sse.matchAll(/"input_tokens":(\d+)/g)].at(-1)![1]);
    completion += Number([...sse.matchAll(/"output_tokens":(\d+)/g)].at(-1)![1]);
    await assert.rejects(openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }), { status: 404 });

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/status of 401/.test(msg.text())) errors.push(msg.text()); // CSP violations show here
    });
    await page.goto(`${proxy.url}/ui`);
    // Signed out: the login form; a wrong key is refused.
    await page.locator('#login-form').waitFor({ state: 'visible', timeout: 15_000 });
    await page.fill('#key', 'sk-wrong-key');
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('login-error')!.textContent!.includes('not accepted'), null, { timeout: 15_000 });
    await page.fill('#key', MASTER);
    await page.click('#login-form button[type=submit]');
    await page.locator('#main').waitFor({ state: 'visible', timeout: 15_000 });
    assert.equal(await page.isVisible('#login-form'), false, 'the login form is gone once signed in');
    assert.ok(!page.url().includes(MASTER), 'the key is never in the URL');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('cortex-proxy.master-key')), MASTER);

    // Totals equal what the clients were told.
    await page.waitForFunction((n) => document.getElementById('total-requests')!.textContent === String(n), 6, { timeout: 15_000 });
    assert.equal(await page.textContent('#total-tokens'), (prompt + completion).toLocaleString('en-US'));
    assert.equal(await page.textContent('#total-errors'), '1');
    assert.ok(await page.isVisible('#demo'), 'the demo-mode banner shows');

    // Charts drawn by uPlot with non-empty data.
    for (const id of ['chart-requests', 'chart-tokens', 'chart-latency']) {
      await page.locator(`#${id} canvas`).waitFor({ timeout: 15_000 });
      const total = Number(await page.getAttribute(`#${id}`, 'data-total'));
      assert.ok(total > 0, `${id} has data (${total})`);
    }
    assert.equal(Number(await page.getAttribute('#chart-requests', 'data-total')), 6);
    assert.equal(Number(await page.getAttribute('#chart-tokens', 'data-total')), prompt);

    // Tables: by model, by client, recent requests, errors with a hint, client settings.
    const byModel = await page.locator('#by-model tbody tr td:first-child').allTextContents();
    assert.deepEqual(new Set(byModel), new Set(['claude-sonnet-4-5', 'openai-gpt-4.1', 'claude-4-sonnet', 'other']));
    const byClient = await page.locator('#by-client tbody tr td:first-child').allTextContents();
    assert.deepEqual(new Set(byClient), new Set(['openai-js', 'claude-code']));
    assert.equal(await page.locator('#recent tbody tr').count(), 6);
    const err = await page.textContent('#errors');
    assert.match(err!, /404 not_found/);
    assert.match(err!, /Hint: The client asked for a model name that is not configured/);
    const settings = await page.textContent('#settings');
    assert.ok(settings!.includes(`${proxy.url}/v1`) && settings!.includes('claude-sonnet-4-5'));
    assert.match((await page.textContent('#percentiles')) ?? '', /time to first token/);
    assert.deepEqual(errors, [], 'no script errors, no Content-Security-Policy violations');

    fs.mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
    const shot = path.join(ROOT, 'test-artifacts', 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(fs.statSync(shot).size > 20_000);
    if (process.env.UPDATE_DOCS_SCREENSHOT === '1') fs.copyFileSync(shot, path.join(ROOT, 'docs', 'dashboard.png'));

    // Signing out forgets the key.
    await page.click('#logout');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('cortex-proxy.master-key')), null);
    assert.ok(await page.isVisible('#login-form'));
  } finally {
    await browser.close();
    await proxy.stop();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
});
