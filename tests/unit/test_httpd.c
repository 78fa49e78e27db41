/* Unit tests: the HTTP server, driven over plain sockets on 127.0.0.1. */
#include "testutil.h"

#include "net/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int handler_calls;
static sem_t release_sem;

/* /echo describes the request; /drop and /truncate break the response; /block waits until
 * /release is called on another connection. */
static void handler(void *ctx, const struct httpd_request *req, struct httpd_response *resp)
{
    __atomic_add_fetch(&handler_calls, 1, __ATOMIC_SEQ_CST);
    if (strcmp(req->path, "/drop") == 0) {
        buf_puts(&resp->body, "never sent");
        resp->action = HTTPD_DROP;
        return;
    }
    if (strcmp(req->path, "/truncate") == 0) {
        for (int i = 0; i < 1000; i++)
            buf_putc(&resp->body, (char)('a' + i % 26));
        resp->action = HTTPD_TRUNCATE;
        return;
    }
    if (strcmp(req->path, "/block") == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 10;
        int ok = sem_timedwait(&release_sem, &ts) == 0;
        buf_puts(&resp->body, ok ? "released" : "timed out");
        return;
    }
    if (strcmp(req->path, "/release") == 0) {
        sem_post(&release_sem);
        buf_puts(&resp->body, "ok");
        return;
    }
    char q[64] = "";
    int qerr = httpd_query_get(req->query, "q", q, sizeof q);
    const char *xt = httpd_request_header(req, "x-test");
    resp->status = 201;
    httpd_response_header(resp, "Content-Type", "text/plain");
    httpd_response_header(resp, "X-Reply", "yes");
    buf_printf(&resp->body,
               "method=%s path=%s query=%s q=%s qerr=%s x-test=%s body_len=%zu body=", req->method,
               req->path, req->query, q, err_name(qerr), xt ? xt : "(none)", req->body_len);
    buf_append(&resp->body, req->body, req->body_len);
}

struct server {
    struct httpd *h;
    int port;
};

static int setup(void **state)
{
    static struct server s;
    handler_calls = 0;
    sem_init(&release_sem, 0, 0);
    struct httpd_opts o = {.port = 0, .max_body = 1024, .handler = handler};
    struct diag d;
    assert_int_equal(httpd_start(&o, &s.h, &s.port, &d), ERR_OK);
    assert_true(s.port > 0);
    *state = &s;
    return 0;
}

static int teardown(void **state)
{
    struct server *s = *state;
    httpd_stop(s->h);
    sem_destroy(&release_sem);
    return 0;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void send_all(int fd, const char *data, size_t n)
{
    while (n) {
        ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        data += w;
        n -= (size_t)w;
    }
}

/* Everything the server sends until it closes the connection (a reset counts as a close). */
static char *read_all(int fd, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    for (;;) {
        if (n + 1024 > cap) {
            cap *= 2;
            char *grown = realloc(out, cap);
            assert_non_null(grown);
            out = grown;
        }
        ssize_t r = recv(fd, out + n, cap - n - 1, 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            break;
        assert_true(r > 0); /* a timeout means the server kept the connection open */
        n += (size_t)r;
    }
    out[n] = '\0';
    *len = n;
    return out;
}

static char *roundtrip(int port, const char *req, size_t req_len, size_t *len)
{
    int fd = connect_to(port);
    send_all(fd, req, req_len);
    char *resp = read_all(fd, len);
    close(fd);
    return resp;
}

static const char *body_of(const char *resp)
{
    const char *p = strstr(resp, "\r\n\r\n");
    assert_non_null(p);
    return p + 4;
}

/* ---- limits against slow and unauthenticated clients ---- */

static int refuse_without_key(void *ctx, const struct httpd_request *req,
                              struct httpd_response *resp)
{
    (void)ctx;
    if (strcmp(req->path, "/healthz") == 0)
        return 0;
    const char *k = httpd_request_header(req, "x-key");
    if (k && strcmp(k, "open-sesame") == 0)
        return 0;
    resp->status = 401;
    buf_puts(&resp->body, "no");
    return 1;
}

static struct httpd *start_guarded(int *port, int max_body)
{
    struct httpd_opts o = {.max_body = (size_t)max_body,
                           .max_connections = 2000,
                           .max_per_address = 16,
                           .connection_timeout_s = 1,
                           .idle_timeout_s = 60,
                           .head = refuse_without_key,
                           .handler = handler};
    struct httpd *h;
    struct diag d;
    assert_int_equal(httpd_start(&o, &h, port, &d), ERR_OK);
    return h;
}

static int connect_from(const char *src, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in me = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &me.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof me), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* A body of 1 MiB announced without the key: refused as soon as the headers are in, before
 * one byte of it is read (nothing of it is ever sent here), so such bodies cost no memory. */
static void test_refused_before_the_body(void **state)
{
    (void)state;
    int port;
    struct httpd *h = start_guarded(&port, 1 << 20);
    handler_calls = 0;
    for (int i = 0; i < 20; i++) {
        int fd = connect_to(port);
        static const char req[] = "POST /webhook HTTP/1.1\r\nHost: a\r\nContent-Type: "
                                  "application/json\r\nContent-Length: 1048576\r\n\r\n";
        send_all(fd, req, sizeof req - 1);
        size_t len;
        char *resp = read_all(fd, &len); /* ends: the server answered and closed */
        assert_non_null(strstr(resp, "HTTP/1.1 401"));
        assert_string_equal(body_of(resp), "no");
        free(resp);
        close(fd);
    }
    assert_int_equal(handler_calls, 0);
    /* With the key the body is read and handled. */
    static const char ok[] = "POST /echo HTTP/1.1\r\nHost: a\r\nX-Key: open-sesame\r\n"
                             "Content-Length: 2\r\nConnection: close\r\n\r\nhi";
    size_t len;
    char *resp = roundtrip(port, ok, sizeof ok - 1, &len);
    assert_non_null(strstr(resp, "body_len=2 body=hi"));
    free(resp);
    httpd_stop(h);
}

/* 1,100 connections from one address that send half a request and wait: they do not lock
 * out another client's /healthz, and those let in are cut after the connection timeout even
 * while they trickle bytes. */
static void test_many_slow_connections(void **state)
{
    (void)state;
    int port;
    struct httpd *h = start_guarded(&port, 1024);
    enum { SLOW = 1100 };
    static int fds[SLOW];
    for (int i = 0; i < SLOW; i++) {
        fds[i] = connect_from("127.0.0.1", port);
        send(fds[i], "GET /x HTTP/1.1\r\n", 17, MSG_NOSIGNAL);
    }
    int fd = connect_from("127.0.0.2", port);
    static const char hz[] = "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    send_all(fd, hz, sizeof hz - 1);
    size_t len;
    char *resp = read_all(fd, &len);
    assert_non_null(strstr(resp, "HTTP/1.1 201"));
    free(resp);
    close(fd);
    /* One of the slow ones that got in, trickling a header byte every 100 ms: cut. */
    int cut = 0;
    for (int round = 0; round < 150 && !cut; round++) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
        cut = 1;
        for (int i = 0; i < SLOW; i++) {
            if (fds[i] < 0)
                continue;
            if (send(fds[i], "X", 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) {
                char c;
                ssize_t r = recv(fds[i], &c, 1, MSG_DONTWAIT);
                if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                    cut = 0; /* still open */
                    continue;
                }
            }
            close(fds[i]);
            fds[i] = -1;
        }
    }
    assert_true(cut);
    for (int i = 0; i < SLOW; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    httpd_stop(h);
}

static void test_query_get(void **state)
{
    (void)state;
    char v[16];
    const char *q = "a=1&q=x%2Cy+z&empty=&flag&a=2&pct%41=k";
    assert_int_equal(httpd_query_get(q, "a", v, sizeof v), ERR_OK);
    assert_string_equal(v, "1"); /* the first occurrence */
    assert_int_equal(httpd_query_get(q, "q", v, sizeof v), ERR_OK);
    assert_string_equal(v, "x,y z");
    assert_int_equal(httpd_query_get(q, "empty", v, sizeof v), ERR_OK);
    assert_string_equal(v, "");
    assert_int_equal(httpd_query_get(q, "flag", v, sizeof v), ERR_OK);
    assert_string_equal(v, "");
    assert_int_equal(httpd_query_get(q, "pctA", v, sizeof v), ERR_OK);
    assert_string_equal(v, "k");
    assert_int_equal(httpd_query_get(q, "missing", v, sizeof v), ERR_NOTFOUND);
    assert_int_equal(httpd_query_get("", "a", v, sizeof v), ERR_NOTFOUND);
    assert_int_equal(httpd_query_get("a=0123456789abcdef", "a", v, sizeof v), ERR_TOOBIG);
    assert_int_equal(httpd_query_get("a=0123456789abcde", "a", v, sizeof v), ERR_OK);
    assert_string_equal(v, "0123456789abcde");
    assert_int_equal(httpd_query_get("a=%4", "a", v, sizeof v), ERR_PARSE);
    assert_int_equal(httpd_query_get("a=%zz", "a", v, sizeof v), ERR_PARSE);
}

static void test_header_lookup(void **state)
{
    (void)state;
    const char *headers[] = {"Host: example", "APCA-API-KEY-ID:  key", "X-Twice: 1", "x-twice: 2"};
    struct httpd_request r = {.headers = headers, .nheaders = 4};
    assert_string_equal(httpd_request_header(&r, "apca-api-key-id"), "key");
    assert_string_equal(httpd_request_header(&r, "HOST"), "example");
    assert_string_equal(httpd_request_header(&r, "X-TWICE"), "1");
    assert_null(httpd_request_header(&r, "Hos"));
    assert_null(httpd_request_header(&r, "Accept"));
}

static void test_get_with_query(void **state)
{
    struct server *s = *state;
    const char req[] = "GET /echo?q=hello%2Cworld&z=1 HTTP/1.1\r\nHost: x\r\nx-TEST: Value 1\r\n"
                       "Connection: close\r\n\r\n";
    size_t n;
    char *resp = roundtrip(s->port, req, sizeof req - 1, &n);
    assert_true(strncmp(resp, "HTTP/1.1 201", 12) == 0);
    assert_non_null(strstr(resp, "\r\nX-Reply: yes\r\n"));
    assert_string_equal(body_of(resp), "method=GET path=/echo query=q=hello%2Cworld&z=1 "
                                       "q=hello,world qerr=OK x-test=Value 1 body_len=0 body=");
    free(resp);
}

static void test_post_body(void **state)
{
    struct server *s = *state;
    const char req[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n"
                       "Connection: close\r\n\r\nab\0d=ef";
    size_t n;
    char *resp = roundtrip(s->port, req, sizeof req - 1, &n);
    assert_true(strncmp(resp, "HTTP/1.1 201", 12) == 0);
    const char *body = body_of(resp);
    const char *want =
        "method=POST path=/echo query= q= qerr=NOTFOUND x-test=(none) body_len=7 body=";
    assert_int_equal(strncmp(body, want, strlen(want)), 0);
    assert_memory_equal(body + strlen(want), "ab\0d=ef", 7);
    free(resp);
}

static void test_body_over_cap(void **state)
{
    struct server *s = *state;
    /* Announced too big: refused before the body is read. */
    char req[4096];
    int len = snprintf(req, sizeof req,
                       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n"
                       "Connection: close\r\n\r\n");
    memset(req + len, 'x', 2000);
    size_t n;
    char *resp = roundtrip(s->port, req, (size_t)len + 2000, &n);
    assert_true(strncmp(resp, "HTTP/1.1 413", 12) == 0);
    free(resp);
    /* Chunked, so the size shows only while reading. */
    len = snprintf(req, sizeof req,
                   "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                   "Connection: close\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        len += snprintf(req + len, sizeof req - (size_t)len, "200\r\n");
        memset(req + len, 'y', 512);
        len += 512;
        len += snprintf(req + len, sizeof req - (size_t)len, "\r\n");
    }
    len += snprintf(req + len, sizeof req - (size_t)len, "0\r\n\r\n");
    resp = roundtrip(s->port, req, (size_t)len, &n);
    assert_true(strncmp(resp, "HTTP/1.1 413", 12) == 0);
    free(resp);
    assert_int_equal(__atomic_load_n(&handler_calls, __ATOMIC_SEQ_CST), 0);
    /* Exactly at the cap is fine. */
    len = snprintf(req, sizeof req,
                   "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n"
                   "Connection: close\r\n\r\n");
    memset(req + len, 'z', 1024);
    resp = roundtrip(s->port, req, (size_t)len + 1024, &n);
    assert_true(strncmp(resp, "HTTP/1.1 201", 12) == 0);
    assert_non_null(strstr(resp, "body_len=1024 "));
    free(resp);
}

static void test_drop(void **state)
{
    struct server *s = *state;
    const char req[] = "GET /drop HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t n;
    char *resp = roundtrip(s->port, req, sizeof req - 1, &n);
    assert_int_equal(n, 0);
    free(resp);
    assert_int_equal(__atomic_load_n(&handler_calls, __ATOMIC_SEQ_CST), 1);
}

static void test_truncate(void **state)
{
    struct server *s = *state;
    const char req[] = "GET /truncate HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t n;
    char *resp = roundtrip(s->port, req, sizeof req - 1, &n);
    assert_true(strncmp(resp, "HTTP/1.1 200", 12) == 0);
    assert_non_null(strcasestr(resp, "\r\nContent-Length: 1000\r\n"));
    const char *body = body_of(resp);
    size_t got = n - (size_t)(body - resp);
    assert_int_equal(got, 500);
    assert_int_equal(strncmp(body, "abcdefghijklmnopqrstuvwxyzabcd", 30), 0);
    free(resp);
}

static void test_slow_handler_does_not_block_others(void **state)
{
    struct server *s = *state;
    const char block[] = "GET /block HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int a = connect_to(s->port);
    send_all(a, block, sizeof block - 1);
    /* While /block waits in its handler, another connection is served. */
    const char rel[] = "GET /release HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    size_t n;
    char *resp = roundtrip(s->port, rel, sizeof rel - 1, &n);
    assert_string_equal(body_of(resp), "ok");
    free(resp);
    resp = read_all(a, &n);
    close(a);
    assert_string_equal(body_of(resp), "released");
    free(resp);
}

static void test_keep_alive(void **state)
{
    struct server *s = *state;
    int fd = connect_to(s->port);
    const char one[] = "GET /echo?q=1 HTTP/1.1\r\nHost: x\r\n\r\n";
    const char two[] = "GET /echo?q=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    send_all(fd, one, sizeof one - 1);
    send_all(fd, two, sizeof two - 1);
    size_t n;
    char *resp = read_all(fd, &n);
    close(fd);
    assert_non_null(strstr(resp, " q=1 "));
    assert_non_null(strstr(resp, " q=2 "));
    free(resp);
}

static void test_start_errors(void **state)
{
    (void)state;
    struct httpd *h;
    struct diag d;
    struct httpd_opts o = {.bind_addr = "not-an-address", .handler = handler};
    assert_int_equal(httpd_start(&o, &h, NULL, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "not-an-address"));
    struct httpd_opts none = {.port = 0};
    assert_int_equal(httpd_start(&none, &h, NULL, &d), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_get),
        cmocka_unit_test(test_header_lookup),
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test(test_refused_before_the_body),
        cmocka_unit_test(test_many_slow_connections),
        cmocka_unit_test_setup_teardown(test_get_with_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_over_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_handler_does_not_block_others, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
