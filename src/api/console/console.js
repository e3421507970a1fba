// The Meridian console. Everything it shows and does goes through what any
// client of the region uses: the DynamoDB API (POST / with X-Amz-Target) and
// the admin endpoints (/status, /admin/links, /admin/clock, /admin/conflicts,
// /admin/regions, /admin/drills).
// No framework, no build step: the binary serves this file as it is.
"use strict";

const STATUS_EVERY_MS = 1000;
const TABLES_EVERY_MS = 5000;
const CHART_POINTS = 120;
const CHART_COLOURS = ["#1f5fbf", "#c4320a", "#067647", "#7a2eb8", "#b54708"];

// Errors the page met, for tests and for the notice line.
window.meridianErrors = [];
window.addEventListener("error", (e) => window.meridianErrors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => window.meridianErrors.push(String(e.reason)));

const state = {
  region: null,
  lag: new Map(), // peer -> [{at, ms}]
  tables: [], // DescribeTable results
  browse: null, // the last item request, for the next page
  linksShown: "", // the links as last drawn
  drillsShown: "", // the drill reports as last listed
  drillShown: null, // the id of the report whose timeline is shown
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- requests

/// Credentials the user typed in, kept for this tab only.
function credentials() {
  return {
    accessKey: sessionStorage.getItem("meridian.accessKey") || "",
    secretKey: sessionStorage.getItem("meridian.secretKey") || "",
    adminToken: sessionStorage.getItem("meridian.adminToken") || "",
  };
}

/// An error answered by the region: DynamoDB's `__type` and message, or an
/// admin endpoint's `error`.
class RegionError extends Error {
  constructor(type, message, status) {
    super(type ? `${type}: ${message}` : message);
    this.type = type;
    this.status = status;
  }
}

/// Calls DynamoDB operation `op` with `body`; the parsed answer, or throws
/// a RegionError.
async function dynamo(op, body) {
  const text = JSON.stringify(body);
  const headers = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": `DynamoDB_20120810.${op}`,
  };
  const creds = credentials();
  if (creds.accessKey && creds.secretKey) {
    Object.assign(headers, await sigv4(headers, text, creds));
  }
  const response = await fetch("/", { method: "POST", headers, body: text });
  const answer = await response.json();
  if (!response.ok) {
    const type = String(answer.__type || "").split("#").pop();
    const message = answer.message || answer.Message || response.statusText;
    if (/MissingAuthenticationToken|UnrecognizedClient|IncompleteSignature|InvalidSignature/.test(type)) {
      askForCredentials(`This region checks request signatures (auth = "sigv4"): ${message}. ` +
        "Enter an access key from its credentials file.");
    }
    throw new RegionError(type, message, response.status);
  }
  return answer;
}

/// GETs (or POSTs `body` to) an admin endpoint; the parsed answer, or throws.
async function admin(path, body) {
  const headers = {};
  const token = credentials().adminToken;
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { headers };
  if (body !== undefined) {
    init.method = "POST";
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const answer = await response.json();
  if (!response.ok) {
    if (response.status === 403) {
      askForCredentials(`The admin endpoints refused this page: ${answer.error}. ` +
        "Open the console from a trusted address (http://127.0.0.1:PORT/console), or enter the admin token.");
    }
    throw new RegionError("", answer.error || response.statusText, response.status);
  }
  return answer;
}

// SigV4, as the SDKs sign DynamoDB requests: the browser's WebCrypto hashes
// (available on http://127.0.0.1 and localhost, which browsers treat as secure).
const encoder = new TextEncoder();
const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
const sha256 = async (text) => hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
async function hmac(key, text) {
  const raw = typeof key === "string" ? encoder.encode(key) : key;
  const imported = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", imported, encoder.encode(text));
}

/// The `X-Amz-Date` and `Authorization` headers for a POST / with
/// `headers` and `body`, signed for this region.
async function sigv4(headers, body, creds) {
  const amzDate = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
  const day = amzDate.slice(0, 8);
  const region = state.region || sessionStorage.getItem("meridian.region") || "us-east-1";
  const signed = {
    "content-type": headers["Content-Type"],
    host: location.host,
    "x-amz-date": amzDate,
    "x-amz-target": headers["X-Amz-Target"],
  };
  const names = Object.keys(signed).sort();
  const canonical = ["POST", "/", "", ...names.map((n) => `${n}:${signed[n]}`), "", names.join(";"), await sha256(body)];
  const scope = `${day}/${region}/dynamodb/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256(canonical.join("\n"))].join("\n");
  let key = await hmac(`AWS4${creds.secretKey}`, day);
  for (const part of [region, "dynamodb", "aws4_request"]) key = await hmac(key, part);
  const signature = hex(await hmac(key, toSign));
  return {
    "X-Amz-Date": amzDate,
    Authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKey}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
  };
}

function askForCredentials(why) {
  $("credentials").hidden = false;
  $("credentials-why").textContent = why;
}

function saveCredentials(event) {
  event.preventDefault();
  sessionStorage.setItem("meridian.accessKey", $("access-key").value.trim());
  sessionStorage.setItem("meridian.secretKey", $("secret-key").value.trim());
  sessionStorage.setItem("meridian.adminToken", $("admin-token").value.trim());
  $("credentials").hidden = true;
  refreshAll();
}

// ---------------------------------------------------------------- helpers

/// Builds an element: `el("td", {class: "num"}, "12")`.
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

const num = (value) => el("td", { class: "num" }, typeof value === "number" ? fmt(value) : value ?? "");
const fmt = (n) => (Number.isInteger(n) ? n.toLocaleString("en") : n.toFixed(1));

function notice(message, isError) {
  const line = $("notice");
  line.textContent = message;
  line.className = isError ? "error" : "";
}

/// An attribute value as a short text: strings and numbers as they are,
/// anything else as its JSON.
function showValue(value) {
  if (value === undefined) return "";
  if ("S" in value) return value.S;
  if ("N" in value) return value.N;
  if ("BOOL" in value) return String(value.BOOL);
  if ("NULL" in value) return "null";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function replaceRows(tbody, rows) {
  tbody.replaceChildren(...rows);
}

// ---------------------------------------------------------------- cluster

async function refreshCluster() {
  const [status, links, clock] = await Promise.all([admin("/status"), admin("/admin/links"), admin("/admin/clock")]);
  state.region = status.region;
  sessionStorage.setItem("meridian.region", status.region);
  document.title = `Meridian ${status.region}`;
  $("region-name").textContent = status.region;
  const disk = status.disk.read_only ? " · DISK FULL: read-only" : "";
  $("region-summary").textContent =
    `${fmt(status.last_change_seq)} changes logged · ${status.write_queue} writes queued · ` +
    `clock offset ${status.clock_offset_ms} ms${disk}`;
  showPeers(status.peers);
  recordLag(status.peers);
  drawLagChart();
  showLinks(links.links || {});
  $("clock-now").textContent = `now ${clock.offset_ms} ms`;
}

function showPeers(peers) {
  replaceRows(document.querySelector("#peers tbody"), peers.map((p) => el("tr", { "data-peer": p.peer },
    el("td", {}, p.peer),
    el("td", { class: p.receiving ? "good" : "bad" }, p.receiving ? "receiving" : "NOT receiving"),
    num(p.applied), num(p.acked_seq), num(p.lag_p50_ms), num(p.lag_p99_ms),
    num(p.lag_recent_samples ? p.lag_recent_p99_ms : "-"),
    num(p.conflicts),
    el("td", { class: p.clock_alarms ? "num bad" : "num" }, fmt(p.clock_alarms)),
    num(p.resyncs))));
}

/// Keeps each peer's lag of the last second, for the chart: a second with
/// no change from the peer adds no point.
function recordLag(peers) {
  const at = Date.now();
  for (const p of peers) {
    if (!state.lag.has(p.peer)) state.lag.set(p.peer, []);
    const series = state.lag.get(p.peer);
    if (p.lag_recent_samples > 0) series.push({ at, ms: p.lag_recent_p99_ms });
    while (series.length && series[0].at < at - CHART_POINTS * STATUS_EVERY_MS) series.shift();
  }
}

/// An SVG element with its attributes (and text, if any).
function svgNode(tag, attributes = {}, text = undefined) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/// Draws `series` ([{name, points: [[x, y]]}], in order: colour i is
/// series i) into `box` ({left, top, width, height}) of a chart whose x
/// scale is `x`: an axis, the top value and `unit` at the bottom, and one
/// polyline per series (with its name and point count as data attributes).
function plot(box, series, x, unit) {
  const top = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[1]))) * 1.1;
  const bottom = box.top + box.height;
  const y = (v) => bottom - (v / top) * (box.height - 6);
  const shapes = [
    svgNode("path", { d: `M${box.left},${box.top} V${bottom} H${box.left + box.width}`, stroke: "#98a2b3", fill: "none" }),
    svgNode("text", { x: 2, y: box.top + 6 }, top.toFixed(top < 10 ? 1 : 0)),
    svgNode("text", { x: 2, y: bottom }, `0 ${unit}`),
  ];
  series.forEach((s, i) => shapes.push(svgNode("polyline", {
    points: s.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(" "),
    stroke: CHART_COLOURS[i % CHART_COLOURS.length],
    "data-series": s.name,
    "data-points": s.points.length,
  })));
  return shapes;
}

/// Legend entries for `names`, coloured as `plot` draws series in order.
function legend(names, label = (name) => name) {
  return names.map((name, i) => el("span", { class: `series${i % CHART_COLOURS.length}` }, label(name)));
}

function drawLagChart() {
  const [width, height, left, bottom] = [600, 160, 40, 14];
  const now = Date.now();
  const all = [...state.lag.values()].flat();
  // From 30 s, the window widens with the history, up to two minutes.
  const oldest = Math.min(now, ...all.map((p) => p.at));
  const span = Math.min(CHART_POINTS * STATUS_EVERY_MS, Math.max(30000, now - oldest + STATUS_EVERY_MS));
  const x = (at) => left + ((at - (now - span)) / span) * (width - left);
  const peers = [...state.lag.keys()].sort();
  const series = peers.map((peer) => ({ name: peer, points: state.lag.get(peer).map((p) => [p.at, p.ms]) }));
  const box = { left, top: 6, width: width - left, height: height - bottom - 6 };
  const shapes = plot(box, series, x, "ms");
  for (const line of shapes.filter((s) => s.tagName === "polyline")) line.setAttribute("data-peer", line.dataset.series);
  shapes.push(svgNode("text", { x: left, y: height - 2 }, `-${Math.round(span / 1000)} s`),
    svgNode("text", { x: width - 24, y: height - 2 }, "now"));
  $("lag-chart").replaceChildren(...shapes);
  $("lag-legend").replaceChildren(...legend(peers, (peer) => `${peer} → ${state.region}`));
}

// ---------------------------------------------------------------- drills

/// Shows the links, unless they are as shown already (rebuilding the rows
/// every second would wipe what the user is typing into them).
function showLinks(links) {
  const shown = JSON.stringify(links);
  if (shown === state.linksShown) return;
  state.linksShown = shown;
  replaceRows(document.querySelector("#links tbody"), Object.entries(links).map(([to, link]) => {
    const input = (name, value, step) => el("input", { type: "number", min: "0", step, value, "data-field": name });
    const row = el("tr", { "data-to": to },
      el("td", {}, to),
      el("td", { class: link.partitioned ? "bad" : "good" }, link.partitioned ? "PARTITIONED" : "connected"),
      el("td", {}, input("delay_ms", link.delay_ms, "1")),
      el("td", {}, input("jitter_ms", link.jitter_ms, "1")),
      el("td", {}, input("loss", link.loss, "0.05")),
      el("td", {}, input("bandwidth_kbps", link.bandwidth_kbps, "1")));
    const patch = (body) => changeLink(to, body);
    row.append(el("td", {},
      el("button", { type: "button", class: "partition", onclick: () => patch({ partitioned: !link.partitioned }) },
        link.partitioned ? "Heal" : "Partition"),
      " ",
      el("button", { type: "button", class: "apply", onclick: () => patch(readLinkInputs(row)) }, "Apply"),
      " ",
      el("button", { type: "button", class: "reset", onclick: () => patch({ reset: true }) }, "Reset")));
    return row;
  }));
}

/// The delay, jitter, loss and bandwidth typed into a link's row.
function readLinkInputs(row) {
  const patch = {};
  for (const input of row.querySelectorAll("input")) {
    const value = Number(input.value);
    patch[input.dataset.field] = input.dataset.field === "loss" ? value : Math.round(value);
  }
  return patch;
}

async function changeLink(to, patch) {
  try {
    await admin("/admin/links", { to, ...patch });
    notice(`link ${state.region} → ${to} changed`);
  } catch (error) {
    notice(error.message, true);
  }
  await refreshCluster().catch(reportError);
}

/// The regions, with stop, kill, start and pause buttons when `meridian up`
/// runs this region (the region passes the commands on to it).
async function showRegions() {
  const answer = await admin("/admin/regions");
  $("up-hint").textContent = answer.up_control
    ? "Region commands go to meridian up, which runs every region of this cluster."
    : "This region does not run under meridian up: stop and start regions where they run.";
  replaceRows(document.querySelector("#up-regions tbody"), answer.regions.map((name) => {
    const here = name === answer.region;
    // The region serving this page cannot answer once it is stopped or
    // paused: another region's console does that.
    const controls = !answer.up_control ? []
      : here ? ["open another region's console to stop or pause this one"]
      : answer.actions.map((action) =>
        el("button", { type: "button", class: action, onclick: () => regionCommand(name, action) }, action));
    return el("tr", { "data-region": name }, el("td", {}, here ? `${name} (this page)` : name), el("td", {}, ...controls));
  }));
}

async function regionCommand(name, action) {
  try {
    const answer = await admin(`/admin/regions/${encodeURIComponent(name)}/${action}`, {});
    notice(answer.message);
  } catch (error) {
    notice(error.message, true);
  }
}

async function skewClock(event) {
  event.preventDefault();
  try {
    const answer = await admin("/admin/clock", { offset_ms: Math.round(Number($("clock-offset").value)) });
    notice(`clock of ${answer.region} now ${answer.offset_ms} ms`);
  } catch (error) {
    notice(error.message, true);
  }
}

// ---------------------------------------------------------------- past drills

/// Lists the drill reports posted to this region (unless unchanged).
async function refreshDrills() {
  const answer = await admin("/admin/drills");
  const shown = JSON.stringify(answer.drills);
  if (shown === state.drillsShown) return;
  state.drillsShown = shown;
  $("drill-none").hidden = answer.drills.length > 0;
  replaceRows(document.querySelector("#drill-list tbody"), answer.drills.map((d) => el("tr",
    { "data-drill": d.id, class: d.id === state.drillShown ? "chosen" : "" },
    el("td", {}, new Date(d.finished_at_ms).toLocaleString("en-GB")),
    el("td", { title: d.description ?? "" }, d.drill),
    el("td", { class: d.passed ? "good" : "bad" }, d.passed ? "passed" : "FAILED"),
    num(d.total_seconds), num(d.writes_acknowledged),
    el("td", { class: d.acknowledged_writes_lost ? "num bad" : "num" }, fmt(d.acknowledged_writes_lost ?? 0)),
    el("td", { class: d.converged ? "good" : "bad" }, d.converged ? "yes" : "NO"),
    num(d.events),
    el("td", {}, el("button", { type: "button", onclick: () => showDrill(d.id).catch(reportError) }, "Timeline")))));
}

/// Shows one report: what happened, its timeline and its events.
async function showDrill(id) {
  const report = await admin(`/admin/drills/${encodeURIComponent(id)}`);
  state.drillShown = id;
  for (const row of document.querySelectorAll("#drill-list tbody tr")) row.classList.toggle("chosen", row.dataset.drill === id);
  $("drill-report").hidden = false;
  $("drill-title").textContent = `${report.drill}: ${report.passed ? "passed" : "FAILED"}`;
  $("drill-summary").textContent = drillSummary(report);
  drawDrillTimeline(report);
  replaceRows(document.querySelector("#drill-events tbody"), report.events.map((e) => el("tr", {},
    num(e.at_s), el("td", {}, e.label), el("td", {}, e.result),
    num(e.convergence_ms ?? ""), num(e.exposure ? e.exposure.writes : ""), num(e.exposure ? e.exposure.rpo_ms : ""))));
}

function drillSummary(r) {
  const w = r.writes ?? {};
  const converged = r.converged
    ? `converged: ${fmt(r.final_items ?? 0)} items identical in every region, ${fmt(r.convergence_after_workload_ms ?? 0)} ms after the workload`
    : `NOT converged (item counts ${JSON.stringify(r.item_counts_if_diverged)})`;
  return `${r.description ?? ""}. Regions ${(r.regions ?? []).join(", ")}; ${fmt(r.workload_seconds ?? 0)} s of workload, ` +
    `${fmt(r.total_seconds ?? 0)} s in all (time scale ${r.time_scale ?? 1}). Writes: ${fmt(w.acknowledged ?? 0)} acknowledged, ` +
    `${fmt(w.rejected_by_condition ?? 0)} rejected by their condition, ${fmt(w.region_unreachable ?? 0)} with the region unreachable, ` +
    `${fmt(w.outcome_unknown ?? 0)} outcome unknown; acknowledged writes lost: ${fmt(r.acknowledged_writes_lost ?? 0)}; ${converged}.`;
}

/// The report's timeline: writes per second by region above, lag per link
/// below, on one time axis, with a dashed line at each event.
function drawDrillTimeline(report) {
  const [width, left, right, axisAt] = [800, 44, 8, 292];
  const lagSamples = report.lag_timeline ?? [];
  const seconds = Math.max(1, report.workload_seconds ?? 0, ...lagSamples.map((p) => p.t), ...report.events.map((e) => e.at_s));
  const x = (t) => left + (t / seconds) * (width - left - right);
  const writes = Object.entries(report.writes_per_second ?? {})
    .map(([region, counts]) => ({ name: region, points: counts.map((c, s) => [s + 0.5, c]) }));
  const links = [...new Set(lagSamples.map((p) => p.link))].sort();
  const lags = links.map((link) => ({ name: link, points: lagSamples.filter((p) => p.link === link).map((p) => [p.t, p.p99_ms]) }));
  const box = (top) => ({ left, top, width: width - left - right, height: 110 });
  const shapes = [...plot(box(40), writes, x, "/s"), ...plot(box(165), lags, x, "ms")];
  report.events.forEach((e, i) => {
    shapes.push(svgNode("line", { x1: x(e.at_s), x2: x(e.at_s), y1: 40, y2: 275, class: "event", "data-label": e.label }),
      svgNode("text", { x: x(e.at_s) + 2, y: 10 + (i % 3) * 11, class: "event" }, e.label));
  });
  for (let t = 0; t <= seconds; t += tickStep(seconds)) {
    const anchor = t === 0 ? "start" : x(t) > width - 30 ? "end" : "middle";
    shapes.push(svgNode("text", { x: x(t), y: axisAt, "text-anchor": anchor }, `${t} s`));
  }
  $("drill-timeline").replaceChildren(...shapes);
  $("drill-legend").replaceChildren("writes: ", ...legend(writes.map((s) => s.name)), " lag: ", ...legend(links));
}

/// Seconds between the time axis's labels: about eight of them.
function tickStep(seconds) {
  return [1, 2, 5, 10, 15, 30, 60, 120, 300].find((step) => seconds / step <= 8) ?? 600;
}

// ---------------------------------------------------------------- tables

async function refreshTables() {
  const names = [];
  let start;
  do {
    const page = await dynamo("ListTables", start ? { ExclusiveStartTableName: start } : {});
    names.push(...page.TableNames);
    start = page.LastEvaluatedTableName;
  } while (start);
  const tables = await Promise.all(names.map(describeFully));
  state.tables = tables;
  replaceRows(document.querySelector("#table-list tbody"), tables.map(tableRow));
  fillTableChoice(tables);
}

/// A table's description with its TTL, PITR and the conflicts recorded here.
async function describeFully(name) {
  const [described, ttl, backups, conflicts] = await Promise.all([
    dynamo("DescribeTable", { TableName: name }),
    dynamo("DescribeTimeToLive", { TableName: name }).catch(() => ({})),
    dynamo("DescribeContinuousBackups", { TableName: name }).catch(() => ({})),
    admin(`/admin/conflicts?table=${encodeURIComponent(name)}`).catch(() => ({ conflicts: [] })),
  ]);
  return {
    ...described.Table,
    ttl: ttl.TimeToLiveDescription || {},
    pitr: (backups.ContinuousBackupsDescription || {}).PointInTimeRecoveryDescription || {},
    conflicts: (conflicts.conflicts || []).length,
  };
}

function tableRow(t) {
  const replicas = (t.Replicas || []).map((r) => `${r.RegionName} ${r.ReplicaStatus}`).join(", ") || "this region only";
  const indexes = [...(t.GlobalSecondaryIndexes || []), ...(t.LocalSecondaryIndexes || [])]
    .map((i) => `${i.IndexName}${i.IndexStatus ? ` ${i.IndexStatus}` : ""}${i.Backfilling ? " (backfilling)" : ""}`)
    .join(", ") || "-";
  const stream = t.StreamSpecification && t.StreamSpecification.StreamEnabled ? t.StreamSpecification.StreamViewType : "-";
  const ttl = t.ttl.TimeToLiveStatus === "ENABLED" ? `on ${t.ttl.AttributeName}` : "-";
  const when = (s) => new Date(s * 1000).toISOString().slice(0, 19).replace("T", " ");
  const pitr = t.pitr.PointInTimeRecoveryStatus === "ENABLED"
    ? `${when(t.pitr.EarliestRestorableDateTime)} → ${when(t.pitr.LatestRestorableDateTime)}`
    : "-";
  const browse = el("button", { type: "button", onclick: () => browseTable(t.TableName) }, "Browse");
  return el("tr", { "data-table": t.TableName },
    el("td", {}, t.TableName), el("td", {}, t.TableStatus), el("td", { class: "replicas" }, replicas),
    num(t.ItemCount), num(t.TableSizeBytes), el("td", {}, indexes), el("td", {}, stream),
    el("td", {}, ttl), el("td", {}, pitr), num(t.conflicts), el("td", {}, browse));
}

function fillTableChoice(tables) {
  const select = $("browse-table");
  const chosen = select.value;
  select.replaceChildren(...tables.map((t) => el("option", {}, t.TableName)));
  if (tables.some((t) => t.TableName === chosen)) select.value = chosen;
  fillIndexChoice();
}

function fillIndexChoice() {
  const table = chosenTable();
  const select = $("browse-index");
  const chosen = select.value;
  const indexes = table ? [...(table.GlobalSecondaryIndexes || []), ...(table.LocalSecondaryIndexes || [])] : [];
  select.replaceChildren(el("option", { value: "" }, "(table)"), ...indexes.map((i) => el("option", {}, i.IndexName)));
  if (indexes.some((i) => i.IndexName === chosen)) select.value = chosen;
  showKeyNames();
}

const chosenTable = () => state.tables.find((t) => t.TableName === $("browse-table").value);

/// The key schema items are read by: the table's or the chosen index's.
function chosenKeys() {
  const table = chosenTable();
  if (!table) return {};
  const name = $("browse-index").value;
  const indexes = [...(table.GlobalSecondaryIndexes || []), ...(table.LocalSecondaryIndexes || [])];
  const schema = name ? indexes.find((i) => i.IndexName === name).KeySchema : table.KeySchema;
  const type = (attr) => (table.AttributeDefinitions.find((d) => d.AttributeName === attr) || {}).AttributeType || "S";
  const keys = {};
  for (const k of schema) keys[k.KeyType] = { name: k.AttributeName, type: type(k.AttributeName) };
  return keys;
}

function showKeyNames() {
  const keys = chosenKeys();
  $("query-fields").hidden = $("browse-op").value !== "Query";
  $("hash-name").textContent = keys.HASH ? keys.HASH.name : "partition key";
  $("range-name").textContent = keys.RANGE ? keys.RANGE.name : "";
  $("range-fields").hidden = !keys.RANGE;
}

// ---------------------------------------------------------------- items

function browseTable(name) {
  $("browse-table").value = name;
  fillIndexChoice();
  $("browse-op").value = "Scan";
  showKeyNames();
  runBrowse(null);
  $("items").scrollIntoView();
}

/// The Scan or Query the form describes.
function itemRequest() {
  const request = { TableName: $("browse-table").value, Limit: Math.max(1, Number($("page-size").value) || 25) };
  if ($("browse-index").value) request.IndexName = $("browse-index").value;
  if ($("browse-op").value !== "Query") return { op: "Scan", request };
  const keys = chosenKeys();
  const value = (key, text) => ({ [key.type]: key.type === "B" ? btoa(text) : text });
  request.ExpressionAttributeNames = { "#h": keys.HASH.name };
  request.ExpressionAttributeValues = { ":h": value(keys.HASH, $("hash-value").value) };
  let condition = "#h = :h";
  const rangeOp = $("range-op").value;
  if (keys.RANGE && rangeOp) {
    request.ExpressionAttributeNames["#r"] = keys.RANGE.name;
    request.ExpressionAttributeValues[":r"] = value(keys.RANGE, $("range-value").value);
    condition += rangeOp === "begins_with" ? " AND begins_with(#r, :r)" : ` AND #r ${rangeOp} :r`;
  }
  request.KeyConditionExpression = condition;
  return { op: "Query", request };
}

async function runBrowse(event) {
  if (event) event.preventDefault();
  state.browse = { ...itemRequest(), page: 1 };
  await showPage();
}

async function nextPage() {
  state.browse.page += 1;
  await showPage();
}

async function showPage() {
  const { op, request, page } = state.browse;
  try {
    const answer = await dynamo(op, request);
    request.ExclusiveStartKey = answer.LastEvaluatedKey;
    $("next-page").disabled = !answer.LastEvaluatedKey;
    $("browse-summary").textContent = `${op} of ${request.TableName}${request.IndexName ? ` (${request.IndexName})` : ""}: ` +
      `page ${page}, ${answer.Count} items${answer.LastEvaluatedKey ? ", more to come" : ", the last page"}`;
    showItems(answer.Items || []);
  } catch (error) {
    $("browse-summary").textContent = error.message;
    showItems([]);
  }
}

function showItems(items) {
  const keys = chosenKeys();
  const keyNames = [keys.HASH, keys.RANGE].filter(Boolean).map((k) => k.name);
  const others = [...new Set(items.flatMap(Object.keys))].filter((n) => !keyNames.includes(n)).sort().slice(0, 6);
  const columns = [...keyNames, ...others];
  document.querySelector("#item-list thead").replaceChildren(el("tr", {}, ...columns.map((c) => el("th", {}, c))));
  replaceRows(document.querySelector("#item-list tbody"), items.map((item) => {
    const row = el("tr", {}, ...columns.map((c) => el("td", {}, showValue(item[c]))));
    row.addEventListener("click", () => {
      document.querySelectorAll("#item-list tr.chosen").forEach((r) => r.classList.remove("chosen"));
      row.classList.add("chosen");
      $("item-json").hidden = false;
      $("item-json").textContent = JSON.stringify(item, null, 2);
    });
    return row;
  }));
  $("item-json").hidden = true;
}

// ---------------------------------------------------------------- start

function reportError(error) {
  notice(error.message, true);
}

function refreshAll() {
  refreshCluster().catch(reportError);
  showRegions().catch(reportError);
  refreshTables().catch(reportError);
  refreshDrills().catch(reportError);
}

document.addEventListener("DOMContentLoaded", () => {
  $("credentials-form").addEventListener("submit", saveCredentials);
  $("clock-form").addEventListener("submit", skewClock);
  $("tables-refresh").addEventListener("click", () => refreshTables().catch(reportError));
  $("drills-refresh").addEventListener("click", () => refreshDrills().catch(reportError));
  $("browse-form").addEventListener("submit", runBrowse);
  $("browse-table").addEventListener("change", fillIndexChoice);
  $("browse-index").addEventListener("change", showKeyNames);
  $("browse-op").addEventListener("change", showKeyNames);
  $("next-page").addEventListener("click", () => nextPage().catch(reportError));
  refreshAll();
  setInterval(() => refreshCluster().catch(reportError), STATUS_EVERY_MS);
  setInterval(() => refreshTables().catch(reportError), TABLES_EVERY_MS);
  setInterval(() => refreshDrills().catch(reportError), TABLES_EVERY_MS);
});
