/*
 * fresh-pages-probe: what it costs to put 1 MiB of bytes into memory the process has not used before, each way a cache
 * can, against copying into memory it reuses (docs/decisions/0033-cpu-of-the-cache-core.md). A body the node receives
 * lands in a new array (the runtime commits new pages for it), and a body moved to an in-memory file for sendfile used to
 * be copied into a new mapping; nginx writes its cache files with write(). Not part of the benchmark run.
 *
 *   gcc -O2 -o /tmp/fresh-pages-probe bench/probes/fresh-pages-probe.c
 *   taskset -c 0 /tmp/fresh-pages-probe        # microseconds per MiB, each way, 300 times
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SIZE (1 << 20)
#define TIMES 300

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(void)
{
    char *source = malloc(SIZE);
    memset(source, 1, SIZE);
    double t;

    t = now_us();
    for (int i = 0; i < TIMES; i++) {
        char *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memcpy(m, source, SIZE); /* one page fault per 4 KiB, as a new array's pages */
        munmap(m, SIZE);
    }
    printf("new anonymous pages, faulted by the copy   %6.0f us/MiB\n", (now_us() - t) / TIMES);

    t = now_us();
    for (int i = 0; i < TIMES; i++) {
        int fd = memfd_create("probe", MFD_CLOEXEC);
        if (fd < 0 || ftruncate(fd, SIZE) != 0) return 1;
        char *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
        memcpy(m, source, SIZE);
        munmap(m, SIZE);
        close(fd);
    }
    printf("memfd, MAP_POPULATE mapping, copy          %6.0f us/MiB\n", (now_us() - t) / TIMES);

    t = now_us();
    for (int i = 0; i < TIMES; i++) {
        int fd = memfd_create("probe", MFD_CLOEXEC);
        if (fd < 0) return 1;
        for (int offset = 0; offset < SIZE; offset += 65536) {
            if (write(fd, source + offset, 65536) != 65536) return 1;
        }
        close(fd);
    }
    printf("memfd filled with write()                  %6.0f us/MiB\n", (now_us() - t) / TIMES);

    char *reused = malloc(SIZE);
    memset(reused, 0, SIZE);
    t = now_us();
    for (int i = 0; i < TIMES; i++) {
        memcpy(reused, source, SIZE);
    }
    printf("memory already in use, copy                %6.0f us/MiB\n", (now_us() - t) / TIMES);
    return 0;
}
