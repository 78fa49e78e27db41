#include "base/log.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/banned.h"

#define LOG_LINE_MAX (64 * 1024)
#define MAX_SECRETS  32

static enum log_level min_level = LOG_INFO;
static enum log_format format = LOG_FORMAT_AUTO;
static FILE *stream;
static char request_id[64];
static char *secrets[MAX_SECRETS];
static size_t nsecrets;

void log_setup(enum log_level level, enum log_format fmt)
{
    min_level = level;
    format = fmt;
}

enum log_format log_get_format(void)
{
    return format;
}

void log_set_stream(FILE *s)
{
    stream = s;
}

FILE *log_stream(void)
{
    return stream ? stream : stderr;
}

enum log_level log_get_level(void)
{
    return min_level;
}

bool log_enabled(enum log_level level)
{
    return level >= min_level && level != LOG_OFF;
}

int log_level_parse(const char *s, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {{"debug", LOG_DEBUG},  {"info", LOG_INFO},   {"warn", LOG_WARN},
                 {"warning", LOG_WARN}, {"error", LOG_ERROR}, {"off", LOG_OFF}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return ERR_OK;
        }
    }
    return ERR_INVALID;
}

int log_format_parse(const char *s, enum log_format *out)
{
    if (strcmp(s, "auto") == 0)
        *out = LOG_FORMAT_AUTO;
    else if (strcmp(s, "json") == 0)
        *out = LOG_FORMAT_JSON;
    else if (strcmp(s, "human") == 0 || strcmp(s, "text") == 0)
        *out = LOG_FORMAT_HUMAN;
    else
        return ERR_INVALID;
    return ERR_OK;
}

void log_set_request_id(const char *id)
{
    snprintf(request_id, sizeof request_id, "%s", id ? id : "");
}

const char *log_request_id(void)
{
    if (!request_id[0])
        snprintf(request_id, sizeof request_id, "local-%ld", (long)getpid());
    return request_id;
}

void log_add_secret(const char *secret)
{
    if (!secret || strlen(secret) < 4 || nsecrets == MAX_SECRETS)
        return;
    for (size_t i = 0; i < nsecrets; i++)
        if (strcmp(secrets[i], secret) == 0)
            return;
    char *copy = strdup(secret);
    if (copy)
        secrets[nsecrets++] = copy;
}

void log_clear_secrets(void)
{
    for (size_t i = 0; i < nsecrets; i++)
        free(secrets[i]);
    nsecrets = 0;
}

static const char *level_name(enum log_level level)
{
    switch (level) {
    case LOG_DEBUG:
        return "debug";
    case LOG_INFO:
        return "info";
    case LOG_WARN:
        return "warn";
    case LOG_ERROR:
        return "error";
    default:
        return "off";
    }
}

static void format_time(char out[32], int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000 + 1000) % 1000);
}

/* Replace every registered secret in b, in place (the replacement is never longer). */
static void redact(struct buf *b)
{
    static const char mark[] = "[redacted]";
    for (size_t s = 0; s < nsecrets; s++) {
        size_t n = strlen(secrets[s]);
        char *p = b->data;
        char *end = b->data + b->len;
        while ((p = memmem(p, (size_t)(end - p), secrets[s], n)) != NULL) {
            size_t m = n < sizeof mark - 1 ? n : sizeof mark - 1;
            memcpy(p, mark, m);
            memmove(p + m, p + n, (size_t)(end - (p + n)));
            end -= n - m;
            b->len -= n - m;
            p += m;
        }
        b->data[b->len] = '\0';
    }
}

static void put_number(struct buf *b, double d)
{
    if (isfinite(d))
        buf_printf(b, "%.6g", d);
    else
        buf_puts(b, "null");
}

/* A field's value: quoted and escaped for JSON, plain for the human rendering. */
static void put_value(struct buf *b, const struct log_field *f, int json)
{
    switch (f->type) {
    case LF_T_STR:
        if (!f->s) {
            buf_puts(b, json ? "null" : "(null)");
        } else if (json) {
            buf_putc(b, '"');
            buf_json_escape(b, f->s, strlen(f->s));
            buf_putc(b, '"');
        } else {
            buf_puts(b, f->s);
        }
        break;
    case LF_T_INT:
        buf_printf(b, "%lld", (long long)f->i);
        break;
    case LF_T_DBL:
        put_number(b, f->d);
        break;
    case LF_T_BOOL:
        buf_puts(b, f->i ? "true" : "false");
        break;
    case LF_T_END:
        break;
    }
}

static void render_json(struct buf *b, const char *ts, enum log_level level, const char *func,
                        const char *msg, const struct log_field *f)
{
    buf_printf(b, "{\"timestamp\":\"%s\",\"level\":\"%s\",\"message\":\"", ts, level_name(level));
    buf_json_escape(b, msg, strlen(msg));
    buf_puts(b, "\",\"function\":\"");
    buf_json_escape(b, func, strlen(func));
    buf_puts(b, "\",\"request_id\":\"");
    buf_json_escape(b, log_request_id(), strlen(log_request_id()));
    buf_putc(b, '"');
    for (; f && f->type != LF_T_END; f++) {
        buf_puts(b, ",\"");
        buf_json_escape(b, f->key, strlen(f->key));
        buf_puts(b, "\":");
        put_value(b, f, 1);
    }
    buf_puts(b, "}\n");
}

static void render_human(struct buf *b, const char *ts, enum log_level level, const char *msg,
                         const struct log_field *f)
{
    static const char *const tags[] = {"debug", "info ", "WARN ", "ERROR"};
    buf_printf(b, "%.12s %s %s", ts + 11, tags[level], msg);
    for (; f && f->type != LF_T_END; f++) {
        buf_printf(b, " %s=", f->key);
        put_value(b, f, 0);
    }
    buf_putc(b, '\n');
}

void log_write(enum log_level level, const char *func, const char *msg,
               const struct log_field *fields)
{
    if (log_enabled(level))
        log_write_always(level, func, msg, fields);
}

void log_write_always(enum log_level level, const char *func, const char *msg,
                      const struct log_field *fields)
{
    if (min_level == LOG_OFF)
        return;
    FILE *out = log_stream();
    char ts[32];
    format_time(ts, clock_wall_ms());
    struct buf b = BUF_INIT(LOG_LINE_MAX);
    enum log_format fmt = format;
    if (fmt == LOG_FORMAT_AUTO)
        fmt = isatty(fileno(out)) ? LOG_FORMAT_HUMAN : LOG_FORMAT_JSON;
    /* On a terminal, a progress line the command keeps there (collect, import) is cleared
     * first, so that the log line starts a line of its own. */
    if (fmt == LOG_FORMAT_HUMAN && isatty(fileno(out)))
        buf_puts(&b, "\r\033[K");
    if (fmt == LOG_FORMAT_HUMAN)
        render_human(&b, ts, level, msg, fields);
    else
        render_json(&b, ts, level, func, msg, fields);
    if (b.len == 0 || b.data[b.len - 1] != '\n') {
        /* Over the line cap: say so rather than print a broken line. */
        buf_reset(&b);
        buf_printf(&b,
                   "{\"timestamp\":\"%s\",\"level\":\"error\",\"message\":\"log line over %d "
                   "bytes dropped\",\"function\":\"log_write\"}\n",
                   ts, LOG_LINE_MAX);
    }
    redact(&b);
    fwrite(b.data, 1, b.len, out);
    fflush(out);
    buf_release(&b);
}

struct log_timer log_timer_start(const char *op)
{
    struct log_timer t = {op, clock_mono_us()};
    return t;
}

double log_timer_end_(const struct log_timer *t, int err, const char *func)
{
    double ms = (double)(clock_mono_us() - t->start_us) / 1000.0;
    char msg[128];
    snprintf(msg, sizeof msg, "%s %s", t->op, err ? "failed" : "done");
    if (err)
        log_write(LOG_ERROR, func, msg,
                  (const struct log_field[]){LF_STR("op", t->op), LF_DBL("duration_ms", ms),
                                             LF_BOOL("ok", 0), LF_STR("error", err_name(err)),
                                             LF_END_});
    else
        log_write(LOG_INFO, func, msg,
                  (const struct log_field[]){LF_STR("op", t->op), LF_DBL("duration_ms", ms),
                                             LF_BOOL("ok", 1), LF_END_});
    return ms;
}
