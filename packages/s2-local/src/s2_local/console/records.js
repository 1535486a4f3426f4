// Records as the API returns them with `s2-format: base64`, shown as text, JSON or hex.

export function fromBase64(text) {
  const raw = atob(text || "");
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

export function toBase64(bytes) {
  let raw = "";
  for (const b of bytes) raw += String.fromCharCode(b);
  return btoa(raw);
}

/** The UTF-8 text of some bytes, or null when they are not UTF-8. */
export function asText(bytes) {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

export function asHex(bytes) {
  const lines = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = Array.from(bytes.slice(at, at + 16));
    const hex = row.map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const shown = row.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${at.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  ${shown}`);
  }
  return lines.join("\n");
}

/** A body as `mode` asks (auto, text, json or hex), falling back where it cannot be shown
 * so. `auto`: a JSON object or array pretty, other UTF-8 as text, the rest as hex. */
export function showBody(bytes, mode) {
  if (mode === "hex") return asHex(bytes);
  const text = asText(bytes);
  if (text === null) return asHex(bytes);
  const looksJson = /^\s*[[{]/.test(text);
  if (mode === "json" || (mode === "auto" && looksJson)) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text;
    }
  }
  return text;
}

/** A record of a base64-format read, decoded. */
export function decodeRecord(record) {
  return {
    seqNum: record.seq_num,
    timestamp: record.timestamp,
    headers: (record.headers || []).map(([name, value]) => [fromBase64(name), fromBase64(value)]),
    body: fromBase64(record.body),
  };
}

export function when(timestamp) {
  const date = new Date(Number(timestamp));
  return Number.isNaN(date.getTime()) ? String(timestamp) : date.toISOString();
}

/** The body of a trim command record: the trim point as 8 big-endian bytes. */
export function trimBody(seqNum) {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(seqNum));
  return bytes;
}
