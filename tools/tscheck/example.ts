// example.ts: a page's use of the Tickerd browser scripts, typed by
// static/ticker.d.ts. `make ts-check` compiles it (tsc --noEmit): a
// declaration that no longer fits the API as documented fails here. The
// lines marked @ts-expect-error must stay errors.
/// <reference path="../../static/ticker.d.ts" />

interface Quote {
  price: number;
  change?: number;
}

window.TickerdGetToken = (cb) => {
  fetch("/token").then((r) => r.text()).then((t) => cb(null, t), (e) => cb(e));
};

const client = new Tickerd.Client("https://ticker.example.com", {
  getToken: window.TickerdGetToken,
  transports: ["ws", "sse"],
  helloTimeout: 5000,
  probeInterval: 30000,
  minBackoff: 500,
  maxBackoff: 15000,
  pollTimeout: 25,
  stableTime: 10000,
  maxRate: 1,
});
const plain = Tickerd.Client("", { token: "eyJ...", transports: "sse,poll" });

const sub = client.subscribe<Quote>(["stocks.AAPL", "stocks.MSFT"], (u) => {
  const p: number = u.data.price;
  const merged: number = u.merged ?? 0;
  const fromSnapshot: boolean = u.snapshot === true;
  console.log(u.topic, u.kind, p, merged, fromSnapshot, u.time, u.cursor);
});
const topics: string[] = sub.topics;
const active: boolean = sub.active;
sub.unsubscribe();

client
  .on("status", (s) => {
    const live: boolean = s === "open/ws" || s === "open/sse" || s === "open/poll";
    console.log(live, client.transport, client.cursor, client.status);
  })
  .on("error", (e) => console.log(e.code, e.message))
  .on("reset", (m) => console.log(m.cursor, m.items.length, m.reset));

plain.subscribe("sports.nba.>", (u) => console.log(u.data));
const ok: boolean = Tickerd.match("sports.*.>", "sports.nba.g1");

const host = document.querySelector<HTMLElement>("[data-tickerd-topics]");
if (host) {
  Tickerd.Widget.mount(host);
}
Tickerd.Widget.scan();
Tickerd.Widget.client("", "ws,sse,poll").close();
Tickerd.Widget.client("", "ws", "", "", "0.5").close();

// @ts-expect-error: no such status
client.on("status", (s) => s === "open");
// @ts-expect-error: not a transport
new Tickerd.Client("", { transports: ["ws", "http2"] });
// @ts-expect-error: no such event
client.on("message", () => {});

console.log(topics, active, ok);
client.close();
