/* tool.h - what the programs in tests/fakes/cmd/ (the fake servers) share: one option table
 * parsed and described in --help by one function, and the serve-until-stopped life cycle. */
#ifndef TOOLS_TOOL_H
#define TOOLS_TOOL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* What an option does.  The number kinds take a whole number in [min, max] into the pointed-to
 * type; TOOL_FLAG takes no value and stores min in an int; TOOL_SET hands the value to set. */
enum tool_opt_kind {
    TOOL_STR,  /* const char ** : the value itself (borrowed from argv) */
    TOOL_INT,  /* int * */
    TOOL_SIZE, /* size_t * */
    TOOL_I64,  /* int64_t * */
    TOOL_U64,  /* uint64_t * */
    TOOL_FLAG, /* int * = min */
    TOOL_SET,  /* set(ctx, value, d) */
};

/* One option of a fake server.  help: its description, lines separated by '\n'. */
struct tool_opt {
    const char *name; /* without the dashes: "latency-ms" */
    const char *arg;  /* the value's name in the help ("N", "SPEC"); NULL for TOOL_FLAG */
    const char *help;
    enum tool_opt_kind kind;
    void *ptr;
    int64_t min, max;
    /* TOOL_SET: take the value; an error's text is prefixed with "--name: " by the parser. */
    int (*set)(void *ctx, char *value, struct diag *d);
};

/* Table entries, each checking that ptr points to the type its kind writes. */
#define TOOL_PTR(type, ptr) ((void *)(1 ? (ptr) : (type *)0))
#define TOOL_OPT_STR(name, arg, ptr, help)                                                         \
    {                                                                                              \
        (name), (arg), (help), TOOL_STR, TOOL_PTR(const char *, ptr), 0, 0, NULL                   \
    }
#define TOOL_OPT_INT(name, arg, ptr, min, max, help)                                               \
    {                                                                                              \
        (name), (arg), (help), TOOL_INT, TOOL_PTR(int, ptr), (min), (max), NULL                    \
    }
#define TOOL_OPT_SIZE(name, arg, ptr, min, max, help)                                              \
    {                                                                                              \
        (name), (arg), (help), TOOL_SIZE, TOOL_PTR(size_t, ptr), (min), (max), NULL                \
    }
#define TOOL_OPT_I64(name, arg, ptr, min, max, help)                                               \
    {                                                                                              \
        (name), (arg), (help), TOOL_I64, TOOL_PTR(int64_t, ptr), (min), (max), NULL                \
    }
#define TOOL_OPT_U64(name, arg, ptr, min, max, help)                                               \
    {                                                                                              \
        (name), (arg), (help), TOOL_U64, TOOL_PTR(uint64_t, ptr), (min), (max), NULL               \
    }
#define TOOL_OPT_FLAG(name, ptr, value, help)                                                      \
    {                                                                                              \
        (name), NULL, (help), TOOL_FLAG, TOOL_PTR(int, ptr), (value), 0, NULL                      \
    }
/* --port N, which every fake server has. */
#define TOOL_OPT_PORT(ptr)                                                                         \
    TOOL_OPT_INT("port", "N", ptr, 0, 65535, "port to listen on; 0 picks a free one (default 0)")
#define TOOL_OPT_SET(name, arg, set, help)                                                         \
    {                                                                                              \
        (name), (arg), (help), TOOL_SET, NULL, 0, 0, (set)                                         \
    }

/* A fake server's command line: the usage text up to its option list ("usage: ...
 * \n\n<description>\n\n"), and its options, which --help lists in order after "Options:",
 * followed by -h, --help. */
struct tool_cmd {
    const char *usage;
    const struct tool_opt *opts;
    size_t nopts;
    void *ctx; /* passed to the setters */
};

/* Parse argv by c's table.  --help prints the help to stdout and sets *help (the rest is not
 * parsed).  ERR_USAGE, with d naming the option, for an unknown option, a missing or bad value
 * or an argument that is not an option; ERR_NOMEM for a setter out of memory. */
int tool_parse_args(const struct tool_cmd *c, int argc, char **argv, int *help, struct diag *d);

/* A whole number for --flag in [min, max]; ERR_USAGE naming the flag otherwise. */
int tool_parse_num(const char *flag, const char *s, int64_t min, int64_t max, int64_t *out,
                   struct diag *d);

/* Make room for one more element of size bytes in the array *v of n elements. */
int tool_grow(void **v, size_t n, size_t size);

/* The setter of --log-level LEVEL: set up logging at that level; ERR_USAGE for an unknown
 * one. */
int tool_log_level(void *ctx, char *arg, struct diag *d);

/* Block SIGINT and SIGTERM before any server thread starts, so that every thread inherits
 * the mask and tool_serve_until_stopped takes the signal. */
void tool_block_stop_signals(void);

/* Print "listening on 127.0.0.1:PORT" (the line tests wait for), then wait for SIGINT or
 * SIGTERM and return it. */
int tool_serve_until_stopped(int port);

#endif
