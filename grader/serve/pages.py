"""The live view's three pages: log in, a learner's own results, the instructor's room.

Each page is static HTML plus a short script that reads the JSON API and listens to /api/events (server-sent
events), so it updates without a reload. The script puts every value a learner chose (names, messages, hints)
into the page with `textContent`, never as HTML, so a name like `<script>` is shown, not run.
"""

from __future__ import annotations

from grader.reporters.sanitize import html_escape

__all__ = ["login_page", "learner_page", "room_page"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2330}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccd;padding:.3rem .6rem;text-align:left}
.graded{background:#eef8ee}.queued,.building,.probing{background:#fff8e0}.retried,.refused{background:#fde8e8}
.muted{color:#667}code{background:#f3f3f7;padding:0 .2rem}
"""

_COMMON_SCRIPT = """
const mb = b => b == null ? '' : (b / 1e6).toFixed(1) + ' MB';
function cell(row, text, cls) { const td = document.createElement('td'); td.textContent = text ?? '';
  if (cls) td.className = cls; row.appendChild(td); return td; }
async function getJSON(url) { const r = await fetch(url, {credentials: 'same-origin'});
  if (!r.ok) throw new Error(url + ': ' + r.status); return r.json(); }
function live(refresh) { refresh(); const es = new EventSource('/api/events');
  es.onmessage = () => refresh(); es.onerror = () => setTimeout(refresh, 2000); }
"""

_LEARNER_SCRIPT = """
function describe(s) { if (s.state === 'graded') return `${s.score} / ${s.max_score}`;
  if (s.state === 'queued' && s.position) return `queued, number ${s.position} in line`;
  return s.state + (s.message ? ': ' + s.message : ''); }
async function refresh() {
  const data = await getJSON('/api/submissions');
  document.getElementById('who').textContent = data.learner;
  const body = document.getElementById('rows'); body.replaceChildren();
  for (const s of data.submissions) { const tr = document.createElement('tr'); tr.dataset.state = s.state;
    cell(tr, s.exercise); cell(tr, describe(s), s.state); cell(tr, mb(s.size_bytes));
    cell(tr, s.failed_checks.join(', ')); body.appendChild(tr); }
}
live(refresh);
"""

_ROOM_SCRIPT = """
async function refresh() {
  const room = await getJSON('/api/room');
  const head = document.getElementById('head'); head.replaceChildren();
  const hr = document.createElement('tr'); cell(hr, 'learner'); room.exercises.forEach(e => cell(hr, e));
  head.appendChild(hr);
  const body = document.getElementById('grid'); body.replaceChildren();
  for (const name of room.learners) { const tr = document.createElement('tr'); tr.dataset.learner = name;
    cell(tr, name);
    for (const e of room.exercises) { const s = (room.cells[name] || {})[e];
      const text = !s ? '' : s.state === 'graded' ? `${s.score} / ${s.max_score}` : s.state;
      const td = cell(tr, text, s ? s.state : 'muted'); td.dataset.exercise = e; }
    body.appendChild(tr); }
  const failing = document.getElementById('failing'); failing.replaceChildren();
  for (const f of room.failing_checks) { const li = document.createElement('li');
    li.textContent = `${f.id}: ${f.learners} learner(s)`; failing.appendChild(li); }
  const sizes = document.getElementById('sizes'); sizes.replaceChildren();
  for (const [e, s] of Object.entries(room.sizes)) { const tr = document.createElement('tr'); cell(tr, e);
    cell(tr, mb(s.article_before_bytes) + ' -> ' + mb(s.article_after_bytes)); cell(tr, mb(s.budget_bytes));
    cell(tr, s.count ? `${mb(s.median_bytes)} (${mb(s.min_bytes)} - ${mb(s.max_bytes)}), ${s.count} graded` : '');
    sizes.appendChild(tr); }
  document.getElementById('states').textContent =
    Object.entries(room.states).map(([s, n]) => s + ' ' + n).join(', ') || 'nothing submitted yet';
}
live(refresh);
"""

_LOGIN_SCRIPT = """
document.getElementById('login').addEventListener('submit', async ev => { ev.preventDefault();
  const r = await fetch('/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({token: document.getElementById('token').value}), credentials: 'same-origin'});
  const out = document.getElementById('out');
  if (!r.ok) { out.textContent = 'That token is not known here. Ask your instructor for yours.'; return; }
  location.href = (await r.json()).next; });
"""


def _page(title: str, body: str, script: str) -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html_escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>{body}<script>{_COMMON_SCRIPT}{script}</script></body></html>")


def login_page() -> str:
    body = ("<h1>Docker Diet Workshop</h1><form id=login><label>Your token <input id=token type=password "
            "autocomplete=off size=40></label> <button type=submit>Log in</button></form><p id=out></p>"
            "<p class=muted>Submit from the notebook's grade panel, or with <code>workshop submit APP --to URL"
            "</code>.</p>")
    return _page("Log in", body, _LOGIN_SCRIPT)


def learner_page() -> str:
    body = ("<h1>Your results, <span id=who></span></h1><p class=muted>Newest first. This page updates by itself."
            "</p><table><thead><tr><th>app</th><th>state or score</th><th>size</th><th>failed checks</th></tr>"
            "</thead><tbody id=rows></tbody></table>")
    return _page("Your results", body, _LEARNER_SCRIPT)


def room_page() -> str:
    body = ("<h1>The room</h1><p class=muted>Every learner's newest submission per app; updates live. States: "
            "<span id=states></span></p><table><thead id=head></thead><tbody id=grid></tbody></table>"
            "<h2>Checks that fail most</h2><ul id=failing></ul><h2>Sizes against the article</h2><table><thead>"
            "<tr><th>app</th><th>article before -> after</th><th>budget</th><th>room: median (min - max)</th></tr>"
            "</thead><tbody id=sizes></tbody></table>")
    return _page("The room", body, _ROOM_SCRIPT)
