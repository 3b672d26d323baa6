/**
 * The web view's one page: HTML, CSS and script in one document, no outside assets. The script
 * loads a snapshot and follows the engine through server-sent events (`/events`): `snapshot` (the
 * whole view, at connection and after each graph change) and `update` (a batch of vertex states,
 * changes, and the idle and converged flags). Names and errors are set as text, never as markup.
 *
 * Each resource is an `li.res` with `data-id` (`kind[name]`) and `data-state`: `pending`,
 * `changing` (its checkApply runs), `converged` (as wanted: clean, or just changed), `retrying` or
 * `failed`; the browser test reads these.
 */
import { createHash } from 'node:crypto'

const STYLE = `
:root { --pending:#e5e7eb; --changing:#fde68a; --converged:#bbf7d0; --retrying:#fed7aa; --failed:#fca5a5;
  --fg:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f9fafb; font-family: system-ui, sans-serif; }
* { box-sizing: border-box; }
[hidden] { display:none !important; }
body { margin:0; color:var(--fg); background:var(--bg); font-size:15px; }
header { display:flex; flex-wrap:wrap; gap:.5rem 1rem; align-items:center; padding:.75rem 1rem;
  background:#fff; border-bottom:1px solid var(--line); position:sticky; top:0; z-index:1; }
h1 { font-size:1.1rem; margin:0; flex:1 1 auto; overflow-wrap:anywhere; }
h1 small { color:var(--muted); font-weight:normal; }
h2 { font-size:.95rem; margin:0 0 .5rem; color:#374151; }
h2 small { color:var(--muted); font-weight:normal; }
.pill { border-radius:999px; padding:.15rem .7rem; font-size:.85rem; background:var(--pending); white-space:nowrap; }
.pill[data-status=working] { background:var(--changing); }
.pill[data-status=idle], .pill[data-status=converged] { background:var(--converged); }
.pill[data-status=disconnected] { background:var(--failed); }
nav { display:flex; flex-wrap:wrap; gap:.4rem; padding:.6rem 1rem; }
nav button { font:inherit; font-size:.85rem; border:1px solid var(--line); background:#fff; border-radius:999px;
  padding:.2rem .7rem; cursor:pointer; }
nav button[aria-pressed=true] { border-color:#374151; box-shadow:inset 0 0 0 1px #374151; }
nav button::before { content:''; display:inline-block; width:.6rem; height:.6rem; border-radius:50%;
  margin-right:.35rem; background:var(--muted); }
nav button[data-filter=pending]::before { background:#9ca3af; }
nav button[data-filter=changing]::before { background:#f59e0b; }
nav button[data-filter=converged]::before { background:#22c55e; }
nav button[data-filter=retrying]::before { background:#f97316; }
nav button[data-filter=failed]::before { background:#ef4444; }
main { display:grid; grid-template-columns: minmax(0,2fr) minmax(0,1fr); gap:1rem; padding:0 1rem 1rem; }
@media (max-width: 760px) { main { grid-template-columns: minmax(0,1fr); } }
section.wide { margin:0 1rem 1rem; border-color:#fca5a5; }
section { background:#fff; border:1px solid var(--line); border-radius:.5rem; padding:.75rem; margin-bottom:1rem; }
input[type=search] { width:100%; font:inherit; padding:.4rem .6rem; border:1px solid var(--line);
  border-radius:.4rem; margin-bottom:.5rem; }
ul, ol { list-style:none; margin:0; padding:0; }
.res { display:grid; grid-template-columns: auto minmax(0,1fr) auto; gap:.1rem .6rem; align-items:baseline;
  padding:.4rem .5rem; border-left:.35rem solid var(--pending); border-bottom:1px solid var(--line); }
.res[data-state=changing] { border-left-color:#f59e0b; background:#fffbeb; }
.res[data-state=converged] { border-left-color:#22c55e; }
.res[data-state=retrying] { border-left-color:#f97316; background:#fff7ed; }
.res[data-state=failed] { border-left-color:#ef4444; background:#fef2f2; }
.res .id { font-family: ui-monospace, monospace; overflow-wrap:anywhere; grid-column:2; }
.res .state { grid-column:3; font-size:.8rem; color:var(--muted); }
.res .last, .res .err, .res .members { grid-column:2 / 4; font-size:.8rem; color:var(--muted); overflow-wrap:anywhere; }
.res .err { color:#b91c1c; white-space:pre-wrap; }
.res.flash { animation: flash 1.2s ease-out; }
@keyframes flash { from { background:#fde68a; } to { background:transparent; } }
.fail { padding:.4rem 0; border-bottom:1px solid var(--line); }
.fail .id { font-family: ui-monospace, monospace; font-weight:600; }
.fail .err { color:#b91c1c; white-space:pre-wrap; overflow-wrap:anywhere; font-size:.85rem; }
#changes li, #edges li { padding:.25rem 0; border-bottom:1px solid var(--line); font-size:.85rem; overflow-wrap:anywhere; }
#changes time { color:var(--muted); margin-right:.4rem; font-variant-numeric: tabular-nums; }
.mono { font-family: ui-monospace, monospace; }
.tag { font-size:.75rem; border-radius:.3rem; padding:0 .35rem; margin-left:.3rem; white-space:nowrap; }
.tag.notify { background:#fef3c7; color:#92400e; }
.tag.send { background:#dbeafe; color:#1e40af; }
.empty { color:var(--muted); font-size:.85rem; }
`

/* The client: plain ES2017, no template literals (this file holds it in one). */
const SCRIPT = `
(function () {
  'use strict';
  var DISPLAY = { pending: 'pending', checking: 'changing', changed: 'converged', clean: 'converged',
    retrying: 'retrying', failed: 'failed' };
  var STATES = ['pending', 'changing', 'converged', 'retrying', 'failed'];
  var MAX_CHANGES = 50, MAX_EDGES = 500;
  var rows = new Map(), shown = new Map(), counts = {};
  var filterState = 'all', filterText = '', idle = false, converged = false, connected = false;
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function clock(ms) {
    var d = new Date(ms), p = function (n) { return (n < 10 ? '0' : '') + n; };
    return p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
  }
  function lastText(last) {
    if (!last) return 'no change yet';
    return (last.noop ? 'would change ' : 'changed ') + clock(last.time) + ' \\u00b7 ' + last.cause;
  }

  function setStatus() {
    var s = $('status'), status = !connected ? 'disconnected' : converged ? 'converged' : idle ? 'idle' : 'working';
    s.dataset.status = status;
    s.textContent = status;
  }

  function count(state, by) {
    counts[state] = (counts[state] || 0) + by;
  }
  function renderCounts() {
    var nav = $('counts'), total = rows.size;
    nav.textContent = '';
    ['all'].concat(STATES).forEach(function (f) {
      var n = f === 'all' ? total : counts[f] || 0;
      if (f !== 'all' && !n && filterState !== f) return;
      var b = el('button', '', f + ' ' + n);
      b.type = 'button';
      b.dataset.filter = f;
      b.setAttribute('aria-pressed', String(filterState === f));
      b.addEventListener('click', function () { filterState = f; renderCounts(); applyFilter(); });
      nav.appendChild(b);
    });
  }

  function visible(li) {
    return (filterState === 'all' || li.dataset.state === filterState) &&
      (!filterText || li.dataset.id.toLowerCase().indexOf(filterText) >= 0);
  }
  function applyFilter() {
    rows.forEach(function (li) { li.hidden = !visible(li); });
  }

  function row(v) {
    var li = el('li', 'res');
    li.dataset.id = v.id;
    li.appendChild(el('span', 'id', v.id));
    li.appendChild(el('span', 'state'));
    if (v.members && v.members.length) li.appendChild(el('span', 'members', 'with ' + v.members.map(function (m) { return m.id; }).join(', ')));
    li.appendChild(el('span', 'last'));
    var err = el('span', 'err');
    err.hidden = true;
    li.appendChild(err);
    return li;
  }

  /** Shows vertex v in its row; returns whether its last change is new. */
  function update(v) {
    var li = rows.get(v.id);
    if (!li) return;
    var before = shown.get(v.id) || {}, state = DISPLAY[v.state] || v.state;
    if (li.dataset.state !== state) {
      if (li.dataset.state) count(li.dataset.state, -1);
      count(state, 1);
      li.dataset.state = state;
      li.querySelector('.state').textContent = state;
      li.hidden = !visible(li);
    }
    var err = li.querySelector('.err');
    err.textContent = v.error || '';
    err.hidden = !v.error;
    li.querySelector('.last').textContent = lastText(v.last);
    var fresh = v.last && (!before.last || before.last.time !== v.last.time);
    if (fresh && before.state !== undefined) {
      li.classList.remove('flash');
      void li.offsetWidth;
      li.classList.add('flash');
      addChange(v);
    }
    shown.set(v.id, { state: v.state, last: v.last, error: v.error });
  }

  function addChange(v) {
    var list = $('changes');
    var empty = list.querySelector('.empty');
    if (empty) empty.remove();
    var li = el('li');
    li.appendChild(el('time', '', clock(v.last.time)));
    li.appendChild(el('span', 'mono', v.id));
    li.appendChild(document.createTextNode((v.last.noop ? ' would change: ' : ': ') + v.last.cause));
    list.insertBefore(li, list.firstChild);
    while (list.children.length > MAX_CHANGES) list.lastChild.remove();
  }

  function renderFailures() {
    var list = $('failures');
    list.textContent = '';
    var n = 0;
    shown.forEach(function (v, id) {
      if (!v.error) return;
      n++;
      var li = el('li', 'fail');
      li.appendChild(el('div', 'id', id + ' (' + DISPLAY[v.state] + ')'));
      li.appendChild(el('div', 'err', v.error));
      list.appendChild(li);
    });
    $('failures-section').hidden = n === 0;
  }

  function renderEdges(edges) {
    var list = $('edges');
    list.textContent = '';
    $('edge-count').textContent = '(' + edges.length + ')';
    edges.slice(0, MAX_EDGES).forEach(function (e) {
      var li = el('li');
      li.appendChild(el('span', 'mono', e.from + ' \\u2192 ' + e.to));
      if (e.notify) li.appendChild(el('span', 'tag notify', 'notify'));
      e.sendRecv.forEach(function (p) { li.appendChild(el('span', 'tag send', p.send + ' \\u2192 ' + p.recv)); });
      list.appendChild(li);
    });
    if (!edges.length) list.appendChild(el('li', 'empty', 'no edges'));
    if (edges.length > MAX_EDGES) list.appendChild(el('li', 'empty', 'and ' + (edges.length - MAX_EDGES) + ' more'));
  }

  function snapshot(s) {
    document.title = 'mgmt: ' + (s.name || 'graph') + ' on ' + s.hostname;
    $('title').textContent = s.name ? 'graph ' + s.name : 'mgmt';
    $('host').textContent = 'on ' + s.hostname;
    var list = $('resources');
    list.textContent = '';
    rows.clear();
    counts = {};
    var keep = shown;
    shown = new Map();
    s.vertices.forEach(function (v) {
      var li = row(v);
      rows.set(v.id, li);
      list.appendChild(li);
      if (keep.has(v.id)) shown.set(v.id, keep.get(v.id));
      update(v);
    });
    if (!s.vertices.length) list.appendChild(el('li', 'empty', 'no resources'));
    renderEdges(s.edges);
    idle = s.idle;
    converged = s.converged;
    renderFailures();
    renderCounts();
    setStatus();
  }

  function apply(d) {
    if (d.t === 'vertex') {
      var before = shown.get(d.id) || {};
      update(d);
      return before.error !== d.error;
    }
    if (d.t === 'idle') idle = d.idle;
    if (d.t === 'converged') converged = d.converged;
    return false;
  }

  $('filter').addEventListener('input', function (e) {
    filterText = e.target.value.trim().toLowerCase();
    applyFilter();
  });

  var source = new EventSource('events');
  source.addEventListener('open', function () { connected = true; setStatus(); });
  source.addEventListener('error', function () { connected = false; setStatus(); });
  source.addEventListener('snapshot', function (e) { connected = true; snapshot(JSON.parse(e.data)); });
  source.addEventListener('update', function (e) {
    var failures = false;
    JSON.parse(e.data).forEach(function (d) { failures = apply(d) || failures; });
    if (failures) renderFailures();
    renderCounts();
    setStatus();
  });
})();
`

const BODY = `<header>
  <h1><span id="title">mgmt</span> <small id="host"></small></h1>
  <div id="status" class="pill" data-status="disconnected" role="status">connecting</div>
</header>
<nav id="counts" aria-label="resources by state"></nav>
<section id="failures-section" class="wide" hidden aria-labelledby="fail-h">
  <h2 id="fail-h">Failures</h2>
  <ul id="failures"></ul>
</section>
<main>
  <section aria-labelledby="res-h">
    <h2 id="res-h">Resources</h2>
    <input id="filter" type="search" placeholder="filter by kind or name" aria-label="filter resources">
    <ul id="resources"></ul>
  </section>
  <aside>
    <section aria-labelledby="changes-h">
      <h2 id="changes-h">Recent changes</h2>
      <ol id="changes"><li class="empty">none since this page opened</li></ol>
    </section>
    <section aria-labelledby="edges-h">
      <h2 id="edges-h">Edges <small id="edge-count"></small></h2>
      <ul id="edges"></ul>
    </section>
  </aside>
</main>`

const sha256 = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`

/** The page. */
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mgmt</title>
<style>${STYLE}</style>
</head>
<body>
${BODY}
<script>${SCRIPT}</script>
</body>
</html>
`

/** Its headers: nothing but this page's own style and script may run, and it talks only to its server. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': `default-src 'none'; style-src ${sha256(STYLE)}; script-src ${sha256(SCRIPT)}; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
}
