/* The demo page's own small client: a WebSocket that resumes from its
   cursor. The full client with SSE and long-poll fallbacks is ticker.js. */
(function () {
  "use strict";
  var cursor = "";
  var count = 0;
  var backoff = 500;
  var rows = {};
  var games = {};

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function fmt(n, d) { return typeof n === "number" ? n.toFixed(d) : ""; }

  function stock(d) {
    var r = rows[d.symbol];
    if (!r) {
      r = rows[d.symbol] = el("tr");
      for (var i = 0; i < 7; i++) { r.appendChild(el("td")); }
      var body = document.querySelector("#stocks tbody");
      var after = null;
      for (var k = 0; k < body.children.length; k++) {
        if (body.children[k].firstChild.textContent > d.symbol) { after = body.children[k]; break; }
      }
      body.insertBefore(r, after);
    }
    var c = r.children, prev = parseFloat(c[1].textContent);
    c[0].textContent = d.symbol;
    c[1].textContent = fmt(d.price, 2);
    c[2].textContent = (d.change > 0 ? "+" : "") + fmt(d.change, 2);
    c[3].textContent = (d.change_pct > 0 ? "+" : "") + fmt(d.change_pct, 2) + "%";
    c[4].textContent = fmt(d.bid, 2);
    c[5].textContent = fmt(d.ask, 2);
    c[6].textContent = (d.volume || 0).toLocaleString();
    c[2].className = c[3].className = d.change >= 0 ? "up" : "down";
    if (!isNaN(prev) && prev !== d.price) {
      r.className = d.price > prev ? "flash-up" : "flash-down";
      setTimeout(function () { r.className = ""; }, 400);
    }
  }

  function game(d) {
    var g = games[d.id];
    if (!g) {
      g = games[d.id] = el("div", "game");
      document.getElementById("games").appendChild(g);
    }
    g.className = "game " + d.status;
    g.innerHTML = "";
    var meta = el("div", "meta");
    meta.appendChild(el("span", "", d.league.toUpperCase()));
    meta.appendChild(el("span", "", d.status === "live" ? (d.period_label || ("P" + d.period)) + " " + d.clock : d.status));
    g.appendChild(meta);
    [d.away, d.home].forEach(function (t) {
      var row = el("div", "row");
      row.appendChild(el("span", "", t.name || t.code));
      row.appendChild(el("b", "", String(t.score)));
      g.appendChild(row);
    });
  }

  function event(topic, d) {
    var li = el("li");
    li.appendChild(el("b", "", topic.split(".")[1].toUpperCase() + " "));
    li.appendChild(document.createTextNode(d.text || d.type));
    var list = document.getElementById("events");
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 50) { list.removeChild(list.lastChild); }
  }

  function update(u) {
    count++;
    if (u.topic.indexOf("stocks.") === 0) { stock(u.data); }
    else if (u.kind === "event") { event(u.topic, u.data); }
    else if (u.topic.indexOf("sports.") === 0) { game(u.data); }
  }

  function handle(m) {
    if (m.cursor) { cursor = m.cursor; }
    if (m.type === "hello") { document.getElementById("transport").textContent = m.transport; backoff = 500; }
    else if (m.type === "snapshot") { for (var i = 0; i < m.items.length; i++) { update(m.items[i]); } }
    else if (m.type === "update") { update(m); }
    document.getElementById("count").textContent = count;
  }

  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var url = proto + location.host + "/v1/ws?topics=stocks.*,sports.>" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
    var ws = new WebSocket(url);
    ws.onmessage = function (e) {
      var lines = e.data.split("\n");
      for (var i = 0; i < lines.length; i++) { handle(JSON.parse(lines[i])); }
    };
    ws.onclose = function () {
      document.getElementById("transport").textContent = "offline, reconnecting…";
      setTimeout(connect, Math.random() * backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  }
  connect();
}());
