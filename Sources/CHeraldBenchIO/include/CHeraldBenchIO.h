// The Linux system interfaces the bench clients' event loop uses (epoll, eventfd, thread
// names), which Swift's Glibc module does not bring in.
#ifndef C_HERALD_BENCH_IO_H
#define C_HERALD_BENCH_IO_H

#ifdef __linux__
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

/// Names the calling thread (at most 15 bytes are kept), as `top -H` and /proc show it.
int CHeraldBenchIO_setThreadName(const char *name);

/// Puts `thread` under SCHED_BATCH (priority 0); glibc's thread attributes take only
/// SCHED_OTHER, SCHED_FIFO and SCHED_RR. Returns 0 or an error number.
int CHeraldBenchIO_setBatchScheduling(pthread_t thread);
#endif

#endif
