/* httpd.c - the HTTP server on libmicrohttpd, thread per connection.
 *
 * libmicrohttpd calls the access handler several times per request: once when the headers
 * are in, once per piece of body, and once more when the request is complete.  The raw
 * request target (libmicrohttpd hands the handler a decoded path without the query) is taken
 * from the URI log callback, which runs before anything is parsed and whose return value
 * becomes the per-request state.
 */
#include "net/httpd.h"

#include "base/clock.h"
#include "base/log.h"
#include "codec/crypto.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/banned.h"

#define DEFAULT_MAX_BODY     ((size_t)1 << 20)
#define DEFAULT_MAX_HEAD     ((size_t)64 << 10)
#define DEFAULT_MAX_RESPONSE ((size_t)64 << 20)
#define DEFAULT_IDLE_S       60

/* A connection open now, for the reaper. */
struct live {
    int fd;
    int64_t since_ms;
    int cut; /* shut down already */
};

struct httpd {
    struct MHD_Daemon *daemon;
    httpd_handler_fn handler;
    httpd_head_fn head;
    void *ctx;
    size_t max_body, max_response;
    /* The reaper: connections older than timeout_ms are shut down. */
    int64_t timeout_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t reaper;
    int reaping, stopping;
    struct live *live;
    size_t nlive, cap;
};

struct req_state {
    struct httpd *h;
    char *target;
    struct strvec headers;
    struct buf body;
    int started;
    int too_big;
    int out_of_memory;
};

const char *httpd_request_header(const struct httpd_request *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->nheaders; i++) {
        const char *h = r->headers[i];
        if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
            const char *v = h + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
    }
    return NULL;
}

/* Percent-decode s[0..n) into out (capacity cap, NUL-terminated). */
static int pct_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int v = crypto_hex_byte(s + i + 1, n - i - 1);
            if (v < 0)
                return ERR_PARSE;
            c = (char)v;
            i += 2;
        }
        if (len + 1 >= cap)
            return ERR_TOOBIG;
        out[len++] = c;
    }
    if (cap == 0)
        return ERR_TOOBIG;
    out[len] = '\0';
    return ERR_OK;
}

int httpd_query_get(const char *query, const char *name, char *out, size_t cap)
{
    const char *p = query ? query : "";
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t pair_len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', pair_len);
        size_t key_len = eq ? (size_t)(eq - p) : pair_len;
        char key[256];
        if (key_len > 0 && pct_decode(p, key_len, key, sizeof key) == ERR_OK &&
            strcmp(key, name) == 0) {
            if (!eq)
                return pct_decode("", 0, out, cap);
            return pct_decode(eq + 1, pair_len - key_len - 1, out, cap);
        }
        p += pair_len;
        if (*p == '&')
            p++;
    }
    return ERR_NOTFOUND;
}

void httpd_response_init(struct httpd_response *r, size_t max_body)
{
    r->status = 200;
    buf_init(&r->body, max_body);
    strvec_init(&r->headers);
    r->action = HTTPD_REPLY;
}

void httpd_response_release(struct httpd_response *r)
{
    buf_release(&r->body);
    strvec_release(&r->headers);
}

int httpd_response_header(struct httpd_response *r, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    char *line = malloc(nl + vl + 3);
    if (!line)
        return ERR_NOMEM;
    memcpy(line, name, nl);
    memcpy(line + nl, ": ", 2);
    memcpy(line + nl + 2, value, vl + 1);
    int err = strvec_push(&r->headers, line);
    free(line);
    return err;
}

/* ---- libmicrohttpd glue ---- */

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char text[512];
    vsnprintf(text, sizeof text, fmt, ap);
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    log_debug("http server", LF_STR("detail", text));
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct httpd *h = cls;
    struct req_state *rs = calloc(1, sizeof *rs);
    if (!rs)
        return NULL;
    rs->h = h;
    rs->target = strdup(uri ? uri : "");
    if (!rs->target) {
        free(rs);
        return NULL;
    }
    strvec_init(&rs->headers);
    buf_init(&rs->body, h->max_body);
    return rs;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req_state *rs = *con_cls;
    struct httpd *h = cls;
    /* A request done: the connection's time starts again for the next one. */
    const union MHD_ConnectionInfo *ci =
        h->timeout_ms ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD) : NULL;
    if (ci) {
        pthread_mutex_lock(&h->mu);
        for (size_t i = 0; i < h->nlive; i++)
            if (h->live[i].fd == ci->connect_fd && !h->live[i].cut)
                h->live[i].since_ms = clock_mono_ms();
        pthread_mutex_unlock(&h->mu);
    }
    if (!rs)
        return;
    free(rs->target);
    strvec_release(&rs->headers);
    buf_release(&rs->body);
    free(rs);
    *con_cls = NULL;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct req_state *rs = cls;
    size_t kl = strlen(key), vl = value ? strlen(value) : 0;
    char *line = malloc(kl + vl + 3);
    if (!line) {
        rs->out_of_memory = 1;
        return MHD_NO;
    }
    memcpy(line, key, kl);
    memcpy(line + kl, ": ", 2);
    if (vl)
        memcpy(line + kl + 2, value, vl);
    line[kl + 2 + vl] = '\0';
    int err = strvec_pushn(&rs->headers, line, kl + 2 + vl);
    free(line);
    rs->out_of_memory |= err != ERR_OK;
    return err ? MHD_NO : MHD_YES;
}

static enum MHD_Result queue_text(struct MHD_Connection *conn, unsigned int status,
                                  const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* The body of a HTTPD_TRUNCATE response: Content-Length promises len bytes, half arrive. */
struct truncated {
    char *data;
    size_t len, half;
};

static ssize_t truncated_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct truncated *t = cls;
    if (pos >= t->half)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = t->half - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(out, t->data + pos, n);
    return (ssize_t)n;
}

static void truncated_free(void *cls)
{
    struct truncated *t = cls;
    free(t->data);
    free(t);
}

static struct MHD_Response *make_response(struct httpd_response *resp)
{
    size_t len;
    char *data = buf_detach(&resp->body, &len);
    if (!data)
        return NULL;
    if (resp->action == HTTPD_TRUNCATE) {
        struct truncated *t = malloc(sizeof *t);
        if (!t) {
            free(data);
            return NULL;
        }
        t->data = data;
        t->len = len;
        t->half = len / 2;
        struct MHD_Response *r =
            MHD_create_response_from_callback(len, 4096, truncated_read, t, truncated_free);
        if (!r)
            truncated_free(t);
        return r;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!r)
        free(data);
    return r;
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct httpd_response *resp)
{
    struct MHD_Response *r = make_response(resp);
    if (!r)
        return MHD_NO;
    for (size_t i = 0; i < resp->headers.n; i++) {
        char *line = resp->headers.v[i];
        char *colon = strchr(line, ':');
        if (!colon || colon == line)
            continue;
        *colon = '\0';
        const char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        if (MHD_add_response_header(r, line, value) != MHD_YES)
            log_debug("http server: header not sent", LF_STR("header", line));
        *colon = ':';
    }
    int status = resp->status >= 100 && resp->status <= 999 ? resp->status : 500;
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned int)status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Build the request of rs and call the head check (full == 0; its answer returned) or the
 * handler (full != 0; returns 1).  0 when out of memory. */
static int with_request(struct httpd *h, struct req_state *rs, const char *method, int full,
                        struct httpd_response *resp)
{
    const char *q = strchr(rs->target, '?');
    size_t path_len = q ? (size_t)(q - rs->target) : strlen(rs->target);
    char *path = malloc(path_len + 1);
    if (!path)
        return 0;
    memcpy(path, rs->target, path_len);
    path[path_len] = '\0';
    struct httpd_request req = {
        .method = method,
        .target = rs->target,
        .path = path,
        .query = q ? q + 1 : "",
        .headers = (const char *const *)rs->headers.v,
        .nheaders = rs->headers.n,
        .body = full ? buf_cstr(&rs->body) : "",
        .body_len = full ? rs->body.len : 0,
    };
    int rc = 1;
    if (full)
        h->handler(h->ctx, &req, resp);
    else
        rc = h->head(h->ctx, &req, resp);
    free(path);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct httpd *h = cls;
    struct req_state *rs = *con_cls;
    if (!rs)
        return MHD_NO; /* out of memory in on_uri */
    if (!rs->started) {
        rs->started = 1;
        MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, rs);
        if (rs->out_of_memory)
            return MHD_NO;
        if (h->head) {
            struct httpd_response resp;
            httpd_response_init(&resp, h->max_response);
            int answered = with_request(h, rs, method, 0, &resp);
            enum MHD_Result ret = MHD_YES;
            if (answered)
                ret = resp.action == HTTPD_DROP ? MHD_NO : send_response(conn, &resp);
            httpd_response_release(&resp);
            if (answered)
                return ret;
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);
            if (end != cl && n > h->max_body)
                return queue_text(conn, 413, "request body too large\n");
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!rs->too_big && buf_append(&rs->body, upload_data, *upload_data_size) != ERR_OK)
            rs->too_big = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rs->too_big)
        return queue_text(conn, 413, "request body too large\n");

    struct httpd_response resp;
    httpd_response_init(&resp, h->max_response);
    if (!with_request(h, rs, method, 1, &resp))
        resp.action = HTTPD_DROP; /* out of memory */
    enum MHD_Result ret = MHD_NO; /* HTTPD_DROP: close without a response */
    if (resp.action != HTTPD_DROP)
        ret = send_response(conn, &resp);
    httpd_response_release(&resp);
    return ret;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    struct httpd *h = cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci || !h->timeout_ms)
        return;
    int fd = ci->connect_fd;
    pthread_mutex_lock(&h->mu);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        if (h->nlive == h->cap) {
            size_t cap = h->cap ? h->cap * 2 : 64;
            struct live *v = realloc(h->live, cap * sizeof *v);
            if (v) {
                h->live = v;
                h->cap = cap;
            }
        }
        if (h->nlive < h->cap)
            h->live[h->nlive++] = (struct live){.fd = fd, .since_ms = clock_mono_ms()};
    } else {
        /* Closed: forget it before the descriptor can be reused. */
        for (size_t i = 0; i < h->nlive; i++)
            if (h->live[i].fd == fd) {
                h->live[i] = h->live[--h->nlive];
                break;
            }
    }
    pthread_mutex_unlock(&h->mu);
}

/* Shut down connections that have lived longer than the timeout: the thread serving one
 * sees its socket end and closes it. */
static void *reap(void *arg)
{
    struct httpd *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->stopping) {
        int64_t now = clock_mono_ms();
        for (size_t i = 0; i < h->nlive; i++)
            if (!h->live[i].cut && now - h->live[i].since_ms > h->timeout_ms) {
                shutdown(h->live[i].fd, SHUT_RDWR);
                h->live[i].cut = 1;
            }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&h->cv, &h->mu, &ts);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int httpd_start(const struct httpd_opts *o, struct httpd **out, int *port_out, struct diag *d)
{
    if (!o->handler)
        return diag_set(d, ERR_INVALID, "http server: no handler");
    if (o->port < 0 || o->port > 65535)
        return diag_set(d, ERR_INVALID, "http server: port %d is out of range", o->port);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o->port);
    const char *addr = o->bind_addr ? o->bind_addr : "127.0.0.1";
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        return diag_set(d, ERR_INVALID, "http server: '%s' is not an IPv4 address", addr);

    struct httpd *h = calloc(1, sizeof *h);
    if (!h)
        return diag_set(d, ERR_NOMEM, "out of memory");
    h->handler = o->handler;
    h->head = o->head;
    h->ctx = o->ctx;
    h->timeout_ms = o->connection_timeout_s > 0 ? (int64_t)o->connection_timeout_s * 1000 : 0;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->max_body = o->max_body ? o->max_body : DEFAULT_MAX_BODY;
    h->max_response = o->max_response ? o->max_response : DEFAULT_MAX_RESPONSE;
    size_t max_head = o->max_head ? o->max_head : DEFAULT_MAX_HEAD;
    /* The connection's memory pool holds the request head, the read buffer and the response
     * headers. */
    size_t pool = max_head + (32 << 10);
    unsigned int idle = (unsigned int)(o->idle_timeout_s > 0 ? o->idle_timeout_s : DEFAULT_IDLE_S);

    h->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
            MHD_USE_ERROR_LOG,
        (uint16_t)o->port, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
        MHD_OPTION_CONNECTION_TIMEOUT, idle, MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
        MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)(o->max_connections ? o->max_connections : FD_SETSIZE - 4),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)o->max_per_address, MHD_OPTION_END);
    if (!h->daemon) {
        int e = errno;
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->cv);
        free(h);
        return diag_set(d, ERR_IO, "http server: cannot listen on %s:%d: %s", addr, o->port,
                        e == EADDRINUSE ? "the port is in use"
                        : e             ? strerror(e)
                                        : "the server library refused to start");
    }
    if (h->timeout_ms && pthread_create(&h->reaper, NULL, reap, h) == 0)
        h->reaping = 1;
    if (port_out) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
        *port_out = info ? (int)info->port : o->port;
    }
    *out = h;
    return ERR_OK;
}

void httpd_stop(struct httpd *h)
{
    if (!h)
        return;
    if (h->reaping) {
        pthread_mutex_lock(&h->mu);
        h->stopping = 1;
        pthread_cond_signal(&h->cv);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->reaper, NULL);
    }
    MHD_stop_daemon(h->daemon);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h->live);
    free(h);
}
