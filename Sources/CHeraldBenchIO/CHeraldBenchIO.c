#ifdef __linux__
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>

#include "CHeraldBenchIO.h"

int CHeraldBenchIO_setThreadName(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof(truncated) - 1);
    truncated[sizeof(truncated) - 1] = '\0';
    return pthread_setname_np(pthread_self(), truncated);
}
#endif
