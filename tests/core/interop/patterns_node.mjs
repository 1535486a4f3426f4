// Writes or reads typed messages with the published @s2-dev/streamstore-patterns.
// Usage: node patterns_node.mjs ENDPOINT BASIN STREAM write
//        node patterns_node.mjs ENDPOINT BASIN STREAM read RECORDS (the stream's records)
// Prints one JSON object: the ranges written, or the messages read.
import { S2 } from "@s2-dev/streamstore";
import { serialization } from "@s2-dev/streamstore-patterns";

const [endpoint, basinName, streamName, mode, count] = process.argv.slice(2);
const s2 = new S2({ accessToken: "ignored", endpoints: { account: endpoint, basin: endpoint } });
const stream = s2.basin(basinName).stream(streamName);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const messages = [
  { n: 0, text: "hello" },
  { n: 1, blob: "0123456789".repeat(350000) },
  { n: 2, text: "after the big one", unicode: "h\u00e9llo \u2713" },
];

if (mode === "write") {
  const writer = new serialization.SerializingAppendSession(
    await stream.appendSession(),
    (message) => encoder.encode(JSON.stringify(message)),
    { dedupeSeq: 0 },
  );
  const ranges = [];
  for (const message of messages) {
    const range = await writer.submit(message);
    ranges.push([range.start, range.end]);
  }
  await writer.close();
  done({ ranges });
} else {
  const reader = new serialization.DeserializingReadSession(
    await stream.readSession(
      { start: { from: { seqNum: 0 } }, stop: { limits: { count: Number(count) } } },
      { as: "bytes" },
    ),
    (payload) => JSON.parse(decoder.decode(payload)),
  );
  const read = [];
  for await (const message of reader) {
    read.push(message);
  }
  done({ messages: read });
}

function done(result) {
  // exit only once the (large) output is written: a pipe is written asynchronously
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}
