/*
 * ticker-widget.js: a live ticker in one script tag (ES5, no build).
 *
 *   <script src="https://host/ticker-widget.js"></script>
 *   <div data-tickerd-topics="stocks.AAPL,stocks.MSFT"></div>
 *
 * Each [data-tickerd-topics] element shows stocks.* as a scrolling tape,
 * sports.<league>.<id> as scoreboards and their .events as the latest
 * plays. Optional: data-tickerd-url (server; default where this script came
 * from), data-tickerd-transports ("ws,sse,poll"), data-tickerd-theme
 * ("light"), data-tickerd-max (scoreboards or events shown, default 8),
 * data-tickerd-token (an access token), data-tickerd-get-token (the name of
 * a global function(callback) giving tokens, as ticker.js's getToken;
 * default window.TickerdGetToken, if defined when the widget mounts),
 * data-tickerd-max-rate (at most this many updates a second of each
 * quote or scoreboard, as ticker.js's maxRate; events are never held).
 * ticker.js is loaded from beside this script if needed; the widgets of one
 * server share one client (Tickerd.Widget.client(url, transports, token,
 * hook, maxRate)).
 *
 * Styles: a Shadow DOM root keeps the page's CSS out and ours in, and the
 * widget's root resets what it inherits (all: initial). Without Shadow DOM
 * the same stylesheet, classes prefixed tkd-, goes once into the page's
 * head, with an all: unset reset inside the widget. Theme with --tkd-bg,
 * --tkd-fg, --tkd-muted, --tkd-up, --tkd-down, --tkd-line, --tkd-card,
 * --tkd-font, --tkd-size, --tkd-radius on the element or an ancestor.
 * prefers-reduced-motion: no scrolling, no flashes. The dot: green live on
 * WebSocket, amber connecting or on a fallback, grey offline; a reconnect
 * of under a second leaves it as it was.
 */
(function (window, document) {
  "use strict";

  var T = window.Tickerd = window.Tickerd || {};
  if (T.Widget) {
    return;
  }

  var scripts = document.getElementsByTagName("script");
  var me = document.currentScript || scripts[scripts.length - 1];
  var DIR = ((me && me.src) || "").replace(/[?#].*$/, "").replace(/\/[^\/]*$/, "");
  var clients = {}, waiting = [], styled = false;
  var NAMES = { ws: "WebSocket", sse: "Server-Sent Events", poll: "long polling" };

  var CSS = [
    ":host{display:block}",
    ".tkd-root{all:initial;--b:var(--tkd-bg,#0d1117);--f:var(--tkd-fg,#e6edf3);--m:var(--tkd-muted,#8b949e);--u:var(--tkd-up,#3fb950);--d:var(--tkd-down,#f85149);--l:var(--tkd-line,#30363d);--c:var(--tkd-card,#161b22);" +
      "display:block;position:relative;overflow:hidden;background:var(--b);color:var(--f);font:var(--tkd-size,14px)/1.4 var(--tkd-font,system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif);border-radius:var(--tkd-radius,8px);text-align:left}",
    ".tkd-root.tkd-light{--b:var(--tkd-bg,#fff);--f:var(--tkd-fg,#1f2328);--m:var(--tkd-muted,#656d76);--u:var(--tkd-up,#1a7f37);--d:var(--tkd-down,#cf222e);--l:var(--tkd-line,#d0d7de);--c:var(--tkd-card,#f6f8fa)}",
    ".tkd-root *{all:unset;box-sizing:border-box;margin:0;padding:0;border:0}",
    ".tkd-root .tkd-tape,.tkd-root .tkd-head,.tkd-root .tkd-q,.tkd-root .tkd-meta,.tkd-root .tkd-team,.tkd-root .tkd-ev{display:flex;align-items:center}",
    ".tkd-root .tkd-tape{height:2.6em}",
    ".tkd-root .tkd-head{padding:8px 12px 0;font-size:11px;color:var(--m);text-transform:uppercase;letter-spacing:.06em}",
    ".tkd-root .tkd-dot{display:inline-block;flex:none;width:8px;height:8px;border-radius:50%;margin:0 8px 0 12px;background:var(--m)}",
    ".tkd-root .tkd-head .tkd-dot{margin-left:0}",
    ".tkd-root .tkd-dot.tkd-mid{background:#d29922}",
    ".tkd-root .tkd-dot.tkd-on{background:var(--u)}",
    ".tkd-root .tkd-vp{display:block;flex:1;min-width:0;overflow:hidden;white-space:nowrap;mask-image:linear-gradient(90deg,transparent,#000 16px,#000 calc(100% - 24px),transparent)}",
    ".tkd-root .tkd-track{display:inline-block;white-space:nowrap;animation:tkd-scroll 60s linear infinite}",
    ".tkd-root .tkd-vp:hover .tkd-track{animation-play-state:paused}",
    ".tkd-root .tkd-still .tkd-track{animation:none}",
    ".tkd-root .tkd-list{display:inline-block}",
    ".tkd-root .tkd-still .tkd-clone{display:none}",
    ".tkd-root .tkd-q{display:inline-flex;align-items:baseline;padding:2px 8px;margin-right:14px;border-radius:4px;transition:background-color .8s}",
    ".tkd-root .tkd-sym{font-weight:700;margin-right:.45em}",
    ".tkd-root .tkd-px,.tkd-root .tkd-score,.tkd-root .tkd-ch,.tkd-root .tkd-evc{font-variant-numeric:tabular-nums}",
    ".tkd-root .tkd-ch{margin-left:.45em;font-size:.9em;color:var(--m)}",
    ".tkd-root .tkd-up .tkd-ch{color:var(--u)}",
    ".tkd-root .tkd-down .tkd-ch{color:var(--d)}",
    ".tkd-root .tkd-q.tkd-fu{background:rgba(63,185,80,.28);transition:none}",
    ".tkd-root .tkd-q.tkd-fd{background:rgba(248,81,73,.28);transition:none}",
    ".tkd-root .tkd-msg{display:block;padding:8px 12px;color:var(--m)}",
    ".tkd-root .tkd-vp .tkd-msg{padding:0}",
    ".tkd-root .tkd-boards{display:flex;flex-wrap:wrap;padding:6px}",
    ".tkd-root .tkd-card{display:block;flex:1 1 190px;margin:4px;padding:8px 10px;background:var(--c);border:1px solid var(--l);border-radius:6px}",
    ".tkd-root .tkd-meta{justify-content:space-between;margin-bottom:4px;font-size:11px;color:var(--m);text-transform:uppercase;letter-spacing:.05em}",
    ".tkd-root .tkd-live .tkd-st{color:var(--d);font-weight:700}",
    ".tkd-root .tkd-team{padding:1px 0}",
    ".tkd-root .tkd-code{display:inline-block;flex:none;width:3.3em;font-weight:700}",
    ".tkd-root .tkd-name{display:block;flex:1;min-width:0;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;font-size:.86em;color:var(--m)}",
    ".tkd-root .tkd-score{display:inline-block;min-width:1.6em;padding:0 3px;border-radius:3px;text-align:right;font-weight:700;transition:background-color 1.5s}",
    ".tkd-root .tkd-score.tkd-hit{background:rgba(210,153,34,.45);transition:none}",
    ".tkd-root .tkd-final .tkd-team{color:var(--m)}",
    ".tkd-root .tkd-final .tkd-team.tkd-lead{color:var(--f)}",
    ".tkd-root .tkd-evs{display:block;padding:4px 12px 8px}",
    ".tkd-root .tkd-ev{padding:4px 0;border-top:1px solid var(--l)}",
    ".tkd-root .tkd-ev:first-child{border:0}",
    ".tkd-root .tkd-evt{display:inline-block;flex:none;min-width:4.2em;margin-right:8px;padding:1px 5px;border-radius:3px;background:var(--l);font-size:10px;text-align:center;text-transform:uppercase;letter-spacing:.05em}",
    ".tkd-root .tkd-goal .tkd-evt{background:var(--u);color:#000}",
    ".tkd-root .tkd-yellow .tkd-evt{background:#d29922;color:#000}",
    ".tkd-root .tkd-red .tkd-evt{background:var(--d);color:#000}",
    ".tkd-root .tkd-evx{display:block;flex:1;min-width:0}",
    ".tkd-root .tkd-evc{display:inline-block;flex:none;margin-left:8px;font-size:.86em;color:var(--m)}",
    "@keyframes tkd-scroll{to{transform:translateX(-50%)}}",
    "@media (prefers-reduced-motion:reduce){.tkd-root .tkd-track{animation:none}.tkd-root .tkd-clone{display:none}.tkd-root .tkd-vp{overflow-x:auto}" +
      ".tkd-root .tkd-q.tkd-fu,.tkd-root .tkd-q.tkd-fd,.tkd-root .tkd-score.tkd-hit{background:none}}"
  ].join("\n");

  function el(tag, cls, parent, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    if (parent) { parent.appendChild(e); }
    return e;
  }

  function fixed(n) {
    return typeof n === "number" ? n.toFixed(2) : "–";
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  // insert puts node among parent's children, ordered by their .tkdKey.
  function insert(parent, node, key, desc) {
    var kids = parent.children, i;
    node.tkdKey = key;
    for (i = 0; i < kids.length; i++) {
      if (kids[i] !== node && (desc ? kids[i].tkdKey < key : kids[i].tkdKey > key)) { break; }
    }
    if (kids[i] !== node) { parent.insertBefore(node, kids[i] || null); }
  }

  // trim removes what is past the first max children.
  function trim(parent, max) {
    for (var i = parent.children.length - 1; i >= max; i--) { parent.removeChild(parent.children[i]); }
  }

  // flash adds cls to node for a moment (CSS fades it out; under
  // prefers-reduced-motion it shows nothing).
  function flash(node, cls, ms) {
    window.clearTimeout(node.tkdFlash);
    node.className = node.className.replace(/ tkd-(fu|fd|hit)/g, "") + " " + cls;
    node.tkdFlash = window.setTimeout(function () {
      node.className = node.className.replace(" " + cls, "");
    }, ms);
  }

  // client returns the shared client for a server, transport list, token
  // or token hook and rate.
  function client(url, transports, token, hook, maxRate) {
    var o = { token: token, maxRate: +maxRate || 0 }, key = [url = url || DIR, transports, token, hook = hook || "TickerdGetToken", o.maxRate].join("|");
    if (transports) { o.transports = String(transports).split(","); }
    o.getToken = window[hook];
    return clients[key] || (clients[key] = new T.Client(url, o));
  }

  function withClient(fn) {
    var s;
    if (T.Client) {
      fn();
      return;
    }
    waiting.push(fn);
    if (waiting.length === 1) {
      s = el("script");
      s.src = DIR + "/ticker.js";
      s.onload = function () {
        while (waiting.length) { waiting.shift()(); }
      };
      (document.head || document.documentElement).appendChild(s);
    }
  }

  function Widget(host) {
    var self = this, shadow, root, row;
    function attr(name) { return host.getAttribute("data-tickerd-" + name) || ""; }
    this.topics = attr("topics").split(",");
    this.max = parseInt(attr("max"), 10) || 8;
    this.quotes = {};
    this.games = {};
    host.className += " tkd-host";
    try { shadow = host.attachShadow({ mode: "open" }); } catch (e) {}
    root = this.root = el("div", "tkd-root" + (attr("theme") === "light" ? " tkd-light" : ""));
    if (shadow) {
      el("style", "", shadow, CSS);
      shadow.appendChild(root);
    } else {
      if (!styled) { el("style", "", document.head || document.documentElement, CSS); }
      styled = true;
      host.innerHTML = "";
      host.appendChild(root);
    }
    if (/(^|,)(stocks|\*|>)(\.|,|$)/.test(this.topics.join(","))) {
      row = this.tape = el("div", "tkd-tape tkd-still", root);
      this.dot = el("span", "tkd-dot", row);
      this.vp = el("div", "tkd-vp", row);
      this.msg = el("span", "tkd-msg", this.vp, "Waiting for quotes…");
    } else {
      row = el("div", "tkd-head", root);
      this.dot = el("span", "tkd-dot", row);
      this.label = el("span", "", row);
      this.msg = el("div", "tkd-msg", root, "Waiting for data…");
    }
    this.status("connecting");
    withClient(function () {
      var c = client(attr("url"), attr("transports"), attr("token"), attr("get-token"), attr("max-rate"));
      c.on("status", function (s) { self.status(s); });
      c.subscribe(self.topics, function (u) { self.update(u); });
      if (c.status) { self.status(c.status); }
    });
  }

  // status: a live dot stays live through a reconnect of under a second.
  Widget.prototype.status = function (s) {
    var self = this;
    window.clearTimeout(this.lag);
    if (this.live && s.indexOf("open/")) {
      this.lag = window.setTimeout(function () { self.show(s); }, 1000);
    } else {
      this.show(s);
    }
  };

  Widget.prototype.show = function (s) {
    var open = this.live = s.indexOf("open/") === 0, name = NAMES[s.slice(5)];
    this.dot.className = "tkd-dot" + (s === "open/ws" ? " tkd-on" : s === "offline" ? "" : " tkd-mid");
    this.dot.title = open ? "Live, over " + name : s === "offline" ? "Offline, reconnecting" : "Connecting…";
    if (this.label) { this.label.textContent = open ? "Live" : s === "offline" ? "Offline" : "Connecting"; }
  };

  Widget.prototype.update = function (u) {
    var t = u.topic.split("."), d = u.data || {};
    if (t[0] === "stocks") {
      this.quote(d.symbol || t[1], d);
    } else if (t[0] === "sports" && t.length === 3) {
      this.game(u.topic, d);
    } else if (t[0] === "sports" && t[3] === "events") {
      this.event(u, d);
    } else {
      return;
    }
    if (this.msg) {
      this.msg.parentNode.removeChild(this.msg);
      this.msg = null;
    }
  };

  // ---- The stock tape: two copies of the list scroll by half the track,
  // so the second takes the first's place seamlessly. ----

  Widget.prototype.quote = function (sym, d) {
    var q = this.quotes[sym], prev, cls, i, v;
    if (!this.vp) { return; }
    if (!this.track) {
      this.track = el("div", "tkd-track", this.vp);
      this.list = el("span", "tkd-list", this.track);
      this.clone = el("span", "tkd-list tkd-clone", this.track);
      this.clone.setAttribute("aria-hidden", "true");
    }
    if (!q) {
      q = this.quotes[sym] = { views: [this.quoteView(sym, this.list), this.quoteView(sym, this.clone)] };
      this.fitSoon();
    }
    prev = q.price;
    q.price = d.price;
    cls = "tkd-q " + (d.change > 0 ? "tkd-up" : d.change < 0 ? "tkd-down" : "tkd-flat");
    for (i = 0; i < 2; i++) {
      v = q.views[i];
      v.px.textContent = fixed(d.price);
      v.ch.textContent = (d.change > 0 ? "▲ " : d.change < 0 ? "▼ " : "") + fixed(Math.abs(d.change)) +
        " (" + (d.change_pct > 0 ? "+" : "") + fixed(d.change_pct) + "%)";
      v.q.className = cls;
      v.q.title = (d.name || sym) + (d.bid ? "  bid " + fixed(d.bid) + " / ask " + fixed(d.ask) : "") +
        (d.volume ? "  vol " + d.volume.toLocaleString() : "");
      if (prev !== undefined && prev !== d.price) { flash(v.q, d.price > prev ? "tkd-fu" : "tkd-fd", 700); }
    }
  };

  Widget.prototype.quoteView = function (sym, list) {
    var q = el("span", "tkd-q");
    el("span", "tkd-sym", q, sym);
    insert(list, q, sym);
    return { q: q, px: el("span", "tkd-px", q), ch: el("span", "tkd-ch", q) };
  };

  // fit scrolls the tape only when it is wider than its box, at a steady
  // 50px a second whatever its length.
  Widget.prototype.fitSoon = function () {
    var self = this;
    window.clearTimeout(this.fitTimer);
    this.fitTimer = window.setTimeout(function () { self.fit(); }, 200);
    if (!this.onResize) {
      this.onResize = function () { self.fitSoon(); };
      window.addEventListener("resize", this.onResize, false);
    }
  };

  Widget.prototype.fit = function () {
    var w = this.list.offsetWidth, wide = w > this.vp.clientWidth;
    this.tape.className = "tkd-tape" + (wide ? "" : " tkd-still");
    if (wide) { this.track.style.animationDuration = Math.round(w / 50) + "s"; }
  };

  // ---- Scoreboards: live first, then the next to start, then the most
  // recently started finals; at most max of them. ----

  Widget.prototype.game = function (topic, d) {
    var g = this.games[topic], rank = { live: 0, scheduled: 1 }[d.status], start = Date.parse(d.starts_at) || 0;
    var lead = (d.home && d.away) ? d.home.score - d.away.score : 0, key, card;
    if (!g) {
      card = el("div", "tkd-card");
      g = this.games[topic] = { card: card, meta: el("div", "tkd-meta", card) };
      g.lg = el("span", "", g.meta);
      g.st = el("span", "tkd-st", g.meta);
      g.away = this.teamView(card);
      g.home = this.teamView(card);
      card.tkdGame = topic;
      if (!this.boards) {
        this.boards = el("div", "tkd-boards");
        this.root.insertBefore(this.boards, this.evs || null);
      }
    }
    g.card.className = "tkd-card tkd-" + d.status;
    g.lg.textContent = (d.league || topic.split(".")[1]).toUpperCase();
    g.st.textContent = d.status === "live" ? (d.period_label || "") + " " + (d.intermission ? "break" : d.clock || "") :
      d.status === "final" ? "Final" : start ? "Starts " + pad(new Date(start).getHours()) + ":" + pad(new Date(start).getMinutes()) : d.status || "";
    this.teamSet(g.away, d.away, lead < 0);
    this.teamSet(g.home, d.home, lead > 0);
    key = rank === undefined ? 2e13 - start : rank * 1e13 + start;
    if (key !== g.key) {
      g.key = key;
      insert(this.boards, g.card, key);
      this.prune();
    }
  };

  Widget.prototype.prune = function () {
    var kids = this.boards.children;
    while (kids.length > this.max) {
      delete this.games[kids[kids.length - 1].tkdGame];
      this.boards.removeChild(kids[kids.length - 1]);
    }
  };

  Widget.prototype.teamView = function (card) {
    var row = el("div", "tkd-team", card);
    return { row: row, code: el("span", "tkd-code", row), name: el("span", "tkd-name", row), score: el("span", "tkd-score", row) };
  };

  Widget.prototype.teamSet = function (v, t, lead) {
    t = t || {};
    var score = String(t.score === undefined ? "" : t.score);
    v.row.className = "tkd-team" + (lead ? " tkd-lead" : "");
    v.code.textContent = t.code || "";
    v.name.textContent = t.name || "";
    if (v.score.textContent !== score) {
      if (v.score.textContent) { flash(v.score, "tkd-hit", 1500); }
      v.score.textContent = score;
    }
  };

  // ---- Events: the latest plays, newest first. ----

  Widget.prototype.event = function (u, d) {
    var li = el("div", "tkd-ev tkd-" + (d.type === "score" ? "goal" : d.card || d.type));
    if (!this.evs) { this.evs = el("div", "tkd-evs", this.root); }
    el("span", "tkd-evt", li, d.type || "");
    el("span", "tkd-evx", li, d.text || "");
    el("span", "tkd-evc", li, ((d.league || "").toUpperCase() + " " + (d.period_label || "") + " " + (d.clock || "")).replace(/^ +| +$/g, ""));
    insert(this.evs, li, Date.parse(u.time) || 0, true);
    trim(this.evs, this.max);
  };

  function mount(host) {
    if (!host.tkdWidget) { host.tkdWidget = new Widget(host); }
    return host.tkdWidget;
  }

  function scan() {
    var found = document.querySelectorAll("[data-tickerd-topics]"), i;
    for (i = 0; i < found.length; i++) { mount(found[i]); }
  }

  T.Widget = { mount: mount, scan: scan, client: client, el: el };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", scan, false);
  } else {
    scan();
  }
}(window, document));
