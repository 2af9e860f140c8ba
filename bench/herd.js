// The herd: N concurrent GETs for one uncached URL, each on its own connection. For each viewer it records the wait
// until the response started (headers received: what collapsing with streaming vs lock polling changes) and the time
// to the last byte. Prints JSON.
'use strict';
const http = require('http');
const [, , url, n = '200'] = process.argv;
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const firstByte = [];
const complete = [];
let failed = 0;
let done = 0;
for (let i = 0; i < Number(n); i++) {
  const start = process.hrtime.bigint();
  http.get(url, { agent }, (res) => {
    firstByte.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (res.statusCode !== 200) failed++;
    res.on('data', () => {});
    res.on('end', () => {
      complete.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (++done === Number(n)) {
        firstByte.sort((a, b) => a - b);
        complete.sort((a, b) => a - b);
        console.log(JSON.stringify({ firstByte, complete, failed }));
      }
    });
  }).on('error', (e) => { console.error(e.message); process.exit(1); });
}
