/* tool.c - the fake servers' shared main-program parts. */
#include "tool.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "codec/num.h"

#include "base/banned.h"

int tool_parse_num(const char *flag, const char *s, int64_t min, int64_t max, int64_t *out,
                   struct diag *d)
{
    if (num_parse_int(s, strlen(s), out) != ERR_OK || strchr(s, '.') || *out < min || *out > max)
        return diag_set(d, ERR_USAGE, "--%s: expected a whole number from %lld to %lld, got '%s'",
                        flag, (long long)min, (long long)max, s);
    return ERR_OK;
}

int tool_log_level(const char *arg, struct diag *d)
{
    enum log_level level;
    if (log_level_parse(arg, &level) != ERR_OK)
        return diag_set(d, ERR_USAGE, "--log-level: unknown level '%s'", arg);
    log_setup(level, LOG_FORMAT_AUTO);
    return ERR_OK;
}

int tool_grow(void **v, size_t n, size_t size)
{
    void *p = realloc(*v, (n + 1) * size);
    if (!p)
        return ERR_NOMEM;
    *v = p;
    return ERR_OK;
}

static sigset_t stop_signals(void)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    return stop;
}

void tool_block_stop_signals(void)
{
    sigset_t stop = stop_signals();
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
}

int tool_serve_until_stopped(int port)
{
    printf("listening on 127.0.0.1:%d\n", port);
    fflush(stdout);
    sigset_t stop = stop_signals();
    int sig = 0;
    sigwait(&stop, &sig);
    return sig;
}
