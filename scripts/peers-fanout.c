// Fan-out measured the same way for Herald and its peers: one client program, several
// processes with one epoll loop each (ordinary scheduling), N subscribers, and one publisher
// connection that keeps --pipeline messages in flight. Built and run by `scripts/peers
// --part fanout`; it prints one JSON object.
//
// Every message carries a 64-byte payload that starts with a marker, its number and the
// monotonic time it was sent, so the subscribers find messages by scanning the bytes they
// read, whatever the protocol frames them in; each protocol's own parsing is needed only to
// know that a subscription was acknowledged and to count the publisher's replies.
//
// With --unicast-rate R (Herald and redis only), a third phase follows: for --duration
// seconds the publisher keeps broadcasting back to back while a second connection sends
// unicasts, each to one subscriber picked at random, R a second in groups of --batch (Herald:
// one `POST /messages/batch` a group; redis: one PUBLISH a message to the subscriber's own
// channel, `u<index>`, which each subscriber then also subscribes to). The subscribers time
// each unicast from the stamp in its payload: its latency under a saturated fan-out.
//
//   peers-fanout --system herald|redis|nats|mqtt --port P --connections N
//                [--processes 2] [--sources 127.0.0.2-127.0.0.9] [--singles 10]
//                [--duration 10] [--pipeline 48] [--unicast-rate 0 --batch 100]
//                [--api-port A --app APP --secret S --tokens FILE]   (Herald)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum system_kind { HERALD, REDIS, NATS, MQTT };

#define MAX_MESSAGES 65536
#define PAYLOAD_SIZE 64
// A broadcast's payload starts "HFO1" and its number in 8 digits; a unicast's "HFU1" and the
// monotonic time it was sent in 20 digits. The subscribers look for "HF" and read WINDOW bytes.
#define MARKER_PREFIX "HF"
#define MARKER_SIZE 4
#define WINDOW (MARKER_SIZE + 20)
#define CHANNEL "fanout"
// Unicast latencies, in buckets of 10 µs up to 5 s (the last bucket takes the rest).
#define LATENCY_BUCKET_NS 10000ull
#define LATENCY_BUCKETS 500000

// What the subscriber processes tell the publisher, in memory shared across fork.
struct shared {
    _Atomic uint32_t ready;             // subscriptions acknowledged
    _Atomic uint32_t failed;            // connections that failed or closed
    _Atomic uint32_t done;              // subscriber processes that finished connecting
    _Atomic uint64_t deliveries;        // messages received, all connections
    _Atomic uint32_t count[MAX_MESSAGES];
    _Atomic uint64_t last[MAX_MESSAGES];  // latest arrival of each message
    _Atomic uint64_t unicasts;          // unicasts received
    _Atomic uint32_t latency[LATENCY_BUCKETS];
    _Atomic int stop;
};

static struct options {
    enum system_kind system;
    int port, api_port, connections, processes, singles, duration, pipeline, unicast_rate, batch;
    const char *app, *secret, *tokens;
    uint32_t source_first, source_count;  // host-order IPv4
} opt = {
    .processes = 2, .singles = 10, .duration = 10, .pipeline = 48, .batch = 100,
};

static struct shared *shared;
static char **tokens;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fail(const char *what) {
    fprintf(stderr, "peers-fanout: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void usage_error(const char *message) {
    fprintf(stderr, "peers-fanout: %s\n", message);
    exit(2);
}

// ---- Subscribers ----

struct subscriber {
    int fd;
    int index;
    int ready;      // subscription acknowledged
    int sent;       // greeting written
    size_t have;    // bytes kept in head (before ready) or carried (after)
    char head[512]; // before ready: the server's first bytes; after: a partial marker window
};

// Writes the protocol's greeting: authenticate or subscribe, and what makes the server confirm.
static int greet(struct subscriber *s) {
    char buffer[2048];
    size_t length = 0;
    switch (opt.system) {
    case HERALD: {
        const char *token = tokens[s->index];
        int body = snprintf(buffer + 12, sizeof buffer - 12, "{\"token\":\"%s\"}", token);
        uint32_t frame_length = htonl((uint32_t)(8 + body));
        memcpy(buffer, &frame_length, 4);
        buffer[4] = 1;  // version
        buffer[5] = 1;  // AUTH
        buffer[6] = buffer[7] = 0;
        uint32_t seq = htonl(1);
        memcpy(buffer + 8, &seq, 4);
        length = 12 + (size_t)body;
        break;
    }
    case REDIS:
        if (opt.unicast_rate > 0)
            length = (size_t)snprintf(buffer, sizeof buffer, "SUBSCRIBE %s u%d\r\n", CHANNEL, s->index);
        else
            length = (size_t)snprintf(buffer, sizeof buffer, "SUBSCRIBE %s\r\n", CHANNEL);
        break;
    case NATS:
        length = (size_t)snprintf(buffer, sizeof buffer,
                                  "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB %s %d\r\nPING\r\n",
                                  CHANNEL, s->index + 1);
        break;
    case MQTT: {
        // CONNECT (MQTT 3.1.1, clean session, keep-alive 0) and SUBSCRIBE at QoS 0.
        char id[32];
        int id_length = snprintf(id, sizeof id, "f%d", s->index);
        unsigned char *p = (unsigned char *)buffer;
        size_t at = 0;
        p[at++] = 0x10;
        p[at++] = (unsigned char)(10 + 2 + id_length);
        const unsigned char variable[] = {0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0};
        memcpy(p + at, variable, sizeof variable);
        at += sizeof variable;
        p[at++] = 0;
        p[at++] = (unsigned char)id_length;
        memcpy(p + at, id, (size_t)id_length);
        at += (size_t)id_length;
        size_t topic = strlen(CHANNEL);
        p[at++] = 0x82;
        p[at++] = (unsigned char)(2 + 2 + topic + 1);
        p[at++] = 0;
        p[at++] = 1;  // packet id
        p[at++] = 0;
        p[at++] = (unsigned char)topic;
        memcpy(p + at, CHANNEL, topic);
        at += topic;
        p[at++] = 0;  // QoS 0
        length = at;
        break;
    }
    }
    ssize_t written = write(s->fd, buffer, length);
    return written == (ssize_t)length ? 0 : -1;
}

// Whether the bytes so far acknowledge the subscription; -1 when they refuse it.
static int acknowledged(const struct subscriber *s) {
    const unsigned char *h = (const unsigned char *)s->head;
    switch (opt.system) {
    case HERALD:
        if (s->have < 12) return 0;
        return h[5] == 2 ? 1 : -1;  // AUTH_OK, else ERROR
    case REDIS:
        if (s->have > 0 && h[0] == '-') return -1;
        return memmem(s->head, s->have, opt.unicast_rate > 0 ? ":2\r\n" : ":1\r\n", 4) != NULL;
    case NATS:
        if (memmem(s->head, s->have, "-ERR", 4)) return -1;
        return memmem(s->head, s->have, "PONG\r\n", 6) != NULL;
    case MQTT:
        // CONNACK (4 bytes, return code 0) then SUBACK (5 bytes, granted QoS 0).
        if (s->have >= 4 && (h[0] != 0x20 || h[3] != 0)) return -1;
        return s->have >= 9 && h[4] == 0x90;
    }
    return 0;
}

// Records a unicast's arrival: `digits` are the 20 digits of the time it was sent.
static void count_unicast(const char *digits_at, uint64_t arrived) {
    char digits[21];
    memcpy(digits, digits_at, 20);
    digits[20] = 0;
    uint64_t sent = strtoull(digits, NULL, 10);
    uint64_t bucket = arrived > sent ? (arrived - sent) / LATENCY_BUCKET_NS : 0;
    if (bucket >= LATENCY_BUCKETS) bucket = LATENCY_BUCKETS - 1;
    atomic_fetch_add_explicit(&shared->latency[bucket], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&shared->unicasts, 1, memory_order_relaxed);
}

// Records one message's arrival from the WINDOW bytes at `at`, which start with "HF": a
// broadcast ("HFO1", its number in 8 digits) or a unicast ("HFU1"); anything else is not one.
static int count_message(const char *at, uint64_t arrived) {
    if (at[3] != '1') return 0;
    if (at[2] == 'U') {
        count_unicast(at + MARKER_SIZE, arrived);
        return 1;
    }
    if (at[2] != 'O') return 0;
    char digits[9];
    memcpy(digits, at + MARKER_SIZE, 8);
    digits[8] = 0;
    unsigned long id = strtoul(digits, NULL, 10);
    if (id >= MAX_MESSAGES) return 1;
    atomic_fetch_add_explicit(&shared->count[id], 1, memory_order_relaxed);
    uint64_t last = atomic_load_explicit(&shared->last[id], memory_order_relaxed);
    while (last < arrived && !atomic_compare_exchange_weak_explicit(&shared->last[id], &last, arrived,
                                                                    memory_order_relaxed, memory_order_relaxed)) {
    }
    atomic_fetch_add_explicit(&shared->deliveries, 1, memory_order_relaxed);
    return 1;
}

// Counts the messages in `data`, each a marker and its window (above). A window cut off by
// the end of a read is carried in `head` and completed by the next read.
static void scan(struct subscriber *s, const char *data, size_t length, uint64_t arrived) {
    const size_t window = WINDOW;
    if (s->have > 0) {
        char joined[2 * WINDOW];
        size_t take = length < window ? length : window;
        memcpy(joined, s->head, s->have);
        memcpy(joined + s->have, data, take);
        size_t total = s->have + take;
        // Only markers that start in the carried bytes: the rest are found below.
        for (size_t at = 0; at < s->have && at + window <= total; at++) {
            if (memcmp(joined + at, MARKER_PREFIX, 2) == 0) count_message(joined + at, arrived);
        }
        s->have = 0;
    }
    const char *cursor = data;
    const char *end = data + length;
    while (cursor < end) {
        const char *found = memmem(cursor, (size_t)(end - cursor), MARKER_PREFIX, 2);
        if (!found || (size_t)(end - found) < window) break;
        cursor = count_message(found, arrived) ? found + window : found + 1;
    }
    // The last window-1 bytes may hold the start of a marker that this read cut off.
    size_t keep = length < window - 1 ? length : window - 1;
    for (const char *candidate = end - keep; candidate < end; candidate++) {
        size_t rest = (size_t)(end - candidate);
        if (rest >= MARKER_SIZE && (candidate[2] != 'O' && candidate[2] != 'U')) continue;
        if (memcmp(candidate, MARKER_PREFIX, rest < 2 ? rest : 2) == 0) {
            memcpy(s->head, candidate, rest);
            s->have = rest;
            break;
        }
    }
}

static int connect_one(struct subscriber *s, int epoll) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    struct sockaddr_in source = {.sin_family = AF_INET,
                                 .sin_addr.s_addr = htonl(opt.source_first + (uint32_t)s->index % opt.source_count)};
    if (bind(fd, (struct sockaddr *)&source, sizeof source) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in target = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&target, sizeof target) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    s->fd = fd;
    struct epoll_event event = {.events = EPOLLIN | EPOLLOUT, .data.ptr = s};
    return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
}

// Closes a subscriber that failed or was closed; returns 1 if it had not settled yet (its
// subscription was never acknowledged), so that the caller counts it as settled.
static int drop(struct subscriber *s, int epoll) {
    atomic_fetch_add(&shared->failed, 1);
    if (s->ready) atomic_fetch_sub(&shared->ready, 1);
    epoll_ctl(epoll, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    return !s->ready;
}

// One subscriber process: connections first, second, ... up to `count` of the whole set.
static void run_subscribers(int first, int count) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the publisher, whatever ends it
    int epoll = epoll_create1(0);
    if (epoll < 0) fail("epoll_create1");
    struct subscriber *subscribers = calloc((size_t)count, sizeof *subscribers);
    if (!subscribers) fail("calloc");
    // Launched and not yet settled (acknowledged or failed): at most `window` at once.
    int launched = 0, settled = 0;
    const int window = 256;
    struct epoll_event events[512];
    static char buffer[256 * 1024];
    int reported = 0;
    while (!atomic_load(&shared->stop)) {
        while (launched < count && launched - settled < window) {
            struct subscriber *s = &subscribers[launched];
            s->index = first + launched;
            launched++;
            if (connect_one(s, epoll) != 0) {
                atomic_fetch_add(&shared->failed, 1);
                settled++;
            }
        }
        if (!reported && settled == count) {
            atomic_fetch_add(&shared->done, 1);
            reported = 1;
        }
        int ready = epoll_wait(epoll, events, 512, 100);
        uint64_t arrived = now_ns();
        for (int i = 0; i < ready; i++) {
            struct subscriber *s = events[i].data.ptr;
            if (!s->sent && (events[i].events & EPOLLOUT)) {
                int error = 0;
                socklen_t size = sizeof error;
                getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &error, &size);
                struct epoll_event event = {.events = EPOLLIN, .data.ptr = s};
                if (error != 0 || greet(s) != 0 || epoll_ctl(epoll, EPOLL_CTL_MOD, s->fd, &event) != 0) {
                    settled += drop(s, epoll);
                    continue;
                }
                s->sent = 1;
                continue;
            }
            if (!(events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
            ssize_t got = read(s->fd, buffer, sizeof buffer);
            if (got <= 0) {
                if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                settled += drop(s, epoll);
                continue;
            }
            if (s->ready) {
                scan(s, buffer, (size_t)got, arrived);
                continue;
            }
            size_t take = (size_t)got < sizeof s->head - s->have ? (size_t)got : sizeof s->head - s->have;
            memcpy(s->head + s->have, buffer, take);
            s->have += take;
            int answer = acknowledged(s);
            if (answer < 0) {
                settled += drop(s, epoll);
            } else if (answer > 0) {
                s->ready = 1;
                s->have = 0;
                settled++;
                atomic_fetch_add(&shared->ready, 1);
            }
        }
    }
    _exit(0);
}

// ---- Publisher ----

// A publishing connection: the broadcasts' one, and in the mixed phase the unicasts'.
struct link {
    int fd;
    size_t in_flight;   // requests not answered yet
    char *reply;        // bytes of replies not read to their end yet
    size_t reply_have;
};
#define REPLY_SIZE (1 << 20)

static struct link broadcaster, unicaster;

static void write_all(struct link *link, const char *data, size_t length) {
    while (length > 0) {
        ssize_t written = write(link->fd, data, length);
        if (written < 0) {
            if (errno == EINTR) continue;
            fail("publisher write");
        }
        data += written;
        length -= (size_t)written;
    }
}

static void payload(char *out, unsigned id, uint64_t sent) {
    int n = snprintf(out, PAYLOAD_SIZE + 1, "HFO1%08u %020llu ", id, (unsigned long long)sent);
    memset(out + n, 'x', (size_t)(PAYLOAD_SIZE - n));
    out[PAYLOAD_SIZE] = 0;
}

static void unicast_payload(char *out, uint64_t sent) {
    int n = snprintf(out, PAYLOAD_SIZE + 1, "HFU1%020llu ", (unsigned long long)sent);
    memset(out + n, 'x', (size_t)(PAYLOAD_SIZE - n));
    out[PAYLOAD_SIZE] = 0;
}

// Writes Herald's `POST /v1/apps/<app>/<route>` with a JSON `body` into `out`; returns its length.
static size_t api_post(char *out, size_t size, const char *route, const char *body, size_t body_length) {
    return (size_t)snprintf(out, size,
                            "POST /v1/apps/%s/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                            "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%.*s",
                            opt.app, route, opt.secret, body_length, (int)body_length, body);
}

// Sends message `id`; for the protocols without a reply, a PING every few messages stands in.
static void publish(unsigned id) {
    char message[PAYLOAD_SIZE + 1];
    payload(message, id, now_ns());
    char request[1024];
    int length = 0;
    switch (opt.system) {
    case HERALD: {
        char body[128];
        int body_length = snprintf(body, sizeof body, "{\"payload\":\"%s\"}", message);
        length = (int)api_post(request, sizeof request, "broadcasts", body, (size_t)body_length);
        broadcaster.in_flight++;
        break;
    }
    case REDIS:
        length = snprintf(request, sizeof request, "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%d\r\n%s\r\n",
                          strlen(CHANNEL), CHANNEL, PAYLOAD_SIZE, message);
        broadcaster.in_flight++;
        break;
    case NATS:
        length = snprintf(request, sizeof request, "PUB %s %d\r\n%s\r\n%s", CHANNEL, PAYLOAD_SIZE, message,
                          id % 8 == 0 ? "PING\r\n" : "");
        if (id % 8 == 0) broadcaster.in_flight += 8;
        break;
    case MQTT: {
        unsigned char *p = (unsigned char *)request;
        size_t topic = strlen(CHANNEL);
        p[0] = 0x30;
        p[1] = (unsigned char)(2 + topic + PAYLOAD_SIZE);
        p[2] = 0;
        p[3] = (unsigned char)topic;
        memcpy(p + 4, CHANNEL, topic);
        memcpy(p + 4 + topic, message, PAYLOAD_SIZE);
        length = (int)(4 + topic + PAYLOAD_SIZE);
        if (id % 8 == 0) {
            p[length++] = 0xC0;  // PINGREQ
            p[length++] = 0;
            broadcaster.in_flight += 8;
        }
        break;
    }
    }
    write_all(&broadcaster, request, (size_t)length);
}

// Sends a group of --batch unicasts, each to a subscriber picked at random.
static void publish_unicasts(void) {
    static char request[256 * 1024];
    size_t length = 0;
    char message[PAYLOAD_SIZE + 1];
    unicast_payload(message, now_ns());
    if (opt.system == HERALD) {
        static char body[240 * 1024];
        size_t body_length = (size_t)snprintf(body, sizeof body, "{\"messages\":[");
        for (int k = 0; k < opt.batch; k++) {
            body_length += (size_t)snprintf(body + body_length, sizeof body - body_length,
                                            "%s{\"users\":[\"u%d\"],\"qos\":0,\"payload\":\"%s\"}", k ? "," : "",
                                            rand() % opt.connections, message);
        }
        body_length += (size_t)snprintf(body + body_length, sizeof body - body_length, "]}");
        length = api_post(request, sizeof request, "messages/batch", body, body_length);
        unicaster.in_flight++;
    } else {
        for (int k = 0; k < opt.batch; k++) {
            char channel[16];
            int channel_length = snprintf(channel, sizeof channel, "u%d", rand() % opt.connections);
            length += (size_t)snprintf(request + length, sizeof request - length,
                                       "*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", channel_length,
                                       channel, PAYLOAD_SIZE, message);
            unicaster.in_flight++;
        }
    }
    write_all(&unicaster, request, length);
}

// Reads a publishing connection's replies and lowers its `in_flight` by what they answer.
static void read_replies(struct link *link, int block) {
    char *reply = link->reply;
    ssize_t got = recv(link->fd, reply + link->reply_have, REPLY_SIZE - link->reply_have, block ? 0 : MSG_DONTWAIT);
    if (got == 0) usage_error("the server closed the publisher's connection");
    if (got < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        fail("publisher read");
    }
    link->reply_have += (size_t)got;
    size_t at = 0;
    for (;;) {
        char *start = reply + at;
        size_t left = link->reply_have - at;
        if (opt.system == HERALD) {
            char *header_end = memmem(start, left, "\r\n\r\n", 4);
            if (!header_end) break;
            if (memcmp(start, "HTTP/1.1 2", 10) != 0) {
                fprintf(stderr, "peers-fanout: the API answered: %.*s\n", (int)(header_end - start), start);
                exit(1);
            }
            size_t content = 0;
            char *field = memmem(start, (size_t)(header_end - start), "\r\ncontent-length:", 17);
            if (!field) field = memmem(start, (size_t)(header_end - start), "\r\nContent-Length:", 17);
            if (field) content = strtoul(field + 17, NULL, 10);
            size_t total = (size_t)(header_end - start) + 4 + content;
            if (left < total) break;
            at += total;
            link->in_flight--;
        } else if (opt.system == REDIS) {
            char *line_end = memmem(start, left, "\r\n", 2);
            if (!line_end) break;
            if (start[0] != ':') {
                fprintf(stderr, "peers-fanout: redis answered: %.*s\n", (int)(line_end - start), start);
                exit(1);
            }
            at += (size_t)(line_end - start) + 2;
            link->in_flight--;
        } else if (opt.system == NATS) {
            char *line_end = memmem(start, left, "\r\n", 2);
            if (!line_end) break;
            if (memcmp(start, "PONG", 4) == 0) link->in_flight -= 8;
            else if (memcmp(start, "-ERR", 4) == 0) {
                fprintf(stderr, "peers-fanout: nats answered: %.*s\n", (int)(line_end - start), start);
                exit(1);
            }
            at += (size_t)(line_end - start) + 2;
        } else {
            if (left < 2) break;
            size_t total = 2 + (unsigned char)start[1];
            if (left < total) break;
            if ((unsigned char)start[0] == 0xD0) link->in_flight -= 8;
            at += total;
        }
    }
    memmove(reply, reply + at, link->reply_have - at);
    link->reply_have -= at;
}

static void open_publisher(struct link *link, int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) fail("socket");
    struct sockaddr_in target = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&target, sizeof target) != 0) fail("publisher connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    link->fd = fd;
    link->reply = malloc(REPLY_SIZE);
    if (!link->reply) fail("malloc");
    if (opt.system == NATS) write_all(link, "CONNECT {\"verbose\":false}\r\n", 27);
    if (opt.system == MQTT) {
        const unsigned char connect_packet[] = {0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0, 0, 1, 'p'};
        write_all(link, (const char *)connect_packet, sizeof connect_packet);
        unsigned char connack[4];
        if (read(fd, connack, 4) != 4 || connack[0] != 0x20) usage_error("mosquitto refused the publisher");
    }
}

static void sleep_ms(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

// Waits until the subscribers have received `deliveries` broadcasts and `unicasts` unicasts
// more than the counts given, or nothing more arrives for 2 s, or 120 s have passed (a server
// that acknowledges before it writes may still be writing long after).
static void settle(uint64_t deliveries_before, uint64_t deliveries, uint64_t unicasts_before, uint64_t unicasts) {
    uint64_t deadline = now_ns() + 120ull * 1000000000ull;
    uint64_t seen = 0;
    uint64_t quiet_since = now_ns();
    for (;;) {
        uint64_t got = atomic_load(&shared->deliveries) - deliveries_before;
        uint64_t unicasts_got = atomic_load(&shared->unicasts) - unicasts_before;
        if ((got >= deliveries && unicasts_got >= unicasts) || now_ns() > deadline) return;
        if (got + unicasts_got != seen) {
            seen = got + unicasts_got;
            quiet_since = now_ns();
        } else if (now_ns() - quiet_since > 2000000000ull) {
            return;
        }
        sleep_ms(50);
    }
}

// The latest arrival of any of the broadcasts first ..< end.
static uint64_t last_arrival_of(unsigned first, unsigned end) {
    uint64_t last = 0;
    for (unsigned m = first; m < end; m++) {
        uint64_t t = atomic_load(&shared->last[m]);
        if (t > last) last = t;
    }
    return last;
}

// The unicasts' latency at quantile `q` in milliseconds, from the subscribers' buckets.
static double latency_quantile(uint64_t total, double q) {
    uint64_t rank = (uint64_t)((double)total * q);
    uint64_t seen = 0;
    for (uint32_t b = 0; b < LATENCY_BUCKETS; b++) {
        seen += atomic_load(&shared->latency[b]);
        if (seen > rank) return (double)((b + 1) * LATENCY_BUCKET_NS) / 1e6;
    }
    return (double)(LATENCY_BUCKETS * LATENCY_BUCKET_NS) / 1e6;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void parse_sources(const char *text) {
    unsigned a, b, c, d, last;
    if (sscanf(text, "%u.%u.%u.%u-%*u.%*u.%*u.%u", &a, &b, &c, &d, &last) != 5 || last < d)
        usage_error("--sources must read like 127.0.0.2-127.0.0.9");
    opt.source_first = (a << 24) | (b << 16) | (c << 8) | d;
    opt.source_count = last - d + 1;
}

static void load_tokens(void) {
    FILE *file = fopen(opt.tokens, "r");
    if (!file) fail(opt.tokens);
    tokens = calloc((size_t)opt.connections, sizeof *tokens);
    char line[2048];
    for (int i = 0; i < opt.connections; i++) {
        if (!fgets(line, sizeof line, file)) usage_error("--tokens has fewer lines than --connections");
        line[strcspn(line, "\n")] = 0;
        tokens[i] = strdup(line);
    }
    fclose(file);
}

int main(int argc, char **argv) {
    const char *system_name = NULL;
    parse_sources("127.0.0.2-127.0.0.9");
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *name = argv[i], *value = argv[i + 1];
        if (!strcmp(name, "--system")) system_name = value;
        else if (!strcmp(name, "--port")) opt.port = atoi(value);
        else if (!strcmp(name, "--api-port")) opt.api_port = atoi(value);
        else if (!strcmp(name, "--connections")) opt.connections = atoi(value);
        else if (!strcmp(name, "--processes")) opt.processes = atoi(value);
        else if (!strcmp(name, "--singles")) opt.singles = atoi(value);
        else if (!strcmp(name, "--duration")) opt.duration = atoi(value);
        else if (!strcmp(name, "--pipeline")) opt.pipeline = atoi(value);
        else if (!strcmp(name, "--unicast-rate")) opt.unicast_rate = atoi(value);
        else if (!strcmp(name, "--batch")) opt.batch = atoi(value);
        else if (!strcmp(name, "--app")) opt.app = value;
        else if (!strcmp(name, "--secret")) opt.secret = value;
        else if (!strcmp(name, "--tokens")) opt.tokens = value;
        else if (!strcmp(name, "--sources")) parse_sources(value);
        else {
            fprintf(stderr, "peers-fanout: unknown option %s\n", name);
            return 2;
        }
    }
    if (argc % 2 == 0) usage_error("every option takes a value");
    if (!system_name) usage_error("give --system herald, redis, nats or mqtt");
    if (!strcmp(system_name, "herald")) opt.system = HERALD;
    else if (!strcmp(system_name, "redis")) opt.system = REDIS;
    else if (!strcmp(system_name, "nats")) opt.system = NATS;
    else if (!strcmp(system_name, "mqtt")) opt.system = MQTT;
    else usage_error("--system must be herald, redis, nats or mqtt");
    if (opt.port <= 0 || opt.connections <= 0 || opt.processes <= 0 || opt.pipeline <= 0)
        usage_error("give --port and --connections (and positive --processes and --pipeline)");
    if (opt.system == HERALD) {
        if (!opt.app || !opt.secret || !opt.tokens || opt.api_port <= 0)
            usage_error("Herald needs --api-port, --app, --secret and --tokens");
        load_tokens();
    }
    if (opt.pipeline < 8 && (opt.system == NATS || opt.system == MQTT)) opt.pipeline = 8;
    if (opt.unicast_rate < 0 || opt.batch < 1 || opt.batch > 1000) usage_error("--unicast-rate must be 0 or more, --batch 1 to 1000");
    if (opt.unicast_rate > 0 && opt.system != HERALD && opt.system != REDIS)
        usage_error("--unicast-rate works with --system herald or redis");
    signal(SIGPIPE, SIG_IGN);

    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) fail("mmap");
    pid_t children[64];
    int processes = opt.processes > 64 ? 64 : opt.processes;
    uint64_t connect_started = now_ns();
    for (int p = 0; p < processes; p++) {
        int first = opt.connections * p / processes;
        int next = opt.connections * (p + 1) / processes;
        pid_t child = fork();
        if (child < 0) fail("fork");
        if (child == 0) run_subscribers(first, next - first);
        children[p] = child;
    }

    // All subscribed (or given up on) within 60 s.
    uint64_t deadline = now_ns() + 60ull * 1000000000ull;
    while (atomic_load(&shared->done) < (uint32_t)processes ||
           atomic_load(&shared->ready) + atomic_load(&shared->failed) < (uint32_t)opt.connections) {
        if (now_ns() > deadline) break;
        sleep_ms(5);
    }
    double connect_seconds = (double)(now_ns() - connect_started) / 1e9;
    uint32_t subscribed = atomic_load(&shared->ready);
    if (subscribed == 0) usage_error("no subscriber was acknowledged");

    open_publisher(&broadcaster, opt.system == HERALD ? opt.api_port : opt.port);
    unsigned id = 1;

    // One message at a time: until every subscriber has it.
    double singles[256];
    int single_count = 0, incomplete = 0;
    for (int k = 0; k < opt.singles && k < 256; k++) {
        unsigned this = id++;
        uint64_t sent = now_ns();
        publish(this);
        uint64_t until = sent + 10ull * 1000000000ull;
        while (atomic_load(&shared->count[this]) < subscribed && now_ns() < until) {
            read_replies(&broadcaster, 0);
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
        if (atomic_load(&shared->count[this]) < subscribed) incomplete++;
        singles[single_count++] = (double)(atomic_load(&shared->last[this]) - sent) / 1e6;
        while (broadcaster.in_flight > 0) read_replies(&broadcaster, 1);
        sleep_ms(200);
    }
    qsort(singles, (size_t)single_count, sizeof *singles, compare_double);

    // Back to back with --pipeline in flight, for --duration seconds.
    uint64_t before = atomic_load(&shared->deliveries);
    unsigned first_sustained = id;
    uint64_t started = now_ns();
    uint64_t ends = started + (uint64_t)opt.duration * 1000000000ull;
    while (now_ns() < ends && id < MAX_MESSAGES) {
        while (broadcaster.in_flight < (size_t)opt.pipeline && id < MAX_MESSAGES) publish(id++);
        read_replies(&broadcaster, 1);
    }
    unsigned published = id - first_sustained;
    uint64_t expected = (uint64_t)published * subscribed;
    settle(before, expected, atomic_load(&shared->unicasts), 0);
    uint64_t last_arrival = last_arrival_of(first_sustained, id);
    uint64_t delivered = atomic_load(&shared->deliveries) - before;
    double seconds = last_arrival > started ? (double)(last_arrival - started) / 1e9 : 0;

    // Unicasts at --unicast-rate, in groups of --batch as they fall due, while the broadcasts
    // go back to back as above, for --duration seconds.
    uint64_t unicasts_sent = 0, unicasts_received = 0, mixed_delivered = 0, mixed_expected = 0;
    unsigned mixed_published = 0;
    double mixed_seconds = 0;
    if (opt.unicast_rate > 0) {
        open_publisher(&unicaster, opt.system == HERALD ? opt.api_port : opt.port);
        sleep_ms(500);
        uint64_t deliveries_before = atomic_load(&shared->deliveries);
        uint64_t unicasts_before = atomic_load(&shared->unicasts);
        unsigned first_mixed = id;
        uint64_t interval = 1000000000ull * (uint64_t)opt.batch / (uint64_t)opt.unicast_rate;
        uint64_t mixed_started = now_ns();
        uint64_t due = mixed_started;
        uint64_t mixed_ends = mixed_started + (uint64_t)opt.duration * 1000000000ull;
        for (uint64_t now = now_ns(); now < mixed_ends && id < MAX_MESSAGES; now = now_ns()) {
            while (now >= due) {
                publish_unicasts();
                unicasts_sent += (uint64_t)opt.batch;
                due += interval;
            }
            while (broadcaster.in_flight < (size_t)opt.pipeline && id < MAX_MESSAGES) publish(id++);
            struct pollfd fds[2] = {{.fd = broadcaster.fd, .events = POLLIN}, {.fd = unicaster.fd, .events = POLLIN}};
            uint64_t wait_ns = due > now_ns() ? due - now_ns() : 0;
            struct timespec timeout = {.tv_sec = (time_t)(wait_ns / 1000000000ull), .tv_nsec = (long)(wait_ns % 1000000000ull)};
            if (ppoll(fds, 2, &timeout, NULL) < 0 && errno != EINTR) fail("ppoll");
            if (fds[0].revents) read_replies(&broadcaster, 0);
            if (fds[1].revents) read_replies(&unicaster, 0);
        }
        mixed_published = id - first_mixed;
        mixed_expected = (uint64_t)mixed_published * subscribed;
        settle(deliveries_before, mixed_expected, unicasts_before, unicasts_sent);
        uint64_t mixed_last = last_arrival_of(first_mixed, id);
        mixed_delivered = atomic_load(&shared->deliveries) - deliveries_before;
        unicasts_received = atomic_load(&shared->unicasts) - unicasts_before;
        mixed_seconds = mixed_last > mixed_started ? (double)(mixed_last - mixed_started) / 1e9 : 0;
    }

    atomic_store(&shared->stop, 1);
    for (int p = 0; p < processes; p++) waitpid(children[p], NULL, 0);

    printf("{\"system\":\"%s\",\"connections\":%d,\"subscribed\":%u,\"failed\":%u,\"connectSeconds\":%.3f,"
           "\"singleMedianMs\":%.2f,\"singleMs\":[",
           system_name, opt.connections, subscribed, atomic_load(&shared->failed), connect_seconds,
           single_count ? singles[single_count / 2] : 0.0);
    for (int k = 0; k < single_count; k++) printf("%s%.2f", k ? "," : "", singles[k]);
    printf("],\"singlesIncomplete\":%d,\"published\":%u,\"delivered\":%llu,\"expected\":%llu,\"seconds\":%.3f,"
           "\"deliveriesPerSecond\":%.0f,\"messagesPerSecond\":%.1f",
           incomplete, published, (unsigned long long)delivered, (unsigned long long)expected, seconds,
           seconds > 0 ? (double)delivered / seconds : 0.0, seconds > 0 ? (double)published / seconds : 0.0);
    if (opt.unicast_rate > 0) {
        printf(",\"unicastRate\":%d,\"unicastsSent\":%llu,\"unicastsReceived\":%llu,\"unicastP50Ms\":%.2f,"
               "\"unicastP99Ms\":%.2f,\"unicastP999Ms\":%.2f,\"mixedPublished\":%u,\"mixedDelivered\":%llu,"
               "\"mixedExpected\":%llu,\"mixedDeliveriesPerSecond\":%.0f",
               opt.unicast_rate, (unsigned long long)unicasts_sent, (unsigned long long)unicasts_received,
               latency_quantile(unicasts_received, 0.5), latency_quantile(unicasts_received, 0.99),
               latency_quantile(unicasts_received, 0.999), mixed_published, (unsigned long long)mixed_delivered,
               (unsigned long long)mixed_expected, mixed_seconds > 0 ? (double)mixed_delivered / mixed_seconds : 0.0);
    }
    printf("}\n");
    return 0;
}
