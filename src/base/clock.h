/* clock.h - the time source, injectable so that tests never sleep for real. */
#ifndef BASE_CLOCK_H
#define BASE_CLOCK_H

#include <stdint.h>

/* Wall-clock time in milliseconds since the Unix epoch (UTC). */
int64_t clock_wall_ms(void);
/* Monotonic time in milliseconds, for durations. */
int64_t clock_mono_ms(void);
/* Monotonic time in microseconds, for durations that must show sub-millisecond work. */
int64_t clock_mono_us(void);

struct clock_source {
    int64_t (*wall_ms)(void *ctx);
    int64_t (*mono_us)(void *ctx);
    void (*sleep_ms)(void *ctx, int64_t ms);
    void *ctx;
};

/* Replace the time source (NULL restores the system clock).  Not thread-safe: set it once. */
void clock_set_source(const struct clock_source *src);

/* Sleep through the current source (a fake source advances its own time). */
void clock_sleep_ms(int64_t ms);

#endif
