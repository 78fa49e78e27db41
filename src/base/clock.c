#include "base/clock.h"

#include <errno.h>
#include <time.h>

#include "base/banned.h"

static const struct clock_source *source;

static int64_t ts_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_wall_ms(void)
{
    if (source)
        return source->wall_ms(source->ctx);
    return ts_us(CLOCK_REALTIME) / 1000;
}

int64_t clock_mono_us(void)
{
    if (source)
        return source->mono_us(source->ctx);
    return ts_us(CLOCK_MONOTONIC);
}

int64_t clock_mono_ms(void)
{
    return clock_mono_us() / 1000;
}

void clock_set_source(const struct clock_source *src)
{
    source = src;
}

void clock_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    if (source) {
        source->sleep_ms(source->ctx, ms);
        return;
    }
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
