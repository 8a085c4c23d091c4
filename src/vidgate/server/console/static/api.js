// The gateway's JSON API, called from the browser with the user's key (sessionStorage: this tab only).
// The key travels only in the Authorization header; it is never put in a URL and never logged.

const KEY_NAME = "vidgate.apiKey";
const config = JSON.parse(document.getElementById("vidgate-config").textContent);
const API_BASE = config.api_base || "";
export const AUTH = config.auth !== false;  // false: the gateway runs without API keys

export function getKey() {
  return sessionStorage.getItem(KEY_NAME) || "";
}

export function setKey(key) {
  if (key) sessionStorage.setItem(KEY_NAME, key);
  else sessionStorage.removeItem(KEY_NAME);
}

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `The gateway answered HTTP ${status}.`);
    this.status = status;
    this.param = err.param || null;
    this.code = err.code || null;
    this.type = err.type || null;
  }
}

export function url(path) {
  return API_BASE + path;
}

export async function request(path, options = {}) {
  const key = getKey();
  if (AUTH && !key) throw new ApiError(401, { error: { message: "Enter your gateway API key first." } });
  const headers = new Headers(options.headers || {});
  if (key) headers.set("Authorization", `Bearer ${key}`);
  const res = await fetch(url(path), { ...options, headers, credentials: "omit", cache: "no-store" });
  if (!res.ok) {
    let body = null;
    try { body = await res.json(); } catch { /* not JSON */ }
    throw new ApiError(res.status, body);
  }
  return res;
}

export async function json(path, options) {
  return (await request(path, options)).json();
}

// Server-Sent Events over fetch (EventSource cannot send an Authorization header).
// Calls onEvent({event, data, id}) per event; resolves when the stream ends.
export async function streamEvents(path, onEvent, { signal, lastEventId } = {}) {
  const headers = { Accept: "text/event-stream" };
  if (lastEventId) headers["Last-Event-ID"] = lastEventId;
  const res = await request(path, { headers, signal });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const ev = parseBlock(block);
      if (ev) onEvent(ev);
    }
  }
}

function parseBlock(block) {
  let event = "message", id = null;
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
    else if (field === "id") id = value;
  }
  return data.length ? { event, id, data: data.join("\n") } : null;
}
