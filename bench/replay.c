// Trace replay for bench/deployed.py: sends a trace's requests, in order, over a fixed set of keep-alive connections to
// one cache, and prints one JSON line of what came back. Single-threaded epoll, so it costs little beside the cache.
//
//   gcc -O2 -o replay replay.c
//   replay ADDRESS PORT TRACE CONNECTIONS FIRST COUNT
//
// TRACE has one request a line, "PATH SIZE CLOSE": the path, the body size the origin serves for it, and 1 when the
// request asks for `Connection: close` (a viewer on a new connection, as each NLB viewer connection is one to the node).
// Requests FIRST .. FIRST+COUNT-1 are sent, each to the next idle connection, so every cache gets the same sequence.
// Each response is timed from its request's send (from the connect, for the first request on a connection) to its
// last byte. Responses are read by Content-Length or chunked encoding; a body of a size other than SIZE, a status other than 200,
// or a connection that ends mid-response is counted as an error and the next request goes on a new connection.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct { char *path; long size; int close; } req_t;

enum { IDLE, CONNECTING, SENDING, HEADERS, BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_CRLF, TRAILER, UNTIL_CLOSE };

typedef struct {
    int fd, state, keep_alive;
    long req;                 // trace index in flight, -1 when none
    char out[4096]; int out_len, out_sent;
    char hdr[16384]; int hdr_len;
    long remaining, body;     // bytes of the current body (or chunk) still to read, body bytes read
    int status;
    double started, opened;
} conn_t;

static req_t *trace; static long trace_len;
static struct sockaddr_in addr;
static int ep;
static long next_req, last_req, done;
static uint32_t *lat_us;
static long n_lat, errors_status, errors_length, errors_io, new_connections;
static unsigned long long body_bytes, wire_bytes;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static void load_trace(const char *file) {
    FILE *f = fopen(file, "r");
    if (!f) { perror(file); exit(2); }
    long cap = 1 << 16; trace = malloc(cap * sizeof(req_t));
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        char path[1900]; long size; int close_;
        if (sscanf(line, "%1899s %ld %d", path, &size, &close_) != 3) continue;
        if (trace_len == cap) { cap *= 2; trace = realloc(trace, cap * sizeof(req_t)); }
        trace[trace_len++] = (req_t){ strdup(path), size, close_ };
    }
    fclose(f);
}

static void arm(conn_t *c, uint32_t events, int op) {
    struct epoll_event ev = { .events = events, .data.ptr = c };
    if (epoll_ctl(ep, op, c->fd, &ev) < 0) { perror("epoll_ctl"); exit(1); }
}

static void open_conn(conn_t *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    new_connections++;
    c->opened = now();
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) { perror("connect"); exit(1); }
    c->state = CONNECTING;
    arm(c, EPOLLOUT, EPOLL_CTL_ADD);
}

static void close_conn(conn_t *c) { close(c->fd); c->fd = -1; }

static void start_request(conn_t *c);

static void finish(conn_t *c, int ok) {
    if (ok) {
        lat_us[n_lat++] = (uint32_t)((now() - c->started) * 1e6);
        if (c->status != 200) errors_status++;
        else if (c->body != trace[c->req].size) errors_length++;
    } else {
        errors_io++;
    }
    done++;
    int reuse = ok && c->keep_alive && !trace[c->req].close;
    c->req = -1;
    if (!reuse) { close_conn(c); c->state = IDLE; if (next_req < last_req) open_conn(c); return; }
    start_request(c);
}

static void start_request(conn_t *c) {
    if (next_req >= last_req) { close_conn(c); c->state = IDLE; return; }
    c->req = next_req++;
    req_t *r = &trace[c->req];
    c->out_len = snprintf(c->out, sizeof c->out, "GET %s HTTP/1.1\r\nHost: bench\r\nUser-Agent: replay\r\n%s\r\n",
                          r->path, r->close ? "Connection: close\r\n" : "");
    c->out_sent = 0; c->hdr_len = 0; c->body = 0; c->status = 0; c->keep_alive = 1;
    // A request on a new connection is timed from the connect, as a new viewer waits for the handshake too.
    c->started = c->state == CONNECTING ? c->opened : now();
    c->state = SENDING;
    arm(c, EPOLLOUT, EPOLL_CTL_MOD);
}

// Parses the response head in c->hdr; returns the number of bytes it took, 0 if incomplete, -1 if malformed.
static int parse_head(conn_t *c) {
    char *end = memmem(c->hdr, c->hdr_len, "\r\n\r\n", 4);
    if (!end) return c->hdr_len == sizeof c->hdr ? -1 : 0;
    *end = 0;
    int minor;
    if (sscanf(c->hdr, "HTTP/1.%d %d", &minor, &c->status) != 2) return -1;
    c->keep_alive = minor >= 1;
    long length = -1; int chunked = 0;
    for (char *line = strstr(c->hdr, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
        char *h = line + 2;
        if (!strncasecmp(h, "content-length:", 15)) length = atol(h + 15);
        else if (!strncasecmp(h, "transfer-encoding:", 18) && strcasestr(h, "chunked")) chunked = 1;
        else if (!strncasecmp(h, "connection:", 11)) {
            char *v = h + 11; while (*v == ' ') v++;
            if (!strncasecmp(v, "close", 5)) c->keep_alive = 0;
            else if (!strncasecmp(v, "keep-alive", 10)) c->keep_alive = 1;
        }
    }
    if (chunked) c->state = CHUNK_SIZE, c->hdr_len = 0;
    else if (length >= 0) c->state = BODY, c->remaining = length;
    else c->state = UNTIL_CLOSE, c->keep_alive = 0;
    return (int)(end - c->hdr) + 4;
}

// Feeds received bytes through the response parser; returns 1 when the response is complete.
static int consume(conn_t *c, char *p, long n, long *used) {
    long i = 0;
    while (i < n) {
        switch (c->state) {
        case HEADERS: {
            long take = n - i; if (take > (long)sizeof c->hdr - c->hdr_len) take = sizeof c->hdr - c->hdr_len;
            memcpy(c->hdr + c->hdr_len, p + i, take);
            int before = c->hdr_len; c->hdr_len += take;
            int head = parse_head(c);
            if (head < 0) { *used = -1; return 0; }
            if (head == 0) { i += take; break; }
            i += head - before;
            if (c->state == BODY && c->remaining == 0) { *used = i; return 1; }
            break;
        }
        case BODY: case CHUNK_DATA: {
            long take = n - i < c->remaining ? n - i : c->remaining;
            c->remaining -= take; c->body += take; i += take;
            if (c->remaining == 0) {
                if (c->state == BODY) { *used = i; return 1; }
                c->state = CHUNK_CRLF; c->remaining = 2;
            }
            break;
        }
        case CHUNK_CRLF: {
            long take = n - i < c->remaining ? n - i : c->remaining;
            c->remaining -= take; i += take;
            if (c->remaining == 0) c->state = CHUNK_SIZE, c->hdr_len = 0;
            break;
        }
        case CHUNK_SIZE: case TRAILER: {
            char ch = p[i++];
            if (c->hdr_len < (int)sizeof c->hdr - 1) c->hdr[c->hdr_len++] = ch;
            if (ch != '\n') break;
            c->hdr[c->hdr_len] = 0;
            if (c->state == TRAILER) {
                if (c->hdr_len <= 2) { *used = i; return 1; }
                c->hdr_len = 0; break;
            }
            c->remaining = strtol(c->hdr, NULL, 16); c->hdr_len = 0;
            c->state = c->remaining ? CHUNK_DATA : TRAILER;
            break;
        }
        case UNTIL_CLOSE:
            c->body += n - i; i = n;
            break;
        }
    }
    *used = n;
    return 0;
}

static void on_event(conn_t *c, uint32_t events) {
    if (c->state == CONNECTING) {
        int err = 0; socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) { fprintf(stderr, "connect: %s\n", strerror(err)); exit(1); }
        start_request(c);
        return;
    }
    if (c->state == SENDING) {
        ssize_t w = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
        if (w < 0) { if (errno == EAGAIN) return; finish(c, 0); return; }
        c->out_sent += w;
        if (c->out_sent == c->out_len) { c->state = HEADERS; arm(c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD); }
        return;
    }
    static char buf[1 << 18];
    for (;;) {
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r < 0) { if (errno == EAGAIN) return; finish(c, 0); return; }
        if (r == 0) { finish(c, c->state == UNTIL_CLOSE); return; }
        wire_bytes += r;
        long used = 0;
        unsigned long long before = c->body;
        int complete = consume(c, buf, r, &used);
        body_bytes += c->body - before;
        if (used < 0) { finish(c, 0); return; }
        if (complete) { finish(c, 1); return; }
        if (r < (ssize_t)sizeof buf) return;
    }
    (void)events;
}

static int cmp_u32(const void *a, const void *b) { uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv) {
    if (argc != 7) { fprintf(stderr, "usage: %s ADDRESS PORT TRACE CONNECTIONS FIRST COUNT\n", argv[0]); return 2; }
    addr.sin_family = AF_INET; addr.sin_port = htons(atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) { fprintf(stderr, "bad address %s\n", argv[1]); return 2; }
    load_trace(argv[3]);
    int nconn = atoi(argv[4]);
    next_req = atol(argv[5]); last_req = next_req + atol(argv[6]);
    if (last_req > trace_len) { fprintf(stderr, "the trace has %ld requests, not %ld\n", trace_len, last_req); return 2; }
    lat_us = malloc((last_req - next_req) * sizeof *lat_us);
    ep = epoll_create1(0);
    conn_t *conns = calloc(nconn, sizeof *conns);
    struct rusage ru0, ru1; getrusage(RUSAGE_SELF, &ru0);
    double t0 = now();
    long total = last_req - next_req;
    for (int i = 0; i < nconn; i++) { conns[i].req = -1; open_conn(&conns[i]); }
    struct epoll_event evs[256];
    while (done < total) {
        int n = epoll_wait(ep, evs, 256, 30000);
        if (n == 0) { fprintf(stderr, "no progress for 30 s at %ld of %ld\n", done, total); return 1; }
        for (int i = 0; i < n; i++) on_event(evs[i].data.ptr, evs[i].events);
    }
    double elapsed = now() - t0;
    getrusage(RUSAGE_SELF, &ru1);
    for (int i = 0; i < nconn; i++) if (conns[i].fd > 0) close(conns[i].fd);
    qsort(lat_us, n_lat, sizeof *lat_us, cmp_u32);
#define PCT(p) (n_lat ? lat_us[(long)((n_lat - 1) * (p))] / 1000.0 : 0)
    double cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6
               + (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) + (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
    printf("{\"requests\": %ld, \"responses\": %ld, \"elapsed_s\": %.3f, \"rps\": %.1f, \"body_bytes\": %llu, "
           "\"wire_bytes\": %llu, \"bytes_per_s\": %.0f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, "
           "\"p999_ms\": %.3f, \"errors_status\": %ld, \"errors_length\": %ld, \"errors_io\": %ld, "
           "\"new_connections\": %ld, \"client_cpu_s\": %.3f}\n",
           total, n_lat, elapsed, total / elapsed, body_bytes, wire_bytes, wire_bytes / elapsed, PCT(0.5), PCT(0.9),
           PCT(0.99), PCT(0.999), errors_status, errors_length, errors_io, new_connections, cpu);
    return 0;
}
