/*
 * ticker.js: the Tickerd browser client (ES5, no dependencies, no build).
 *
 *   var c = new Tickerd.Client("https://host", {getToken: function (cb) { cb(err, jwt); }});
 *   var sub = c.subscribe(["stocks.AAPL", "sports.nba.>"], function (u) {});
 *   c.on("status", fn); // connecting, open/ws, open/sse, open/poll, offline
 *   c.on("reset", fn);  // a snapshot with reset:true: updates were missed
 *   c.on("error", fn);  // {type:"error",code,message} from the server, or
 *                       // code "get_token" when getToken failed
 *   sub.unsubscribe(); c.close();
 *
 * The protocol (docs/protocol.md), as this client uses it:
 * - One connection carries the union of all subscriptions' patterns; each
 *   update goes to the subscriptions it matches, snapshot items too, with
 *   u.snapshot = true.
 * - Every update and snapshot carries a cursor; c.cursor is the last seen
 *   and every reconnect, on any transport, resumes from it: the server owes
 *   what came after, no gap, no duplicate.
 * - ws: /v1/ws?topics=&cursor=; one WebSocket message may hold several JSON
 *   messages, one per line. Topic changes on a live socket are subscribe
 *   and unsubscribe commands. sse: /v1/sse?topics=&cursor=, the event name
 *   is the message type. poll: /v1/poll?topics=&cursor=&timeout=N gives
 *   {cursor, messages}; the first poll of a connection asks timeout=0. On
 *   sse and poll a topic change reconnects with the cursor, and the state
 *   of added topics is read from /v1/snapshot (a resume sends none).
 * - Negotiation: transports in order; a stream is open at its hello, polling
 *   at its first answer. Failing before that (no WebSocket or EventSource, a
 *   refused handshake, a close, no hello within helloTimeout: a buffering
 *   proxy) tries the next one at once.
 * - A connection has worked once it delivered data or stayed up
 *   stableTime; only then are the backoff and failure counts reset. One
 *   that ends before is a failure: after three in a row (a proxy passing
 *   hello, then cutting) the next transport down is used; a promoted probe
 *   that fails so goes back down at once and doubles the probe interval.
 * - The transport that worked is kept: a lost connection retries it after
 *   random(0, min(maxBackoff, minBackoff * 2^attempt)) ms, the others too
 *   after three failures. WebSocket close 1012 or 4001 and SSE errors
 *   "shutdown" and "slow_consumer" reconnect at once. A broken SSE stream is
 *   reopened here with its cursor, not by EventSource's own retry.
 * - Off WebSocket, every probeInterval a WebSocket without topics is opened;
 *   at its hello the old transport is dropped and one subscribe command with
 *   every pattern and the cursor takes over: no gap, no duplicate.
 * - Tabs: clients of one URL without a token share one connection across
 *   the tabs of an origin: a leader tab (a Web Lock, else a lease) and a
 *   BroadcastChannel or localStorage's events; see _share.
 * - Tokens: getToken's before every connect, as ?token=. A WebSocket
 *   renews in place (auth) before hello.expires; 4003, token_expired or a
 *   refused auth: a new token and a reconnect at once. Browsers hide a
 *   refused stream's status: poll tells unauthorized/forbidden.
 * - Liveness: the server sends a message at least every hello.heartbeat
 *   seconds (ws a ping line, sse a ping event); a stream with nothing for
 *   2 heartbeats is dead, ended and resumed with the cursor. A poll is
 *   timed out at its timeout + 10 s. The window's online event reconnects
 *   at once after an offline spell.
 */
(function (window) {
  "use strict";

  var T = window.Tickerd = window.Tickerd || {};
  if (T.Client) {
    return; // loaded twice: keep the first
  }

  var TRANSPORTS = ["ws", "sse", "poll"];
  var NATIVE = { ws: "WebSocket", sse: "EventSource", poll: "XMLHttpRequest" };
  var TOKEN = /^[A-Za-z0-9_-]+$/;
  var has = Object.prototype.hasOwnProperty;
  var EXPIRED = 2; // Conn.end's soon for an expired token: no transport failure

  function noop() {}
  function later(fn, ms) { return window.setTimeout(fn, ms || 0); }
  function jitter(max) { return Math.floor(Math.random() * max); }
  function num(v, d) { return typeof v === "number" && v >= 0 ? v : d; }
  function now() { return new Date().getTime(); }
  function parse(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  // expOf: a JWT's exp claim; 0 when the page's token is not one.
  function expOf(tok) {
    var b = String(tok).split(".")[1] || "";
    try {
      return JSON.parse(window.atob(b.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((b.length + 3) % 4))).exp || 0;
    } catch (e) { return 0; }
  }

  // call: a callback's exception is rethrown apart, not into the client.
  function call(fn, arg) {
    try { fn(arg); } catch (e) { later(function () { throw e; }); }
  }

  function without(a, b) {
    return a.filter(function (x) { return b.indexOf(x) < 0; });
  }

  function validPattern(p) {
    var t = p.split("."), i;
    for (i = 0; i < t.length; i++) {
      if (!TOKEN.test(t[i]) && t[i] !== "*" && !(t[i] === ">" && i === t.length - 1)) { return false; }
    }
    return p.length < 256 && t.length < 9;
  }

  // match: NATS's, "*" is one token, ">" one or more at the end.
  function match(p, topic) {
    var a = p.split("."), b = topic.split("."), i;
    for (i = 0; i < a.length; i++) {
      if (a[i] === ">") { return b.length > i; }
      if (a[i] !== "*" && a[i] !== b[i]) { return false; }
    }
    return a.length === b.length;
  }

  function covers(patterns, topic) {
    for (var i = 0; i < patterns.length; i++) {
      if (match(patterns[i], topic)) { return true; }
    }
    return false;
  }

  function wsURL(u) {
    var l = window.location;
    if (!/^https?:/i.test(u)) {
      u = l.protocol + (u.charAt(1) === "/" ? "" : "//" + l.host) + u;
    }
    return u.replace(/^http/i, "ws");
  }

  // request: done(status, JSON body) once; status 0 is a network failure
  // or timeout. No header is set, so CORS needs no preflight.
  function request(url, timeout, done) {
    var xhr = new window.XMLHttpRequest(), over = false;
    var timer = later(function () { finish(0); }, timeout);
    function abort() {
      over = true;
      window.clearTimeout(timer);
      xhr.onreadystatechange = noop;
      try { xhr.abort(); } catch (e) {}
    }
    function finish(status, text) {
      if (!over) {
        abort();
        done(status, parse(text));
      }
    }
    try {
      xhr.open("GET", url, true);
      xhr.onreadystatechange = function () {
        if (xhr.readyState === 4) { finish(xhr.status, xhr.responseText); }
      };
      xhr.send();
    } catch (e) {
      later(finish);
    }
    return { abort: abort };
  }

  // ---- Subscriptions ----

  function Subscription(client, patterns, fn) {
    this.topics = patterns;
    this.active = true;
    this._client = client;
    this._fn = typeof fn === "function" ? fn : noop;
    this._got = {};     // topic -> cursor of the last update given
    this._fresh = true;
  }

  Subscription.prototype.unsubscribe = function () {
    var subs = this._client._subs, i = subs.indexOf(this);
    this.active = false;
    if (i >= 0) {
      subs.splice(i, 1);
      this._client._changed();
    }
  };

  // _give skips what this subscription just got for the topic (from the
  // client's values, then an added pattern's snapshot), unless a reset.
  Subscription.prototype._give = function (u, reset) {
    if (!this.active || !covers(this.topics, String(u.topic))) { return; }
    if (!reset && u.cursor && this._got[u.topic] === u.cursor) { return; }
    this._got[u.topic] = u.cursor;
    call(this._fn, u);
  };

  // ---- Connections: one per transport attempt ----

  function Conn(client, name, topics) {
    this.client = client;
    this.name = name;
    this.topics = topics; // the patterns the server has for it
    this.open = false;    // its hello (or first poll) came
    this.ok = false;      // it delivered data or stayed up stableTime
    this.dead = false;    // nothing more is read from it
  }

  Conn.prototype.start = function () {
    var self = this;
    try {
      START[this.name](this, this.client);
    } catch (e) {
      later(function () { self.end(); });
    }
  };

  // end: failed or ended by the server; soon: reconnect at once.
  Conn.prototype.end = function (soon) {
    if (!this.dead) {
      this.stop();
      this.client._ended(this, soon);
    }
  };

  Conn.prototype.stop = function () {
    var ws = this.ws;
    this.dead = true;
    if (ws) {
      ws.onmessage = ws.onclose = null;
      try { ws.close(); } catch (e) {}
    }
    if (this.es) { this.es.close(); }
    if (this.req) { this.req.abort(); }
    window.clearTimeout(this.timer);
    window.clearTimeout(this.renew);
    window.clearTimeout(this.quiet);
  };

  // alive: something came; silence for two heartbeats ends it.
  Conn.prototype.alive = function () {
    var self = this;
    window.clearTimeout(this.quiet);
    if (this.hb > 0 && !this.dead) {
      this.quiet = later(function () { self.end(); }, this.hb * 2000 + 500);
    }
  };

  Conn.prototype.send = function (msg) {
    try { this.ws.send(JSON.stringify(msg)); } catch (e) {}
  };

  var START = {
    ws: function (conn, c) {
      var ws = conn.ws = new window.WebSocket(wsURL(c._url("/v1/ws", conn.topics, conn.topics.length && c.cursor)));
      ws.onmessage = function (e) {
        conn.alive();
        var lines = String(e.data).split("\n"), i;
        for (i = 0; i < lines.length && !conn.dead; i++) {
          c._message(conn, parse(lines[i]));
        }
      };
      ws.onclose = function (e) {
        if (e.code === 4003) { return conn.end(EXPIRED); } // token expired: a new one, at once
        conn.end(e.code === 1012 || e.code === 4001);
      };
    },

    sse: function (conn, c) {
      var es = conn.es = new window.EventSource(c._url("/v1/sse", conn.topics, c.cursor));
      ["hello", "update", "snapshot", "ack", "message", "ping"].forEach(function (type) {
        es.addEventListener(type, function (e) {
          conn.alive();
          if (!conn.dead) { c._message(conn, parse(e.data)); }
        }, false);
      });
      // "error": the server's (with data) or a failed connection.
      es.addEventListener("error", function (e) {
        var m = parse(e.data);
        if (conn.dead) { return; }
        conn.alive();
        if (!m) { return conn.end(); }
        c._message(conn, m);
        if (m.code === "shutdown" || m.code === "slow_consumer") { conn.end(true); }
      }, false);
    },

    poll: function (conn, c) {
      var wait = conn.open ? c.options.pollTimeout : 0, sent = now();
      conn.req = request(c._url("/v1/poll", conn.topics, c.cursor, "timeout=" + wait), (wait + 10) * 1000, function (status, body) {
        var msgs = body && body.messages, err = body && body.error, i;
        if (status === 200 && msgs) {
          c._message(conn, { type: "hello", transport: "poll" });
          for (i = 0; i < msgs.length && !conn.dead; i++) { c._message(conn, msgs[i]); }
          if (conn.dead) { return; }
          if (body.cursor) { c.cursor = body.cursor; }
          conn.timer = later(function () { START.poll(conn, c); },
            msgs.length || now() - sent > 1000 ? 0 : c.options.minBackoff);
          return;
        }
        if (err) { c._message(conn, { type: "error", code: err.code, message: err.message }); }
        if (conn.dead) { return; }
        if (err && err.code === "bad_cursor" && c.cursor) {
          c.cursor = ""; // start over with a snapshot
          return START.poll(conn, c);
        }
        conn.end();
      });
    }
  };

  // ---- The client ----

  function Client(url, options) {
    if (!(this instanceof Client)) { return new Client(url, options); }
    var o = options || {}, list = o.transports || TRANSPORTS, self = this;
    this.url = url ? String(url).replace(/\/+$/, "") : "";
    this.options = {
      transports: [],
      helloTimeout: num(o.helloTimeout, 5000),
      probeInterval: num(o.probeInterval, 30000),
      minBackoff: num(o.minBackoff, 500),
      stableTime: num(o.stableTime, 10000),
      maxBackoff: num(o.maxBackoff, 15000),
      pollTimeout: num(o.pollTimeout, 25),
      maxRate: num(o.maxRate, 0),
      getToken: typeof o.getToken === "function" ? o.getToken : null
    };
    (typeof list === "string" ? list.split(",") : list).forEach(function (t) {
      if (NATIVE[t] && self.options.transports.indexOf(t) < 0) { self.options.transports.push(t); }
    });
    this.transport = null;
    this.cursor = "";
    this.status = null;
    this._tok = o.token || "";
    this._subs = [];
    this._handlers = {};
    this._values = {};     // topic -> its latest update
    this._conn = null;
    this._probe = null;    // a WebSocket about to take over
    this._good = null;     // the transport that last worked
    this._round = [];      // transports still to try
    this._attempt = 0;
    this._fails = 0;       // rounds failed since one worked
    this._short = 0;       // connections in a row that ended before working
    this._probes = 0;      // promoted probes in a row that did not work
    this._timers = {};
    this._ids = 0;
    this._onOnline = function () { self._wake(); };
    this._share(o);
    this._onOffline = function () { self._setStatus("offline"); };
    if (window.addEventListener) {
      window.addEventListener("online", this._onOnline, false);
      window.addEventListener("offline", this._onOffline, false);
    }
  }

  Client.prototype.subscribe = function (topics, fn) {
    var ok = [], bad = [], self = this, sub;
    (typeof topics === "string" ? topics.split(",") : topics || []).forEach(function (t) {
      t = String(t).replace(/^\s+|\s+$/g, "");
      if (t && !validPattern(t)) {
        bad.push(t);
      } else if (t && ok.indexOf(t) < 0) {
        ok.push(t);
      }
    });
    sub = new Subscription(this, ok, fn);
    if (bad.length) {
      later(function () {
        self._emit("error", { type: "error", code: "bad_topic", message: "not a topic pattern: " + bad.join(", ") });
      });
    }
    if (ok.length && !this._closed) {
      this._subs.push(sub);
      this._changed();
    }
    return sub;
  };

  Client.prototype.on = function (name, fn) {
    (this._handlers[name] = this._handlers[name] || []).push(fn);
    return this;
  };

  Client.prototype.close = function () {
    var k;
    this._stop();
    for (k in this._timers) {
      if (has.call(this._timers, k)) { this._clear(k); }
    }
    if (window.removeEventListener) {
      window.removeEventListener("online", this._onOnline, false);
      window.removeEventListener("offline", this._onOffline, false);
    }
    this._closed = true;
    if (this._bc) {
      this._bye();
      this._bc.close();
      window.removeEventListener(this._hide, this._onHide, false);
      this._held.forEach(call);
    }
    this._subs = [];
    this._handlers = {};
    this.transport = null;
  };

  Client.prototype._emit = function (name, arg) {
    var list = (this._handlers[name] || []).slice(), i;
    for (i = 0; i < list.length && !this._closed; i++) { call(list[i], arg); }
  };

  Client.prototype._setStatus = function (s) {
    if (s !== this.status && !this._closed) {
      this._post({ t: "s", s: s, tr: this.transport });
      this._emit("status", this.status = s);
    }
  };

  // ---- Tabs of one origin share one connection ----
  //
  // Clients of one URL without a token elect a leader tab, which connects
  // with every tab's patterns and posts what it gets on a BroadcastChannel
  // (else as localStorage events); followers post their patterns and
  // mirror its status and cursor. The leader holds a Web Lock where there
  // are locks (handed on at once when its tab goes, even crashed), else a
  // lease: a follower that hears nothing from it for LEASE takes the lead.
  // A leader's posts carry its term (claim time) and tab: the newer term,
  // on a tie the lower tab, wins, and the other steps down on hearing it
  // (a throttled tab too). A leader that goes names its successor. The new
  // leader resumes from its cursor; _seen drops what a double lead
  // replays. The leader beats every second, followers answer with their
  // patterns, and it drops a tab silent for three beats (beats, not time:
  // a throttled leader drops no live tab). No SharedWorker: see README.

  var LEASE = 3000; // ms without a word from the leader before a follower takes the lead

  Client.prototype._share = function (o) {
    var self = this, nav = window.navigator, locks = window.Promise && nav && nav.locks, key, ls, n = 0, on;
    this._remote = {}; // tab -> its patterns
    this._miss = {};   // tab -> the leader's beats since it was heard
    this._seen = [];   // "topic cursor" of the last updates given
    this._held = [];
    this._g = 0;       // the leader's term
    if (o.token || this.options.getToken || o.share === false) { return; }
    this._tab = String(Math.random()).slice(2);
    key = this._key = "tickerd " + this.url + (this.options.maxRate ? " " + this.options.maxRate : ""); // a rate is per connection
    if (window.BroadcastChannel) {
      this._bc = new window.BroadcastChannel(key);
      this._bc.onmessage = function (e) { self._hear(e.data || {}); };
    } else {
      // Each message a new value (a nonce), removed at once. Storage can
      // throw (Safari's private mode, a blocked iframe): then no sharing.
      key += " msg";
      on = function (e) {
        if (e.key === key && e.newValue) { self._hear((parse(e.newValue) || {}).m || {}); }
      };
      try {
        ls = window.localStorage;
        ls.setItem(key, "");
        ls.removeItem(key);
        window.addEventListener("storage", on, false);
      } catch (e) { return; }
      this._bc = {
        postMessage: function (m) {
          ls.setItem(key, JSON.stringify({ n: self._tab + " " + ++n, m: m }));
          ls.removeItem(key);
        },
        close: function () { window.removeEventListener("storage", on, false); }
      };
    }
    this._hide = "onpagehide" in window ? "pagehide" : "unload";
    this._onHide = function () { self._bye(); };
    window.addEventListener(this._hide, this._onHide, false);
    if (locks) {
      this._locks = true;
      locks.request(this._key, function () {
        if (self._closed) { return; }
        self._claim();
        return new window.Promise(function (done) { self._held.push(done); });
      });
    } else {
      this._heard = now() - LEASE; // the first tick claims unless a leader answers this
      this._post({ t: "subs", topics: [] });
    }
    this._timer("tick", this._tick, 300);
  };

  // _tick, every second: the leader's beat and count of silent tabs; a
  // follower's check of the lease.
  Client.prototype._tick = function () {
    var r = this._remote, k, gone = 0;
    if (this._lead) {
      for (k in r) {
        if (has.call(r, k) && ++this._miss[k] > 3) {
          delete r[k];
          gone++;
        }
      }
      if (gone) { this._changed(); }
      this._post({ t: "lead" });
    } else if (!this._locks && now() - this._heard > LEASE) {
      this._claim();
    }
    this._timer("tick", this._tick, 1000);
  };

  Client.prototype._claim = function () {
    this._lead = true;
    this._ld = this._tab;
    this._g = Math.max(now(), this._g + 1);
    this._post({ t: "lead" });
    this._changed();
  };

  // _bye: a leader that goes names a tab that answered its last beats to
  // take over at once; the others wait out the lease, and so do all if
  // that one has gone too.
  Client.prototype._bye = function () {
    var r = this._remote, k, to;
    for (k in r) {
      if (has.call(r, k) && this._miss[k] < 2) { to = k; }
    }
    this._post({ t: "bye", to: to });
  };

  // _post: a follower speaks only of its own patterns.
  Client.prototype._post = function (m) {
    if (this._bc && (this._lead || m.t === "subs" || m.t === "bye")) {
      m.f = this._tab;
      if (this._lead) { m.g = this._g; }
      try { this._bc.postMessage(m); } catch (e) {}
    }
  };

  Client.prototype._hear = function (m) {
    var self = this, out = [], r = this._remote, t;
    if (this._closed || !m.f || m.f === this._tab) { return; }
    if (m.g) {
      if (m.g < this._g || (m.g === this._g && m.f > this._ld)) {
        // an older leader, or a tie's loser: the leader tells it
        if (this._lead) { this._post({ t: "lead" }); }
        return;
      }
      if (this._lead) {
        this._lead = false;
        this._stop();
        this._clear("retry");
        this._changed();
      }
      this._g = m.g;
      this._ld = m.f;
      this._heard = now();
    }
    if (m.t === "subs") {
      this._miss[m.f] = 0;
      if (String(r[m.f]) !== String(m.topics)) {
        r[m.f] = m.topics;
        if (this._lead) {
          this._changed();
          for (t in this._values) {
            if (has.call(this._values, t) && covers(m.topics, t)) { out.push(this._values[t]); }
          }
          this._post({ t: "v", to: m.f, items: out });
          this._post({ t: "s", s: this.status, tr: this.transport });
        }
      }
    } else if (m.t === "bye") {
      delete r[m.f];
      if (this._lead) { this._changed(); }
      if (m.g && m.to === this._tab && !this._locks) { this._claim(); }
    } else if (m.t === "lead") {
      this._sync();
    } else if (this._lead) {
      return;
    } else if (m.t === "u") {
      if (m.u.snapshot || this._seen.indexOf(m.u.topic + " " + m.u.cursor) < 0) {
        this.cursor = m.c;
        this._got(m.u, m.r);
      }
    } else if (m.t === "v" && m.to === this._tab) {
      m.items.forEach(function (u) { self._got(copy(u)); });
    } else if (m.t === "s") {
      this.transport = m.tr;
      this._setStatus(m.s);
    } else if (m.t === "e") {
      this._emit(m.n, m.a);
    }
  };

  // _got: an update the leader posted.
  Client.prototype._got = function (u, reset) {
    if (covers(this._patterns(), u.topic)) {
      this._values[u.topic] = u;
      this._deliver(u, reset);
    }
  };

  // _tell: a server's error or reset, to every tab.
  Client.prototype._tell = function (name, m) {
    this._post({ t: "e", n: name, a: m });
    this._emit(name, m);
  };

  Client.prototype._timer = function (name, fn, ms) {
    var self = this;
    this._clear(name);
    this._timers[name] = later(function () {
      delete self._timers[name];
      if (!self._closed) { fn.call(self); }
    }, ms);
  };

  Client.prototype._clear = function (name) {
    window.clearTimeout(this._timers[name]);
    delete this._timers[name];
  };

  Client.prototype._url = function (path, topics, cursor, extra) {
    var q = [], token = this._tok;
    if (topics.length) { q.push("topics=" + topics.map(encodeURIComponent).join(",")); }
    if (cursor) { q.push("cursor=" + encodeURIComponent(cursor)); }
    if (extra) { q.push(extra); }
    if (this.options.maxRate && path !== "/v1/snapshot") { q.push("max_rate=" + this.options.maxRate); }
    if (token) { q.push("token=" + encodeURIComponent(token)); }
    return this.url + path + (q.length ? "?" + q.join("&") : "");
  };

  // _rated: a subscribe's max_rate replaces the connection's, so every one
  // repeats it.
  Client.prototype._rated = function (msg) {
    if (this.options.maxRate) { msg.max_rate = this.options.maxRate; }
    return msg;
  };

  Client.prototype._patterns = function () {
    var out = [], r = this._remote, k;
    function add(p) { out = out.concat(without(p, out)); }
    this._subs.forEach(function (s) { add(s.topics); });
    for (k in r) {
      if (this._lead && has.call(r, k)) { add(r[k]); }
    }
    return out;
  };

  // _changed: changes apply together once the caller's code has run.
  Client.prototype._changed = function () {
    if (!this._closed) { this._timer("sync", this._sync, 0); }
  };

  Client.prototype._sync = function () {
    var want = this._patterns(), conn = this._conn, values = this._values, t, add;
    for (t in values) {
      if (has.call(values, t) && !covers(want, t)) { delete values[t]; }
    }
    this._subs.forEach(function (s) {
      for (t in values) {
        if (s._fresh && has.call(values, t)) { s._give(copy(values[t])); }
      }
      s._fresh = false;
    });
    if (this._bc && !this._lead) {
      this._post({ t: "subs", topics: want });
    } else if (!want.length) {
      this._stop();
      this._clear("retry");
      this.transport = null;
      if (this.status) { this._setStatus("offline"); }
    } else if (!conn) {
      if (!this._timers.retry) { this._connect(); }
    } else if (conn.name === "ws") {
      if (conn.open) { this._syncWS(conn, want); } // else at its hello
    } else if ((add = without(want, conn.topics)).length || without(conn.topics, want).length) {
      if (add.length && this.cursor) { this._fetchState(add); }
      this._stop();
      this._open(conn.name);
    }
  };

  function copy(u) {
    var c = {}, k;
    for (k in u) {
      if (has.call(u, k)) { c[k] = u[k]; }
    }
    c.snapshot = true;
    return c;
  }

  Client.prototype._syncWS = function (conn, want) {
    var add = without(want, conn.topics), del = without(conn.topics, want);
    if (del.length) { conn.send({ type: "unsubscribe", id: ++this._ids, topics: del }); }
    if (add.length) { conn.send(this._rated({ type: "subscribe", id: ++this._ids, topics: add })); }
    conn.topics = want;
  };

  // _fetchState: topics added on sse or poll get no snapshot; read their
  // state unless an update came first (not events: out of order).
  Client.prototype._fetchState = function (patterns) {
    var self = this;
    request(this._url("/v1/snapshot", patterns), 10000, function (status, body) {
      ((status === 200 && body && body.items) || []).forEach(function (u) {
        if (u.kind === "state" && !self._values[u.topic] && !self._closed && covers(self._patterns(), u.topic)) {
          u.snapshot = true;
          self._values[u.topic] = u;
          self._deliver(u);
        }
      });
    });
  };

  Client.prototype._connect = function () {
    var all = this.options.transports, good = this._good;
    this._clear("retry");
    if (!this._patterns().length || (this._bc && !this._lead)) { return; }
    this._round = !good ? all.slice() : this._fails < 3 ? [good] : [good].concat(without(all, [good]));
    this._setStatus("connecting");
    this._next();
  };

  Client.prototype._next = function () {
    var name;
    while ((name = this._round.shift())) {
      if (window[NATIVE[name]]) { return this._open(name); }
    }
    this._fails++;
    this._retry();
  };

  Client.prototype._open = function (name) {
    var conn = this._conn = new Conn(this, name, this._patterns());
    this._token(conn, function () {
      if (name !== "poll") {
        this._timer("hello", function () {
          if (this._conn === conn) { conn.end(); }
        }, this.options.helloTimeout);
      }
      conn.start();
    });
  };

  // _token runs fn once getToken has answered for conn, still current (at
  // once without getToken). A failure is told; a connect then fails.
  Client.prototype._token = function (conn, fn) {
    var self = this, get = this.options.getToken, done = false;
    function answer(err, tok) {
      if (done || self._closed || conn.dead || (conn !== self._conn && conn !== self._probe)) { return; }
      done = true;
      if (err) {
        self._emit("error", { type: "error", code: "get_token", message: String(err) });
        return conn.open || conn.end();
      }
      self._tok = tok ? String(tok) : "";
      fn.call(self);
    }
    if (!get) { return fn.call(this); }
    try { get(answer); } catch (e) { answer(e); }
  };

  // _renew: an open WebSocket renews its token (expiring at exp, unix
  // seconds) in place, a second from now at the soonest.
  Client.prototype._renew = function (conn, exp) {
    var self = this, left = exp * 1000 - now();
    window.clearTimeout(conn.renew);
    if (exp > 0 && this.options.getToken) {
      conn.renew = later(function () {
        self._token(conn, function () {
          conn.auth = ++self._ids;
          conn.exp = expOf(self._tok);
          conn.send({ type: "auth", id: conn.auth, token: self._tok });
        });
      }, Math.max(1000, Math.min(left * 0.8, left - 5000)));
    }
  };

  Client.prototype._retry = function (soon) {
    var o = this.options;
    this._stop();
    this.transport = null;
    this._setStatus(soon ? "connecting" : "offline");
    this._timer("retry", this._connect, soon ? jitter(Math.min(250, o.minBackoff)) :
      jitter(Math.min(o.maxBackoff, o.minBackoff * Math.pow(2, Math.min(this._attempt++, 30)))));
  };

  Client.prototype._wake = function () {
    if (this.status === "offline" && !this._closed && this._patterns().length) {
      this._stop();
      this._attempt = 0;
      this._connect();
    }
  };

  Client.prototype._stop = function () {
    if (this._conn) { this._conn.stop(); }
    if (this._probe) { this._probe.stop(); }
    this._conn = this._probe = null;
    this._clear("hello");
    this._clear("probe");
    this._clear("stable");
  };

  Client.prototype._ended = function (conn, soon) {
    if (conn === this._probe) {
      this._probe = null;
      this._scheduleProbe();
    } else if (conn === this._conn) {
      this._conn = null;
      this._clear("hello");
      if (!conn.open) { return this._next(); } // failed before its hello
      if (!conn.ok && soon !== EXPIRED && (conn.up || ++this._short > 2)) {
        // opened but never worked: a promoted probe goes back at once,
        // else the third in a row moves down a transport
        this._short = 0;
        this._good = conn.up || this._below(conn.name);
        this._probes += conn.up ? 1 : 0;
        soon = !!conn.up;
      }
      this._retry(soon);
    }
  };

  // _below: the next transport down this browser has, or name at the end.
  Client.prototype._below = function (name) {
    var t = this.options.transports, i = t.indexOf(name);
    while (++i < t.length) {
      if (window[NATIVE[t[i]]]) { return t[i]; }
    }
    return name;
  };

  // _worked: conn delivered data or stayed up stableTime.
  Client.prototype._worked = function (conn) {
    if (conn === this._conn && !conn.ok) {
      conn.ok = true;
      this._clear("stable");
      this._attempt = this._fails = this._short = 0;
      if (conn.name === "ws") { this._probes = 0; }
    }
  };

  Client.prototype._watch = function (conn) {
    this._timer("stable", function () { this._worked(conn); }, this.options.stableTime);
  };

  Client.prototype._opened = function (conn) {
    if (conn === this._probe) { return this._promote(conn); }
    this._clear("hello");
    this.transport = this._good = conn.name;
    if (conn.name === "ws") { this._syncWS(conn, this._patterns()); }
    this._setStatus("open/" + conn.name);
    this._watch(conn);
    this._scheduleProbe();
  };

  Client.prototype._scheduleProbe = function () {
    var t = this.options.transports, ws = t.indexOf("ws"), cur = this.transport;
    if (!cur || ws < 0 || ws >= t.indexOf(cur) || !window.WebSocket) { return; }
    this._timer("probe", function () {
      var p = this._probe = new Conn(this, "ws", []);
      this._token(p, function () {
        this._timer("probe", function () {
          if (this._probe === p) { p.end(); }
        }, this.options.helloTimeout);
        p.start();
      });
    }, this.options.probeInterval * Math.pow(2, Math.min(this._probes, 5)));
  };

  // _promote: the old connection is dropped first, so the cursor is exact.
  Client.prototype._promote = function (ws) {
    var want = this._patterns(), msg = this._rated({ type: "subscribe", id: ++this._ids, topics: want });
    ws.up = this.transport;
    this._probe = null;
    this._stop();
    this._conn = ws;
    if (this.cursor) { msg.cursor = this.cursor; }
    if (want.length) { ws.send(msg); }
    ws.topics = want;
    this.transport = this._good = "ws";
    this._setStatus("open/ws");
    this._watch(ws);
  };

  Client.prototype._message = function (conn, m) {
    var self = this;
    if (this._closed || !m || (conn !== this._conn && conn !== this._probe)) { return; }
    if (m.type === "hello") {
      if (!conn.open) {
        conn.open = true;
        conn.hb = m.heartbeat;
        conn.alive();
        this._renew(conn, conn.ws && m.expires);
        this._opened(conn);
      }
    } else if (m.id && m.id === conn.auth) {
      // the answer to a renewal: an error is as good as an expiry
      if (m.type === "ack") { this._renew(conn, conn.exp); }
      if (m.type === "error") {
        this._tell("error", m);
        conn.end(true);
      }
    } else if (m.code === "token_expired") {
      conn.end(EXPIRED);
    } else if (conn === this._probe) {
      return;
    } else if (m.type === "update") {
      this._worked(conn);
      this.cursor = m.cursor || this.cursor;
      this._values[m.topic] = m;
      this._deliver(m);
    } else if (m.type === "snapshot") {
      this._worked(conn);
      this.cursor = m.cursor || this.cursor;
      if (m.reset) { this._tell("reset", m); }
      (m.items || []).forEach(function (u) {
        if (conn === self._conn) {
          u.snapshot = true;
          self._values[u.topic] = u;
          self._deliver(u, m.reset);
        }
      });
    } else if (m.type === "error") {
      this._tell("error", m);
      if (m.code === "bad_cursor" && conn.ws) {
        this.cursor = "";
        conn.topics = [];
        this._syncWS(conn, this._patterns());
      }
    }
  };

  Client.prototype._deliver = function (u, reset) {
    var subs = this._subs.slice(), i;
    if (!u.snapshot && this._seen.push(u.topic + " " + u.cursor) > 100) { this._seen.shift(); }
    this._post({ t: "u", u: u, r: reset, c: this.cursor });
    for (i = 0; i < subs.length && !this._closed; i++) { subs[i]._give(u, reset); }
  };

  T.Client = Client;
  T.match = match;
}(window));
