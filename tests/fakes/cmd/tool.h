/* tool.h - what the programs in tests/fakes/cmd/ (the fake servers) share: option values and the
 * serve-until-stopped life cycle. */
#ifndef TOOLS_TOOL_H
#define TOOLS_TOOL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* A whole number for --flag in [min, max]; ERR_USAGE naming the flag otherwise. */
int tool_parse_num(const char *flag, const char *s, int64_t min, int64_t max, int64_t *out,
                   struct diag *d);

/* Make room for one more element of size bytes in the array *v of n elements. */
int tool_grow(void **v, size_t n, size_t size);

/* --log-level LEVEL: set up logging at that level; ERR_USAGE naming an unknown one. */
int tool_log_level(const char *arg, struct diag *d);

/* Block SIGINT and SIGTERM before any server thread starts, so that every thread inherits
 * the mask and tool_serve_until_stopped takes the signal. */
void tool_block_stop_signals(void);

/* Print "listening on 127.0.0.1:PORT" (the line tests wait for), then wait for SIGINT or
 * SIGTERM and return it. */
int tool_serve_until_stopped(int port);

#endif
