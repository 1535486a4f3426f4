// The S2 API of the server that served this page: relative addresses only, so requests
// (and the access token) never go anywhere else.

const TOKEN_KEY = "s2-local-token";

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** The access token typed into this tab (session storage only), or null. */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function request(path, { basin, query, headers = {} }) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const all = { ...headers };
  if (basin) all["s2-basin"] = basin;
  const current = token();
  if (current) all.authorization = `Bearer ${current}`;
  return [url, all];
}

async function failure(resp) {
  let body = null;
  let code = String(resp.status);
  let message = resp.statusText || `HTTP ${resp.status}`;
  try {
    body = await resp.json();
    if (body && body.code) code = body.code;
    if (body && body.message) message = body.message;
    else if (body) message = JSON.stringify(body);
  } catch {
    // not JSON: the status says it all
  }
  return new ApiError(resp.status, code, message, body);
}

/** One API call; its JSON answer (null when it has none). Throws ApiError. */
export async function call(method, path, { basin, query, body, headers, signal } = {}) {
  const [url, all] = request(path, { basin, query, headers: { accept: "application/json", ...headers } });
  let payload;
  if (body !== undefined) {
    all["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const resp = await fetch(url, { method, headers: all, body: payload, signal, credentials: "omit" });
  if (!resp.ok) throw await failure(resp);
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

/** The events of a server-sent event stream, read with fetch (EventSource cannot send the
 * headers the API needs). Ends when the server ends it or `signal` aborts it. */
export async function* events(path, { basin, query, headers, signal }) {
  const [url, all] = request(path, { basin, query, headers: { accept: "text/event-stream", ...headers } });
  const resp = await fetch(url, { headers: all, signal, credentials: "omit" });
  if (!resp.ok) throw await failure(resp);
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = { event: "message", data: "", id: null };
      for (const line of block.split("\n")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event.event = text;
        else if (field === "data") event.data += (event.data ? "\n" : "") + text;
        else if (field === "id") event.id = text;
      }
      yield event;
    }
  }
}
