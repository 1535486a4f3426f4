// Drives a server with the published @s2-dev/streamstore package.
// Usage: node official_node.mjs ENDPOINT BASIN TRANSPORT (s2s: S2S over HTTP/2, fetch: JSON
// and SSE over HTTP/1.1). Prints one JSON object of observations.
import {
  AppendInput,
  AppendRecord,
  FencingTokenMismatchError,
  RangeNotSatisfiableError,
  S2,
  SeqNumMismatchError,
} from "@s2-dev/streamstore";

const [endpoint, basinName, transport] = process.argv.slice(2);
const streamOptions = { forceTransport: transport };
const out = {};
const s2 = new S2({ accessToken: "ignored", endpoints: { account: endpoint, basin: endpoint } });

await s2.basins.create({ basin: basinName });
const basin = s2.basin(basinName);
await basin.streams.create({ stream: "node/unary" });
const stream = basin.stream("node/unary", streamOptions);
const ack = await stream.append(
  AppendInput.create([
    AppendRecord.string({ body: "hello", headers: [["k", "v"]] }),
    AppendRecord.bytes({ body: new Uint8Array([0, 255]) }),
  ]),
);
out.unary_ack = [ack.start.seqNum, ack.end.seqNum];
const batch = await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 10 } } });
out.unary_read = batch.records.map((r) => [r.seqNum, r.body, r.headers]);
out.tail = (await stream.checkTail()).tail.seqNum;
try {
  await stream.read({ start: { from: { seqNum: 50 } } });
} catch (e) {
  out.unwritten = e instanceof RangeNotSatisfiableError ? e.tail?.seqNum ?? "no-tail" : String(e);
}
try {
  await stream.append(AppendInput.create([AppendRecord.string({ body: "x" })], { matchSeqNum: 0 }));
} catch (e) {
  out.seq_mismatch = e instanceof SeqNumMismatchError ? e.expectedSeqNum : String(e);
}
await stream.append(AppendInput.create([AppendRecord.fence("node-owner")]));
try {
  await stream.append(AppendInput.create([AppendRecord.string({ body: "x" })], { fencingToken: "nope" }));
} catch (e) {
  out.fence_mismatch = e instanceof FencingTokenMismatchError ? e.expectedFencingToken : String(e);
}

await basin.streams.create({ stream: "node/session" });
const sstream = basin.stream("node/session", streamOptions);
const received = [];
const session = await sstream.readSession({ start: { from: { tailOffset: 0 } } });
const reading = (async () => {
  for await (const record of session) {
    received.push(record.body);
    if (received.length >= 4) break;
  }
})();
const appender = await sstream.appendSession();
const tickets = [];
for (let i = 0; i < 4; i++) {
  tickets.push(await appender.submit(AppendInput.create([AppendRecord.string({ body: `s${i}` })])));
}
const acks = await Promise.all(tickets.map((t) => t.ack()));
out.session_acks = acks.map((a) => [a.start.seqNum, a.end.seqNum]);
await appender.close();
await Promise.race([reading, new Promise((_, rej) => setTimeout(() => rej(new Error("read timeout")), 10000))]);
out.live = received;
await sstream.close?.();
await stream.close?.();
console.log(JSON.stringify(out));
process.exit(0);
