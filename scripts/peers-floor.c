// The machine's floor for fan-out: the least a server can do to deliver a message to every
// subscriber, and a unicast to one while it does, so that Herald and its peers can be read
// against what this machine allows. Built and run by `scripts/peers --systems floor`, measured
// by the same client (peers-fanout.c, in its redis mode).
//
// It speaks just enough of redis's protocol for that client: `SUBSCRIBE <channel> ...`
// (inline) subscribes the connection to the broadcast channel (any name but `u<number>`) and
// to its own channel `u<number>`; `PUBLISH <channel> <payload>` (a RESP array) is answered
// with the number of receivers and written to them as a RESP `message`. Nothing is stored,
// authenticated or checked beyond that.
//
// Threads: one epoll loop each (--threads, default 2, the gateway's loops on this machine),
// each with a listener of its own on the same port (SO_REUSEPORT) and the connections it
// accepted. A PUBLISH is appended to the queue of every loop (a broadcast) or of the loop
// that holds the channel's connection (a unicast) and wakes it (an eventfd). A loop writes
// everything broadcast since its last pass to each subscriber in one `write`, 256
// subscribers at a time; between two slices it takes its I/O and the unicasts queued for it
// without sleeping, so a unicast waits for at most one slice. What a socket does not take at
// once waits for EPOLLOUT, so nothing is dropped. With --queue-limit K, a publisher's
// connection is not read while K broadcasts wait for some loop's next pass (Herald's
// back pressure, with K 64); without it the floor takes broadcasts as fast as they come.
//
//   peers-floor --port P [--threads 2] [--queue-limit 0]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_THREADS 16
#define READ_SIZE 65536
#define SLICE 256

struct buffer {
    char *data;
    size_t have, size;
};

struct connection {
    int fd;
    int loop;           // the loop that owns it
    int index;          // position in its loop's subscriber list, -1 if none
    long channel;       // its own channel's number, -1 if none
    struct buffer in;   // bytes read and not yet a whole command
    struct buffer out;  // bytes the socket did not take yet
};

struct loop {
    pthread_t thread;
    int epoll, listener, wake;
    pthread_mutex_t lock;        // guards broadcasts and unicasts
    struct buffer broadcasts;    // messages broadcast since the loop's last pass
    struct buffer unicasts;      // [channel number (long), length (size_t), message] ...
    _Atomic int pending;         // either buffer has something
    // Owned by the loop's thread:
    struct connection **subscribers;  // NULL where one closed (compacted between passes)
    size_t subscriber_count, subscriber_size;
    struct buffer pass;          // the broadcasts of the pass under way
    size_t pass_next;            // subscribers written so far in this pass
    _Atomic int waiting;         // broadcasts queued for the next pass
    struct connection *paused;   // a publisher held back by --queue-limit, if any
};

static int port, thread_count = 2, queue_limit;
static struct loop loops[MAX_THREADS];
static _Atomic long subscribers_total;

// Channel number -> its connection; guarded by channels_lock.
static pthread_mutex_t channels_lock = PTHREAD_MUTEX_INITIALIZER;
static struct connection **channels;
static size_t channel_size;

static void fail(const char *what) {
    fprintf(stderr, "peers-floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void append(struct buffer *b, const void *data, size_t length) {
    if (b->have + length > b->size) {
        size_t grown = b->size ? b->size : 4096;
        while (grown < b->have + length) grown *= 2;
        char *bigger = realloc(b->data, grown);
        if (!bigger) fail("realloc");
        b->data = bigger;
        b->size = grown;
    }
    memcpy(b->data + b->have, data, length);
    b->have += length;
}

// Whether a channel's name is `u<number>`, a connection's own channel.
static int is_own_channel(const char *name, size_t length) {
    return length > 1 && name[0] == 'u' && name[1] >= '0' && name[1] <= '9';
}

static void wake(struct loop *loop) {
    uint64_t one = 1;
    if (write(loop->wake, &one, sizeof one) < 0 && errno != EAGAIN) fail("eventfd write");
}

static void close_connection(struct loop *loop, struct connection *c) {
    if (loop->paused == c) loop->paused = NULL;
    if (c->index >= 0) {
        loop->subscribers[c->index] = NULL;
        atomic_fetch_sub(&subscribers_total, 1);
    }
    if (c->channel >= 0) {
        pthread_mutex_lock(&channels_lock);
        if ((size_t)c->channel < channel_size && channels[c->channel] == c) channels[c->channel] = NULL;
        pthread_mutex_unlock(&channels_lock);
    }
    epoll_ctl(loop->epoll, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in.data);
    free(c->out.data);
    free(c);
}

// Writes `data` after whatever the socket has not taken yet; returns -1 if the connection
// failed (it is then closed).
static int send_bytes(struct loop *loop, struct connection *c, const char *data, size_t length) {
    if (c->out.have > 0) {
        append(&c->out, data, length);
        return 0;
    }
    ssize_t written = write(c->fd, data, length);
    if (written < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            close_connection(loop, c);
            return -1;
        }
        written = 0;
    }
    if ((size_t)written < length) {
        append(&c->out, data + written, length - (size_t)written);
        struct epoll_event event = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
        epoll_ctl(loop->epoll, EPOLL_CTL_MOD, c->fd, &event);
    }
    return 0;
}

static void flush_pending(struct loop *loop, struct connection *c) {
    ssize_t written = write(c->fd, c->out.data, c->out.have);
    if (written < 0) {
        if (errno != EAGAIN && errno != EINTR) close_connection(loop, c);
        return;
    }
    memmove(c->out.data, c->out.data + written, c->out.have - (size_t)written);
    c->out.have -= (size_t)written;
    if (c->out.have == 0) {
        struct epoll_event event = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(loop->epoll, EPOLL_CTL_MOD, c->fd, &event);
    }
}

// Takes what was queued for the loop: its unicasts are written at once, its broadcasts start
// a pass if none is under way (else they wait for the next one, all of them in one write).
static void take_queued(struct loop *loop) {
    if (!atomic_exchange(&loop->pending, 0)) return;
    pthread_mutex_lock(&loop->lock);
    struct buffer unicasts = loop->unicasts;
    loop->unicasts = (struct buffer){0};
    int start_pass = loop->pass.have == 0 && loop->broadcasts.have > 0;
    if (start_pass) {
        loop->pass = loop->broadcasts;
        loop->broadcasts = (struct buffer){0};
        atomic_store(&loop->waiting, 0);
    } else if (loop->broadcasts.have > 0) {
        atomic_store(&loop->pending, 1);  // the rest waits for the pass to end
    }
    pthread_mutex_unlock(&loop->lock);
    for (size_t at = 0; at < unicasts.have;) {
        long channel;
        size_t length;
        memcpy(&channel, unicasts.data + at, sizeof channel);
        memcpy(&length, unicasts.data + at + sizeof channel, sizeof length);
        at += sizeof channel + sizeof length;
        // Only this loop closes its own connections, so one of them found here stays valid.
        pthread_mutex_lock(&channels_lock);
        struct connection *c = (size_t)channel < channel_size ? channels[channel] : NULL;
        if (c && c->loop != loop - loops) c = NULL;
        pthread_mutex_unlock(&channels_lock);
        if (c) send_bytes(loop, c, unicasts.data + at, length);
        at += length;
    }
    free(unicasts.data);
    if (start_pass && queue_limit > 0) {
        // A publisher held back for room in this loop's queue may go on.
        for (int t = 0; t < thread_count; t++) {
            if (&loops[t] != loop) wake(&loops[t]);
        }
    }
    if (start_pass) {
        // Compact the closed subscribers away before the pass walks the list.
        size_t kept = 0;
        for (size_t i = 0; i < loop->subscriber_count; i++) {
            struct connection *c = loop->subscribers[i];
            if (!c) continue;
            c->index = (int)kept;
            loop->subscribers[kept++] = c;
        }
        loop->subscriber_count = kept;
        loop->pass_next = 0;
    }
}

// Writes the pass's broadcasts to the next SLICE subscribers; returns whether the pass goes on.
static int fan_out_slice(struct loop *loop) {
    if (loop->pass.have == 0) return 0;
    size_t end = loop->pass_next + SLICE;
    if (end > loop->subscriber_count) end = loop->subscriber_count;
    for (size_t i = loop->pass_next; i < end; i++) {
        struct connection *c = loop->subscribers[i];
        if (c) send_bytes(loop, c, loop->pass.data, loop->pass.have);
    }
    loop->pass_next = end;
    if (end < loop->subscriber_count) return 1;
    free(loop->pass.data);
    loop->pass = (struct buffer){0};
    return 0;
}

static void publish(const char *channel, size_t channel_length, const char *payload, size_t payload_length,
                    long *receivers) {
    char header[128];
    int header_length = snprintf(header, sizeof header, "*3\r\n$7\r\nmessage\r\n$%zu\r\n%.*s\r\n$%zu\r\n",
                                 channel_length, (int)channel_length, channel, payload_length);
    size_t length = (size_t)header_length + payload_length + 2;
    if (is_own_channel(channel, channel_length)) {
        long number = strtol(channel + 1, NULL, 10);
        pthread_mutex_lock(&channels_lock);
        struct connection *c = (size_t)number < channel_size ? channels[number] : NULL;
        int owner = c ? c->loop : -1;
        pthread_mutex_unlock(&channels_lock);
        *receivers = owner >= 0;
        if (owner < 0) return;
        struct loop *loop = &loops[owner];
        pthread_mutex_lock(&loop->lock);
        append(&loop->unicasts, &number, sizeof number);
        append(&loop->unicasts, &length, sizeof length);
        append(&loop->unicasts, header, (size_t)header_length);
        append(&loop->unicasts, payload, payload_length);
        append(&loop->unicasts, "\r\n", 2);
        pthread_mutex_unlock(&loop->lock);
        if (!atomic_exchange(&loop->pending, 1)) wake(loop);
        return;
    }
    *receivers = atomic_load(&subscribers_total);
    for (int t = 0; t < thread_count; t++) {
        struct loop *loop = &loops[t];
        pthread_mutex_lock(&loop->lock);
        append(&loop->broadcasts, header, (size_t)header_length);
        append(&loop->broadcasts, payload, payload_length);
        append(&loop->broadcasts, "\r\n", 2);
        atomic_fetch_add(&loop->waiting, 1);
        pthread_mutex_unlock(&loop->lock);
        if (!atomic_exchange(&loop->pending, 1)) wake(loop);
    }
}

// Reads `$<n>\r\n<n bytes>\r\n` at `*at`; returns 0 when incomplete, -1 when malformed.
static int bulk(const char *data, size_t have, size_t *at, const char **value, size_t *length) {
    if (*at >= have) return 0;
    if (data[*at] != '$') return -1;
    const char *line_end = memmem(data + *at, have - *at, "\r\n", 2);
    if (!line_end) return 0;
    size_t n = strtoul(data + *at + 1, NULL, 10);
    size_t start = (size_t)(line_end - data) + 2;
    if (start + n + 2 > have) return 0;
    *value = data + start;
    *length = n;
    *at = start + n + 2;
    return 1;
}

// Subscribes `c` to the channels of an inline SUBSCRIBE, answering each.
static int subscribe(struct loop *loop, struct connection *c, const char *names, size_t length) {
    int count = 0;
    for (size_t at = 0; at < length;) {
        while (at < length && names[at] == ' ') at++;
        size_t end = at;
        while (end < length && names[end] != ' ') end++;
        if (end == at) break;
        const char *name = names + at;
        size_t name_length = end - at;
        at = end;
        if (is_own_channel(name, name_length)) {
            long number = strtol(name + 1, NULL, 10);
            if (number < 0 || number > 10000000) {
                close_connection(loop, c);
                return -1;
            }
            pthread_mutex_lock(&channels_lock);
            if ((size_t)number >= channel_size) {
                size_t grown = channel_size ? channel_size : 1024;
                while (grown <= (size_t)number) grown *= 2;
                channels = realloc(channels, grown * sizeof *channels);
                if (!channels) fail("realloc");
                memset(channels + channel_size, 0, (grown - channel_size) * sizeof *channels);
                channel_size = grown;
            }
            channels[number] = c;
            pthread_mutex_unlock(&channels_lock);
            c->channel = number;
        } else if (c->index < 0) {
            if (loop->subscriber_count == loop->subscriber_size) {
                loop->subscriber_size = loop->subscriber_size ? loop->subscriber_size * 2 : 1024;
                loop->subscribers = realloc(loop->subscribers, loop->subscriber_size * sizeof *loop->subscribers);
                if (!loop->subscribers) fail("realloc");
            }
            c->index = (int)loop->subscriber_count;
            loop->subscribers[loop->subscriber_count++] = c;
            atomic_fetch_add(&subscribers_total, 1);
        }
        char reply[256];
        int reply_length = snprintf(reply, sizeof reply, "*3\r\n$9\r\nsubscribe\r\n$%zu\r\n%.*s\r\n:%d\r\n",
                                    name_length, (int)name_length, name, ++count);
        if (send_bytes(loop, c, reply, (size_t)reply_length) < 0) return -1;
    }
    return 0;
}

// Whether every loop has room for one more broadcast (always, without --queue-limit).
static int room_for_broadcast(void) {
    if (queue_limit <= 0) return 1;
    for (int t = 0; t < thread_count; t++) {
        if (atomic_load(&loops[t].waiting) >= queue_limit) return 0;
    }
    return 1;
}

// Handles the whole commands in the connection's input; returns -1 if it was closed.
static int handle_input(struct loop *loop, struct connection *c) {
    size_t at = 0;
    char replies[4096];
    size_t reply_length = 0;
    while (at < c->in.have) {
        const char *start = c->in.data + at;
        size_t left = c->in.have - at;
        if (start[0] == '*') {
            // PUBLISH channel payload
            const char *line_end = memmem(start, left, "\r\n", 2);
            if (!line_end) break;
            size_t cursor = (size_t)(line_end - c->in.data) + 2;
            const char *name, *channel, *payload;
            size_t name_length, channel_length, payload_length;
            int r = bulk(c->in.data, c->in.have, &cursor, &name, &name_length);
            if (r > 0) r = bulk(c->in.data, c->in.have, &cursor, &channel, &channel_length);
            if (r > 0) r = bulk(c->in.data, c->in.have, &cursor, &payload, &payload_length);
            if (r < 0 || (r > 0 && (name_length != 7 || strncasecmp(name, "PUBLISH", 7) != 0))) {
                close_connection(loop, c);
                return -1;
            }
            if (r == 0) break;
            if (!is_own_channel(channel, channel_length) && !room_for_broadcast()) {
                // Stop reading this publisher until the loops have taken their queues.
                loop->paused = c;
                struct epoll_event event = {.events = c->out.have ? EPOLLOUT : 0, .data.ptr = c};
                epoll_ctl(loop->epoll, EPOLL_CTL_MOD, c->fd, &event);
                break;
            }
            long receivers = 0;
            publish(channel, channel_length, payload, payload_length, &receivers);
            if (reply_length + 32 > sizeof replies) {
                if (send_bytes(loop, c, replies, reply_length) < 0) return -1;
                reply_length = 0;
            }
            reply_length += (size_t)snprintf(replies + reply_length, sizeof replies - reply_length, ":%ld\r\n", receivers);
            at = cursor;
        } else {
            const char *line_end = memmem(start, left, "\r\n", 2);
            if (!line_end) break;
            if (left < 10 || strncasecmp(start, "SUBSCRIBE ", 10) != 0) {
                close_connection(loop, c);
                return -1;
            }
            if (subscribe(loop, c, start + 10, (size_t)(line_end - start) - 10) < 0) return -1;
            at = (size_t)(line_end - c->in.data) + 2;
        }
    }
    memmove(c->in.data, c->in.data + at, c->in.have - at);
    c->in.have -= at;
    if (reply_length > 0 && send_bytes(loop, c, replies, reply_length) < 0) return -1;
    return 0;
}

static void *run(void *argument) {
    struct loop *loop = argument;
    struct epoll_event events[256];
    char *buffer = malloc(READ_SIZE);
    if (!buffer) fail("malloc");
    int busy = 0;  // a pass is under way: look at the I/O between slices without sleeping
    for (;;) {
        int n = epoll_wait(loop->epoll, events, 256, busy ? 0 : -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            if (tag == &loop->listener) {
                for (;;) {
                    int fd = accept4(loop->listener, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0) break;
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct connection *c = calloc(1, sizeof *c);
                    if (!c) fail("calloc");
                    c->fd = fd;
                    c->loop = (int)(loop - loops);
                    c->index = -1;
                    c->channel = -1;
                    struct epoll_event event = {.events = EPOLLIN, .data.ptr = c};
                    if (epoll_ctl(loop->epoll, EPOLL_CTL_ADD, fd, &event) < 0) fail("epoll_ctl");
                }
            } else if (tag == &loop->wake) {
                uint64_t count;
                if (read(loop->wake, &count, sizeof count) < 0 && errno != EAGAIN) fail("eventfd read");
            } else {
                struct connection *c = tag;
                if (events[i].events & EPOLLOUT) {
                    flush_pending(loop, c);
                    continue;  // it may have been closed; its input is read on the next wait
                }
                ssize_t got = read(c->fd, buffer, READ_SIZE);
                if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
                    close_connection(loop, c);
                    continue;
                }
                if (got < 0) continue;
                append(&c->in, buffer, (size_t)got);
                handle_input(loop, c);
            }
        }
        take_queued(loop);
        if (loop->paused && room_for_broadcast()) {
            struct connection *c = loop->paused;
            loop->paused = NULL;
            struct epoll_event event = {.events = EPOLLIN | (c->out.have ? EPOLLOUT : 0), .data.ptr = c};
            epoll_ctl(loop->epoll, EPOLL_CTL_MOD, c->fd, &event);
            handle_input(loop, c);
        }
        busy = fan_out_slice(loop) || atomic_load(&loop->pending);
    }
    return NULL;
}

int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) thread_count = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--queue-limit")) queue_limit = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: peers-floor --port P [--threads N] [--queue-limit K]\n");
            return 2;
        }
    }
    if (port <= 0 || thread_count < 1 || thread_count > MAX_THREADS || queue_limit < 0) {
        fprintf(stderr, "usage: peers-floor --port P [--threads 1-%d] [--queue-limit K]\n", MAX_THREADS);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    for (int t = 0; t < thread_count; t++) {
        struct loop *loop = &loops[t];
        pthread_mutex_init(&loop->lock, NULL);
        loop->epoll = epoll_create1(0);
        loop->wake = eventfd(0, EFD_NONBLOCK);
        loop->listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (loop->epoll < 0 || loop->wake < 0 || loop->listener < 0) fail("setup");
        int one = 1;
        setsockopt(loop->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(loop->listener, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(loop->listener, (struct sockaddr *)&address, sizeof address) < 0) fail("bind");
        if (listen(loop->listener, 4096) < 0) fail("listen");
        struct epoll_event listen_event = {.events = EPOLLIN, .data.ptr = &loop->listener};
        struct epoll_event wake_event = {.events = EPOLLIN, .data.ptr = &loop->wake};
        if (epoll_ctl(loop->epoll, EPOLL_CTL_ADD, loop->listener, &listen_event) < 0 ||
            epoll_ctl(loop->epoll, EPOLL_CTL_ADD, loop->wake, &wake_event) < 0)
            fail("epoll_ctl");
    }
    for (int t = 0; t < thread_count; t++) {
        if (pthread_create(&loops[t].thread, NULL, run, &loops[t]) != 0) fail("pthread_create");
    }
    pthread_join(loops[0].thread, NULL);
    return 0;
}
