'use strict';
// An independent WebSocket client for transport/ws's conformance test:
// the ws package, which checks every frame it reads (RSV bits, lengths,
// UTF-8 of text, control frames). Usage:
//
//   node conform.js URL UPDATES client-close|server-close
//
// It reads the hello and snapshot (then prints {"event":"ready"}), then
// UPDATES updates whose data.n counts from 0, pinging the server every 100
// of them; it waits for every pong and for two pings of the server's, then
// prints {"event":"received",...}. With client-close it then closes with
// 1000; either way it prints {"event":"close","code":..} when the close
// handshake ends, and exits.
const WebSocket = require('ws');

const url = process.argv[2];
const want = Number(process.argv[3]);
const mode = process.argv[4];
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const fail = (m) => { out({ event: 'error', message: m }); process.exit(1); };

const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 24 });
let next = 0, messages = 0, largest = 0, snapshotSize = 0;
let pingsSent = 0, pongs = 0, serverPings = 0, reported = false;

function maybeDone() {
  if (reported || next < want || serverPings < 2 || pongs < pingsSent) return;
  reported = true;
  out({ event: 'received', updates: next, messages, largest, snapshotSize, pingsSent, pongs, serverPings });
  if (mode === 'client-close') ws.close(1000, 'bye');
}

ws.on('error', (e) => fail(String(e)));
ws.on('ping', () => { serverPings++; maybeDone(); });
ws.on('pong', () => { pongs++; maybeDone(); });
ws.on('message', (data, isBinary) => {
  if (isBinary) fail('the server sent a binary message');
  messages++;
  largest = Math.max(largest, data.length);
  for (const line of data.toString('utf8').split('\n')) {
    const m = JSON.parse(line);
    if (m.type === 'hello') continue;
    if (m.type === 'snapshot') { snapshotSize = data.length; out({ event: 'ready' }); continue; }
    if (m.type !== 'update') fail('unexpected message ' + line.slice(0, 200));
    if (m.data.n !== next) fail('update n ' + m.data.n + ', want ' + next);
    next++;
    if (next % 100 === 0) { ws.ping(); pingsSent++; }
  }
  maybeDone();
});
ws.on('close', (code, reason) => {
  out({ event: 'close', code, reason: reason.toString(), received: reported });
  process.exit(0);
});
