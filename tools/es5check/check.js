// check.js: the browser scripts' ES5 and size gate, run by `make es5-check`.
//
//   node tools/es5check/check.js static/ticker.js static/ticker-widget.js
//
// Each file must parse as an ES5 script (acorn, ecmaVersion 5): no let,
// const, arrow functions, classes, template literals, for-of, default
// parameters, ... A failure prints file:line:col and acorn's message.
// Then the files together must stay within the size budget, gzipped at
// zlib's default level: what a page embedding the widget downloads.
"use strict";

var fs = require("fs");
var path = require("path");
var zlib = require("zlib");
var acorn;
try {
  acorn = require("acorn");
} catch (e) {
  if (e.code !== "MODULE_NOT_FOUND") throw e;
  // `make es5-check` skips before this; this is for running check.js by hand.
  console.error("check.js: acorn is not installed: run `make deps` (or npm ci --prefix tools/es5check)");
  process.exit(2);
}

// bytes, gzipped, all files together. 12 KiB until access tokens (issue
// 10: getToken, in-place renewal, expiry handling, the widget's token
// attributes) added about 1 KiB that could not be cut from code already
// tight; 13 KiB until issue 13 added about 0.7 KiB (liveness from
// hello.heartbeat, fallback that counts short-lived connections as
// failures, probe backoff, the widget dot's one-second grace) and about
// 1.2 KiB (tabs sharing one connection: leader election, the channel);
// 15 KiB until issue 13's tabs without Web Locks added about 1 KiB (a
// lease-elected leader, a localStorage carrier, the beat that prunes tabs).
var BUDGET = 16 * 1024;

var files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node check.js FILE.js...");
  process.exit(2);
}

var failed = false;
var total = 0;
files.forEach(function (file) {
  var src;
  try {
    src = fs.readFileSync(file, "utf8");
  } catch (e) {
    console.error(file + ": " + e.message);
    failed = true;
    return;
  }
  try {
    acorn.parse(src, { ecmaVersion: 5, sourceType: "script", locations: true });
  } catch (e) {
    var loc = e.loc ? e.loc.line + ":" + (e.loc.column + 1) : "?:?";
    // acorn appends " (line:col)" to its message; the prefix says it already.
    console.error(file + ":" + loc + ": " + e.message.replace(/ \(\d+:\d+\)$/, "") + " (not ES5)");
    failed = true;
  }
  var gz = zlib.gzipSync(Buffer.from(src, "utf8")).length;
  total += gz;
  console.log(path.basename(file) + ": " + src.length + " bytes, " + gz + " gzipped");
});

console.log("total gzipped: " + total + " bytes (" + (total / 1024).toFixed(1) + " KiB of a " + BUDGET / 1024 + " KiB budget)");
if (total > BUDGET) {
  console.error("over the size budget by " + (total - BUDGET) + " bytes");
  failed = true;
}
process.exit(failed ? 1 : 0);
