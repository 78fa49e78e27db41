/* tool.c - the fake servers' shared main-program parts. */
#include "tool.h"

#include <getopt.h>
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

int tool_log_level(void *ctx, char *arg, struct diag *d)
{
    (void)ctx;
    enum log_level level;
    if (log_level_parse(arg, &level) != ERR_OK)
        return diag_set(d, ERR_USAGE, "unknown level '%s'", arg);
    log_setup(level, LOG_FORMAT_AUTO);
    return ERR_OK;
}

/* The column where an option's description starts, after "      --name ARG". */
#define HELP_COLUMN 27

/* The help of c: its usage text, then the table. */
static void print_help(const struct tool_cmd *c, FILE *out)
{
    fputs(c->usage, out);
    fputs("Options:\n", out);
    for (size_t i = 0; i < c->nopts; i++) {
        const struct tool_opt *o = &c->opts[i];
        int n = fprintf(out, "      --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        /* A long name and value keep two spaces before the description. */
        fprintf(out, "%*s", n < HELP_COLUMN ? HELP_COLUMN - n : 2, "");
        for (const char *p = o->help; *p;) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            fprintf(out, "%.*s\n", (int)len, p);
            if (!nl)
                break;
            p = nl + 1;
            fprintf(out, "%*s", HELP_COLUMN, "");
        }
    }
    fprintf(out, "  -h, --help%*sshow this help\n", HELP_COLUMN - 12, "");
}

/* Take value for option o. */
static int take(const struct tool_cmd *c, const struct tool_opt *o, char *value, struct diag *d)
{
    int64_t v = 0;
    int err = ERR_OK;
    switch (o->kind) {
    case TOOL_STR:
        *(const char **)o->ptr = value;
        return ERR_OK;
    case TOOL_FLAG:
        *(int *)o->ptr = (int)o->min;
        return ERR_OK;
    case TOOL_SET:
        err = o->set(c->ctx, value, d);
        if (err == ERR_NOMEM)
            return diag_set(d, err, "out of memory");
        return err ? diag_prefix(d, ERR_USAGE, "--%s", o->name) : ERR_OK;
    case TOOL_INT:
    case TOOL_SIZE:
    case TOOL_I64:
    case TOOL_U64:
        err = tool_parse_num(o->name, value, o->min, o->max, &v, d);
        break;
    }
    if (err)
        return err;
    if (o->kind == TOOL_INT)
        *(int *)o->ptr = (int)v;
    else if (o->kind == TOOL_SIZE)
        *(size_t *)o->ptr = (size_t)v;
    else if (o->kind == TOOL_I64)
        *(int64_t *)o->ptr = v;
    else
        *(uint64_t *)o->ptr = (uint64_t)v;
    return ERR_OK;
}

/* The option arg names ("--name" or "--name=value"), or NULL. */
static const struct tool_opt *named(const struct tool_cmd *c, const char *arg)
{
    if (strncmp(arg, "--", 2) != 0)
        return NULL;
    arg += 2;
    size_t len = strcspn(arg, "=");
    for (size_t i = 0; i < c->nopts; i++)
        if (strlen(c->opts[i].name) == len && strncmp(c->opts[i].name, arg, len) == 0)
            return &c->opts[i];
    return NULL;
}

int tool_parse_args(const struct tool_cmd *c, int argc, char **argv, int *help, struct diag *d)
{
    enum { HELP = 'h', FIRST = 256 };
    struct option *longopts = calloc(c->nopts + 2, sizeof *longopts);
    if (!longopts)
        return diag_set(d, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < c->nopts; i++)
        longopts[i] = (struct option){
            c->opts[i].name, c->opts[i].kind == TOOL_FLAG ? no_argument : required_argument, NULL,
            FIRST + (int)i};
    longopts[c->nopts] = (struct option){"help", no_argument, NULL, HELP};
    int err = ERR_OK, ch;
    *help = 0;
    opterr = 0;
    while (!err && (ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        const struct tool_opt *o;
        if (ch >= FIRST) {
            err = take(c, &c->opts[ch - FIRST], optarg, d);
        } else if (ch == HELP) {
            print_help(c, stdout);
            *help = 1;
            break;
        } else if (ch == ':') {
            err = diag_set(d, ERR_USAGE, "%s needs a value", argv[optind - 1]);
        } else if ((o = named(c, argv[optind - 1])) != NULL && o->kind == TOOL_FLAG) {
            err =
                diag_set(d, ERR_USAGE, "--%s takes no value, got '%s'", o->name, argv[optind - 1]);
        } else {
            err = diag_set(d, ERR_USAGE, "unknown option '%s'", argv[optind - 1]);
        }
    }
    free(longopts);
    if (!err && !*help && optind < argc)
        err = diag_set(d, ERR_USAGE, "unexpected argument '%s'", argv[optind]);
    return err;
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
