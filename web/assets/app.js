// tapflow NOC console. Everything on the page comes from POST /v1/query;
// the console has no other data source and writes nothing.
'use strict';

const API = '/v1/query';
const DB = 'flow_log';
const REFRESH_MS = 5000;
const BUCKET_S = 10;

// Every SQL statement the console sends, by name. They must run on
// ClickHouse 18.16 (no toStartOfInterval, WITH FILL or window functions).
// {start} and {end} are replaced by integer Unix seconds in bind(); nothing
// else is ever spliced into SQL. Keep these as plain `...` literals without
// ${}: web_test.go parses this object to check and run every statement.
//
// window: the window ends now, unless the newest flow is more than 300 s old
// (a replayed capture, or capture stopped), in which case it ends at the
// newest flow so the panels show data instead of an empty window.
// Aliases never reuse a column name: ClickHouse aliases are visible in the
// whole query, so sum(bytes_tx) AS bytes_tx would refer to itself.
const QUERIES = {
  window: `SELECT
  toUInt32(now()) AS now_s,
  toUInt32((SELECT max(time) FROM flow_log.l4_flow_log)) AS newest_s,
  newest_s + 300 < now_s AS replay,
  if(replay, newest_s, now_s) AS end_s`,

  throughput: `SELECT
  intDiv(toUInt32(time), 10) * 10 AS bucket,
  sum(bytes_tx + bytes_rx) AS bytes,
  sum(packets_tx + packets_rx) AS packets
FROM flow_log.l4_flow_log
WHERE time >= toDateTime({start}) AND time < toDateTime({end})
GROUP BY bucket
ORDER BY bucket`,

  totals: `SELECT
  uniqExact(flow_id) AS flows,
  sum(packets_tx + packets_rx) AS packets,
  sum(bytes_tx + bytes_rx) AS bytes
FROM flow_log.l4_flow_log
WHERE time >= toDateTime({start}) AND time < toDateTime({end})`,

  // One row per flow: a long flow is reported once a minute, and its
  // reports in the window are summed.
  topFlows: `SELECT
  any(proto) AS ip_proto,
  any(if(is_ipv4, IPv4NumToString(client_ip4), IPv6NumToString(client_ip6))) AS client,
  any(client_port) AS cport,
  any(if(is_ipv4, IPv4NumToString(server_ip4), IPv6NumToString(server_ip6))) AS server,
  any(server_port) AS sport,
  any(vlan) AS vlan_id,
  sum(packets_tx) AS pkts_tx,
  sum(packets_rx) AS pkts_rx,
  sum(bytes_tx) AS octets_tx,
  sum(bytes_rx) AS octets_rx,
  max(rtt_us) AS rtt,
  argMax(close_type, time) AS last_close,
  toUInt32(min(start_time)) AS start_s,
  toUInt32(max(end_time)) AS end_s
FROM flow_log.l4_flow_log
WHERE time >= toDateTime({start}) AND time < toDateTime({end})
GROUP BY flow_id
ORDER BY octets_tx + octets_rx DESC, flow_id
LIMIT 20`,

  // L7 request logs per protocol, request type and endpoint (RED):
  // response_status 2 timeout, 3 server error, 4 client error; the
  // response time of paired sessions (type 2) only.
  topL7: `SELECT
  l7_protocol_str AS l7,
  request_type AS rtype,
  endpoint AS ep,
  count() AS requests,
  countIf(response_status = 3) AS server_errors,
  countIf(response_status = 4) AS client_errors,
  countIf(response_status = 2) AS timeouts,
  toUInt64(avgIf(response_duration, type = 2)) AS rrt_avg,
  max(response_duration) AS rrt_max
FROM flow_log.l7_flow_log
WHERE time >= toDateTime({start}) AND time < toDateTime({end})
GROUP BY l7, rtype, ep
ORDER BY requests DESC, l7, rtype, ep
LIMIT 20`,
};

const PROTOS = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp' };

// flowtable.CloseType numbering (DeepFlow's).
const CLOSE_TYPES = {
  0: 'unknown', 1: 'fin', 2: 'server rst', 3: 'timeout', 5: 'forced report',
  7: 'client syn repeat', 8: 'server half-close', 9: 'client rst',
  10: 'server syn-ack repeat', 11: 'client half-close', 13: 'client port reuse',
  15: 'server reset', 17: 'server queue lack', 18: 'server no response',
  19: 'client no response', 20: 'client establish rst',
};

const state = { minutes: 15, paused: false, timer: 0, seq: 0 };
const $ = (id) => document.getElementById(id);

// ---- query API -------------------------------------------------------------

class QueryError extends Error {
  constructor(name, message) {
    super(`${name}: ${message}`);
  }
}

function bind(sql, params) {
  return sql.replace(/\{(\w+)\}/g, (_, key) => {
    const v = params[key];
    if (!Number.isSafeInteger(v)) {
      throw new Error(`query parameter ${key} must be an integer, got ${v}`);
    }
    return String(v);
  });
}

// query runs the named statement and returns its rows as objects keyed by
// column name. Any failure becomes a QueryError naming the query.
async function query(name, params = {}) {
  const sql = bind(QUERIES[name], params);
  let resp;
  try {
    resp = await fetch(API, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ db: DB, sql }),
    });
  } catch (e) {
    throw new QueryError(name, `network error: ${e.message}`);
  }
  const text = await resp.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch (e) {
    // Not JSON: reported below with the raw text.
  }
  if (!resp.ok || (body && body.error)) {
    const msg = (body && body.error) || text.trim().slice(0, 300) || resp.statusText;
    throw new QueryError(name, `HTTP ${resp.status}: ${msg}`);
  }
  if (!body || !Array.isArray(body.columns) || !Array.isArray(body.values)) {
    throw new QueryError(name, 'malformed response, want {"columns": [...], "values": [...]}');
  }
  return body.values.map((row) => Object.fromEntries(body.columns.map((c, i) => [c, row[i]])));
}

// ---- formatting ------------------------------------------------------------

// UInt64 may arrive as a JSON string; Number() takes both.
const num = (v) => Number(v) || 0;

function si(v, unit) {
  const prefixes = ['', 'k', 'M', 'G', 'T', 'P'];
  let i = 0;
  while (Math.abs(v) >= 1000 && i < prefixes.length - 1) {
    v /= 1000;
    i++;
  }
  const digits = v >= 100 || Number.isInteger(v) ? 0 : 1;
  return `${v.toFixed(digits)} ${prefixes[i]}${unit}`;
}

const count = (v) => num(v).toLocaleString('en-US');
// ms shows µs as milliseconds with two decimals, '–' for none.
const ms = (us) => (num(us) ? (num(us) / 1000).toFixed(2) : '–');
const iso = (s) => new Date(s * 1000).toISOString();
const clock = (s) => iso(s).slice(11, 19);
const dateTime = (s) => `${iso(s).slice(0, 10)} ${clock(s)}`;

function endpoint(ip, port, proto) {
  const host = String(ip).includes(':') ? `[${ip}]` : String(ip);
  return proto === 6 || proto === 17 || proto === 132 ? `${host}:${port}` : host;
}

// ---- rendering ---------------------------------------------------------------

function showErrors(errors) {
  const banner = $('error-banner');
  banner.textContent = errors.length ? `Query API error\n${errors.join('\n')}` : '';
  banner.hidden = errors.length === 0;
}

function renderMode(w) {
  const el = $('data-mode');
  if (w.newest === 0) {
    el.textContent = 'no flow data yet';
    el.className = 'mode';
  } else if (w.replay) {
    el.textContent = `replay data from ${dateTime(w.newest)} UTC`;
    el.className = 'mode replay';
  } else {
    el.textContent = 'live';
    el.className = 'mode live';
  }
}

function renderTotals(rows) {
  const t = rows[0] || {};
  $('total-flows').textContent = count(t.flows);
  $('total-packets').textContent = count(t.packets);
  $('total-bytes').textContent = si(num(t.bytes), 'B');
}

function td(text, cls, title) {
  const cell = document.createElement('td');
  cell.textContent = text;
  if (cls) cell.className = cls;
  if (title) cell.title = title;
  return cell;
}

function renderTopFlows(rows) {
  const body = $('top-flows-body');
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = body.insertRow();
    tr.className = 'empty';
    const cell = td('no flows in this window');
    cell.colSpan = 12;
    tr.append(cell);
    return;
  }
  for (const r of rows) {
    const proto = num(r.ip_proto);
    const rtt = num(r.rtt);
    const close = num(r.last_close);
    const tr = body.insertRow();
    tr.append(
      td(PROTOS[proto] || String(proto)),
      td(endpoint(r.client, num(r.cport), proto)),
      td(endpoint(r.server, num(r.sport), proto)),
      td(String(num(r.vlan_id)), 'num'),
      td(count(r.pkts_tx), 'num'),
      td(count(r.pkts_rx), 'num'),
      td(si(num(r.octets_tx), 'B'), 'num', count(r.octets_tx)),
      td(si(num(r.octets_rx), 'B'), 'num', count(r.octets_rx)),
      td(ms(rtt), 'num'),
      td(CLOSE_TYPES[close] || String(close), '', `close_type ${close}`),
      td(clock(num(r.start_s)), '', `${dateTime(num(r.start_s))} UTC`),
      td(clock(num(r.end_s)), '', `${dateTime(num(r.end_s))} UTC`),
    );
  }
}

function renderL7(rows) {
  const body = $('l7-body');
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = body.insertRow();
    tr.className = 'empty';
    const cell = td('no L7 requests in this window');
    cell.colSpan = 9;
    tr.append(cell);
    return;
  }
  for (const r of rows) {
    const tr = body.insertRow();
    tr.append(
      td(String(r.l7)),
      td(String(r.rtype)),
      td(String(r.ep) || '–'),
      td(count(r.requests), 'num'),
      td(count(r.server_errors), num(r.server_errors) ? 'num bad' : 'num'),
      td(count(r.client_errors), num(r.client_errors) ? 'num warn' : 'num'),
      td(count(r.timeouts), num(r.timeouts) ? 'num warn' : 'num'),
      td(ms(r.rrt_avg), 'num'),
      td(ms(r.rrt_max), 'num'),
    );
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
function niceCeil(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].find((m) => m * p >= v) * p;
}

// lineChart draws one series over the bucket times as an SVG line chart.
function lineChart(times, values, { title, cls, unit }) {
  const W = 1200, H = 160, L = 70, R = 12, T = 22, B = 20;
  const pw = W - L - R, ph = H - T - B;
  const peak = Math.max(0, ...values);
  const top = niceCeil(peak);
  const x = (i) => L + (times.length > 1 ? (i * pw) / (times.length - 1) : pw / 2);
  const y = (v) => T + ph - (v / top) * ph;

  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  root.append(svg('text', { x: L, y: 14, class: 'title' },
    `${title} — peak ${si(peak, unit)}`));
  for (const frac of [0, 0.5, 1]) {
    const gy = y(top * frac);
    root.append(
      svg('line', { x1: L, x2: W - R, y1: gy, y2: gy, class: 'grid' }),
      svg('text', { x: L - 6, y: gy + 4, 'text-anchor': 'end', class: 'axis' }, si(top * frac, unit)),
    );
  }
  const last = times.length - 1;
  for (const [i, anchor] of [[0, 'start'], [Math.floor(last / 2), 'middle'], [last, 'end']]) {
    root.append(svg('text', { x: x(i), y: H - 4, 'text-anchor': anchor, class: 'axis' }, clock(times[i])));
  }
  const line = values.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const base = y(0).toFixed(1);
  root.append(
    svg('path', { d: `${line} L${x(last).toFixed(1)},${base} L${x(0).toFixed(1)},${base} Z`, class: `area ${cls}` }),
    svg('path', { d: line, class: `line ${cls}` }),
  );
  return root;
}

function renderThroughput(rows, w) {
  const byBucket = new Map(rows.map((r) => [num(r.bucket), r]));
  const times = [], bps = [], pps = [];
  // No WITH FILL on 18.16: empty buckets are filled with zeros here.
  for (let t = w.start; t < w.end; t += BUCKET_S) {
    const r = byBucket.get(t);
    times.push(t);
    bps.push(r ? (num(r.bytes) * 8) / BUCKET_S : 0);
    pps.push(r ? num(r.packets) / BUCKET_S : 0);
  }
  $('throughput-range').textContent =
    `${dateTime(w.start)} – ${clock(w.end)} UTC, ${BUCKET_S} s buckets`;
  $('throughput-chart').replaceChildren(
    lineChart(times, bps, { title: 'bits/s', cls: 'bps', unit: 'b/s' }),
    lineChart(times, pps, { title: 'packets/s', cls: 'pps', unit: 'p/s' }),
  );
}

function renderEmpty() {
  renderTotals([]);
  renderTopFlows([]);
  renderL7([]);
  $('throughput-range').textContent = '';
  $('throughput-chart').textContent = 'no flow data yet';
}

// ---- refresh loop ----------------------------------------------------------

// The elements that show query results. A panel whose query failed keeps
// its last data, dimmed, beside the error banner.
const PANELS = ['total-values', 'throughput', 'top-flows', 'l7'];

function settle(result, panel, render, errors) {
  const failed = result.status !== 'fulfilled';
  $(panel).classList.toggle('stale', failed);
  if (failed) errors.push(result.reason.message);
  else render(result.value);
}

// windowFor turns the window query's row into bucket-aligned bounds
// [start, end) that contain the window end.
function windowFor(row, minutes) {
  const newest = num(row.newest_s);
  const end = (Math.floor(num(row.end_s) / BUCKET_S) + 1) * BUCKET_S;
  return { newest, replay: num(row.replay) === 1, start: end - minutes * 60, end };
}

async function refresh() {
  const seq = ++state.seq;
  clearTimeout(state.timer);
  const errors = [];
  try {
    const w = windowFor((await query('window'))[0] || {}, state.minutes);
    if (seq !== state.seq) return;
    renderMode(w);
    if (w.newest === 0) {
      for (const panel of PANELS) $(panel).classList.remove('stale');
      renderEmpty();
      return finish(errors);
    }
    const p = { start: w.start, end: w.end };
    const [tp, totals, top, l7] = await Promise.allSettled([
      query('throughput', p), query('totals', p), query('topFlows', p), query('topL7', p),
    ]);
    if (seq !== state.seq) return;
    settle(tp, 'throughput', (rows) => renderThroughput(rows, w), errors);
    settle(totals, 'total-values', renderTotals, errors);
    settle(top, 'top-flows', renderTopFlows, errors);
    settle(l7, 'l7', renderL7, errors);
  } catch (e) {
    if (seq !== state.seq) return;
    for (const panel of PANELS) $(panel).classList.add('stale');
    errors.push(e.message);
  }
  finish(errors);
}

function finish(errors) {
  showErrors(errors);
  const now = clock(Date.now() / 1000);
  $('last-updated').textContent = errors.length ? `update failed ${now} UTC` : `updated ${now} UTC`;
  if (!state.paused) state.timer = setTimeout(refresh, REFRESH_MS);
}

function init() {
  state.minutes = Number($('window').value);
  $('window').addEventListener('change', (e) => {
    state.minutes = Number(e.target.value);
    refresh();
  });
  $('pause').addEventListener('click', (e) => {
    state.paused = !state.paused;
    e.target.textContent = state.paused ? 'resume' : 'pause';
    e.target.setAttribute('aria-pressed', String(state.paused));
    if (state.paused) clearTimeout(state.timer);
    else refresh();
  });
  refresh();
}

document.addEventListener('DOMContentLoaded', init);
