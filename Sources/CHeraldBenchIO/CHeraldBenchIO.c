#ifdef __linux__
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "CHeraldBenchIO.h"

int CHeraldBenchIO_setThreadName(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof(truncated) - 1);
    truncated[sizeof(truncated) - 1] = '\0';
    return pthread_setname_np(pthread_self(), truncated);
}

int CHeraldBenchIO_setBatchScheduling(pthread_t thread) {
    struct sched_param parameters;
    memset(&parameters, 0, sizeof(parameters));
    return pthread_setschedparam(thread, SCHED_BATCH, &parameters);
}
#endif
