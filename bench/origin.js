// Benchmark origin: fixed objects with Cache-Control and ETag, a slow object for the herd, unique keys for the miss
// path, trace objects whose body is derived from their name, and a request counter so the harness can prove a window
// was all hits.
//
//   node origin.js PORT                          # bench.py: 127.0.0.1
//   node origin.js PORT,PORT,... ADDRESS LOG     # deployed.py: one port per cache, every request logged to LOG
//
// With LOG each request is one line "PORT PATH BODY_BYTES", so the origin traffic each cache caused (its misses) is
// counted from the origin's own log, by the port that cache was given.
'use strict';
const fs = require('fs');
const http = require('http');
const crypto = require('crypto');

const ports = String(process.argv[2] || 18000).split(',').map(Number);
const address = process.argv[3] || '127.0.0.1';
const log = process.argv[4] ? fs.createWriteStream(process.argv[4], { flags: 'a' }) : null;
const sizes = { '1k': 1024, '128k': 128 * 1024, '1m': 1024 * 1024 };
const objects = {};
for (const [name, size] of Object.entries(sizes)) {
  const body = crypto.randomBytes(size);
  objects[name] = { body, etag: '"' + crypto.createHash('sha1').update(body).digest('hex').slice(0, 16) + '"' };
}
// Trace objects, /t/ID/SIZE: SIZE bytes of one fixed pseudo-random block (the same on every run, from a fixed seed),
// starting at an offset derived from ID, so a body is the same whichever cache asks and needs no catalogue here.
const TRACE_BLOCK = 16 * 1024 * 1024;
const MAX_TRACE_OBJECT = 8 * 1024 * 1024;
const block = Buffer.alloc(TRACE_BLOCK);
{
  let x = 0x9e3779b9;
  for (let i = 0; i < TRACE_BLOCK; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    block.writeUInt32LE(x, i);
  }
}
let count = 0;
const byPath = new Map();

function send(res, obj) {
  res.bodyBytes = obj.body.length;
  res.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': obj.body.length,
    'Cache-Control': 'public, max-age=3600',
    ETag: obj.etag,
  });
  res.end(obj.body);
}

function handle(req, res, port) {
  const url = req.url;
  if (log && url !== '/count') {
    res.on('finish', () => log.write(`${port} ${url} ${res.bodyBytes || 0}\n`));
  }
  if (url === '/count') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify({ count, byPath: Object.fromEntries(byPath) }));
    return;
  }
  count++;
  // Unique miss keys and trace objects are not counted per path (the log counts trace objects): a map of millions of
  // them would slow this origin for the caches measured later in the run.
  if (!url.startsWith('/miss/') && !url.startsWith('/t/')) byPath.set(url, (byPath.get(url) || 0) + 1);
  let m;
  if ((m = url.match(/^\/obj\/(1k|128k|1m)$/))) return send(res, objects[m[1]]);
  if ((m = url.match(/^\/slow\/[^/]+\/1m$/))) return setTimeout(() => send(res, objects['1m']), 200);
  if (url.startsWith('/miss/')) return send(res, objects['1k']);
  if ((m = url.match(/^\/t\/(\d+)\/(\d+)$/)) && Number(m[2]) <= MAX_TRACE_OBJECT) {
    const id = Number(m[1]), size = Number(m[2]);
    const offset = (id * 65537) % (TRACE_BLOCK - size + 1);
    return send(res, { body: block.subarray(offset, offset + size), etag: `"${id}-${size}"` });
  }
  res.writeHead(404, { 'Cache-Control': 'no-store' });
  res.end();
}

for (const port of ports) {
  http.createServer((req, res) => handle(req, res, port)).listen(port, address);
}
