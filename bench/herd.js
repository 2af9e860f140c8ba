// The herd: N concurrent GETs for one uncached URL, each on its own connection. Prints JSON.
//
//   node herd.js URL N start     each viewer's wait until its response started (status line and headers received)
//   node herd.js URL N complete  each viewer's wait until its last byte
//
// Two modes, two runs (each on a new URL). In `start` mode every viewer stops reading as soon as its headers arrive
// (TCP backpressure stops the body), so its start time is when the cache sent it and not when this client got round to
// it; the bodies are drained after the last viewer has started. `complete` mode reads everything as it comes.
//
// Plain sockets, not node's HTTP client, so this client decides how much it reads. In `start` mode each read takes at
// most 4 KiB: enough for the headers and no more. node's client reads 64 KiB at a time, so with the bodies already
// queued behind the headers each viewer's first read also pulled body bytes, and on loopback the kernel sends the
// cache's queued body on the reader's CPU time as its window opens. Measured here: between the first and the last
// viewer's headers this client spent 140–160 ms of CPU (100 of it in the kernel) with 64–256 KiB reads, 2–3 ms with
// 4 KiB ones, and the herd's median moved from 260–300 ms to 200–210 ms for EdgeCache and Varnish alike. Every read
// lands in one buffer shared by all viewers (`onread`), so the client allocates nothing per read either.
//
// A viewer's wait starts when its request has been handed to the kernel (the write's callback): setting up and
// connecting 200 sockets takes node tens of milliseconds, and timing from the call would charge that to every cache.
'use strict';
const net = require('net');
const [, , url, n = '200', mode = 'complete'] = process.argv;
const viewers = Number(n);
const target = new URL(url);
const request = Buffer.from(`GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nConnection: close\r\n\r\n`);
const shared = Buffer.allocUnsafe(mode === 'start' ? 4096 : 256 * 1024);
const started = [];
const complete = [];
const paused = [];
let failed = 0;
let done = 0;

function finished() {
  if (++done < viewers) return;
  started.sort((a, b) => a - b);
  complete.sort((a, b) => a - b);
  console.log(JSON.stringify({ mode, firstByte: started, complete, failed }));
}

for (let i = 0; i < viewers; i++) {
  let start = process.hrtime.bigint();
  let head = '';
  let status = 0;
  let length = -1;
  let body = 0;
  const socket = net.connect({
    host: target.hostname,
    port: Number(target.port),
    onread: {
      buffer: shared,
      callback: (bytes, buf) => {
        if (status === 0) {
          // The headers are a few hundred bytes: kept as text until the blank line, then only the body is counted.
          head += buf.toString('latin1', 0, bytes);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          status = Number(head.slice(9, 12));
          const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head.slice(0, end));
          length = cl ? Number(cl[1]) : -1;
          started.push(Number(process.hrtime.bigint() - start) / 1e6);
          body = head.length - end - 4;
          if (mode === 'start') {
            socket.pause();
            paused.push(socket);
            if (started.length === viewers) paused.forEach((s) => s.resume());
          }
          return;
        }
        body += bytes;
      },
    },
  });
  socket.on('connect', () => socket.write(request, () => { start = process.hrtime.bigint(); }));
  socket.on('end', () => {
    // Connection: close, so the end of the stream is the end of the response; a short one is a failure.
    complete.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (status !== 200 || (length >= 0 && body !== length)) failed++;
    socket.end();
    finished();
  });
  socket.on('error', (e) => { console.error(e.message); process.exit(1); });
}
