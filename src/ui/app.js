// cortex-proxy dashboard: polls /ui/api/stats every 2 s and draws it. Plain browser JavaScript, no build step.
// The master key (when the proxy has one) is kept in sessionStorage and sent as an Authorization header only.
/* global uPlot */
(() => {
  'use strict';
  const KEY = 'cortex-proxy.master-key';
  const POLL_MS = 2000;
  const $ = (id) => document.getElementById(id);
  const fmt = (n) => (n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US'));
  const ms = (n) => (n === null || n === undefined ? '–' : n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(2)} s`);
  const credits = (n) => (n >= 100 ? n.toFixed(1) : n >= 1 ? n.toFixed(3) : n.toFixed(5));

  /** Hints by error kind (the messages themselves also say what to do). */
  const HINTS = {
    auth: 'A key was refused: the client sent a wrong master key, or Snowflake rejected the PAT (create a new one, update SNOWFLAKE_PAT, restart).',
    permission: 'Snowflake refused: the role needs SNOWFLAKE.CORTEX_USER, or a network policy blocks this machine.',
    not_found: 'The client asked for a model name that is not configured: use one listed under "Connect a client".',
    invalid_request: 'The request could not be translated for Cortex as sent (the message names the field).',
    rate_limit: 'Cortex rate limit (after retries): wait, lower concurrency, or ask Snowflake for higher limits.',
    timeout: 'Snowflake sent nothing for request_timeout seconds: raise litellm_settings.request_timeout for long generations.',
    upstream: 'Snowflake failed or was unreachable: check api_base / SNOWFLAKE_ACCOUNT and the network; the request id helps Snowflake support.',
    unavailable: 'Cortex is temporarily unavailable: retry later.',
    too_large: 'The request body is larger than general_settings.max_request_body_mb.',
    internal: 'A bug in cortex-proxy: the proxy log has the details.',
  };

  /** Builds an element; children are nodes or text (never parsed as HTML). */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'style') e.style.cssText = v;
      else e.setAttribute(k, v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  let key = sessionStorage.getItem(KEY) || '';
  let timer;
  const charts = {};

  async function poll() {
    clearTimeout(timer);
    let res;
    try {
      res = await fetch('/ui/api/stats', { headers: key ? { authorization: `Bearer ${key}` } : {}, cache: 'no-store' });
    } catch {
      $('live').textContent = '· proxy unreachable, retrying…';
      timer = setTimeout(poll, POLL_MS);
      return;
    }
    if (res.status === 401) {
      showLogin(key ? 'That key was not accepted.' : '');
      return;
    }
    if (!res.ok) {
      $('live').textContent = `· stats answered ${res.status}, retrying…`;
      timer = setTimeout(poll, POLL_MS);
      return;
    }
    const s = await res.json();
    showMain();
    render(s);
    $('live').textContent = `· live, updated ${new Date().toLocaleTimeString()}`;
    timer = setTimeout(poll, POLL_MS);
  }

  function showLogin(message) {
    $('main').hidden = true;
    $('login').hidden = false;
    $('logout').hidden = true;
    $('login-error').textContent = message || '';
    $('key').focus();
  }

  function showMain() {
    $('login').hidden = true;
    $('main').hidden = false;
    $('logout').hidden = !key;
  }

  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    key = $('key').value.trim();
    $('key').value = '';
    if (key) sessionStorage.setItem(KEY, key);
    poll();
  });
  $('logout').addEventListener('click', () => {
    key = '';
    sessionStorage.removeItem(KEY);
    showLogin('');
  });

  function render(s) {
    $('version').textContent = `v${s.version}`;
    $('demo').hidden = !s.demo;
    const t = s.totals;
    $('total-requests').textContent = fmt(t.requests);
    $('total-since').textContent = `since ${new Date(s.started_at).toLocaleString()}`;
    $('total-tokens').textContent = fmt(t.total_tokens);
    $('total-split').textContent = `${fmt(t.prompt_tokens)} prompt (${fmt(t.cached_tokens)} cached) · ${fmt(t.completion_tokens)} completion`;
    $('total-errors').textContent = fmt(t.errors);
    $('in-flight').textContent = `${fmt(s.in_flight)} in flight`;
    $('total-credits').textContent = credits(t.credits);
    $('credits-note').textContent = t.unrated ? `estimate; ${t.unrated} requests on models without a rate are not included` : "estimate; Snowflake's bill is the truth";
    renderCharts(s.per_minute);
    renderPercentiles(s);
    renderGroups($('by-model'), 'model', s.by_model);
    renderGroups($('by-client'), 'client', s.by_client);
    renderRecent(s.recent);
    renderErrors(s.errors);
    renderSettings(s);
  }

  function chart(id, title, series, data) {
    const box = $(id);
    const width = Math.max(280, box.clientWidth || 360);
    if (!charts[id]) {
      charts[id] = new uPlot(
        {
          width,
          height: 220,
          scales: { x: { time: true } },
          axes: [{}, { size: 60 }],
          legend: { show: true },
          series: [{}, ...series],
        },
        data,
        box,
      );
    } else {
      charts[id].setData(data);
      if (Math.abs(charts[id].width - width) > 4) charts[id].setSize({ width, height: 220 });
    }
    // What the chart shows, for people (title) and for tests (data-total: the sum of its first series).
    box.dataset.total = String(data[1].reduce((a, v) => a + (v || 0), 0));
    box.title = title;
  }

  function renderCharts(m) {
    chart('chart-requests', 'requests per minute', [
      { label: 'requests', stroke: '#29b5e8', fill: 'rgba(41,181,232,0.15)', width: 2 },
      { label: 'errors', stroke: '#c0392b', width: 2 },
    ], [m.t, m.requests, m.errors]);
    chart('chart-tokens', 'tokens per minute', [
      { label: 'prompt', stroke: '#11567f', fill: 'rgba(17,86,127,0.12)', width: 2 },
      { label: 'completion', stroke: '#ff9f36', width: 2 },
    ], [m.t, m.prompt_tokens, m.completion_tokens]);
    chart('chart-latency', 'latency and TTFT per minute', [
      // Minutes without requests have no latency: gaps, with points so a lone minute still shows.
      { label: 'latency p50', stroke: '#7d44cf', width: 2, points: { show: true, size: 6 } },
      { label: 'latency p90', stroke: '#b9a3e3', width: 1, dash: [4, 4], points: { show: true, size: 4 } },
      { label: 'TTFT p50', stroke: '#1e8e3e', width: 2, points: { show: true, size: 6 } },
    ], [m.t, m.latency_p50, m.latency_p90, m.ttft_p50]);
  }

  function renderPercentiles(s) {
    const body = $('percentiles').tBodies[0];
    body.replaceChildren(
      el('tr', {}, el('th', {}, 'latency'), el('td', {}, ms(s.latency_ms.p50)), el('td', {}, ms(s.latency_ms.p90)), el('td', {}, ms(s.latency_ms.p99)), el('td', {}, fmt(s.latency_ms.n))),
      el('tr', {}, el('th', {}, 'time to first token'), el('td', {}, ms(s.ttft_ms.p50)), el('td', {}, ms(s.ttft_ms.p90)), el('td', {}, ms(s.ttft_ms.p99)), el('td', {}, fmt(s.ttft_ms.n))),
    );
  }

  function renderGroups(table, what, rows) {
    const max = Math.max(1, ...rows.map((r) => r.total_tokens));
    table.replaceChildren(
      el('thead', {}, el('tr', {}, el('th', {}, what), el('th', { class: 'num' }, 'requests'), el('th', { class: 'num' }, 'prompt'), el('th', { class: 'num' }, 'completion'), el('th', { class: 'num' }, 'credits'), el('th', {}, ''))),
      el('tbody', {}, rows.length === 0
        ? el('tr', {}, el('td', { colspan: '6', class: 'muted' }, 'no requests yet'))
        : rows.map((r) => el('tr', {},
          el('td', {}, r.key),
          el('td', { class: 'num' }, fmt(r.requests)),
          el('td', { class: 'num' }, fmt(r.prompt_tokens)),
          el('td', { class: 'num' }, fmt(r.completion_tokens)),
          el('td', { class: 'num' }, r.unrated && !r.credits ? '–' : credits(r.credits)),
          el('td', { class: 'bar' }, el('span', { style: `width:${Math.round((100 * r.total_tokens) / max)}%` })),
        ))),
    );
  }

  function renderRecent(rows) {
    const table = $('recent');
    table.replaceChildren(
      el('thead', {}, el('tr', {}, ['time', 'status', 'model', 'client', 'prompt', 'completion', 'cached', 'latency', 'TTFT', 'request id'].map((h, i) => el('th', { class: i >= 4 && i <= 8 ? 'num' : '' }, h)))),
      el('tbody', {}, rows.length === 0
        ? el('tr', {}, el('td', { colspan: '10', class: 'muted' }, 'no requests yet'))
        : rows.map((r) => el('tr', {},
          el('td', {}, new Date(r.ts).toLocaleTimeString()),
          el('td', { class: r.status >= 400 || r.error_kind ? 'status-err' : 'status-ok' }, r.error_kind && r.status < 400 ? `${r.status} (${r.error_kind})` : r.status),
          el('td', {}, r.model ?? '–', r.fallback ? ` → ${r.fallback}` : ''),
          el('td', {}, r.client),
          el('td', { class: 'num' }, fmt(r.prompt_tokens)),
          el('td', { class: 'num' }, fmt(r.completion_tokens)),
          el('td', { class: 'num' }, fmt(r.cached_tokens)),
          el('td', { class: 'num' }, ms(r.latency_ms)),
          el('td', { class: 'num' }, ms(r.ttft_ms)),
          el('td', { class: 'muted' }, r.request_id ?? ''),
        ))),
    );
  }

  function renderErrors(rows) {
    const box = $('errors');
    if (rows.length === 0) {
      box.replaceChildren(el('p', { class: 'muted' }, 'No errors since start.'));
      return;
    }
    box.replaceChildren(...rows.map((r) => el('div', { class: 'err-item' },
      el('div', {}, el('strong', {}, `${r.status} ${r.error_kind ?? ''}`), ' · ', new Date(r.ts).toLocaleTimeString(), r.model ? ` · ${r.model}` : '', r.request_id ? ` · request ${r.request_id}` : ''),
      el('div', { class: 'wrap' }, r.error ?? ''),
      HINTS[r.error_kind] ? el('div', { class: 'hint' }, `Hint: ${HINTS[r.error_kind]}`) : null,
    )));
  }

  function renderSettings(s) {
    const origin = location.origin;
    const keyText = s.master_key_required ? '<the master key>' : 'any value (no master key configured)';
    const first = s.models[0]?.name ?? '<model>';
    const pre = (text) => el('pre', {}, text);
    $('settings').replaceChildren(
      el('table', {},
        el('tbody', {},
          el('tr', {}, el('th', {}, 'OpenAI base URL'), el('td', {}, el('code', {}, `${origin}/v1`))),
          el('tr', {}, el('th', {}, 'Anthropic base URL'), el('td', {}, el('code', {}, origin))),
          el('tr', {}, el('th', {}, 'API key'), el('td', {}, keyText)),
          el('tr', {}, el('th', {}, 'Models'), el('td', { class: 'wrap' }, s.models.map((m) => `${m.name}${m.name !== m.cortex_model ? ` (${m.cortex_model})` : ''}`).join(', '))),
        ),
      ),
      el('h3', {}, 'OpenAI SDK, Continue, Cline, Zed, Aider, Open WebUI'),
      pre(`base URL: ${origin}/v1\nAPI key:  ${keyText}\nmodel:    ${first}`),
      el('h3', {}, 'Claude Code'),
      pre(`export ANTHROPIC_BASE_URL=${origin}\nexport ANTHROPIC_AUTH_TOKEN=${keyText}\nexport ANTHROPIC_MODEL=${first}`),
      el('h3', {}, 'Codex CLI (~/.codex/config.toml)'),
      pre(`model_provider = "cortex"\nmodel = "${first}"\n\n[model_providers.cortex]\nname = "cortex-proxy"\nbase_url = "${origin}/v1"\nwire_api = "responses"\nenv_key = "CORTEX_PROXY_MASTER_KEY"`),
    );
  }

  poll();
})();
