// The herd: N concurrent GETs for one uncached URL, each on its own connection. Prints JSON.
//
//   node herd.js URL N start     each viewer's wait until its response started (status line and headers received)
//   node herd.js URL N complete  each viewer's wait until its last byte
//
// Two modes, two runs (each on a new URL): node's HTTP client reads up to 32 × 64 KiB from one socket before it looks
// at the next, so while it drains the first viewers' bodies the later viewers' headers sit unread in their sockets and
// their "response started" time measures this client, not the cache. In `start` mode every response is paused as soon
// as its headers arrive (TCP backpressure stops the body), so each viewer's start time is when the cache sent it; the
// bodies are drained after the last viewer has started. `complete` mode reads everything as it comes.
//
// A viewer's wait starts when its request has been handed to the kernel ('finish'), not when http.get was called: node
// takes 30–40 ms to set up 200 requests and connect them, so timing from the call charged that set-up to every cache.
'use strict';
const http = require('http');
const [, , url, n = '200', mode = 'complete'] = process.argv;
const viewers = Number(n);
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const started = [];
const complete = [];
const paused = [];
let failed = 0;
let done = 0;
for (let i = 0; i < viewers; i++) {
  let start = process.hrtime.bigint();
  const req = http.get(url, { agent }, (res) => {
    started.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (res.statusCode !== 200) failed++;
    res.on('data', () => {});
    res.on('end', () => {
      complete.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (++done === viewers) {
        started.sort((a, b) => a - b);
        complete.sort((a, b) => a - b);
        console.log(JSON.stringify({ mode, firstByte: started, complete, failed }));
      }
    });
    if (mode === 'start') {
      res.pause();
      paused.push(res);
      if (started.length === viewers) paused.forEach((r) => r.resume());
    }
  });
  req.on('finish', () => { start = process.hrtime.bigint(); });
  req.on('error', (e) => { console.error(e.message); process.exit(1); });
}
