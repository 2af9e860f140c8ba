// Benchmark origin: fixed objects with Cache-Control and ETag, a slow object for the herd, unique keys for the miss
// path, and a request counter so the harness can prove a window was all hits. Loopback only.
'use strict';
const http = require('http');
const crypto = require('crypto');

const port = Number(process.argv[2] || 18000);
const sizes = { '1k': 1024, '128k': 128 * 1024, '1m': 1024 * 1024 };
const objects = {};
for (const [name, size] of Object.entries(sizes)) {
  const body = crypto.randomBytes(size);
  objects[name] = { body, etag: '"' + crypto.createHash('sha1').update(body).digest('hex').slice(0, 16) + '"' };
}
let count = 0;
const byPath = new Map();

function send(res, obj) {
  res.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': obj.body.length,
    'Cache-Control': 'public, max-age=3600',
    ETag: obj.etag,
  });
  res.end(obj.body);
}

http.createServer((req, res) => {
  const url = req.url;
  if (url === '/count') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify({ count, byPath: Object.fromEntries(byPath) }));
    return;
  }
  count++;
  // Unique miss keys are not counted per path: a map of millions of them would slow this origin for the caches
  // measured later in the run.
  if (!url.startsWith('/miss/')) byPath.set(url, (byPath.get(url) || 0) + 1);
  let m;
  if ((m = url.match(/^\/obj\/(1k|128k|1m)$/))) return send(res, objects[m[1]]);
  if ((m = url.match(/^\/slow\/[^/]+\/1m$/))) return setTimeout(() => send(res, objects['1m']), 200);
  if (url.startsWith('/miss/')) return send(res, objects['1k']);
  res.writeHead(404, { 'Cache-Control': 'no-store' });
  res.end();
}).listen(port, '127.0.0.1');
