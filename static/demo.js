/* The demo page: the widget shows the tape and the scoreboards; this script
   adds the movers and the plays from the same Tickerd.Client the widgets
   use (one connection for the page), and the connection line.
   ?transport=ws|sse|poll forces one transport, for the widgets too. */
(function () {
  "use strict";

  var forced = (/[?&]transport=(ws|sse|poll)\b/.exec(location.search) || [])[1] || "";
  var NAMES = { ws: "WebSocket", sse: "Server-Sent Events", poll: "long polling" };
  var count = 0, quotes = {}, games = {}, dirty = false;
  var $ = function (id) { return document.getElementById(id); };

  var el = Tickerd.Widget.el; // el(tag, className, parent, text)
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  // Every widget on the page uses the forced transport, if any.
  var hosts = document.querySelectorAll("[data-tickerd-topics]"), i, links;
  for (i = 0; i < hosts.length; i++) {
    if (forced) { hosts[i].setAttribute("data-tickerd-transports", forced); }
  }
  links = document.querySelectorAll(".switch a");
  for (i = 0; i < links.length; i++) {
    if (links[i].getAttribute("data-transport") === forced) { links[i].className = "on"; }
  }
  $("snippet").textContent = $("snippet").textContent.replace('src="/', 'src="' + location.protocol + "//" + location.host + "/");

  var client = Tickerd.Widget.client("", forced);

  client.on("status", function (s) {
    var open = s.indexOf("open/") === 0, t = s.slice(5);
    $("dot").className = "dot " + (s === "open/ws" ? "on" : s === "offline" ? "off" : "mid");
    $("status-text").textContent = open ? "Live over " + NAMES[t] + (t !== "ws" && !forced ? " (fallback)" : "") :
      s === "offline" ? "Offline — reconnecting…" : "Connecting…";
  });
  client.on("reset", function () {
    var li = el("li", "note", null, "Resumed from a snapshot: some plays were missed.");
    $("events").insertBefore(li, $("events").firstChild);
  });

  // ---- Movers: the biggest gains and losses of the day ----

  client.subscribe(["stocks.*"], function (u) {
    count++;
    if (u.data && u.data.symbol) {
      quotes[u.data.symbol] = u.data;
      dirty = true;
    }
  });

  function row(q, list, max) {
    var li = el("li", q.change_pct >= 0 ? "up" : "down", list);
    var bar = el("span", "bar", li);
    bar.style.width = Math.min(100, Math.abs(q.change_pct) / max * 100) + "%";
    el("b", "sym", li, q.symbol);
    el("span", "name", li, q.name || "");
    el("span", "px", li, q.price.toFixed(2));
    el("span", "pct", li, (q.change_pct > 0 ? "+" : "") + q.change_pct.toFixed(2) + "%");
  }

  function renderMovers() {
    var all = [], k, g = $("gainers"), l = $("losers"), max, n;
    if (!dirty) { return; }
    dirty = false;
    for (k in quotes) {
      if (typeof quotes[k].change_pct === "number") { all.push(quotes[k]); }
    }
    all.sort(function (a, b) { return b.change_pct - a.change_pct; });
    max = Math.max(0.01, Math.abs(all[0].change_pct), Math.abs(all[all.length - 1].change_pct));
    n = Math.min(5, Math.floor(all.length / 2));
    g.innerHTML = l.innerHTML = "";
    for (k = 0; k < n; k++) {
      row(all[k], g, max);
      row(all[all.length - 1 - k], l, max);
    }
  }
  setInterval(renderMovers, 1000);

  // ---- Plays: every game event, newest first ----

  client.subscribe(["sports.*.*"], function (u) {
    count++;
    games[u.topic] = u.data;
  });

  client.subscribe(["sports.*.*.events"], function (u) {
    var d = u.data || {}, list = $("events"), g = games[u.topic.replace(/\.events$/, "")], li, k, empty;
    count++;
    empty = list.querySelector(".empty");
    if (empty) { list.removeChild(empty); }
    li = el("li", "play " + (d.type || ""));
    el("time", "", li, clock(u.time));
    el("span", "lg " + (d.league || ""), li, (d.league || "").toUpperCase());
    el("span", "txt", li, d.text || d.type || "");
    el("span", "sc", li, (g ? g.away.code + " " + d.away_score + "–" + d.home_score + " " + g.home.code : d.away_score + "–" + d.home_score) +
      (d.period_label ? " · " + d.period_label + " " + (d.clock || "") : ""));
    // Newest first; the snapshot's plays (the latest of each game) by time.
    li.t = Date.parse(u.time) || 0;
    for (k = list.firstChild; k && !(k.t < li.t); k = k.nextSibling) { /* older ones follow */ }
    list.insertBefore(li, k);
    while (list.children.length > 40) { list.removeChild(list.lastChild); }
  });

  setInterval(function () {
    $("count").textContent = count.toLocaleString() + " updates";
    $("cursor").textContent = client.cursor || "–";
  }, 500);
}());
