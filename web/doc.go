// Package web is the NOC console: a single page, embedded in the binary,
// that shows throughput, the top flows and totals for a recent window.
//
// It is the last stage of the pipeline (tap → dataplane → flowtable →
// dissectors → storage → query → web). It reads only through the query
// API, POST /v1/query with {"db", "sql"}, which the query package serves on
// the same HTTP server; the page never talks to ClickHouse or to any other
// endpoint, and it writes nothing. The statements it sends are the named
// QUERIES in assets/app.js. They are plain SELECTs written for ClickHouse
// 18.16, and the tests check each one is a single read statement and run
// it on a real server when one is installed.
//
// The "last N minutes" window ends now while data is live. When the newest
// flow is more than 300 s old (a replayed capture, or capture stopped), it
// ends at the newest flow instead, and the header says "replay data from
// <time>". Flows are reported when they end, so throughput counts each
// report in the 10 s bucket of its end time; the page says so.
//
// Handler serves only "/" and /assets/*; every other path is a 404, so the
// caller routes /v1/query (and anything else) before or beside it. The
// assets are plain HTML, CSS and JavaScript with no build step and no
// external resources, so the console works on an offline appliance.
package web
