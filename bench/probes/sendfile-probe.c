/*
 * sendfile-probe: the same fixed response sent two ways, to measure what sendfile buys before building it into
 * EdgeCache (docs/decisions/0016-sendfile-from-memory-files.md), and then to tell how the body's offset in its file
 * and the bytes per call decide BBR's pacing (docs/decisions/0018-bbr-pacing-and-body-alignment.md). Not part of the
 * benchmark run.
 *
 *   gcc -O2 -pthread -o /tmp/sendfile-probe bench/probes/sendfile-probe.c
 *   /tmp/sendfile-probe 19001 131072 0 &   # writev of the headers and a heap buffer
 *   /tmp/sendfile-probe 19002 131072 1 &   # send(MSG_MORE) of the headers, then sendfile from a memfd
 *   wrk -t1 -c32 -d4s http://127.0.0.1:19001/ ; wrk -t1 -c32 -d4s http://127.0.0.1:19002/
 *   /tmp/sendfile-probe 19004 131072 2 &       # nginx's calls: TCP_CORK, send of the headers, sendfile, uncork;
 *                                              # no TCP_NODELAY
 *   /tmp/sendfile-probe 19003 131072 1 595 &   # the same, the body 595 bytes into the file, where nginx's cache file
 *                                              # has it (after its header block)
 *   /tmp/sendfile-probe 19005 131072 1 0 65483 &   # at most 65,483 bytes (loopback's MSS) per sendfile call
 *   PROBE_FILE=/dev/shm/probe-body /tmp/sendfile-probe ...  # the body in a tmpfs file, as nginx keeps it, not a memfd
 *   PROBE_MAP=1 /tmp/sendfile-probe ...        # the body written through a shared mapping that stays mapped, as
 *                                              # EdgeCache's MappedBodyMemory does
 *
 * Two epoll threads with SO_REUSEPORT listeners on 127.0.0.1 (one per core, like the caches in bench/), edge-triggered,
 * non-blocking, keep-alive; it answers every request with the same object and parses nothing but the blank line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static int port, mode, body_file, header_length;
static off_t body_offset; /* where the body starts in body_file (a memfd, or PROBE_FILE) */
static size_t size, max_per_call; /* 0: the whole rest of the body in one sendfile */
static char *body, header[256];

struct connection { int fd, sending; size_t header_sent, body_sent; char in[4096]; int in_length; };

static void drop(struct connection *c) { close(c->fd); free(c); }

/* Sends what is left of the response; 1 when done, 0 when the socket is full, -1 when the connection is gone. */
static int send_response(struct connection *c)
{
    while (c->body_sent < size) {
        ssize_t n;
        if (mode == 0) {
            struct iovec iov[2] = { { header + c->header_sent, header_length - c->header_sent },
                                    { body + c->body_sent, size - c->body_sent } };
            int first = c->header_sent < (size_t)header_length ? 0 : 1;
            n = writev(c->fd, iov + first, 2 - first);
            if (n > 0) {
                size_t to_header = first == 0 ? (size_t)n < header_length - c->header_sent ? (size_t)n : header_length - c->header_sent : 0;
                c->header_sent += to_header;
                c->body_sent += n - to_header;
            }
        } else if (c->header_sent < (size_t)header_length) {
            if (mode == 2 && c->header_sent == 0) setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &(int){1}, sizeof(int));
            n = send(c->fd, header + c->header_sent, header_length - c->header_sent, (mode == 1 ? MSG_MORE : 0) | MSG_NOSIGNAL);
            if (n > 0) c->header_sent += n;
        } else {
            off_t offset = body_offset + c->body_sent;
            size_t count = size - c->body_sent;
            if (max_per_call && count > max_per_call) count = max_per_call;
            n = sendfile(c->fd, body_file, &offset, count);
            if (n > 0) c->body_sent = offset - body_offset;
        }
        if (n < 0) return errno == EAGAIN ? 0 : -1;
    }
    if (mode == 2) setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &(int){0}, sizeof(int));
    return 1;
}

static void *serve(void *unused)
{
    (void)unused;
    int one = 1, listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(listener, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(listener, (struct sockaddr *)&address, sizeof address) || listen(listener, 1024)) { perror("listen"); exit(1); }
    int epoll = epoll_create1(0);
    struct epoll_event event = { .events = EPOLLIN, .data.ptr = NULL }, events[256];
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
    for (;;) {
        int ready = epoll_wait(epoll, events, 256, -1);
        for (int i = 0; i < ready; i++) {
            struct connection *c = events[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (mode != 2) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    c = calloc(1, sizeof *c);
                    c->fd = fd;
                    struct epoll_event e = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c };
                    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            for (;;) {
                if (!c->sending) {
                    char *end = memmem(c->in, c->in_length, "\r\n\r\n", 4);
                    if (!end) {
                        ssize_t n = read(c->fd, c->in + c->in_length, sizeof c->in - c->in_length);
                        if (n == 0 || (n < 0 && errno != EAGAIN)) { drop(c); break; }
                        if (n < 0) break;
                        c->in_length += n;
                        continue;
                    }
                    int used = end + 4 - c->in;
                    memmove(c->in, c->in + used, c->in_length - used);
                    c->in_length -= used;
                    c->sending = 1;
                    c->header_sent = c->body_sent = 0;
                }
                int sent = send_response(c);
                if (sent < 0) { drop(c); break; }
                if (sent == 0) break;
                c->sending = 0;
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: %s PORT SIZE MODE(0 writev, 1 sendfile, 2 corked sendfile) [BODY_FILE_OFFSET [MAX_BYTES_PER_SENDFILE]]\n", argv[0]); return 2; }
    signal(SIGPIPE, SIG_IGN);
    port = atoi(argv[1]);
    size = strtoul(argv[2], NULL, 10);
    mode = atoi(argv[3]);
    body = malloc(size);
    for (size_t i = 0; i < size; i++) body[i] = 'a' + i % 26;
    body_offset = argc > 4 ? strtol(argv[4], NULL, 10) : 0;
    max_per_call = argc > 5 ? strtoul(argv[5], NULL, 10) : 0;
    const char *path = getenv("PROBE_FILE");
    body_file = path && *path ? open(path, O_RDWR | O_CREAT | O_TRUNC, 0600) : memfd_create("probe-body", 0);
    if (body_file < 0) { perror("body file"); return 1; }
    if (getenv("PROBE_MAP")) {
        if (ftruncate(body_file, body_offset + size)) { perror("ftruncate"); return 1; }
        char *mapped = mmap(NULL, body_offset + size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, body_file, 0);
        if (mapped == MAP_FAILED) { perror("mmap"); return 1; }
        memcpy(mapped + body_offset, body, size);
    } else if (ftruncate(body_file, body_offset) || pwrite(body_file, body, size, body_offset) != (ssize_t)size) { perror("write"); return 1; }
    header_length = snprintf(header, sizeof header, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nContent-Type: application/octet-stream\r\n\r\n", size);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, serve, NULL);
    pthread_join(threads[0], NULL);
    return 0;
}
