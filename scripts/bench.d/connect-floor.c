// A lean connect + AUTH client for scripts/connect-floor: non-blocking connects from one
// source address, the AUTH frame written when the socket is writable, the AUTH_OK read, up
// to 1,024 attempts in flight, tokens signed beforehand. It measures what the server can
// take when the load generator costs as little as it can on the same cores.
//
// usage: connect-floor PORT TOKENS_FILE FIRST COUNT SOURCE_ADDRESS
// prints: "<ok> ok <failed> failed in <seconds> s, client cpu <seconds> s"; exits 1 on a failure.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s PORT TOKENS_FILE FIRST COUNT SOURCE_ADDRESS\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]), first = atoi(argv[3]), count = atoi(argv[4]);
    FILE *file = fopen(argv[2], "r");
    if (!file) { perror("tokens"); return 2; }
    char **frames = calloc(count, sizeof(char *));
    int *lengths = calloc(count, sizeof(int));
    char line[1024];
    for (int i = 0, n = 0; n < count && fgets(line, sizeof line, file); i++) {
        if (i < first) continue;
        line[strcspn(line, "\n")] = 0;
        // AUTH: length, version 1, op 1, flags 0, seq 1, body {"token":"..."}.
        char body[1100];
        int bodyLength = snprintf(body, sizeof body, "{\"token\":\"%s\"}", line);
        frames[n] = malloc(12 + bodyLength);
        uint32_t length = htonl(8 + bodyLength), seq = htonl(1);
        memcpy(frames[n], &length, 4);
        frames[n][4] = 1; frames[n][5] = 1; frames[n][6] = 0; frames[n][7] = 0;
        memcpy(frames[n] + 8, &seq, 4);
        memcpy(frames[n] + 12, body, bodyLength);
        lengths[n++] = 12 + bodyLength;
    }
    fclose(file);

    struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
    struct sockaddr_in source = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, argv[5], &source.sin_addr) != 1) { fprintf(stderr, "bad source address\n"); return 2; }

    int poller = epoll_create1(0);
    struct epoll_event events[256];
    char buffer[4096];
    int started = 0, ok = 0, failed = 0, inFlight = 0;
    const int window = 1024;
    double cpu0 = cpu(), t0 = now();
    while (ok + failed < count) {
        while (started < count && inFlight < window) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
            bind(fd, (struct sockaddr *)&source, sizeof source);
            connect(fd, (struct sockaddr *)&server, sizeof server);
            struct epoll_event event = {.events = EPOLLOUT, .data.u64 = ((uint64_t)started << 32) | (uint32_t)fd};
            epoll_ctl(poller, EPOLL_CTL_ADD, fd, &event);
            started++;
            inFlight++;
        }
        int ready = epoll_wait(poller, events, 256, 10000);
        if (ready <= 0) { fprintf(stderr, "no progress for 10 s\n"); break; }
        for (int i = 0; i < ready; i++) {
            int fd = (int)(uint32_t)events[i].data.u64, index = (int)(events[i].data.u64 >> 32);
            if (events[i].events & (EPOLLERR | EPOLLHUP)) {
                failed++; inFlight--;
                epoll_ctl(poller, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
            } else if (events[i].events & EPOLLOUT) {
                if (write(fd, frames[index], lengths[index]) != lengths[index]) {
                    failed++; inFlight--;
                    epoll_ctl(poller, EPOLL_CTL_DEL, fd, NULL);
                    close(fd);
                    continue;
                }
                struct epoll_event event = {.events = EPOLLIN, .data.u64 = events[i].data.u64};
                epoll_ctl(poller, EPOLL_CTL_MOD, fd, &event);
            } else if (events[i].events & EPOLLIN) {
                // AUTH_OK is op 2; the connection stays open until the process exits.
                ssize_t got = read(fd, buffer, sizeof buffer);
                if (got >= 12 && buffer[5] == 2) ok++; else failed++;
                inFlight--;
                epoll_ctl(poller, EPOLL_CTL_DEL, fd, NULL);
            }
        }
    }
    double seconds = now() - t0, used = cpu() - cpu0;
    printf("%d ok %d failed in %.3f s, client cpu %.3f s\n", ok, failed, seconds, used);
    fflush(stdout);
    // Hold the connections while the other process finishes and the server is sampled.
    sleep(3);
    return failed == 0 && ok == count ? 0 : 1;
}
