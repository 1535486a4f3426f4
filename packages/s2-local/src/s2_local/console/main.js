// The console: basins, streams and records of the server that served it, each view at its
// own address (/console, /console/BASIN, /console/BASIN/STREAM, /console/BASIN/STREAM/SEQ).

import { ApiError, call, events, setToken, token } from "./api.js";
import { decodeRecord, showBody, toBase64, trimBody, when } from "./records.js";

const view = document.getElementById("view");
const crumbs = document.getElementById("crumbs");
const session = document.getElementById("session");
let leaving = []; // what to stop when the view changes (live tails)

// -- building the page ----------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** The address of a view: /console[/basin[/stream[/seq]]], each part percent-encoded. */
function address(...parts) {
  return ["/console", ...parts.map((p) => encodeURIComponent(String(p)))].join("/");
}

function link(href, text) {
  return el("a", { href, "data-nav": true }, text);
}

function errorBox(id) {
  return el("div", { class: "error", id, role: "alert" });
}

function showError(box, error) {
  box.textContent = error instanceof ApiError ? `${error.code}: ${error.message}` : String(error);
}

function field(label, input, error) {
  return el("label", {}, label, input, error);
}

function setCrumbs(...parts) {
  crumbs.replaceChildren();
  parts.forEach(([href, text], i) => {
    if (i) crumbs.append(el("span", { class: "sep" }, "/"));
    crumbs.append(href ? link(href, text) : el("span", {}, text));
  });
}

function setSession() {
  session.replaceChildren();
  if (token()) {
    const forget = el("button", { class: "quiet", type: "button", onclick: () => { setToken(null); render(); } }, "Forget token");
    session.append("token set for this tab ", forget);
  }
}

// -- navigation -----------------------------------------------------------------------------

document.addEventListener("click", (event) => {
  const a = event.target.closest("a[data-nav]");
  if (!a || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return; // a new tab
  event.preventDefault();
  history.pushState(null, "", a.getAttribute("href"));
  render();
});
window.addEventListener("popstate", render);

function go(href) {
  history.pushState(null, "", href);
  render();
}

async function render() {
  for (const stop of leaving) stop();
  leaving = [];
  setSession();
  const parts = location.pathname.split("/").slice(2).filter((p) => p !== "").map(decodeURIComponent);
  const params = new URLSearchParams(location.search);
  try {
    if (parts.length === 0) await basinsView();
    else if (parts.length === 1) await basinView(parts[0]);
    else if (parts.length === 2) await streamView(parts[0], parts[1], params);
    else await recordView(parts[0], parts[1], parts[2], params);
  } catch (error) {
    failed(error);
  }
}

/** A view that could not load: a token prompt when the server wants one, else the error. */
function failed(error) {
  if (error instanceof ApiError && error.status === 401) {
    const input = el("input", { type: "password", name: "token", autocomplete: "off", required: true });
    const form = el(
      "form",
      { id: "token-form", onsubmit: (event) => { event.preventDefault(); setToken(input.value.trim()); render(); } },
      field("Access token", input),
      el("button", { type: "submit" }, "Use token"),
    );
    view.replaceChildren(
      el("h1", {}, "This server needs an access token"),
      el("section", {}, el("p", { class: "error", id: "auth-error" }, `${error.code}: ${error.message}`), form,
        el("p", { class: "note" }, "The token stays in this tab (session storage) and is sent only to this server.")),
    );
    return;
  }
  const box = errorBox("view-error");
  showError(box, error);
  if (error instanceof ApiError && error.status === 403) box.prepend("Permission denied. ");
  view.replaceChildren(el("h1", {}, "Could not load this view"), el("section", {}, box));
}

// -- basins ---------------------------------------------------------------------------------

async function basinsView() {
  setCrumbs(["/console", "basins"]);
  document.title = "basins · s2-local";
  const { basins } = await call("GET", "/v1/basins");
  const rows = basins.map((b) => {
    const count = el("td", { class: "note" }, "…");
    const config = el("td", { class: "note" }, "…");
    basinSummary(b.name, count, config);
    const remove = el("button", { class: "danger", type: "button", onclick: () => deleteBasin(b.name) }, "Delete");
    return el("tr", {}, el("td", {}, link(address(b.name), b.name)), el("td", {}, b.state), count, config,
      el("td", {}, when(Date.parse(b.created_at))), el("td", {}, b.state === "active" ? remove : null));
  });
  const name = el("input", { name: "basin", placeholder: "my-basin-name", required: true });
  const onAppend = el("input", { type: "checkbox", name: "create_stream_on_append" });
  const error = errorBox("basin-error");
  const form = el("form", { id: "create-basin", onsubmit: async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const config = onAppend.checked ? { create_stream_on_append: true, create_stream_on_read: true } : undefined;
      await call("POST", "/v1/basins", { body: { basin: name.value.trim(), config } });
      go(address(name.value.trim()));
    } catch (e) {
      showError(error, e);
    }
  } }, field("New basin", name, error), el("label", {}, el("span", {}, "create streams on append / read"), onAppend),
    el("button", { type: "submit" }, "Create basin"));
  view.replaceChildren(
    el("h1", {}, "Basins"),
    el("section", {}, basins.length
      ? el("table", { id: "basins" }, el("tr", {}, ...["basin", "state", "streams", "config", "created", ""].map((h) => el("th", {}, h))), rows)
      : el("p", { class: "note" }, "No basins yet.")),
    el("section", {}, form),
  );
}

async function basinSummary(basin, count, config) {
  try {
    const [streams, settings] = await Promise.all([
      call("GET", "/v1/streams", { basin }),
      call("GET", `/v1/basins/${encodeURIComponent(basin)}`),
    ]);
    count.textContent = `${streams.streams.length}${streams.has_more ? "+" : ""}`;
    config.textContent = configSummary(settings);
  } catch (e) {
    count.textContent = "?";
    config.textContent = e instanceof ApiError ? e.code : String(e);
  }
}

function configSummary(settings) {
  const parts = [];
  const stream = settings.default_stream_config || {};
  if (stream.retention_policy) parts.push(`retention ${JSON.stringify(stream.retention_policy)}`);
  if (settings.create_stream_on_append) parts.push("creates on append");
  if (settings.create_stream_on_read) parts.push("creates on read");
  if (settings.stream_cipher) parts.push(`cipher ${settings.stream_cipher}`);
  return parts.join(", ") || "defaults";
}

async function deleteBasin(name) {
  if (!confirm(`Delete basin ${name} and all its streams?`)) return;
  try {
    await call("DELETE", `/v1/basins/${encodeURIComponent(name)}`);
  } catch (e) {
    alert(e.message);
  }
  render();
}

// -- a basin's streams ----------------------------------------------------------------------

async function basinView(basin) {
  setCrumbs(["/console", "basins"], [null, basin]);
  document.title = `${basin} · s2-local`;
  const [listing, settings] = await Promise.all([
    call("GET", "/v1/streams", { basin }),
    call("GET", `/v1/basins/${encodeURIComponent(basin)}`),
  ]);
  const rows = listing.streams.map((s) => {
    const tail = el("td", { class: "note" }, "…");
    tailOf(basin, s.name)
      .then((t) => { tail.textContent = `${t.seq_num}`; })
      .catch((e) => { tail.textContent = e instanceof ApiError ? e.code : String(e); });
    const remove = el("button", { class: "danger", type: "button", onclick: () => deleteStream(basin, s.name) }, "Delete");
    return el("tr", {}, el("td", {}, link(address(basin, s.name), s.name)), tail,
      el("td", {}, when(Date.parse(s.created_at))), el("td", {}, s.deleted_at ? "deleting" : remove));
  });
  const name = el("input", { name: "stream", placeholder: "events", required: true });
  const error = errorBox("stream-error");
  const form = el("form", { id: "create-stream", onsubmit: async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await call("POST", "/v1/streams", { basin, body: { stream: name.value.trim() } });
      go(address(basin, name.value.trim()));
    } catch (e) {
      showError(error, e);
    }
  } }, field("New stream", name, error), el("button", { type: "submit" }, "Create stream"));
  view.replaceChildren(
    el("h1", {}, basin),
    el("section", {}, el("h2", {}, "Config"), el("pre", { class: "body" }, JSON.stringify(settings, null, 2))),
    el("section", {}, el("h2", {}, "Streams"), listing.streams.length
      ? el("table", { id: "streams" }, el("tr", {}, ...["stream", "tail", "created", ""].map((h) => el("th", {}, h))), rows)
      : el("p", { class: "note" }, "No streams yet.")),
    el("section", {}, form),
  );
}

async function deleteStream(basin, name) {
  if (!confirm(`Delete stream ${name}?`)) return;
  try {
    await call("DELETE", `/v1/streams/${encodeURIComponent(name)}`, { basin });
  } catch (e) {
    alert(e.message);
  }
  render();
}

// -- a stream's records ---------------------------------------------------------------------

/** A record's headers, one "name: value" line each. */
function headerLines(record) {
  return record.headers.map(([n, v]) => `${showBody(n, "text")}: ${showBody(v, "text")}`).join("\n");
}

function recordRow(basin, stream, record, mode) {
  return el("tr", { "data-seq": record.seqNum },
    el("td", {}, link(address(basin, stream, record.seqNum), String(record.seqNum))),
    el("td", {}, el("code", {}, when(record.timestamp))),
    el("td", {}, el("pre", { class: "body" }, headerLines(record))),
    el("td", {}, el("pre", { class: "body record-body" }, showBody(record.body, mode))));
}

function recordTable(id, basin, stream, records, mode) {
  return el("table", { id }, el("tr", {}, ...["seq", "timestamp", "headers", "body"].map((h) => el("th", {}, h))),
    records.map((r) => recordRow(basin, stream, r, mode)));
}

const BASE64 = { "s2-format": "base64" };

async function streamView(basin, stream, params) {
  setCrumbs(["/console", "basins"], [address(basin), basin], [null, stream]);
  document.title = `${stream} · ${basin} · s2-local`;
  const path = `/v1/streams/${encodeURIComponent(stream)}`;
  const mode = params.get("view") || "auto";
  const from = params.get("timestamp") !== null ? "timestamp" : "seq_num";
  const start = params.get(from) ?? "0";
  const count = params.get("count") || "50";
  const [settings, tail] = await Promise.all([call("GET", path, { basin }), tailOf(basin, stream)]);

  // paged records, from a sequence number or a timestamp
  const startInput = el("input", { name: "start", value: start, size: 16 });
  const fromSelect = el("select", { name: "from" }, el("option", { value: "seq_num", selected: from === "seq_num" }, "seq num"),
    el("option", { value: "timestamp", selected: from === "timestamp" }, "timestamp (ms)"));
  const countInput = el("input", { name: "count", value: count, size: 5 });
  const modeSelect = el("select", { name: "view" }, ["auto", "text", "json", "hex"].map((m) => el("option", { value: m, selected: m === mode }, m)));
  const pageError = errorBox("page-error");
  const pageForm = el("form", { id: "page-form", onsubmit: (event) => {
    event.preventDefault();
    const query = new URLSearchParams({ [fromSelect.value]: startInput.value.trim(), count: countInput.value.trim(), view: modeSelect.value });
    go(`${address(basin, stream)}?${query}`);
  } }, field("From", fromSelect), field("Start", startInput, pageError), field("Count", countInput), field("Show bodies as", modeSelect),
    el("button", { type: "submit" }, "Read"));
  const page = el("div", { id: "page" }, el("p", { class: "note" }, "Reading…"));
  readPage(basin, stream, { [from]: start, count, clamp: "true" }, mode, page, pageError);

  // append
  const body = el("textarea", { name: "body", placeholder: "record body" });
  const headers = el("textarea", { name: "headers", placeholder: "name: value (one per line)" });
  const appendError = errorBox("append-error");
  const ack = el("p", { id: "append-ack", class: "ok" });
  const appendForm = el("form", { id: "append-form", onsubmit: async (event) => {
    event.preventDefault();
    appendError.textContent = "";
    ack.textContent = "";
    try {
      const pairs = headers.value.split("\n").filter((l) => l.trim()).map((line) => {
        const colon = line.indexOf(":");
        if (colon < 0) throw new Error(`a header is "name: value", not ${JSON.stringify(line)}`);
        return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
      });
      const result = await call("POST", `${path}/records`, { basin, body: { records: [{ headers: pairs, body: body.value }] } });
      ack.replaceChildren("Appended at ", link(address(basin, stream, result.start.seq_num), `seq ${result.start.seq_num}`),
        `, timestamp ${when(result.start.timestamp)}; tail ${result.tail.seq_num}.`);
      body.value = "";
    } catch (e) {
      showError(appendError, e);
    }
  } }, field("Body", body), field("Headers", headers), el("button", { type: "submit" }, "Append"), appendError);

  // tail and trim
  const described = (t) => `${t.seq_num} (last timestamp ${when(t.timestamp)})`;
  const tailText = el("span", { id: "tail" }, described(tail));
  const checkTail = el("button", { class: "quiet", type: "button", id: "check-tail", onclick: async () => {
    try {
      const t = await tailOf(basin, stream);
      tailText.textContent = described(t);
    } catch (e) {
      tailText.textContent = e.message;
    }
  } }, "Check tail");
  const trimInput = el("input", { name: "trim", size: 12, placeholder: "seq num" });
  const trimError = errorBox("trim-error");
  const trimForm = el("form", { id: "trim-form", onsubmit: async (event) => {
    event.preventDefault();
    trimError.textContent = "";
    try {
      const value = trimInput.value.trim();
      if (!/^\d+$/.test(value)) throw new Error(`the trim point is a sequence number, not ${JSON.stringify(value)}`);
      const record = { headers: [["", toBase64(new TextEncoder().encode("trim"))]], body: toBase64(trimBody(value)) };
      await call("POST", `${path}/records`, { basin, headers: BASE64, body: { records: [record] } });
      trimError.replaceChildren(el("span", { class: "ok" }, `Trimmed below ${value}.`));
    } catch (e) {
      showError(trimError, e);
    }
  } }, field("Trim records below", trimInput, trimError), el("button", { class: "danger", type: "submit" }, "Trim"));

  view.replaceChildren(
    el("h1", {}, stream),
    el("section", {}, el("div", { class: "row" }, el("strong", {}, "Tail: "), tailText, checkTail), trimForm),
    el("section", {}, el("h2", {}, "Live tail"), liveTail(basin, stream, tail.seq_num, mode)),
    el("section", {}, el("h2", {}, "Records"), pageForm, page),
    el("section", {}, el("h2", {}, "Append"), appendForm, ack),
    el("section", {}, el("h2", {}, "Config"), el("pre", { class: "body" }, JSON.stringify(settings, null, 2))),
  );
}

/** A stream's tail: the next sequence number and the last record's timestamp. */
async function tailOf(basin, stream) {
  return (await call("GET", `/v1/streams/${encodeURIComponent(stream)}/records/tail`, { basin })).tail;
}

async function readPage(basin, stream, query, mode, page, error) {
  try {
    const batch = await call("GET", `/v1/streams/${encodeURIComponent(stream)}/records`, { basin, query, headers: BASE64 });
    const records = batch.records.map(decodeRecord);
    if (!records.length) {
      page.replaceChildren(el("p", { class: "note" }, "No records there."));
      return;
    }
    const next = new URLSearchParams({ seq_num: records[records.length - 1].seqNum + 1, count: query.count, view: mode });
    page.replaceChildren(recordTable("records", basin, stream, records, mode),
      el("p", {}, link(`${address(basin, stream)}?${next}`, "Next page →")));
  } catch (e) {
    page.replaceChildren();
    showError(error, e);
  }
}

/** New records as they are appended, read through the SSE endpoint; pause stops reading,
 * resume goes on from the record after the last one shown. */
function liveTail(basin, stream, from, mode) {
  const rows = recordTable("live", basin, stream, [], mode);
  const status = el("span", { id: "live-status", class: "note" });
  const error = errorBox("live-error");
  let next = from;
  let controller = null;
  const button = el("button", { type: "button", class: "quiet", id: "live-toggle", onclick: () => (controller ? pause() : follow()) });

  async function follow() {
    controller = new AbortController();
    button.textContent = "Pause";
    status.textContent = `following from seq ${next}`;
    error.textContent = "";
    const signal = controller.signal;
    try {
      const query = { seq_num: next, clamp: "true" };
      for await (const event of events(`/v1/streams/${encodeURIComponent(stream)}/records`, { basin, query, headers: BASE64, signal })) {
        if (event.event === "batch") {
          for (const record of JSON.parse(event.data).records.map(decodeRecord)) {
            rows.append(recordRow(basin, stream, record, mode));
            next = record.seqNum + 1;
          }
        } else if (event.event === "error") {
          throw new Error(event.data);
        }
      }
      if (!signal.aborted) pause("the server ended the tail");
    } catch (e) {
      if (!signal.aborted) {
        showError(error, e);
        pause("stopped");
      }
    }
  }

  function pause(why = "paused") {
    if (controller) controller.abort();
    controller = null;
    button.textContent = "Resume";
    status.textContent = why;
  }

  leaving.push(() => { if (controller) controller.abort(); controller = null; });
  follow();
  return el("div", {}, el("div", { class: "row" }, button, status), error, rows);
}

// -- one record -----------------------------------------------------------------------------

async function recordView(basin, stream, seqText, params) {
  setCrumbs(["/console", "basins"], [address(basin), basin], [address(basin, stream), stream], [null, seqText]);
  document.title = `${seqText} · ${stream} · s2-local`;
  if (!/^\d+$/.test(seqText)) throw new Error(`a record's address ends with its sequence number, not ${JSON.stringify(seqText)}`);
  const query = { seq_num: seqText, count: 1 };
  const batch = await call("GET", `/v1/streams/${encodeURIComponent(stream)}/records`, { basin, query, headers: BASE64 });
  const record = batch.records.map(decodeRecord).find((r) => String(r.seqNum) === seqText);
  if (!record) {
    view.replaceChildren(el("h1", {}, `No record ${seqText}`), el("p", { class: "note" }, "It was trimmed, or not appended yet."));
    return;
  }
  const mode = params.get("view") || "auto";
  const modes = el("p", {}, ["auto", "text", "json", "hex"].map((m) => [m === mode ? el("strong", {}, m) : link(`${address(basin, stream, seqText)}?view=${m}`, m), " "]));
  view.replaceChildren(
    el("h1", {}, `${stream} · record ${record.seqNum}`),
    el("section", { id: "record" }, el("dl", {},
      el("dt", {}, "seq num"), el("dd", {}, String(record.seqNum)),
      el("dt", {}, "timestamp"), el("dd", {}, `${when(record.timestamp)} (${record.timestamp})`),
      el("dt", {}, "headers"), el("dd", {}, record.headers.length
        ? el("pre", { class: "body" }, headerLines(record))
        : el("span", { class: "note" }, "none")),
      el("dt", {}, "body"), el("dd", {}, modes, el("pre", { class: "body record-body" }, showBody(record.body, mode))))),
    el("p", {}, link(`${address(basin, stream)}?seq_num=${record.seqNum}`, "Records from here →")),
  );
}

render();
