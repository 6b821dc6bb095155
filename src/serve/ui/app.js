// blast serve's page: a form that starts a run through the same API as
// curl, the run's /events stream read with fetch (so that a token can go in
// an Authorization header, which EventSource cannot send), live charts and
// stats, the finished report, the history and the downloads.
//
// The token: the page is opened once as /?token=T (or through the form of
// the 401 page); it is kept in sessionStorage (this tab only), taken out of
// the address bar, and sent as `Authorization: Bearer` on every call. Links
// to files carry no header, so with a token they are fetched by script and
// handed to the browser as blobs.
'use strict';

const TOKEN_KEY = 'blast-serve-token';
(function takeToken() {
  const q = new URLSearchParams(location.search);
  if (!q.has('token')) return;
  sessionStorage.setItem(TOKEN_KEY, q.get('token'));
  q.delete('token');
  const rest = q.toString();
  history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
})();

const $ = (id) => document.getElementById(id);
const token = () => sessionStorage.getItem(TOKEN_KEY);

function api(path, init) {
  init = Object.assign({}, init);
  init.headers = Object.assign({}, init.headers);
  const t = token();
  if (t) init.headers.Authorization = 'Bearer ' + t;
  return fetch(path, init).then((r) => {
    if (r.status === 401) say('The server wants its token: open this page as /?token=TOKEN.');
    return r;
  });
}

async function apiJson(path, init) {
  const r = await api(path, init);
  let body;
  try { body = await r.json(); } catch (e) { body = { error: `HTTP ${r.status}, not JSON` }; }
  return { status: r.status, body };
}

function say(text) { $('message').textContent = text || ''; }

// ---- the form ----

const FIELDS = {
  url: 'url', method: 'method', body: 'body', num_workers: 'connections', connections: 'connections',
  qps: 'rate', rate: 'rate', duration: 'duration', slo: 'slo',
  start: 'find-start', max: 'find-max', step_duration: 'find-step',
};

function mode() { return $('mode').value; }

function showMode() {
  const find = mode() === 'find';
  for (const e of document.querySelectorAll('.only-find')) e.classList.toggle('hidden', !find);
  for (const e of document.querySelectorAll('.only-benchmark')) e.classList.toggle('hidden', find);
}

function request() {
  const num = (id) => {
    const v = $(id).value.trim();
    return v === '' ? undefined : Number(v);
  };
  const r = { url: $('url').value.trim() };
  if ($('method').value !== 'GET') r.method = $('method').value;
  if ($('body').value !== '') r.body = $('body').value;
  if (num('connections') !== undefined) r.num_workers = num('connections');
  if ($('slo').value.trim() !== '') r.slo = $('slo').value.trim();
  if (mode() === 'find') {
    if (num('find-start') !== undefined) r.start = num('find-start');
    if (num('find-max') !== undefined) r.max = num('find-max');
    if (num('find-step') !== undefined) r.step_duration = num('find-step');
  } else {
    if (num('rate') !== undefined && num('rate') > 0) r.qps = num('rate');
    if (num('duration') !== undefined) r.duration = num('duration');
  }
  return r;
}

async function start(ev) {
  ev.preventDefault();
  for (const e of document.querySelectorAll('.invalid')) e.classList.remove('invalid');
  say('');
  $('start').disabled = true;
  const path = mode() === 'find' ? '/find' : '/benchmark';
  let r;
  try {
    r = await apiJson(path, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request()),
    });
  } catch (e) {
    say('The server did not answer: ' + e);
    $('start').disabled = false;
    return;
  }
  if (r.status === 202) {
    follow(r.body.id);
    refreshHistory();
  } else {
    $('start').disabled = false;
    const input = $(FIELDS[r.body.field] || '');
    if (input) { input.classList.add('invalid'); input.focus(); }
    say(r.body.error || `HTTP ${r.status}`);
    if (r.status === 409 && r.body.id) follow(r.body.id);
  }
}

async function stop() {
  if (!view.id) return;
  $('stop').disabled = true;
  setStatus('stopping');
  await api(`/benchmarks/${view.id}`, { method: 'DELETE' }).catch(() => {});
}

// ---- one run's view: its points, then its result ----

let view = { id: null, kind: 'benchmark', points: [], result: null };

function follow(id) {
  if (view.abort) view.abort.abort();
  view = { id, kind: 'benchmark', points: [], result: null, abort: new AbortController() };
  $('run-title').textContent = 'Run ' + id;
  $('run-url').textContent = '';
  $('report-panel').classList.add('hidden');
  $('report').removeAttribute('srcdoc');
  setStatus('running');
  render();
  markHistory();
  apiJson(`/benchmarks/${id}`).then((r) => {
    if (view.id !== id || r.status !== 200) return;
    view.kind = r.body.kind || 'benchmark';
    // The charts span the run's planned length from the start.
    const d = (r.body.request || {}).duration;
    view.planned = typeof d === 'number' && d > 0 ? d : undefined;
    $('run-url').textContent = r.body.url || '';
    if (r.body.status !== 'running') setStatus(r.body.status);
    render();
  });
  stream(view).catch(() => {}).finally(() => {
    if (view.id === id && !view.result && $('run-status').dataset.status === 'running') {
      apiJson(`/benchmarks/${id}`).then((r) => setStatus(r.body.status || 'unknown'));
    }
  });
}

// Read /events with fetch: `event: NAME\ndata: JSON\n\n` blocks.
async function stream(v) {
  const r = await api(`/benchmarks/${v.id}/events`, { signal: v.abort.signal });
  if (r.status !== 200) throw new Error('HTTP ' + r.status);
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let name = 'message', data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data += line.slice(5).trim();
      }
      if (v !== view) return;
      onEvent(name, data ? JSON.parse(data) : null);
    }
  }
}

function onEvent(name, data) {
  if (name === 'point') {
    // A search's points are its steps.
    if (data && data.offered_rps !== undefined) view.kind = 'find';
    view.points.push(data);
    render();
  } else if (name === 'result') {
    view.result = data;
    if (data.steps) view.kind = 'find';
    render();
    ended();
  } else if (name === 'error') {
    say((data && data.error) || 'the run failed');
    ended();
  }
}

async function ended() {
  const r = await apiJson(`/benchmarks/${view.id}`);
  setStatus(r.body.status || (view.result ? 'done' : 'failed'));
  $('start').disabled = false;
  refreshHistory();
  if (view.result) showReport(view.id, view.kind);
}

function setStatus(s) {
  const e = $('run-status');
  e.dataset.status = s;
  e.textContent = s;
  const running = s === 'running' || s === 'stopping';
  $('stop').disabled = !(s === 'running');
  $('start').disabled = running;
  $('live').dataset.status = s;
}

const COLORS = { rps: '#2563eb', p50: '#16a34a', p90: '#d97706', p99: '#dc2626', errors: '#b91c1c' };

function render() {
  const find = view.kind === 'find';
  for (const e of document.querySelectorAll('.only-benchmark-view')) e.classList.toggle('hidden', find);
  for (const e of document.querySelectorAll('.only-find-view')) e.classList.toggle('hidden', !find);
  if (find) return renderFind();
  const pts = view.points;
  // A point covers about a second; its own length is requests / rps.
  const span = (p) => (p.rps > 0 && p.requests > 0 ? p.requests / p.rps : 1);
  const series = (key, scale) => pts.map((p) => [p.t_s, p[key] * scale]);
  const xMax = Math.max(view.planned || 0, ...pts.map((p) => p.t_s)) || undefined;
  drawChart($('chart-rps'), [{ name: 'requests/s', color: COLORS.rps, points: series('rps', 1) }],
    { title: 'Requests per second', xMax });
  drawChart($('chart-latency'), [
    { name: 'p50', color: COLORS.p50, points: series('p50_us', 1e-3) },
    { name: 'p90', color: COLORS.p90, points: series('p90_us', 1e-3) },
    { name: 'p99', color: COLORS.p99, points: series('p99_us', 1e-3) },
  ], { title: 'Latency', unit: 'ms', xMax });
  drawChart($('chart-errors'), [{
    name: 'errors/s', color: COLORS.errors, points: pts.map((p) => [p.t_s, p.errors / span(p)]),
  }], { title: 'Errors per second', xMax });
  renderStats();
}

function ms(us) { return us === undefined || us === null ? '' : (us / 1000).toFixed(2); }
function num(v, digits) {
  if (v === undefined || v === null || !isFinite(v)) return '';
  return digits ? Number(v).toFixed(digits) : Number(v).toLocaleString('en-US');
}

function table(t, head, rows) {
  const tr = (cells, tag) => {
    const row = document.createElement('tr');
    for (const c of cells) {
      const cell = document.createElement(tag);
      cell.textContent = c;
      row.appendChild(cell);
    }
    return row;
  };
  t.tHead.replaceChildren(tr(head, 'th'));
  t.tBodies[0].replaceChildren(...rows.map((r) => tr(r, 'td')));
}

function renderStats() {
  const pts = view.points, last = pts[pts.length - 1] || {}, res = view.result;
  const total = pts.reduce((a, p) => a + p.requests, 0);
  const errors = pts.reduce((a, p) => a + p.errors, 0);
  const secs = last.t_s || 0;
  const whole = res ? {
    requests: res.requests, rps: res.rps, p50: res.latency_us.p50, p90: res.latency_us.p90,
    p99: res.latency_us.p99, errors: res.errors, bytes: res.bytes_read,
  } : { requests: total, rps: secs > 0 ? total / secs : null, errors };
  const rows = [
    ['Requests', num(last.requests), num(whole.requests)],
    ['Requests/s', num(last.rps, 1), num(whole.rps, 1)],
    ['p50 latency, ms', ms(last.p50_us), ms(whole.p50)],
    ['p90 latency, ms', ms(last.p90_us), ms(whole.p90)],
    ['p99 latency, ms', ms(last.p99_us), ms(whole.p99)],
    ['Errors', num(last.errors), num(whole.errors)],
    ['Bytes', num(last.bytes), num(whole.bytes)],
  ];
  if (res) {
    rows.push(['p97 / mean / std, ms', '', [res.p97, res.mean, res.std].map((v) => num(v, 2)).join(' / ')]);
    const codes = Object.entries(res.errors_status || {}).map(([c, n]) => `${c}: ${n}`).join(', ');
    if (codes) rows.push(['Error status codes', '', codes]);
    // Failed checks (error kind `check`), then each check as k6 sums it up.
    const failed = (res.errors_by_kind || {}).check;
    if (failed || (res.checks || []).length) rows.push(['Failed checks', '', num(failed || 0)]);
    for (const c of res.checks || []) {
      const n = c.passes + c.fails;
      rows.push([`Check ${c.name ? `${c.name}: ` : ''}${c.check}`, '',
        `${num(n ? (c.passes * 100) / n : 100, 2)}% ✓ ${num(c.passes)} ✗ ${num(c.fails)}`]);
    }
    if (res.slo_pass !== undefined) rows.push(['SLO', '', res.slo_pass ? 'pass' : 'FAIL']);
    if (res.interrupted) rows.push(['Stopped early', '', `after ${num(res.duration_s, 1)} s`]);
  }
  table($('stats'), ['', `Last second${secs ? ` (t = ${Math.round(secs)} s)` : ''}`, res ? 'Whole run' : 'So far'], rows);
}

function renderFind() {
  // Steps arrive on /events as they end; the result lists them all.
  const steps = (view.result && view.result.steps) || view.points;
  const idx = steps.map((s, i) => i + 1);
  drawChart($('chart-steps'), [
    { name: 'offered', color: '#94a3b8', points: steps.map((s, i) => [idx[i], s.offered_rps]) },
    { name: 'achieved', color: COLORS.rps, points: steps.map((s, i) => [idx[i], s.achieved_rps]) },
  ], { title: 'Steps: requests per second', xLabel: 'step', xWhole: true, xMax: Math.max(steps.length, 1),
    empty: view.result ? 'no steps' : 'the steps appear as they end' });
  drawChart($('chart-steps-latency'), [
    { name: 'p50', color: COLORS.p50, points: steps.map((s, i) => [idx[i], s.p50_us / 1000]) },
    { name: 'p99', color: COLORS.p99, points: steps.map((s, i) => [idx[i], s.p99_us / 1000]) },
  ], { title: 'Steps: latency', unit: 'ms', xLabel: 'step', xWhole: true, xMax: Math.max(steps.length, 1),
    empty: view.result ? 'no steps' : 'the steps appear as they end' });
  const rows = steps.map((s, i) => [String(i + 1), num(s.offered_rps, 0), num(s.achieved_rps, 1),
    ms(s.p50_us), ms(s.p99_us), num(s.error_percent, 2), s.verdict || (s.pass ? 'pass' : 'fail')]);
  if (view.result) rows.push(['max sustainable', num(view.result.max_sustainable_rps, 0), '', '', '', '', '']);
  table($('stats'), ['Step', 'Offered/s', 'Achieved/s', 'p50 ms', 'p99 ms', 'Errors %', 'Verdict'], rows);
}

// ---- files: links that work with or without a token ----

function files(id, kind, short) {
  const base = `/benchmarks/${id}`;
  const all = [['HTML', 'report.html'], ['JSON', 'result.json']];
  if (kind !== 'find') all.push(['CSV', 'stats.csv'], ['history CSV', 'stats_history.csv'], ['hlog', 'run.hlog']);
  if (short) all.splice(3, 1);
  return all.map(([label, f]) => {
    const a = document.createElement('a');
    a.href = `${base}/${f}`;
    a.textContent = label;
    a.dataset.file = f;
    if (f === 'report.html') a.target = '_blank';
    else a.download = `blast-${id}-${f}`;
    a.addEventListener('click', viaBlob);
    return a;
  });
}

// With a token a plain link would get 401: fetch it with the header instead.
async function viaBlob(ev) {
  if (!token()) return;
  ev.preventDefault();
  const a = ev.currentTarget;
  const r = await api(a.getAttribute('href'));
  const url = URL.createObjectURL(await r.blob());
  if (a.download) {
    const tmp = document.createElement('a');
    tmp.href = url;
    tmp.download = a.download;
    tmp.click();
  } else {
    window.open(url, '_blank');
  }
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

async function showReport(id, kind) {
  $('downloads').replaceChildren(...files(id, kind));
  const r = await api(`/benchmarks/${id}/report.html`);
  if (r.status !== 200 || view.id !== id) return;
  $('report').srcdoc = await r.text();
  $('report-panel').classList.remove('hidden');
}

// ---- history ----

async function refreshHistory() {
  const r = await apiJson('/benchmarks');
  if (r.status !== 200) return [];
  const rows = (r.body.benchmarks || []).map((b) => {
    const tr = document.createElement('tr');
    tr.dataset.id = b.id;
    tr.dataset.status = b.status;
    const s = b.summary || {};
    const link = document.createElement('a');
    link.href = '#' + b.id;
    link.textContent = b.id;
    link.addEventListener('click', (e) => { e.preventDefault(); follow(b.id); });
    const cells = [link, b.kind, b.status, b.url, num(s.requests), num(s.rps, 1),
      num(s.p50, 2), num(s.p99, 2), num(s.errors)];
    for (const c of cells) {
      const td = document.createElement('td');
      if (c instanceof Node) td.appendChild(c); else td.textContent = c === undefined ? '' : c;
      tr.appendChild(td);
    }
    for (const i of [1, 2, 3]) tr.children[i].className = 'text';
    tr.children[3].className = 'text url';
    tr.children[3].title = b.url || '';
    const links = document.createElement('td');
    links.className = 'links';
    if (b.status === 'done' || b.status === 'stopped') links.append(...files(b.id, b.kind, true));
    tr.appendChild(links);
    return tr;
  });
  $('history').tBodies[0].replaceChildren(...rows);
  markHistory();
  return r.body.benchmarks || [];
}

function markHistory() {
  for (const tr of $('history').tBodies[0].rows) tr.classList.toggle('current', tr.dataset.id === view.id);
}

// ---- start-up ----

$('run-form').addEventListener('submit', start);
$('stop').addEventListener('click', stop);
$('mode').addEventListener('change', showMode);
$('refresh').addEventListener('click', refreshHistory);
$('server').textContent = location.host + (token() ? ', with a token' : '');
showMode();
render();
refreshHistory().then((runs) => {
  const first = runs[0];
  if (first && first.status === 'running') follow(first.id);
  else if (location.hash.length > 1) follow(location.hash.slice(1));
});
setInterval(() => { if (!document.hidden) refreshHistory(); }, 10000);
