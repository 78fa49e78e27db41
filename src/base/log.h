/* log.h - structured logging: one JSON object per line on stderr.
 *
 * Every event has timestamp (UTC, ISO-8601 with milliseconds), level, message, function and
 * request_id, plus typed context fields:
 *
 *     log_info("bars written", LF_STR("date", day), LF_INT("rows", n));
 *
 * On a terminal the default rendering is a friendlier one-line text form.  Registered secrets
 * are replaced by "[redacted]" in every line, whatever field they hide in.
 */
#ifndef BASE_LOG_H
#define BASE_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };
enum log_format { LOG_FORMAT_AUTO, LOG_FORMAT_JSON, LOG_FORMAT_HUMAN };

enum log_field_type { LF_T_END, LF_T_STR, LF_T_INT, LF_T_DBL, LF_T_BOOL };

struct log_field {
    const char *key;
    enum log_field_type type;
    const char *s;
    int64_t i;
    double d;
};

#define LF_STR(k, v)  ((struct log_field){.key = (k), .type = LF_T_STR, .s = (v)})
#define LF_INT(k, v)  ((struct log_field){.key = (k), .type = LF_T_INT, .i = (int64_t)(v)})
#define LF_DBL(k, v)  ((struct log_field){.key = (k), .type = LF_T_DBL, .d = (double)(v)})
#define LF_BOOL(k, v) ((struct log_field){.key = (k), .type = LF_T_BOOL, .i = (v) ? 1 : 0})
#define LF_END_       ((struct log_field){.key = NULL, .type = LF_T_END})

#define LOG_CALL_(lvl, msg, ...)                                                                   \
    log_write((lvl), __func__, (msg), (const struct log_field[]){__VA_ARGS__})
#define log_debug(...) LOG_CALL_(LOG_DEBUG, __VA_ARGS__, LF_END_)
#define log_info(...)  LOG_CALL_(LOG_INFO, __VA_ARGS__, LF_END_)
#define log_warn(...)  LOG_CALL_(LOG_WARN, __VA_ARGS__, LF_END_)
#define log_error(...) LOG_CALL_(LOG_ERROR, __VA_ARGS__, LF_END_)
/* A run's summary: written at info level whatever the minimum level (unless logging is off),
 * because operators and metric filters rely on it. */
#define log_summary(msg, ...)                                                                      \
    log_write_always(LOG_INFO, __func__, (msg), (const struct log_field[]){__VA_ARGS__, LF_END_})

/* Level and format; the stream defaults to stderr.  AUTO picks HUMAN on a terminal. */
void log_setup(enum log_level level, enum log_format format);
/* The format as set (AUTO: chosen at each line by whether the stream is a terminal). */
enum log_format log_get_format(void);
void log_set_stream(FILE *stream);
FILE *log_stream(void);
enum log_level log_get_level(void);
bool log_enabled(enum log_level level);

/* "debug", "info", "warn" (or "warning"), "error", "off" -> ERR_OK, else ERR_INVALID. */
int log_level_parse(const char *s, enum log_level *out);
int log_format_parse(const char *s, enum log_format *out);

/* The request id put on every line (a per-process id by default; the Lambda runtime sets the
 * invocation's). Copied; at most 63 bytes are kept. */
void log_set_request_id(const char *id);
const char *log_request_id(void);

/* Never print this string: every occurrence in a log line becomes "[redacted]".  Strings
 * shorter than 4 bytes are ignored (they would redact ordinary words).  At most 32. */
void log_add_secret(const char *secret);
void log_clear_secrets(void);

void log_write(enum log_level level, const char *func, const char *msg,
               const struct log_field *fields);

void log_write_always(enum log_level level, const char *func, const char *msg,
                      const struct log_field *fields);

/* Timing helper: log_timer_end() logs "<op> done" (or "<op> failed" at error level) with
 * op, duration_ms and ok, and returns the duration in milliseconds. */
struct log_timer {
    const char *op;
    int64_t start_us;
};

struct log_timer log_timer_start(const char *op);
#define log_timer_end(t, err) log_timer_end_((t), (err), __func__)
double log_timer_end_(const struct log_timer *t, int err, const char *func);

#endif
