// vstore dashboard: talks to the daemon's REST API (/api/v1) with the session cookie, sends the
// session's CSRF token on every state-changing request, and follows the event stream for live job
// progress. Everything is built with DOM calls and textContent, never innerHTML, so names coming
// from the API cannot inject markup.
'use strict';

const state = {
  csrf: null,
  datastore: null,
  datastores: [],
  volumes: [],
  snapshots: [],
  jobs: new Map(),
  events: [],
  lastEventId: 0,
  openForm: null, // which inline form ("snapshot:vol", "clone:vol@snap") is open across re-renders
  missing: new Set(), // sections whose routes this daemon does not serve
};

const EVENT_TYPES = ['job.progress', 'job.state', 'alarm.raised', 'alarm.cleared', 'datastore.changed',
  'volume.created', 'volume.deleted', 'volume.flattened', 'snapshot.created', 'snapshot.deleted',
  'snapshot.reverted', 'clone.created', 'vm.created', 'vm.deleted', 'vm.snapshot.created',
  'vm.snapshot.deleted', 'vm.snapshot.reverted', 'export.added', 'export.removed', 'export.skipped',
  'nbd.connected', 'nbd.disconnected'];
const MAX_EVENTS = 100;

// ---- helpers ----

/** Builds an element: h('td', {class: 'num'}, 'text', child, ...). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Formats a byte count as 1.5 GiB. */
function bytes(n) {
  if (typeof n !== 'number' || !isFinite(n)) return '—';
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < UNITS.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : 1)) + ' ' + UNITS[i];
}

/** Parses 10G, 512M, 1.5T, 4096 into bytes (binary units, as the CLI reads them). */
function parseSize(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new Error(`size '${text}' is not a number with an optional K, M, G, T or P suffix`);
  const power = ' kmgtp'.indexOf((m[2] || ' ').toLowerCase());
  return Math.round(parseFloat(m[1]) * 1024 ** power);
}

function pct(part, whole) {
  return whole > 0 ? (100 * part) / whole : 0;
}

/** Reads a time from the API: ISO-8601, or epoch seconds (how Jackson writes an Instant by default). */
function toDate(t) {
  if (typeof t === 'number') return new Date(t < 1e11 ? t * 1000 : t);
  return new Date(t);
}

function when(t) {
  if (!t) return '';
  const d = toDate(t);
  return isNaN(d) ? String(t) : d.toLocaleString();
}

function duration(seconds) {
  if (typeof seconds !== 'number' || seconds < 0) return '';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

/** Returns the array in an API list reply: the reply itself, or its items. */
function items(reply, key) {
  if (Array.isArray(reply)) return reply;
  if (reply && Array.isArray(reply[key])) return reply[key];
  if (reply && Array.isArray(reply.items)) return reply.items;
  return [];
}

function show(message, kind) {
  const el = document.getElementById('message');
  el.textContent = message;
  el.className = kind || '';
  el.hidden = !message;
  clearTimeout(show.timer);
  if (message && kind === 'info') show.timer = setTimeout(() => { el.hidden = true; }, 4000);
}

// ---- the API ----

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Calls the API; a problem+json reply becomes an ApiError carrying its one-line detail. */
async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
  const r = await fetch(path, init);
  const text = r.status === 204 ? '' : await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (r.status === 401) {
    // The daemon's text asks for a bearer token; a person needs to know how to log in again.
    throw new ApiError(401, 'not logged in, or the session ended: run vstore dashboard for a new login link');
  }
  if (!r.ok) {
    const err = new ApiError(r.status, (data && (data.detail || data.title)) || `${method} ${path}: HTTP ${r.status}`);
    err.noRoute = r.status === 405 || (r.status === 404 && /^no such API path/.test(err.message));
    throw err;
  }
  return data;
}

/** Adds ?datastore=NAME (or &) for the datastore shown. */
function ds(path) {
  if (!state.datastore) return path;
  return path + (path.includes('?') ? '&' : '?') + 'datastore=' + encodeURIComponent(state.datastore);
}

function enc(s) {
  return encodeURIComponent(s);
}

/** Runs a user action: shows its failure, or a short note, then refreshes what it changed. */
async function act(what, fn, refresh) {
  try {
    await fn();
    show(what, 'info');
  } catch (e) {
    show(e.message);
  }
  await (refresh || refreshAll)();
}

/** Loads a section's data; a 404 means this daemon does not serve that part (yet). */
async function load(section, fn) {
  try {
    await fn();
    state.missing.delete(section);
  } catch (e) {
    if (e.noRoute) {
      state.missing.add(section);
    } else if (e.status === 401) {
      throw e;
    } else {
      console.warn(section, e);
      show(e.message);
    }
  }
}

function missingNote() {
  return h('p', { class: 'empty' }, 'This daemon does not serve this part of the API.');
}

// ---- datastores ----

async function loadDatastores() {
  const list = items(await api('GET', '/api/v1/datastores'), 'datastores');
  const full = await Promise.all(list.map(async (d) => (d.capacity === undefined
    ? { ...d, ...(await api('GET', '/api/v1/datastores/' + enc(d.name))) } : d)));
  state.datastores = full;
  if (!state.datastore || !full.some((d) => d.name === state.datastore)) {
    state.datastore = full.length ? full[0].name : null;
  }
  const picker = document.getElementById('datastore');
  picker.replaceChildren(...full.map((d) => h('option', { value: d.name, selected: d.name === state.datastore }, d.name)));
  document.getElementById('datastore-picker').hidden = full.length < 2;
}

function meter(label, value, whole, text, thresholds) {
  const p = pct(value, whole);
  const fill = h('div', { class: 'fill' });
  fill.style.width = Math.min(100, p).toFixed(2) + '%';
  const bar = h('div', { class: 'bar', 'data-percent': p.toFixed(1) }, fill);
  if (thresholds) {
    if (p >= thresholds.critical) fill.classList.add('critical');
    else if (p >= thresholds.warning) fill.classList.add('warning');
    for (const [level, at] of Object.entries(thresholds)) {
      const tick = h('div', { class: 'tick ' + level, title: `${level} at ${at}%` });
      tick.style.left = `calc(${at}% - 1px)`;
      bar.append(tick);
    }
  }
  return h('div', { class: 'meter', 'data-meter': label }, h('span', {}, label), bar, h('span', { class: 'muted' }, text));
}

function renderDatastores() {
  const body = document.querySelector('#datastores .body');
  if (state.missing.has('datastores')) return body.replaceChildren(missingNote());
  body.replaceChildren(...state.datastores.map((d) => {
    const thresholds = { warning: d.warningPercent ?? 80, critical: d.criticalPercent ?? 95 };
    const alarms = items(d.alarms, 'alarms');
    return h('div', { class: 'datastore', 'data-datastore': d.name },
      h('h3', {}, d.name, ' ', h('span', { class: 'muted' }, d.path || '')),
      meter('Allocated', d.allocated, d.capacity, `${bytes(d.allocated)} of ${bytes(d.capacity)} (${pct(d.allocated, d.capacity).toFixed(1)}%)`, thresholds),
      d.used !== undefined ? meter('Used', d.used, d.capacity, `${bytes(d.used)} on disk, cleaner included`, thresholds) : null,
      meter('Provisioned', d.provisioned, d.capacity, `${bytes(d.provisioned)} · overcommit ${(d.overcommitRatio ?? pct(d.provisioned, d.capacity) / 100).toFixed(2)}×`),
      h('p', { class: 'muted' }, `${d.volumes ?? '?'} volume${d.volumes === 1 ? '' : 's'} · warning at ${thresholds.warning}% · critical at ${thresholds.critical}%`),
      alarms.length
        ? alarms.map((a) => h('div', { class: 'alarm ' + String(a.level).toLowerCase() },
          `${a.level}: ${a.message}`, a.raisedAt ? h('span', { class: 'muted' }, ` (since ${when(a.raisedAt)})`) : null))
        : h('div', { class: 'alarm none' }, 'No alarms'));
  }));
}

// ---- volumes, snapshots, clones ----

async function loadVolumes() {
  state.volumes = items(await api('GET', ds('/api/v1/volumes')), 'volumes');
  try {
    state.snapshots = items(await api('GET', ds('/api/v1/snapshots')), 'snapshots');
  } catch (e) {
    if (!e.noRoute) throw e;
    // No all-volumes listing: ask each volume that has snapshots.
    const per = await Promise.all(state.volumes.filter((v) => v.snapshots !== 0).map(async (v) =>
      items(await api('GET', ds(`/api/v1/volumes/${enc(v.name)}/snapshots`)), 'snapshots')
        .map((s) => ({ volume: v.name, ...s }))));
    state.snapshots = per.flat();
  }
}

function toggleForm(key) {
  state.openForm = state.openForm === key ? null : key;
  draw('volumes', true);
  const input = document.querySelector(`form[data-form="${CSS.escape(key)}"] input`);
  if (input) input.focus();
}

function redrawIfStale() {
  // After the blur settles: focus may be moving to another field of the same form.
  setTimeout(() => { if (state.volumesStale) draw('volumes', true); }, 0);
}

function defaultSnapshotName() {
  const d = new Date();
  const two = (n) => String(n).padStart(2, '0');
  return `snap-${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}-${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;
}

function snapshotForm(volume) {
  const key = 'snapshot:' + volume;
  if (state.openForm !== key) return null;
  const input = h('input', { name: 'snapshot', value: defaultSnapshotName(), required: true, 'aria-label': 'snapshot name' });
  return h('form', {
    class: 'inline', 'data-form': key, onfocusout: redrawIfStale,
    onsubmit: (e) => {
      e.preventDefault();
      state.openForm = null;
      act(`snapshot ${volume}@${input.value} taken`,
        () => api('POST', ds(`/api/v1/volumes/${enc(volume)}/snapshots`), { name: input.value }));
    },
  }, input, h('button', { type: 'submit' }, 'Take snapshot'), h('button', { type: 'button', onclick: () => toggleForm(key) }, 'Cancel'));
}

function cloneForm(volume, snap) {
  const key = `clone:${volume}@${snap}`;
  if (state.openForm !== key) return null;
  const name = h('input', { name: 'clone', placeholder: 'clone name', required: true, 'aria-label': 'clone name' });
  const count = h('input', { name: 'count', type: 'number', min: 1, max: 10000, value: 1, 'aria-label': 'how many clones' });
  return h('form', {
    class: 'inline', 'data-form': key, onfocusout: redrawIfStale,
    onsubmit: (e) => {
      e.preventDefault();
      state.openForm = null;
      const n = parseInt(count.value, 10) || 1;
      const body = n > 1 ? { name: name.value, count: n } : { name: name.value };
      act(`clone of ${volume}@${snap} started`,
        () => api('POST', ds(`/api/v1/volumes/${enc(volume)}/snapshots/${enc(snap)}/clones`), body));
    },
  }, name, count, h('button', { type: 'submit' }, 'Clone'), h('button', { type: 'button', onclick: () => toggleForm(key) }, 'Cancel'));
}

function volumeNode(v, clonesOf, snapsOf, seen) {
  seen.add(v.name);
  const snaps = (snapsOf.get(v.name) || []).slice().sort((a, b) => String(a.created).localeCompare(String(b.created)));
  const node = h('div', { class: 'node ' + (v.parent ? 'clone' : 'volume'), 'data-volume': v.name },
    h('span', { class: 'kind' }, v.parent ? 'clone' : 'volume'),
    h('span', { class: 'name' }, v.name),
    h('span', { class: 'muted' }, `${bytes(v.size)} · ${bytes(v.allocated)} allocated`),
    v.parent ? h('span', { class: 'muted' }, `from ${v.parent}`) : null,
    h('button', { type: 'button', 'data-action': 'snapshot', onclick: () => toggleForm('snapshot:' + v.name) }, 'Snapshot'),
    h('button', {
      type: 'button', class: 'danger', 'data-action': 'delete',
      onclick: () => {
        const recursive = snaps.length > 0;
        if (!confirm(`Delete volume ${v.name}${recursive ? ` and its ${snaps.length} snapshot(s)` : ''}?`)) return;
        act(`volume ${v.name} deleted`,
          () => api('DELETE', ds(`/api/v1/volumes/${enc(v.name)}` + (recursive ? '?recursive=true' : ''))));
      },
    }, 'Delete'));
  const children = snaps.map((s) => {
    const ref = `${v.name}@${s.name}`;
    const clones = (clonesOf.get(ref) || []).filter((c) => !seen.has(c.name));
    return h('li', {},
      h('div', { class: 'node snapshot', 'data-snapshot': ref },
        h('span', { class: 'kind' }, 'snapshot'),
        h('span', { class: 'name' }, s.name),
        h('span', { class: 'muted' }, `${when(s.created)}${s.unique !== undefined ? ` · ${bytes(s.unique)} unique` : ''}`),
        h('button', {
          type: 'button', 'data-action': 'revert',
          onclick: () => confirm(`Revert ${v.name} to ${s.name}? Changes since are lost.`)
            && act(`${v.name} reverted to ${s.name}`,
              () => api('POST', ds(`/api/v1/volumes/${enc(v.name)}/snapshots/${enc(s.name)}/revert`))),
        }, 'Revert'),
        h('button', { type: 'button', 'data-action': 'clone', onclick: () => toggleForm(`clone:${ref}`) }, 'Clone'),
        h('button', {
          type: 'button', class: 'danger', 'data-action': 'delete',
          onclick: () => confirm(`Delete snapshot ${ref}?`)
            && act(`snapshot ${ref} deleted`,
              () => api('DELETE', ds(`/api/v1/volumes/${enc(v.name)}/snapshots/${enc(s.name)}`))),
        }, 'Delete')),
      cloneForm(v.name, s.name),
      clones.length ? h('ul', {}, clones.map((c) => volumeNode(c, clonesOf, snapsOf, seen))) : null);
  });
  return h('li', {}, node, snapshotForm(v.name), children.length ? h('ul', {}, children) : null);
}

function renderVolumes() {
  const body = document.querySelector('#volumes .body');
  const active = document.activeElement;
  if (state.openForm && active && body.contains(active) && active.closest('form[data-form]')) {
    state.volumesStale = true; // redrawn when the form closes or loses focus
    return;
  }
  state.volumesStale = false;
  if (state.missing.has('volumes')) return body.replaceChildren(missingNote());
  const byName = new Map(state.volumes.map((v) => [v.name, v]));
  const snapsOf = new Map();
  for (const s of state.snapshots) {
    if (!snapsOf.has(s.volume)) snapsOf.set(s.volume, []);
    snapsOf.get(s.volume).push(s);
  }
  const clonesOf = new Map();
  const snapRefs = new Set(state.snapshots.map((s) => `${s.volume}@${s.name}`));
  const roots = [];
  for (const v of state.volumes) {
    if (v.parent && snapRefs.has(v.parent) && byName.has(v.parent.split('@')[0])) {
      if (!clonesOf.has(v.parent)) clonesOf.set(v.parent, []);
      clonesOf.get(v.parent).push(v);
    } else {
      roots.push(v); // a plain volume, or a clone whose parent is not listed
    }
  }
  const seen = new Set();
  const trees = roots.map((v) => volumeNode(v, clonesOf, snapsOf, seen));
  // Anything left (a cycle in bad data) still shows, flat.
  for (const v of state.volumes) if (!seen.has(v.name)) trees.push(volumeNode(v, new Map(), snapsOf, seen));
  body.replaceChildren(trees.length ? h('ul', { class: 'tree' }, trees) : h('p', { class: 'empty' }, 'No volumes yet.'));
}

// ---- jobs ----

function jobId(d) {
  return d.id ?? d.jobId ?? (typeof d.job === 'string' ? d.job : undefined);
}

async function loadJobs() {
  const list = items(await api('GET', ds('/api/v1/jobs?limit=50')), 'jobs');
  state.jobs = new Map(list.map((j) => [j.id, normalizeJob(j)]));
}

/** Merges what an event says about a job; true if the job was known. */
function mergeJob(d) {
  const job = typeof d.job === 'object' && d.job !== null ? d.job : d;
  const id = jobId(job);
  if (id === undefined) return false;
  const known = state.jobs.has(id);
  state.jobs.set(id, normalizeJob({ ...(state.jobs.get(id) || {}), ...job, id }));
  return known;
}

/** Returns the job with its state in the API's lower case, whatever case the server sent. */
function normalizeJob(j) {
  return typeof j.state === 'string' ? { ...j, state: j.state.toLowerCase() } : j;
}

function progressOf(j) {
  if (j.state === 'succeeded') return 100;
  return j.total > 0 ? Math.min(100, pct(j.done, j.total)) : 0;
}

/** Builds a job's row once; updateJobRow fills it in, so progress events never replace it under a click. */
function jobRow(j) {
  const fill = h('div', { class: 'fill' });
  const bar = h('div', { class: 'bar' }, fill);
  const pctText = h('span', { class: 'pct' });
  const stateBadge = h('span', { class: 'state' });
  const error = h('div', { class: 'muted' });
  const detail = h('div', { class: 'muted' });
  const action = h('td', {});
  const row = h('tr', { 'data-job': j.id },
    h('td', {}, h('code', {}, String(j.id))),
    h('td', {}, j.kind || ''),
    h('td', {}, j.target || ''),
    h('td', {}, stateBadge, error),
    h('td', {}, h('div', { class: 'progress' }, bar, pctText), detail),
    action);
  row.parts = { fill, bar, pctText, stateBadge, error, detail, action };
  return row;
}

function updateJobRow(row, j) {
  const { fill, bar, pctText, stateBadge, error, detail, action } = row.parts;
  const p = progressOf(j);
  fill.style.width = p.toFixed(1) + '%';
  bar.setAttribute('data-percent', p.toFixed(1));
  pctText.textContent = `${Math.floor(p)}%`;
  stateBadge.textContent = j.state || '?';
  stateBadge.className = 'state ' + (j.state || '');
  error.textContent = j.error || '';
  const running = j.state === 'running' || j.state === 'queued';
  detail.textContent = running && j.rate > 0
    ? `${bytes(j.rate)}/s${j.etaSeconds >= 0 ? ', ' + duration(j.etaSeconds) + ' left' : ''}` : '';
  if (running && !action.firstChild) {
    action.append(h('button', {
      type: 'button', class: 'danger', 'data-action': 'cancel',
      onclick: () => act(`job ${j.id} cancelled`, () => api('POST', `/api/v1/jobs/${enc(j.id)}/cancel`), refreshJobs),
    }, 'Cancel'));
  } else if (!running && action.firstChild) {
    action.replaceChildren();
  }
}

function renderJobs() {
  const body = document.querySelector('#jobs .body');
  if (state.missing.has('jobs')) return body.replaceChildren(missingNote());
  const jobs = [...state.jobs.values()].sort((a, b) => String(b.created).localeCompare(String(a.created)));
  if (!jobs.length) return body.replaceChildren(h('p', { class: 'empty' }, 'No jobs.'));
  let tbody = body.querySelector('tbody');
  if (!tbody) {
    tbody = h('tbody', {});
    body.replaceChildren(h('table', {},
      h('thead', {}, h('tr', {}, ['Job', 'Kind', 'Target', 'State', 'Progress', ''].map((t) => h('th', {}, t)))), tbody));
  }
  const existing = new Map([...tbody.children].map((r) => [r.getAttribute('data-job'), r]));
  const rows = jobs.map((j) => {
    const row = existing.get(String(j.id)) || jobRow(j);
    updateJobRow(row, j);
    return row;
  });
  if (rows.length !== tbody.children.length || rows.some((r, i) => tbody.children[i] !== r)) tbody.replaceChildren(...rows);
}

// ---- VMs and pools ----

async function loadVms() {
  state.vms = items(await api('GET', ds('/api/v1/vms')), 'vms');
}

/** Draws a VM's snapshot tree from each snapshot's parent; the current one is marked. */
function vmSnapshotTree(vm) {
  const snaps = Array.isArray(vm.snapshots) ? vm.snapshots : [];
  if (!snaps.length) return h('span', { class: 'muted' }, 'no snapshots');
  const names = new Set(snaps.map((s) => s.name));
  const children = new Map();
  for (const s of snaps) {
    const parent = s.parent && names.has(s.parent) ? s.parent : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(s);
  }
  const seen = new Set();
  const node = (s) => {
    seen.add(s.name);
    const kids = (children.get(s.name) || []).filter((k) => !seen.has(k.name));
    return h('li', {},
      h('div', { class: 'node snapshot', 'data-vm-snapshot': `${vm.name}@${s.name}` },
        h('span', { class: 'name' }, s.name),
        s.name === vm.current ? h('span', { class: 'kind' }, 'current') : null,
        s.description ? h('span', { class: 'muted' }, s.description) : null,
        h('span', { class: 'muted' }, when(s.created))),
      kids.length ? h('ul', {}, kids.map(node)) : null);
  };
  return h('ul', { class: 'tree' }, (children.get(null) || []).map(node));
}

function renderVms() {
  const body = document.querySelector('#vms .body');
  if (state.missing.has('vms')) return body.replaceChildren(missingNote());
  const vms = state.vms || [];
  if (!vms.length) return body.replaceChildren(h('p', { class: 'empty' }, 'No VMs.'));
  body.replaceChildren(h('table', {},
    h('thead', {}, h('tr', {}, ['VM', 'Disks', 'Snapshots'].map((t) => h('th', {}, t)))),
    h('tbody', {}, vms.map((vm) => h('tr', { 'data-vm': vm.name },
      h('td', {}, vm.name),
      h('td', {}, (vm.disks || []).join(', ')),
      h('td', {}, Array.isArray(vm.snapshots) ? vmSnapshotTree(vm) : String(vm.snapshots ?? '')))))));
}

async function loadPools() {
  const list = items(await api('GET', ds('/api/v1/pools')), 'pools');
  // The list may carry only names; the space-savings report is on each pool.
  state.pools = await Promise.all(list.map(async (p) => (p.provisioned === undefined && p.space === undefined
    ? { ...p, ...(await api('GET', ds('/api/v1/pools/' + enc(p.name)))) } : p)));
}

function renderPools() {
  const body = document.querySelector('#pools .body');
  if (state.missing.has('pools')) return body.replaceChildren(missingNote());
  const pools = state.pools || [];
  if (!pools.length) return body.replaceChildren(h('p', { class: 'empty' }, 'No desktop pools.'));
  body.replaceChildren(h('table', {},
    h('thead', {}, h('tr', {}, ['Pool', 'Base', 'Desktops', 'Full copies', 'Allocated', 'Savings'].map((t) => h('th', {}, t)))),
    h('tbody', {}, pools.map((raw) => {
      const p = { ...raw, ...(raw.space || {}) }; // the space-savings report, nested or not
      const saved = p.provisioned > 0 ? Math.max(0, p.provisioned - p.allocated) : 0;
      return h('tr', { 'data-pool': p.name },
        h('td', {}, p.name),
        h('td', {}, p.base || ''),
        h('td', { class: 'num' }, Array.isArray(p.desktops) ? p.desktops.length : (p.desktops ?? '')),
        h('td', { class: 'num' }, bytes(p.provisioned)),
        h('td', { class: 'num' }, bytes(p.allocated)),
        h('td', { class: 'num' }, p.provisioned > 0
          ? `${bytes(saved)} (${pct(saved, p.provisioned).toFixed(0)}%, ${(p.ratio ?? p.provisioned / Math.max(1, p.allocated)).toFixed(1)}×)`
          : '—'));
    }))));
}

// ---- exports ----

async function loadExports() {
  state.exports = items(await api('GET', '/api/v1/exports'), 'exports');
}

function renderExports() {
  const body = document.querySelector('#exports .body');
  if (state.missing.has('exports')) return body.replaceChildren(missingNote());
  const exports = state.exports || [];
  if (!exports.length) return body.replaceChildren(h('p', { class: 'empty' }, 'No exports.'));
  body.replaceChildren(h('table', {},
    h('thead', {}, h('tr', {}, ['Export', 'Serves', 'Mode', 'Connected clients'].map((t) => h('th', {}, t)))),
    h('tbody', {}, exports.map((x) => {
      const clients = items(x.clients, 'clients');
      return h('tr', { 'data-export': x.name },
        h('td', {}, x.name),
        h('td', {}, x.spec || x.volume || ''),
        h('td', {}, x.readOnly ? 'read-only' : 'read-write'),
        h('td', {}, clients.length
          ? h('ul', {}, clients.map((c) => h('li', { 'data-client': c.remote || '' }, c.remote || JSON.stringify(c),
            c.tls ? ' (TLS)' : '',
            c.connectedSince ? h('span', { class: 'muted' }, ` since ${when(c.connectedSince)}`) : null,
            typeof c.bytesRead === 'number'
              ? h('span', { class: 'muted' }, ` · read ${bytes(c.bytesRead)}, wrote ${bytes(c.bytesWritten)}`) : null)))
          : h('span', { class: 'muted' }, 'none')));
    }))));
}

// ---- events ----

function describe(e) {
  const d = e.data || {};
  let what;
  if (e.type.startsWith('job.')) {
    const j = typeof d.job === 'object' && d.job !== null ? d.job : d;
    what = [j.kind, j.target, j.state ? String(j.state).toLowerCase() : '', j.error || ''].filter(Boolean).join(' ');
  } else if ((d.volume || d.vm) && (d.snapshot || (e.type.includes('snapshot') && d.name))) {
    what = `${d.volume || d.vm}@${d.snapshot || d.name}`;
  } else if (e.type === 'clone.created' && d.parent) {
    what = `${d.count ?? (d.names || []).length} from ${d.parent}`;
  } else if (e.type.startsWith('alarm.')) {
    what = [d.level, d.message].filter(Boolean).join(': ');
  } else {
    what = d.name || d.names || d.volume || d.vm || d.export || d.remote || d.target || d.message || '';
    if (d.reason) what = `${what}: ${d.reason}`;
  }
  if (Array.isArray(what)) what = what.join(', ');
  return [e.datastore ? `${e.datastore}:` : '', typeof what === 'string' ? what : JSON.stringify(what)].join(' ').trim();
}

function renderEvents() {
  const body = document.querySelector('#events .body');
  const shown = state.events.filter((e) => e.type !== 'job.progress').slice(-50).reverse();
  if (!shown.length) return body.replaceChildren(h('li', { class: 'empty' }, 'No events yet.'));
  body.replaceChildren(...shown.map((e) => h('li', { 'data-event': e.type },
    h('time', {}, e.time ? toDate(e.time).toLocaleTimeString() : ''),
    h('span', { class: 'type' }, e.type),
    h('span', {}, describe(e)))));
}

function remember(e) {
  if (e.id && Number(e.id) <= state.lastEventId) return false;
  if (e.id) state.lastEventId = Number(e.id);
  state.events.push(e);
  if (state.events.length > MAX_EVENTS) state.events.splice(0, state.events.length - MAX_EVENTS);
  return true;
}

const pending = new Set();
let flushTimer = null;

/** Reloads the named sections soon, once, however many events ask for it. */
function soon(...sections) {
  sections.forEach((s) => pending.add(s));
  if (flushTimer) return;
  flushTimer = setTimeout(async () => {
    flushTimer = null;
    const todo = [...pending];
    pending.clear();
    await refresh(todo);
  }, 250);
}

function onEvent(e) {
  if (!remember(e)) return;
  const d = e.data || {};
  if (e.type.startsWith('job.')) {
    const known = mergeJob(d);
    draw('jobs');
    if (!known || e.type === 'job.state') soon('jobs');
    if (e.type === 'job.state' && ['succeeded', 'failed', 'cancelled'].includes(String(d.state).toLowerCase())) soon('volumes', 'datastores', 'pools');
  } else if (e.type.startsWith('alarm.') || e.type.startsWith('datastore.')) {
    soon('datastores');
  } else if (e.type.startsWith('volume.') || e.type.startsWith('snapshot.') || e.type.startsWith('clone.')) {
    soon('volumes', 'datastores');
  } else if (e.type.startsWith('export.') || e.type.startsWith('nbd.')) {
    soon('exports');
  } else if (e.type.startsWith('vm.') || e.type.startsWith('pool.')) {
    soon('vms', 'pools', 'volumes', 'datastores'); // a VM's disks are volumes
  }
  if (e.type !== 'job.progress') draw('events');
}

/** Turns an SSE message into an event; the data is the event, or only its data. */
function parseMessage(msg) {
  let data;
  try { data = JSON.parse(msg.data); } catch (err) { return null; }
  if (data && typeof data.type === 'string' && 'data' in data) return data;
  return { id: msg.lastEventId, type: msg.type === 'message' ? 'event' : msg.type, time: new Date().toISOString(), data };
}

let stream = null;
let pollTimer = null;
let refreshTimer = null;
let streamWasOpen = false;

/** Resolves once the event stream is open, or after {@code millis} (a daemon without one). */
function streamOpen(millis) {
  return new Promise((resolve) => {
    if (stream.readyState === EventSource.OPEN) return resolve();
    stream.addEventListener('open', resolve, { once: true });
    setTimeout(resolve, millis);
  });
}

function connectEvents() {
  const badge = document.getElementById('stream');
  if (stream) stream.close();
  stream = new EventSource('/api/v1/events' + (state.lastEventId ? '?after=' + state.lastEventId : ''));
  const handle = (msg) => {
    const e = parseMessage(msg);
    if (e) onEvent(e);
  };
  stream.onmessage = handle;
  for (const t of EVENT_TYPES) stream.addEventListener(t, handle);
  stream.onopen = () => {
    badge.textContent = 'events: live';
    badge.className = 'stream on';
    // After a reconnect, reload what the events missed while the stream was down.
    if (streamWasOpen) soon(...Object.keys(SECTIONS));
    streamWasOpen = true;
  };
  stream.onerror = () => {
    badge.textContent = 'events: reconnecting';
    badge.className = 'stream off';
    // EventSource retries by itself; meanwhile poll the jobs so progress still moves.
  };
  clearInterval(pollTimer);
  pollTimer = setInterval(() => {
    if (stream.readyState !== EventSource.OPEN) refresh(['jobs']);
  }, 2000);
}

async function loadRecentEvents() {
  const list = items(await api('GET', '/api/v1/events/recent' + (state.lastEventId ? '?after=' + state.lastEventId : '')), 'events');
  for (const e of list) remember(e);
}

// ---- refresh ----

// Each section: how it loads, how it draws, and what its drawing depends on.
const SECTIONS = {
  datastores: [loadDatastores, renderDatastores, () => [state.datastore, state.datastores]],
  volumes: [loadVolumes, renderVolumes, () => [state.datastore, state.volumes, state.snapshots, state.openForm, state.volumesStale]],
  jobs: [loadJobs, renderJobs, () => [...state.jobs.values()]],
  vms: [loadVms, renderVms, () => state.vms],
  pools: [loadPools, renderPools, () => state.pools],
  exports: [loadExports, renderExports, () => state.exports],
  events: [loadRecentEvents, renderEvents, () => [state.lastEventId, state.events.length]],
};

// What each section was last drawn from: a periodic reload that brings nothing new
// leaves the page's DOM alone, so an open dashboard costs its browser nothing between changes.
const drawnFrom = new Map();

async function refresh(names) {
  try {
    if (names.includes('datastores')) await load('datastores', loadDatastores); // picks the datastore the rest use
    await Promise.all(names.filter((n) => n !== 'datastores').map((n) => load(n, SECTIONS[n][0])));
  } catch (e) {
    if (e.status === 401) return loggedOut();
    show(e.message);
  }
  for (const n of names) draw(n);
}

function inputsOf(n) {
  return JSON.stringify([state.missing.has(n), SECTIONS[n][2]()]);
}

/** Draws section {@code n}, unless {@code force} is false and it was last drawn from the same inputs. */
function draw(n, force) {
  if (!force && drawnFrom.get(n) === inputsOf(n)) return;
  SECTIONS[n][1]();
  drawnFrom.set(n, inputsOf(n)); // after: drawing volumes may mark them stale (a form has focus)
}

function refreshAll() {
  return refresh(Object.keys(SECTIONS));
}

function refreshJobs() {
  return refresh(['jobs']);
}

function loggedOut() {
  show('');
  document.getElementById('app').hidden = true;
  document.getElementById('login').hidden = false;
  document.getElementById('logout').hidden = true;
  document.getElementById('user').textContent = '';
  if (stream) stream.close();
  clearInterval(pollTimer);
  clearInterval(refreshTimer);
}

async function start() {
  let session;
  try {
    session = await api('GET', '/api/v1/dashboard/session');
  } catch (e) {
    if (e.status === 401) return loggedOut();
    return show(e.message);
  }
  state.csrf = session.csrfToken;
  document.getElementById('user').textContent = `${session.user} (${session.scope})`;
  document.getElementById('logout').hidden = false;
  document.getElementById('app').hidden = false;
  // Listen first, then load: whatever happens in between arrives as an event, so nothing is missed.
  connectEvents();
  await streamOpen(3000);
  await refreshAll();
  // Catch what no event announces (another client's writes on a daemon without events).
  refreshTimer = setInterval(() => refresh(['datastores', 'volumes', 'jobs', 'vms', 'pools', 'exports']), 15000);
}

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('create-volume').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.target;
    const name = form.elements.name.value.trim();
    let size;
    try {
      size = parseSize(form.elements.size.value);
    } catch (err) {
      return show(err.message);
    }
    act(`volume ${name} created`, async () => {
      await api('POST', ds('/api/v1/volumes'), { name, size });
      form.reset();
    });
  });
  document.getElementById('datastore').addEventListener('change', (e) => {
    state.datastore = e.target.value;
    state.openForm = null;
    refresh(['volumes', 'jobs', 'vms', 'pools']);
  });
  document.getElementById('logout').addEventListener('click', async () => {
    try {
      await api('DELETE', '/api/v1/dashboard/session');
    } finally {
      loggedOut();
    }
  });
  start();
});
