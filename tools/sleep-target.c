/*
 * A loopback HTTP/1.1 target with a fixed, sub-millisecond service time,
 * for tools/latency-accuracy.sh. `blast target --delay` sleeps on tokio's
 * timer, whose resolution is one millisecond, so it cannot stand for a
 * ~100 us server; this can.
 *
 *   cc -O2 -pthread -o sleep-target tools/sleep-target.c
 *   ./sleep-target DELAY_US      # prints "listening on http://127.0.0.1:PORT"
 *
 * One thread per connection. Each request head (GET, no body) is answered
 * DELAY_US microseconds after the read that completed it, with
 * `200 OK`, `Content-Length: 13`, "Hello, world!" (nginx's answer in
 * tools/lib.sh). The sleep is an absolute CLOCK_MONOTONIC deadline with the
 * thread's timer slack set to 1 ns: the default slack (50 us) would add up
 * to half the service time. Pipelined heads are answered in order.
 * On SIGTERM it prints "served N" on stderr and exits.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long delay_ns;
static atomic_ulong served;

static const char answer[] =
    "HTTP/1.1 200 OK\r\nServer: sleep-target\r\nContent-Type: text/plain\r\n"
    "Content-Length: 13\r\n\r\nHello, world!";

static void on_term(int sig) {
    (void)sig;
    char line[64];
    int n = snprintf(line, sizeof line, "served %lu\n", atomic_load(&served));
    if (write(2, line, (size_t)n) < 0) _exit(1);
    _exit(0);
}

static void *serve(void *arg) {
    int fd = (int)(long)arg;
    char buf[16384];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        if (n <= 0) break;
        struct timespec due;
        clock_gettime(CLOCK_MONOTONIC, &due);
        len += (size_t)n;
        size_t heads = 0, start = 0;
        char *end;
        while ((end = memmem(buf + start, len - start, "\r\n\r\n", 4)) != NULL) {
            start = (size_t)(end - buf) + 4;
            heads++;
        }
        if (heads == 0 && len == sizeof buf) break; /* a head over 16 KB */
        memmove(buf, buf + start, len - start);
        len -= start;
        if (heads == 0) continue;
        due.tv_nsec += delay_ns;
        while (due.tv_nsec >= 1000000000L) {
            due.tv_nsec -= 1000000000L;
            due.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR) {
        }
        for (size_t i = 0; i < heads; i++) {
            size_t off = 0;
            while (off < sizeof answer - 1) {
                ssize_t w = write(fd, answer + off, sizeof answer - 1 - off);
                if (w <= 0) goto done;
                off += (size_t)w;
            }
            atomic_fetch_add(&served, 1);
        }
    }
done:
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2 || atol(argv[1]) < 0) {
        fprintf(stderr, "usage: sleep-target DELAY_US\n");
        return 2;
    }
    delay_ns = atol(argv[1]) * 1000L;
    /* Inherited by every thread created after it. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_term);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1024) ||
        getsockname(l, (struct sockaddr *)&a, &alen)) {
        perror("sleep-target");
        return 1;
    }
    printf("listening on http://127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int fd = accept(l, NULL, NULL);
        if (fd < 0) continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 64 * 1024);
        if (pthread_create(&t, &at, serve, (void *)(long)fd)) close(fd);
        pthread_attr_destroy(&at);
    }
}
