/* Unit tests: the Alpaca simulator, driven through its request handler (no sockets, except
 * one check that alpaca_sim_start serves), with an injected clock. */
#include "testutil.h"

#include "base/calendar.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/num.h"
#include "collect/alpaca.h"
#include "net/httpd.h"
#include "fakes/alpaca_fault.h"
#include "sim/alpaca_sim.h"
#include "sim/market.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the fake clock ---- */

static int64_t fake_now_ms;

static int64_t fake_wall(void *ctx)
{
    return fake_now_ms;
}

static int64_t fake_mono(void *ctx)
{
    return fake_now_ms * 1000;
}

static void fake_sleep(void *ctx, int64_t ms)
{
    fake_now_ms += ms;
}

static const struct clock_source fake_clock = {fake_wall, fake_mono, fake_sleep, NULL};

static int32_t day_of(const char *s)
{
    int32_t d;
    assert_int_equal(date_parse(s, strlen(s), &d), ERR_OK);
    return d;
}

/* The date of "2026-01-02T05:00:00Z" (a bar time, or any text starting with a date). */
static int32_t date_prefix(const char *s)
{
    int32_t d;
    assert_int_equal(date_parse(s, 10, &d), ERR_OK);
    return d;
}

/* 2026-11-25 17:00 UTC, a Wednesday after the market's last day. */
static void reset_clock(void)
{
    fake_now_ms = (int64_t)day_of("2026-11-25") * 86400000 + 17 * 3600000;
}

static void base_opts(struct alpaca_sim_opts *o)
{
    alpaca_sim_opts_default(o);
    o->seed = 7;
    o->nsymbols = 30;
    o->first_day = day_of("2025-06-01");
    o->last_day = day_of("2026-11-20");
    o->rate_limit = 100000; /* in effect unlimited: the clock stands still */
    o->rate_window_ms = 1;
}

/* A fault set for the simulator to be made from o. */
static struct alpaca_fault_set *with_faults(struct alpaca_sim_opts *o,
                                            const struct alpaca_fault_opts *fo)
{
    struct alpaca_fault_set *fs;
    struct diag d;
    int err = alpaca_fault_set_new(fo, &fs, &d);
    if (err)
        fail_msg("alpaca_fault_set_new: %s", d.text);
    o->hooks = alpaca_fault_set_hooks(fs);
    return fs;
}

static struct alpaca_sim *new_sim(const struct alpaca_sim_opts *o)
{
    struct alpaca_sim *s;
    struct diag d;
    int err = alpaca_sim_new(o, &s, &d);
    if (err)
        fail_msg("alpaca_sim_new: %s", d.text);
    return s;
}

/* ---- requests ---- */

static int request(struct alpaca_sim *s, const char *method, const char *target, int auth,
                   struct httpd_response *r)
{
    static char path[16384];
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    assert_true(plen < sizeof path);
    memcpy(path, target, plen);
    path[plen] = '\0';
    const char *headers[] = {"Host: localhost", "APCA-API-KEY-ID: SIMKEY",
                             "apca-api-secret-key: SIMSECRET"};
    struct httpd_request req = {
        .method = method,
        .target = target,
        .path = path,
        .query = q ? q + 1 : "",
        .headers = headers,
        .nheaders = auth ? 3 : 1,
        .body = "",
    };
    httpd_response_init(r, (size_t)64 << 20);
    alpaca_sim_handle(s, &req, r);
    return r->status;
}

static int get(struct alpaca_sim *s, const char *target, struct httpd_response *r)
{
    return request(s, "GET", target, 1, r);
}

static const char *header(const struct httpd_response *r, const char *name)
{
    struct httpd_request tmp = {.headers = (const char *const *)r->headers.v,
                                .nheaders = r->headers.n};
    return httpd_request_header(&tmp, name);
}

/* ---- reading a bars page (the simulator's own layout, so a small scanner will do) ---- */

struct pbar {
    char sym[16], t[32], o[32], h[32], l[32], c[32], v[32], n[32], vw[32];
};

struct page {
    struct pbar *v;
    size_t n;
    char token[256]; /* "" for null */
};

static const char *expect(const char *s, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(s, lit, n) != 0)
        fail_msg("expected '%s' at '%.40s'", lit, s);
    return s + n;
}

static const char *read_token(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    if (*s == '"') {
        s++;
        while (*s && *s != '"') {
            assert_true(n + 1 < cap);
            out[n++] = *s++;
        }
        s = expect(s, "\"");
    } else {
        while (*s && *s != ',' && *s != '}') {
            assert_true(n + 1 < cap);
            out[n++] = *s++;
        }
    }
    out[n] = '\0';
    return s;
}

static void parse_page(const char *body, struct page *p)
{
    memset(p, 0, sizeof *p);
    size_t cap = 0;
    const char *s = expect(body, "{\"bars\":{");
    while (*s == '"') {
        char sym[16];
        s = read_token(s, sym, sizeof sym);
        s = expect(s, ":[");
        while (*s == '{') {
            if (p->n == cap) {
                cap = cap ? cap * 2 : 64;
                struct pbar *grown = realloc(p->v, cap * sizeof *p->v);
                assert_non_null(grown);
                p->v = grown;
            }
            struct pbar *b = &p->v[p->n++];
            memset(b, 0, sizeof *b);
            snprintf(b->sym, sizeof b->sym, "%s", sym);
            s++;
            while (*s != '}') {
                char key[8];
                s = read_token(s, key, sizeof key);
                s = expect(s, ":");
                char *dst = strcmp(key, "t") == 0    ? b->t
                            : strcmp(key, "o") == 0  ? b->o
                            : strcmp(key, "h") == 0  ? b->h
                            : strcmp(key, "l") == 0  ? b->l
                            : strcmp(key, "c") == 0  ? b->c
                            : strcmp(key, "v") == 0  ? b->v
                            : strcmp(key, "n") == 0  ? b->n
                            : strcmp(key, "vw") == 0 ? b->vw
                                                     : NULL;
                if (!dst)
                    fail_msg("unexpected key '%s'", key);
                s = read_token(s, dst, 32);
                if (*s == ',')
                    s++;
            }
            s++;
            if (*s == ',')
                s++;
        }
        s = expect(s, "]");
        if (*s == ',')
            s++;
    }
    s = expect(s, "},\"next_page_token\":");
    if (strncmp(s, "null", 4) == 0)
        s += 4;
    else
        s = read_token(s, p->token, sizeof p->token);
    s = expect(s, "}");
    assert_int_equal(*s, '\0');
}

static void page_release(struct page *p)
{
    free(p->v);
}

/* The expected bars: the market generated directly, filtered like a request. */
static void market_bars(const struct alpaca_sim_opts *o, struct barvec *out)
{
    struct market_opts mo;
    market_opts_default(&mo);
    mo.seed = o->seed;
    mo.nsymbols = o->nsymbols;
    mo.first_day = o->first_day;
    mo.last_day = o->last_day;
    struct market *m;
    struct diag d;
    assert_int_equal(market_new(&mo, &m, &d), ERR_OK);
    struct barvec day;
    barvec_init(&day);
    barvec_init(out);
    int32_t date;
    while (market_next_day(m, &date, &day) == ERR_OK)
        for (size_t i = 0; i < day.n; i++)
            assert_int_equal(barvec_push(out, &day.v[i]), ERR_OK);
    barvec_release(&day);
    market_free(m);
    qsort(out->v, out->n, sizeof *out->v, bar_cmp);
}

static void fixed_str(int64_t v, char out[NUM_FIXED_STRMAX])
{
    num_format_fixed(v, out);
}

static void assert_bar_is(const struct pbar *p, const struct bar *b)
{
    char want[NUM_FIXED_STRMAX], t[40];
    assert_string_equal(p->sym, b->symbol);
    int64_t ms = cal_ny_to_utc_ms(b->date, 0);
    int y, m, d;
    date_to_ymd(b->date, &y, &m, &d);
    snprintf(t, sizeof t, "%04d-%02d-%02dT%02d:00:00Z", y, m, d, (int)(ms / 3600000 % 24));
    assert_string_equal(p->t, t);
    fixed_str(b->open, want);
    assert_string_equal(p->o, want);
    fixed_str(b->high, want);
    assert_string_equal(p->h, want);
    fixed_str(b->low, want);
    assert_string_equal(p->l, want);
    fixed_str(b->close, want);
    assert_string_equal(p->c, want);
    fixed_str(b->vwap, want);
    assert_string_equal(p->vw, want);
    char n[24];
    num_format_int(b->volume, n);
    assert_string_equal(p->v, n);
    num_format_int(b->trades, n);
    assert_string_equal(p->n, n);
}

/* Standard base64 can hold '+', '/' and '=': percent-encode them as a client must. */
static void encode_token(const char *tok, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *c = tok; *c; c++) {
        o += (size_t)snprintf(out + o, cap - o,
                              (*c == '+' || *c == '/' || *c == '=') ? "%%%02X" : "%c", *c);
        assert_true(o < cap);
    }
    out[o] = '\0';
}

/* Follow next_page_token from base until null; all the bars, and the page count. */
static size_t fetch_all(struct alpaca_sim *s, const char *base, size_t page_max, struct page *all)
{
    memset(all, 0, sizeof *all);
    char target[16384], token[256] = "";
    size_t pages = 0;
    for (;;) {
        if (token[0])
            snprintf(target, sizeof target, "%s&page_token=%s", base, token);
        else
            snprintf(target, sizeof target, "%s", base);
        struct httpd_response r;
        if (get(s, target, &r) != 200)
            fail_msg("%s: %d %s", target, r.status, buf_cstr(&r.body));
        struct page p;
        parse_page(buf_cstr(&r.body), &p);
        httpd_response_release(&r);
        assert_true(p.n <= page_max);
        pages++;
        struct pbar *grown = realloc(all->v, (all->n + p.n + 1) * sizeof *all->v);
        assert_non_null(grown);
        all->v = grown;
        memcpy(all->v + all->n, p.v, p.n * sizeof *p.v);
        all->n += p.n;
        page_release(&p);
        if (!p.token[0])
            break;
        assert_true(p.n > 0);
        encode_token(p.token, token, sizeof token);
        assert_true(pages < 100000);
    }
    return pages;
}

/* ---- tests ---- */

static void test_pagination_covers_every_bar_once(void **state)
{
    (void)state;
    reset_clock();
    struct alpaca_sim_opts o;
    base_opts(&o);
    struct alpaca_sim *s = new_sim(&o);
    struct barvec want;
    market_bars(&o, &want);
    const char *a = alpaca_sim_symbol(s, 0), *b = alpaca_sim_symbol(s, 5);
    const char *c = alpaca_sim_symbol(s, 17), *e = alpaca_sim_symbol(s, 29);
    int32_t from = day_of("2026-08-01"), to = day_of("2026-10-31");
    /* Unsorted, a duplicate, an unknown symbol, %2C and literal commas. */
    char base[512];
    snprintf(base, sizeof base,
             "/v2/stocks/bars?symbols=%s%%2C%s,ZZZZ,%s,%s%%2C%s&timeframe=1Day&start=2026-08-01"
             "&end=2026-10-31T23:59:59Z&feed=sip",
             e, c, a, b, c);
    size_t nwant = 0;
    for (size_t i = 0; i < want.n; i++) {
        const struct bar *x = &want.v[i];
        if (x->date >= from && x->date <= to &&
            (!strcmp(x->symbol, a) || !strcmp(x->symbol, b) || !strcmp(x->symbol, c) ||
             !strcmp(x->symbol, e)))
            want.v[nwant++] = *x;
    }
    assert_int_equal(nwant, 4 * cal_trading_days(from, to));
    static const size_t limits[] = {1, 7, 64, 65, 100, 259, 260, 261, 1000, 10000};
    for (size_t li = 0; li < sizeof limits / sizeof limits[0]; li++) {
        char target[600];
        snprintf(target, sizeof target, "%s&limit=%zu", base, limits[li]);
        struct page all;
        size_t pages = fetch_all(s, target, limits[li], &all);
        assert_int_equal(pages, (nwant + limits[li] - 1) / limits[li]);
        assert_int_equal(all.n, nwant);
        for (size_t i = 0; i < nwant; i++)
            assert_bar_is(&all.v[i], &want.v[i]);
        page_release(&all);
    }
    /* Without a limit: 1000 per page. */
    struct page all;
    assert_int_equal(fetch_all(s, base, 1000, &all), 1);
    assert_int_equal(all.n, nwant);
    page_release(&all);
    alpaca_sim_free(s);

    /* The server's own page size caps the limit. */
    o.page_size = 50;
    s = new_sim(&o);
    char target[600];
    snprintf(target, sizeof target, "%s&limit=10000", base);
    assert_int_equal(fetch_all(s, target, 50, &all), (nwant + 49) / 50);
    assert_int_equal(all.n, nwant);
    page_release(&all);
    alpaca_sim_free(s);
    barvec_release(&want);
}

static void test_bar_times_and_prices(void **state)
{
    (void)state;
    reset_clock();
    struct alpaca_sim_opts o;
    base_opts(&o);
    struct alpaca_sim *s = new_sim(&o);
    char target[256];
    snprintf(target, sizeof target,
             "/v2/stocks/bars?symbols=%s&timeframe=1D&start=2026-01-02&end=2026-01-02",
             alpaca_sim_symbol(s, 1));
    struct httpd_response r;
    assert_int_equal(get(s, target, &r), 200);
    struct page p;
    parse_page(buf_cstr(&r.body), &p);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.v[0].t, "2026-01-02T05:00:00Z"); /* winter: UTC-5 */
    /* Printed from the fixed-point value: at most the tick's decimals, no float noise. */
    const char *dot = strchr(p.v[0].c, '.');
    assert_true(!dot || strlen(dot + 1) <= 4);
    assert_null(strchr(p.v[0].c, 'e'));
    assert_string_equal(header(&r, "content-type"), "application/json; charset=UTF-8");
    page_release(&p);
    httpd_response_release(&r);
    snprintf(target, sizeof target,
             "/v2/stocks/bars?symbols=%s&timeframe=1Day&start=2026-07-01T00:00:00-04:00"
             "&end=2026-07-01T04:00:00.000Z",
             alpaca_sim_symbol(s, 1));
    assert_int_equal(get(s, target, &r), 200);
    parse_page(buf_cstr(&r.body), &p);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.v[0].t, "2026-07-01T04:00:00Z"); /* summer: UTC-4 */
    page_release(&p);
    httpd_response_release(&r);
    /* A weekend: no bars, so no key at all. */
    snprintf(target, sizeof target,
             "/v2/stocks/bars?symbols=%s&timeframe=1Day&start=2026-07-04&end=2026-07-05",
             alpaca_sim_symbol(s, 1));
    assert_int_equal(get(s, target, &r), 200);
    assert_string_equal(buf_cstr(&r.body), "{\"bars\":{},\"next_page_token\":null}");
    httpd_response_release(&r);
    alpaca_sim_free(s);
}

static void expect_status(struct alpaca_sim *s, const char *target, int status, const char *body)
{
    struct httpd_response r;
    int got = get(s, target, &r);
    if (got != status || (body && strcmp(buf_cstr(&r.body), body) != 0))
        fail_msg("%s: got %d %s", target, got, buf_cstr(&r.body));
    httpd_response_release(&r);
}

static void test_bars_parameters(void **state)
{
    (void)state;
    reset_clock();
    struct alpaca_sim_opts o;
    base_opts(&o);
    o.max_url = 200;
    struct alpaca_sim *s = new_sim(&o);
    const char *ok = "/v2/stocks/bars?symbols=AAA&timeframe=1Day&start=2026-01-02";
    expect_status(s, ok, 200, "{\"bars\":{},\"next_page_token\":null}");
    expect_status(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Min", 400, NULL);
    expect_status(s, "/v2/stocks/bars?symbols=AAA", 400, NULL);
    expect_status(s, "/v2/stocks/bars?timeframe=1Day", 400, NULL);
    expect_status(s, "/v2/stocks/bars?symbols=AAA,A$B&timeframe=1Day", 400,
                  "{\"code\":40010001,\"message\":\"invalid symbol: A$B\"}");
    expect_status(s, "/v2/stocks/bars?symbols=AAA,&timeframe=1Day", 400, NULL);
    expect_status(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Day&limit=0", 422, NULL);
    expect_status(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Day&limit=10001", 422, NULL);
    expect_status(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Day&limit=10000", 200, NULL);
    expect_status(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Day&limit=ten", 400, NULL);
    expect_status(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Day&sort=desc", 400, NULL);
    expect_status(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Day&feed=otc", 400, NULL);
    expect_status(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Day&adjustment=bogus", 400, NULL);
    expect_status(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Day&adjustment=split,spin-off", 200,
                  NULL);
    expect_status(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Day&start=2026-13-01", 400, NULL);
    expect_status(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Day&start=2026-01-01T10:00:00", 400,
                  NULL);
    expect_status(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Day&start=2026-02-01&end=2026-01-01",
                  422, NULL);
    expect_status(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Day&page_token=%25%25", 400, NULL);
    expect_status(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Day&page_token=Zm9v", 400, NULL);
    /* Recent SIP data: refused within the last 15 minutes, fine for IEX or later. */
    const char *recent = "/v2/stocks/bars?symbols=AAA&timeframe=1Day&start=2026-11-20"
                         "&end=2026-11-25T16:50:00Z";
    expect_status(s, recent, 403,
                  "{\"message\":\"subscription does not permit querying recent SIP data\"}");
    char target[256];
    snprintf(target, sizeof target, "%s&feed=sip", recent);
    expect_status(s, target, 403, NULL);
    snprintf(target, sizeof target, "%s&feed=iex", recent);
    expect_status(s, target, 200, NULL);
    expect_status(s,
                  "/v2/stocks/bars?symbols=AAA&timeframe=1Day&start=2026-11-20"
                  "&end=2026-11-25T16:44:00Z",
                  200, NULL);
    /* Too long a URL: nginx answers. */
    char lng[400];
    snprintf(lng, sizeof lng, "%s&x=%0200d", ok, 0);
    struct httpd_response r;
    assert_int_equal(get(s, lng, &r), 414);
    assert_non_null(strstr(buf_cstr(&r.body), "<title>414 Request-URI Too Large</title>"));
    assert_string_equal(header(&r, "Content-Type"), "text/html");
    httpd_response_release(&r);
    /* Unknown paths and methods. */
    expect_status(s, "/v2/stocks/AAA/quotes", 404, NULL);
    assert_int_equal(request(s, "POST", ok, 1, &r), 405);
    httpd_response_release(&r);
    alpaca_sim_free(s);
}

static void test_iex_and_missing(void **state)
{
    (void)state;
    reset_clock();
    struct alpaca_sim_opts o;
    base_opts(&o);
    struct alpaca_sim *s0 = new_sim(&o);
    const char *gone = alpaca_sim_symbol(s0, 4);
    const char *missing[] = {gone};
    struct alpaca_fault_opts fo;
    alpaca_fault_opts_default(&fo);
    fo.missing = missing;
    fo.nmissing = 1;
    struct alpaca_fault_set *fs = with_faults(&o, &fo);
    struct alpaca_sim *s = new_sim(&o);
    char target[256];
    snprintf(target, sizeof target,
             "/v2/stocks/bars?symbols=%s,%s&timeframe=1Day&start=2026-11-02&end=2026-11-06", gone,
             alpaca_sim_symbol(s, 3));
    struct httpd_response r;
    assert_int_equal(get(s, target, &r), 200);
    struct page p;
    parse_page(buf_cstr(&r.body), &p);
    assert_int_equal(p.n, 5);
    assert_string_equal(p.v[0].sym, alpaca_sim_symbol(s, 3));
    page_release(&p);
    httpd_response_release(&r);
    /* Still listed as an asset. */
    snprintf(target, sizeof target, "/v2/assets/%s", gone);
    assert_int_equal(get(s, target, &r), 200);
    httpd_response_release(&r);
    /* IEX: the same prices, a fraction of the volume. */
    snprintf(target, sizeof target,
             "/v2/stocks/bars?symbols=%s&timeframe=1Day&start=2026-11-02&end=2026-11-02", gone);
    assert_int_equal(get(s0, target, &r), 200);
    struct page sip, iex;
    parse_page(buf_cstr(&r.body), &sip);
    httpd_response_release(&r);
    snprintf(target, sizeof target,
             "/v2/stocks/bars?symbols=%s&timeframe=1Day&start=2026-11-02&end=2026-11-02"
             "&feed=iex",
             gone);
    assert_int_equal(get(s0, target, &r), 200);
    parse_page(buf_cstr(&r.body), &iex);
    httpd_response_release(&r);
    assert_string_equal(sip.v[0].c, iex.v[0].c);
    assert_true(strtoll(iex.v[0].v, NULL, 10) * 10 < strtoll(sip.v[0].v, NULL, 10));
    page_release(&sip);
    page_release(&iex);
    alpaca_sim_free(s);
    alpaca_sim_free(s0);
    alpaca_fault_set_free(fs);
}

/* All bars of one symbol over the whole range. */
static void symbol_bars(struct alpaca_sim *s, const char *sym, const char *adjustment,
                        struct page *all)
{
    char base[256];
    snprintf(base, sizeof base,
             "/v2/stocks/bars?symbols=%s&timeframe=1Day&start=2025-01-01&end=2026-11-20"
             "&limit=10000&adjustment=%s",
             sym, adjustment);
    fetch_all(s, base, 10000, all);
}

static int64_t fixed_of(const char *s)
{
    int64_t v;
    assert_int_equal(num_parse_fixed(s, strlen(s), &v), ERR_OK);
    return v;
}

static void test_split_adjustment(void **state)
{
    (void)state;
    reset_clock();
    struct alpaca_sim_opts o;
    base_opts(&o);
    struct alpaca_sim *s = new_sim(&o);
    /* Symbol 0 of every market has a 2-for-1 split 60 trading days before the end. */
    const char *sym = alpaca_sim_symbol(s, 0);
    char target[256];
    snprintf(target, sizeof target,
             "/v1/corporate-actions?symbols=%s&types=forward_split&start=2025-01-01"
             "&end=2026-12-31",
             sym);
    struct httpd_response r;
    assert_int_equal(get(s, target, &r), 200);
    const char *ex = strstr(buf_cstr(&r.body), "\"ex_date\":\"");
    assert_non_null(ex);
    assert_non_null(strstr(buf_cstr(&r.body), "\"new_rate\":2,\"old_rate\":1"));
    int32_t ex_date = date_prefix(ex + strlen("\"ex_date\":\""));
    httpd_response_release(&r);

    struct page raw, adj;
    symbol_bars(s, sym, "raw", &raw);
    symbol_bars(s, sym, "split", &adj);
    assert_int_equal(raw.n, adj.n);
    size_t before = 0;
    for (size_t i = 0; i < raw.n; i++) {
        assert_string_equal(raw.v[i].t, adj.v[i].t);
        int32_t date = date_prefix(raw.v[i].t);
        int64_t f = date < ex_date ? 2 : 1;
        before += date < ex_date;
        /* Prices divide by F, volume multiplies, trades stay. */
        assert_true(fixed_of(adj.v[i].o) * f == fixed_of(raw.v[i].o));
        assert_true(fixed_of(adj.v[i].c) * f == fixed_of(raw.v[i].c));
        assert_true(fixed_of(adj.v[i].h) * f == fixed_of(raw.v[i].h));
        assert_true(fixed_of(adj.v[i].l) * f == fixed_of(raw.v[i].l));
        assert_true(llabs(fixed_of(adj.v[i].vw) * f - fixed_of(raw.v[i].vw)) <= 1);
        assert_true(strtoll(adj.v[i].v, NULL, 10) == strtoll(raw.v[i].v, NULL, 10) * f);
        assert_string_equal(adj.v[i].n, raw.v[i].n);
    }
    assert_true(before > 100 && before < raw.n);
    /* The raw series shows the split as a drop of about half; the adjusted one does not. */
    size_t k = before;
    double raw_jump = (double)fixed_of(raw.v[k].o) / (double)fixed_of(raw.v[k - 1].c);
    double adj_jump = (double)fixed_of(adj.v[k].o) / (double)fixed_of(adj.v[k - 1].c);
    assert_true(raw_jump > 0.35 && raw_jump < 0.65);
    assert_true(adj_jump > 0.7 && adj_jump < 1.4);
    page_release(&adj);

    /* An injected 3-for-1 split: earlier raw bars are on the old basis (x3 price, /3 volume),
     * the adjusted series is the original market again, and corporate actions list it. */
    const char *other = alpaca_sim_symbol(s, 3);
    struct split sp;
    struct diag d;
    char spec[64];
    snprintf(spec, sizeof spec, "%s:2026-03-02:3:1", other);
    assert_int_equal(alpaca_sim_split_parse(spec, &sp, &d), ERR_OK);
    o.splits = &sp;
    o.nsplits = 1;
    struct alpaca_sim *s3 = new_sim(&o);
    struct page orig, raw3, adj3;
    symbol_bars(s, other, "raw", &orig);
    symbol_bars(s3, other, "raw", &raw3);
    symbol_bars(s3, other, "split", &adj3);
    assert_int_equal(orig.n, raw3.n);
    assert_int_equal(orig.n, adj3.n);
    int32_t split_day = day_of("2026-03-02");
    for (size_t i = 0; i < orig.n; i++) {
        int32_t date = date_prefix(orig.v[i].t);
        int64_t f = date < split_day ? 3 : 1;
        assert_true(fixed_of(raw3.v[i].c) == fixed_of(orig.v[i].c) * f);
        assert_true(fixed_of(raw3.v[i].h) == fixed_of(orig.v[i].h) * f);
        int64_t v = strtoll(orig.v[i].v, NULL, 10);
        assert_true(llabs(strtoll(raw3.v[i].v, NULL, 10) * f - v) <= 2);
        assert_string_equal(adj3.v[i].c, orig.v[i].c);
        assert_string_equal(adj3.v[i].o, orig.v[i].o);
    }
    snprintf(target, sizeof target,
             "/v1/corporate-actions?symbols=%s&start=2026-03-02&end=2026-03-02", other);
    assert_int_equal(get(s3, target, &r), 200);
    assert_non_null(strstr(buf_cstr(&r.body), "\"ex_date\":\"2026-03-02\""));
    assert_non_null(strstr(buf_cstr(&r.body), "\"new_rate\":3,\"old_rate\":1"));
    httpd_response_release(&r);
    page_release(&orig);
    page_release(&raw3);
    page_release(&adj3);
    page_release(&raw);
    alpaca_sim_free(s3);
    alpaca_sim_free(s);

    /* An injected split of an unknown symbol is refused at start. */
    struct split bad = sp;
    snprintf(bad.symbol, sizeof bad.symbol, "NOPE");
    o.splits = &bad;
    struct alpaca_sim *none;
    assert_int_equal(alpaca_sim_new(&o, &none, &d), ERR_INVALID);
    assert_non_null(strstr(d.text, "NOPE"));
}

static void test_auth(void **state)
{
    (void)state;
    reset_clock();
    struct alpaca_sim_opts o;
    base_opts(&o);
    struct alpaca_sim *s = new_sim(&o);
    const char *targets[] = {"/v2/stocks/bars?symbols=AAA&timeframe=1Day", "/v1/corporate-actions",
                             "/v2/assets"};
    struct httpd_response r;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(request(s, "GET", targets[i], 0, &r), 403);
        assert_string_equal(buf_cstr(&r.body), "{\"message\":\"forbidden.\"}");
        httpd_response_release(&r);
    }
    /* A wrong secret (header names are case-insensitive, values are not). */
    const char *headers[] = {"apca-api-key-id: SIMKEY", "APCA-API-SECRET-KEY: simsecret"};
    struct httpd_request req = {.method = "GET",
                                .target = "/v2/assets",
                                .path = "/v2/assets",
                                .query = "",
                                .headers = headers,
                                .nheaders = 2,
                                .body = ""};
    httpd_response_init(&r, 1 << 20);
    alpaca_sim_handle(s, &req, &r);
    assert_int_equal(r.status, 403);
    httpd_response_release(&r);
    /* No auth needed for the holdings file and the control endpoints. */
    assert_int_equal(request(s, "GET", "/iwb_holdings.csv", 0, &r), 200);
    httpd_response_release(&r);
    assert_int_equal(request(s, "GET", "/__sim/stats", 0, &r), 200);
    httpd_response_release(&r);
    struct alpaca_sim_stats st;
    alpaca_sim_get_stats(s, &st);
    assert_int_equal(st.status[403], 4);
    assert_int_equal(st.bars_ordinal, 0);
    alpaca_sim_free(s);

    o.auth_status = 401;
    s = new_sim(&o);
    assert_int_equal(request(s, "GET", "/v2/assets", 0, &r), 401);
    assert_string_equal(buf_cstr(&r.body),
                        "{\"code\":40110000,\"message\":\"request is not authorized\"}");
    httpd_response_release(&r);
    alpaca_sim_free(s);
}

static int64_t header_int(const struct httpd_response *r, const char *name)
{
    const char *v = header(r, name);
    if (!v)
        fail_msg("no header %s", name);
    return strtoll(v, NULL, 10);
}

static void test_rate_limit(void **state)
{
    (void)state;
    reset_clock();
    struct alpaca_sim_opts o;
    base_opts(&o);
    o.rate_limit = 3;
    o.rate_window_ms = 10000;
    struct alpaca_sim *s = new_sim(&o);
    const char *t = "/v2/assets?status=active&asset_class=us_equity";
    struct httpd_response r;
    int64_t t0 = fake_now_ms;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(get(s, t, &r), 200);
        assert_int_equal(header_int(&r, "X-RateLimit-Limit"), 3);
        assert_int_equal(header_int(&r, "X-RateLimit-Remaining"), 2 - i);
        /* The oldest request (at t0) leaves the window at t0 + 10 s. */
        assert_int_equal(header_int(&r, "X-RateLimit-Reset"), (t0 + 10000) / 1000);
        httpd_response_release(&r);
        fake_now_ms += 1000;
    }
    /* Now t0 + 3 s: the fourth is refused until t0 + 10 s, 7 s away. */
    assert_int_equal(get(s, t, &r), 429);
    assert_string_equal(buf_cstr(&r.body), "{\"message\":\"too many requests.\"}");
    assert_int_equal(header_int(&r, "Retry-After"), 7);
    assert_int_equal(header_int(&r, "X-RateLimit-Remaining"), 0);
    httpd_response_release(&r);
    /* The holdings file and the stats are not limited. */
    assert_int_equal(get(s, "/iwb_holdings.csv", &r), 200);
    httpd_response_release(&r);
    fake_now_ms = t0 + 9999;
    assert_int_equal(get(s, t, &r), 429);
    assert_int_equal(header_int(&r, "Retry-After"), 1);
    httpd_response_release(&r);
    fake_now_ms = t0 + 10000;
    assert_int_equal(get(s, t, &r), 200);
    assert_int_equal(header_int(&r, "X-RateLimit-Remaining"), 0);
    httpd_response_release(&r);
    struct alpaca_sim_stats st;
    alpaca_sim_get_stats(s, &st);
    assert_int_equal(st.over_limit, 2);
    assert_int_equal(st.max_in_window, 5); /* refused requests count as started */
    assert_int_equal(st.status[200], 5);
    assert_int_equal(st.status[429], 2);
    assert_int_equal(st.requests, 7);
    assert_int_equal(st.endpoint[ALPACA_SIM_EP_ASSETS], 6);

    /* Stats as JSON, then a reset. */
    assert_int_equal(get(s, "/__sim/stats", &r), 200);
    assert_non_null(strstr(buf_cstr(&r.body), "\"over_limit\":2,\"max_in_window\":5"));
    assert_non_null(strstr(buf_cstr(&r.body), "\"status\":{\"200\":5,\"429\":2}"));
    httpd_response_release(&r);
    assert_int_equal(request(s, "GET", "/__sim/reset", 0, &r), 405);
    httpd_response_release(&r);
    assert_int_equal(request(s, "POST", "/__sim/reset", 0, &r), 200);
    httpd_response_release(&r);
    alpaca_sim_get_stats(s, &st);
    assert_int_equal(st.requests, 0);
    assert_int_equal(st.max_in_window, 0);
    assert_int_equal(get(s, t, &r), 200); /* the window was emptied too */
    assert_int_equal(header_int(&r, "X-RateLimit-Remaining"), 2);
    httpd_response_release(&r);
    alpaca_sim_free(s);
}

/* The data API's 429 with only the X-RateLimit-* headers; a paid plan without the delay. */
static void test_plans_and_bare_429(void **state)
{
    (void)state;
    reset_clock();
    struct alpaca_sim_opts o;
    base_opts(&o);
    o.rate_limit = 1;
    o.rate_window_ms = 10000;
    o.no_retry_after = 1;
    struct alpaca_sim *s = new_sim(&o);
    const char *t = "/v2/assets?status=active&asset_class=us_equity";
    struct httpd_response r;
    int64_t t0 = fake_now_ms;
    assert_int_equal(get(s, t, &r), 200);
    httpd_response_release(&r);
    assert_int_equal(get(s, t, &r), 429);
    assert_null(header(&r, "Retry-After"));
    assert_int_equal(header_int(&r, "X-RateLimit-Remaining"), 0);
    assert_int_equal(header_int(&r, "X-RateLimit-Reset"), (t0 + 10000) / 1000);
    assert_int_equal(header_int(&r, "X-RateLimit-Limit"), 1);
    httpd_response_release(&r);
    /* The market data API has its own budget: a bars request still goes through. */
    assert_int_equal(get(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Day&start=2026-11-02", &r),
                     200);
    assert_int_equal(header_int(&r, "X-RateLimit-Remaining"), 0);
    httpd_response_release(&r);
    assert_int_equal(get(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Day&start=2026-11-02", &r),
                     429);
    httpd_response_release(&r);
    /* And so does the trading API's: the account is still over its own limit. */
    assert_int_equal(get(s, "/v2/account", &r), 429);
    httpd_response_release(&r);
    alpaca_sim_free(s);
    /* The 429 fault too. */
    base_opts(&o);
    o.no_retry_after = 1;
    struct alpaca_fault f;
    struct diag d;
    assert_int_equal(alpaca_fault_parse("429@1", &f, &d), ERR_OK);
    struct alpaca_fault_opts fo;
    alpaca_fault_opts_default(&fo);
    fo.faults = &f;
    fo.nfaults = 1;
    struct alpaca_fault_set *fs = with_faults(&o, &fo);
    s = new_sim(&o);
    assert_int_equal(get(s, "/v2/stocks/bars?symbols=AAA&timeframe=1Day&start=2026-11-02", &r),
                     429);
    assert_null(header(&r, "Retry-After"));
    assert_non_null(header(&r, "X-RateLimit-Reset"));
    httpd_response_release(&r);
    alpaca_sim_free(s);
    alpaca_fault_set_free(fs);
    o.hooks = (struct alpaca_sim_hooks){0};

    /* Free plan (the default): the last 15 minutes of SIP data are refused; paid: served. */
    const char *recent = "/v2/stocks/bars?symbols=AAA&timeframe=1Day&start=2026-11-20"
                         "&end=2026-11-25T16:50:00Z&feed=sip";
    base_opts(&o);
    assert_true(o.free_plan);
    s = new_sim(&o);
    expect_status(s, recent, 403,
                  "{\"message\":\"subscription does not permit querying recent SIP data\"}");
    alpaca_sim_free(s);
    o.free_plan = 0;
    s = new_sim(&o);
    expect_status(s, recent, 200, NULL);
    alpaca_sim_free(s);
}

static void test_faults(void **state)
{
    (void)state;
    reset_clock();
    struct alpaca_sim_opts o;
    base_opts(&o);
    static const char *const specs[] = {
        "429@1",        "500@2",       "502@3",       "503@4",        "slow@5",
        "reset@6",      "truncate@7",  "malformed@8", "html403@9",    "neverending@10x2",
        "wrongtype@12", "badprice@13", "highlow@14",  "duptime@15x2",
    };
    enum { NSPECS = sizeof specs / sizeof specs[0] };
    struct alpaca_fault faults[NSPECS];
    struct diag d;
    for (size_t i = 0; i < NSPECS; i++)
        assert_int_equal(alpaca_fault_parse(specs[i], &faults[i], &d), ERR_OK);
    struct alpaca_fault_opts fo;
    alpaca_fault_opts_default(&fo);
    fo.faults = faults;
    fo.nfaults = NSPECS;
    fo.slow_ms = 15000;
    struct alpaca_fault_set *fs = with_faults(&o, &fo);
    struct alpaca_sim *s = new_sim(&o);
    char base[256];
    snprintf(base, sizeof base,
             "/v2/stocks/bars?symbols=%s,%s&timeframe=1Day&start=2026-10-01&end=2026-10-30",
             alpaca_sim_symbol(s, 2), alpaca_sim_symbol(s, 9));
    struct httpd_response r;

    assert_int_equal(get(s, base, &r), 429); /* 1 */
    assert_string_equal(header(&r, "Retry-After"), "1");
    httpd_response_release(&r);
    assert_int_equal(get(s, base, &r), 500); /* 2 */
    httpd_response_release(&r);
    assert_int_equal(get(s, base, &r), 502); /* 3 */
    assert_non_null(strstr(buf_cstr(&r.body), "<center><h1>502 Bad Gateway</h1></center>"));
    httpd_response_release(&r);
    assert_int_equal(get(s, base, &r), 503); /* 4 */
    httpd_response_release(&r);
    int64_t before = fake_now_ms;
    assert_int_equal(get(s, base, &r), 200); /* 5: slow, then the normal answer */
    assert_true(fake_now_ms - before >= 15000);
    struct page normal;
    parse_page(buf_cstr(&r.body), &normal);
    assert_int_equal(normal.n, 2 * 22);
    httpd_response_release(&r);
    get(s, base, &r); /* 6 */
    assert_int_equal(r.action, HTTPD_DROP);
    httpd_response_release(&r);
    assert_int_equal(get(s, base, &r), 200); /* 7 */
    assert_int_equal(r.action, HTTPD_TRUNCATE);
    httpd_response_release(&r);
    assert_int_equal(get(s, base, &r), 200); /* 8 */
    assert_int_equal(r.action, HTTPD_REPLY);
    assert_non_null(strstr(buf_cstr(&r.body), "{]"));
    assert_string_equal(header(&r, "Content-Type"), "application/json; charset=UTF-8");
    httpd_response_release(&r);
    assert_int_equal(get(s, base, &r), 403); /* 9 */
    assert_int_equal(strncmp(buf_cstr(&r.body), "<html>", 6), 0);
    httpd_response_release(&r);

    /* 10, 11: the next page is this page, again and again. */
    char target[1200], tok[768];
    snprintf(target, sizeof target, "%s&limit=5", base);
    assert_int_equal(get(s, target, &r), 200);
    struct page p1, p2;
    parse_page(buf_cstr(&r.body), &p1);
    httpd_response_release(&r);
    assert_true(p1.token[0]);
    encode_token(p1.token, tok, sizeof tok);
    snprintf(target, sizeof target, "%s&limit=5&page_token=%s", base, tok);
    assert_int_equal(get(s, target, &r), 200);
    parse_page(buf_cstr(&r.body), &p2);
    httpd_response_release(&r);
    assert_string_equal(p1.token, p2.token);
    assert_int_equal(p2.n, 5);
    assert_string_equal(p1.v[0].t, p2.v[0].t);
    page_release(&p1);
    page_release(&p2);

    /* 12 .. 16: one bar of the page is bad, the rest as normal. */
    static const char *const needles[] = {"\"o\":\"abc\"", "\"c\":0,"};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(get(s, base, &r), 200);
        assert_non_null(strstr(buf_cstr(&r.body), needles[k]));
        httpd_response_release(&r);
    }
    assert_int_equal(get(s, base, &r), 200); /* 14: high below low */
    struct page p;
    parse_page(buf_cstr(&r.body), &p);
    int bad = 0;
    for (size_t i = 0; i < p.n; i++)
        bad += fixed_of(p.v[i].h) < fixed_of(p.v[i].l);
    assert_int_equal(bad, 1);
    page_release(&p);
    httpd_response_release(&r);
    for (int limit = 44; limit >= 1; limit -= 43) { /* 15, 16: a repeated time */
        snprintf(target, sizeof target, "%s&limit=%d", base, limit);
        assert_int_equal(get(s, target, &r), 200);
        parse_page(buf_cstr(&r.body), &p);
        int dups = 0;
        for (size_t i = 0; i < p.n; i++)
            for (size_t j = i + 1; j < p.n; j++)
                dups += !strcmp(p.v[i].sym, p.v[j].sym) && !strcmp(p.v[i].t, p.v[j].t);
        assert_int_equal(dups, 1);
        page_release(&p);
        httpd_response_release(&r);
    }
    /* 17: back to normal. */
    assert_int_equal(get(s, base, &r), 200);
    parse_page(buf_cstr(&r.body), &p);
    assert_int_equal(p.n, normal.n);
    for (size_t i = 0; i < p.n; i++)
        assert_memory_equal(&p.v[i], &normal.v[i], sizeof p.v[i]);
    page_release(&p);
    page_release(&normal);
    httpd_response_release(&r);

    /* Other endpoints neither take ordinals nor get faults. */
    assert_int_equal(get(s, "/v2/assets", &r), 200);
    httpd_response_release(&r);
    struct alpaca_sim_stats st;
    alpaca_sim_get_stats(s, &st);
    assert_int_equal(st.bars_ordinal, 17);
    assert_int_equal(st.altered, 16);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.endpoint[ALPACA_SIM_EP_BARS], 17);
    alpaca_sim_free(s);
    alpaca_fault_set_free(fs);

    /* Spec syntax. */
    struct alpaca_fault f;
    assert_int_equal(alpaca_fault_parse("slow@3x4", &f, &d), ERR_OK);
    assert_int_equal(f.kind, ALPACA_FAULT_SLOW);
    assert_int_equal(f.first, 3);
    assert_int_equal(f.count, 4);
    assert_string_equal(alpaca_fault_name(f.kind), "slow");
    static const char *const bad_specs[] = {"slow",   "slow@0", "slow@1x0", "fast@1",
                                            "429@x2", "500@1x", "500@-1",   ""};
    for (size_t i = 0; i < sizeof bad_specs / sizeof bad_specs[0]; i++)
        assert_int_equal(alpaca_fault_parse(bad_specs[i], &f, &d), ERR_INVALID);
    struct split sp;
    assert_int_equal(alpaca_sim_split_parse("BRK.B:2026-06-10:1.5:1", &sp, &d), ERR_OK);
    assert_string_equal(sp.symbol, "BRK.B");
    assert_int_equal(sp.new_rate, 1500000);
    assert_int_equal(sp.old_rate, 1000000);
    static const char *const bad_splits[] = {"ABC:2026-06-10:4", "ABC:2026-06-31:4:1",
                                             "abc:2026-06-10:4:1", "ABC:2026-06-10:0:1",
                                             "ABC:2026-06-10:4:x"};
    for (size_t i = 0; i < sizeof bad_splits / sizeof bad_splits[0]; i++)
        assert_int_equal(alpaca_sim_split_parse(bad_splits[i], &sp, &d), ERR_INVALID);
}

/* Bars of one symbol in a bars answer: how many, and the first and last date. */
static size_t bars_of(const char *body, const char *symbol, int32_t *first, int32_t *last)
{
    struct alpaca_page p;
    alpaca_page_init(&p);
    struct diag d;
    assert_int_equal(alpaca_parse_bars(body, strlen(body), &p, NULL, NULL, &d), ERR_OK);
    size_t n = 0;
    *first = INT32_MAX;
    *last = INT32_MIN;
    for (size_t i = 0; i < p.bars.n; i++) {
        if (strcmp(p.bars.v[i].symbol, symbol) != 0)
            continue;
        n++;
        if (p.bars.v[i].date < *first)
            *first = p.bars.v[i].date;
        if (p.bars.v[i].date > *last)
            *last = p.bars.v[i].date;
    }
    alpaca_page_release(&p);
    return n;
}

/* Unit splits, stock dividends and symbol changes, in Alpaca's wire format, published
 * actions_delay trading days after their date and filtered by process date; a renamed
 * symbol's bars under the old name until the change, under the new one from it, and its
 * whole history under the new one from the day after. */
/* Every answer is held latency_ms, whatever it is (bars, corporate actions, a refusal), and
 * a slow fault's hold comes on top of it. */
static void test_latency(void **state)
{
    (void)state;
    reset_clock();
    struct alpaca_sim_opts o;
    base_opts(&o);
    o.latency_ms = 250;
    struct alpaca_fault slow = {ALPACA_FAULT_SLOW, 2, 1};
    struct alpaca_fault_opts fo;
    alpaca_fault_opts_default(&fo);
    fo.slow_ms = 1000;
    fo.faults = &slow;
    fo.nfaults = 1;
    struct alpaca_fault_set *fs = with_faults(&o, &fo);
    struct alpaca_sim *s = new_sim(&o);
    char bars[256];
    snprintf(bars, sizeof bars,
             "/v2/stocks/bars?symbols=%s&timeframe=1Day&start=2026-10-01&end=2026-10-30",
             alpaca_sim_symbol(s, 2));
    struct httpd_response r;
    int64_t before = fake_now_ms;
    assert_int_equal(get(s, bars, &r), 200);
    assert_int_equal(fake_now_ms - before, 250);
    httpd_response_release(&r);
    before = fake_now_ms;
    assert_int_equal(get(s, bars, &r), 200); /* the slow fault */
    assert_int_equal(fake_now_ms - before, 1250);
    httpd_response_release(&r);
    before = fake_now_ms;
    assert_int_equal(get(s, "/v1/corporate-actions?symbols=AAA&types=forward_split", &r), 200);
    assert_int_equal(fake_now_ms - before, 250);
    httpd_response_release(&r);
    before = fake_now_ms;
    assert_int_equal(request(s, "GET", bars, 0, &r), 403);
    assert_int_equal(fake_now_ms - before, 250);
    httpd_response_release(&r);
    /* Changed while it serves; a bad value is refused and changes nothing. */
    assert_int_equal(request(s, "POST", "/__sim/latency?ms=40", 0, &r), 200);
    httpd_response_release(&r);
    static const char *const bad[] = {"/__sim/latency", "/__sim/latency?ms=-1",
                                      "/__sim/latency?ms=60001", "/__sim/latency?ms=5x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(request(s, "POST", bad[i], 0, &r), 400);
        httpd_response_release(&r);
    }
    before = fake_now_ms;
    assert_int_equal(get(s, bars, &r), 200);
    assert_int_equal(fake_now_ms - before, 40);
    httpd_response_release(&r);
    alpaca_sim_free(s);
    o.latency_ms = -1;
    struct alpaca_sim *none;
    struct diag d;
    assert_int_equal(alpaca_sim_new(&o, &none, &d), ERR_INVALID);
    alpaca_fault_set_free(fs);
}

static void test_unit_splits_dividends_renames(void **state)
{
    (void)state;
    reset_clock(); /* 2026-11-25 */
    struct alpaca_sim_opts o;
    base_opts(&o);
    struct alpaca_sim *s0 = new_sim(&o);
    struct split unit, div;
    struct symchange ren;
    struct diag d;
    char spec[64], old[BAR_SYMBOL_MAX + 1];
    snprintf(spec, sizeof spec, "%s:2026-11-16:3:1", alpaca_sim_symbol(s0, 4));
    assert_int_equal(alpaca_sim_split_parse(spec, &unit, &d), ERR_OK);
    snprintf(spec, sizeof spec, "%s:2026-11-17:1.05:1", alpaca_sim_symbol(s0, 5));
    assert_int_equal(alpaca_sim_split_parse(spec, &div, &d), ERR_OK);
    snprintf(old, sizeof old, "%s", alpaca_sim_symbol(s0, 6));
    snprintf(spec, sizeof spec, "%s:NEWCO:2026-11-18", old);
    assert_int_equal(alpaca_sim_rename_parse(spec, &ren, &d), ERR_OK);
    assert_int_equal(alpaca_sim_rename_parse("A:A:2026-11-18", &ren, &d), ERR_INVALID);
    assert_int_equal(alpaca_sim_rename_parse(spec, &ren, &d), ERR_OK);
    alpaca_sim_free(s0);
    o.unit_splits = &unit;
    o.nunit_splits = 1;
    o.stock_dividends = &div;
    o.nstock_dividends = 1;
    o.renames = &ren;
    o.nrenames = 1;
    o.actions_delay = 3;
    struct alpaca_sim *s = new_sim(&o);
    struct httpd_response r;
    assert_int_equal(get(s,
                         "/v1/corporate-actions?types=unit_split,stock_dividend,name_change"
                         "&start=2026-11-01&end=2026-11-30",
                         &r),
                     200);
    const char *body = buf_cstr(&r.body);
    assert_non_null(strstr(body, "\"unit_splits\":[{\"id\":\""));
    assert_non_null(strstr(body, "\"effective_date\":\"2026-11-16\""));
    assert_non_null(strstr(body, "\"stock_dividends\":[{\"id\":\""));
    assert_non_null(strstr(body, "\"rate\":0.05,"));
    assert_non_null(strstr(body, "\"name_changes\":[{\"id\":\""));
    assert_non_null(strstr(body, "\"new_symbol\":\"NEWCO\",\"new_cusip\":\""));
    assert_null(strstr(body, "forward_splits"));
    /* What the collector reads of it. */
    struct splitvec sv;
    struct symchangevec cv;
    splitvec_init(&sv);
    symchangevec_init(&cv);
    char next[ALPACA_TOKEN_MAX];
    assert_int_equal(alpaca_parse_actions(body, strlen(body), &sv, &cv, next, NULL, NULL, &d),
                     ERR_OK);
    assert_int_equal(sv.n, 2);
    assert_int_equal(cv.n, 1);
    assert_string_equal(cv.v[0].old_symbol, old);
    assert_int_equal(cv.v[0].date, day_of("2026-11-18"));
    splitvec_release(&sv);
    symchangevec_release(&cv);
    httpd_response_release(&r);

    /* Three trading days after its date, the symbol change is not published yet on the 20th
     * (the 23rd), though its process date is in the range; the old symbol finds it too. */
    fake_now_ms = (int64_t)day_of("2026-11-20") * 86400000 + 17 * 3600000;
    char target[256];
    snprintf(target, sizeof target,
             "/v1/corporate-actions?symbols=%s&start=2026-11-01&end=2026-11-30", old);
    expect_status(s, target, 200, "{\"corporate_actions\":{},\"next_page_token\":null}");
    reset_clock();
    assert_int_equal(get(s, target, &r), 200);
    assert_non_null(strstr(buf_cstr(&r.body), "\"name_changes\":[{"));
    httpd_response_release(&r);

    /* Bars: the old symbol until the 17th, the new one with the whole history now. */
    int32_t first, last;
    snprintf(target, sizeof target,
             "/v2/stocks/bars?symbols=NEWCO,%s&timeframe=1Day&start=2026-11-02&end=2026-11-20"
             "&limit=10000",
             old);
    assert_int_equal(get(s, target, &r), 200);
    assert_int_equal(bars_of(buf_cstr(&r.body), old, &first, &last), 12);
    assert_int_equal(last, day_of("2026-11-17"));
    assert_int_equal(bars_of(buf_cstr(&r.body), "NEWCO", &first, &last), 15);
    assert_int_equal(first, day_of("2026-11-02"));
    httpd_response_release(&r);
    /* On the day of the change, the mapping is not there yet: only the new days. */
    fake_now_ms = (int64_t)day_of("2026-11-18") * 86400000 + 23 * 3600000;
    snprintf(target, sizeof target,
             "/v2/stocks/bars?symbols=NEWCO,%s&timeframe=1Day&start=2026-11-02"
             "&end=2026-11-18T12:00:00Z&limit=10000",
             old);
    assert_int_equal(get(s, target, &r), 200);
    assert_int_equal(bars_of(buf_cstr(&r.body), "NEWCO", &first, &last), 1);
    assert_int_equal(first, day_of("2026-11-18"));
    httpd_response_release(&r);
    /* Paging one bar at a time gives the same bars. */
    reset_clock();
    size_t total = 0;
    char token[128] = "";
    for (int pages = 0; pages < 100; pages++) {
        snprintf(target, sizeof target,
                 "/v2/stocks/bars?symbols=NEWCO,%s&timeframe=1Day&start=2026-11-02"
                 "&end=2026-11-20&limit=4%s%s",
                 old, token[0] ? "&page_token=" : "", token);
        assert_int_equal(get(s, target, &r), 200);
        total += bars_of(buf_cstr(&r.body), "NEWCO", &first, &last) +
                 bars_of(buf_cstr(&r.body), old, &first, &last);
        const char *tok = strstr(buf_cstr(&r.body), "\"next_page_token\":\"");
        token[0] = '\0';
        if (tok) {
            tok += strlen("\"next_page_token\":\"");
            size_t tl = strcspn(tok, "\""), o2 = 0;
            for (size_t i = 0; i < tl; i++)
                o2 += (size_t)snprintf(token + o2, sizeof token - o2, tok[i] == '=' ? "%%3D" : "%c",
                                       tok[i]);
        }
        httpd_response_release(&r);
        if (!token[0])
            break;
    }
    assert_int_equal(total, 27);
    alpaca_sim_free(s);
}

static void test_corporate_actions(void **state)
{
    (void)state;
    reset_clock();
    struct alpaca_sim_opts o;
    base_opts(&o);
    o.nsymbols = 400; /* a few random splits besides symbol 0's */
    struct alpaca_sim *s0 = new_sim(&o);
    struct split extra[2];
    struct diag d;
    char spec[64];
    snprintf(spec, sizeof spec, "%s:2026-02-02:1:10", alpaca_sim_symbol(s0, 11));
    assert_int_equal(alpaca_sim_split_parse(spec, &extra[0], &d), ERR_OK);
    snprintf(spec, sizeof spec, "%s:2025-09-15:5:4", alpaca_sim_symbol(s0, 12));
    assert_int_equal(alpaca_sim_split_parse(spec, &extra[1], &d), ERR_OK);
    alpaca_sim_free(s0);
    o.splits = extra;
    o.nsplits = 2;
    struct alpaca_sim *s = new_sim(&o);
    const char *base = "/v1/corporate-actions?start=2025-01-01&end=2026-12-31";
    char all[128];
    snprintf(all, sizeof all, "%s&limit=1000", base);
    struct httpd_response r;
    assert_int_equal(get(s, all, &r), 200);
    char *full = strdup(buf_cstr(&r.body));
    httpd_response_release(&r);
    size_t n = 0;
    for (const char *p = full; (p = strstr(p, "\"id\":")); p++)
        n++;
    assert_true(n >= 4);
    assert_non_null(strstr(full, "\"reverse_splits\":[{"));
    assert_non_null(strstr(full, "\"new_rate\":1,\"old_rate\":10"));
    assert_non_null(strstr(full, "\"new_rate\":5,\"old_rate\":4"));
    assert_non_null(strstr(full, "\"next_page_token\":null}"));

    /* Paging one or two at a time gives the same items in the same order. */
    for (int limit = 1; limit <= 3; limit++) {
        char token[128] = "", target[512];
        size_t seen = 0;
        char *found = strdup(full);
        for (int pages = 0;; pages++) {
            assert_true(pages < 100);
            snprintf(target, sizeof target, "%s&limit=%d%s%s", base, limit,
                     token[0] ? "&page_token=" : "", token);
            assert_int_equal(get(s, target, &r), 200);
            const char *body = buf_cstr(&r.body);
            size_t here = 0;
            for (const char *p = body; (p = strstr(p, "\"id\":\"")); p++) {
                /* Each id is one of the full answer's, and comes only once. */
                char id[43];
                memcpy(id, p, 42);
                id[42] = '\0';
                char *at = strstr(found, id);
                assert_non_null(at);
                at[1] = '#';
                here++;
            }
            assert_true(here <= (size_t)limit);
            seen += here;
            const char *tok = strstr(body, "\"next_page_token\":\"");
            if (!tok) {
                httpd_response_release(&r);
                break;
            }
            tok += strlen("\"next_page_token\":\"");
            size_t tl = strcspn(tok, "\"");
            size_t o2 = 0;
            for (size_t i = 0; i < tl; i++)
                o2 += (size_t)snprintf(token + o2, sizeof token - o2, tok[i] == '=' ? "%%3D" : "%c",
                                       tok[i]);
            httpd_response_release(&r);
        }
        assert_int_equal(seen, n);
        free(found);
    }
    free(full);

    /* Filters. */
    char target[256];
    snprintf(target, sizeof target,
             "/v1/corporate-actions?symbols=%s&types=reverse_split&start=2025-01-01"
             "&end=2026-12-31",
             alpaca_sim_symbol(s, 11));
    assert_int_equal(get(s, target, &r), 200);
    assert_non_null(strstr(buf_cstr(&r.body), "{\"corporate_actions\":{\"reverse_splits\":[{"));
    assert_non_null(strstr(buf_cstr(&r.body), "\"old_cusip\":\""));
    assert_null(strstr(buf_cstr(&r.body), "forward_splits"));
    httpd_response_release(&r);
    expect_status(s,
                  "/v1/corporate-actions?types=cash_dividend,name_change&start=2025-01-01"
                  "&end=2026-12-31",
                  200, "{\"corporate_actions\":{},\"next_page_token\":null}");
    /* Both dates default to today (2026-11-25 here): nothing. */
    expect_status(s, "/v1/corporate-actions", 200,
                  "{\"corporate_actions\":{},\"next_page_token\":null}");
    expect_status(s, "/v1/corporate-actions?types=forward_splits", 400, NULL);
    expect_status(s, "/v1/corporate-actions?limit=0", 422, NULL);
    expect_status(s, "/v1/corporate-actions?limit=1001", 422, NULL);
    expect_status(s, "/v1/corporate-actions?start=2026-1-1", 400, NULL);
    expect_status(s, "/v1/corporate-actions?start=2026-02-01&end=2026-01-01", 422, NULL);
    expect_status(s, "/v1/corporate-actions?page_token=bm9wZQ%3D%3D", 400, NULL);
    alpaca_sim_free(s);
}

static void test_assets(void **state)
{
    (void)state;
    reset_clock();
    struct alpaca_sim_opts o;
    base_opts(&o);
    struct alpaca_sim *s = new_sim(&o);
    struct httpd_response r;
    assert_int_equal(get(s, "/v2/assets?status=active&asset_class=us_equity", &r), 200);
    const char *body = buf_cstr(&r.body);
    assert_int_equal(body[0], '[');
    size_t n = 0;
    for (const char *p = body; (p = strstr(p, "\"class\":\"us_equity\"")); p++)
        n++;
    assert_int_equal(n, alpaca_sim_nsymbols(s));
    for (size_t i = 0; i < alpaca_sim_nsymbols(s); i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "\"symbol\":\"%s\"", alpaca_sim_symbol(s, i));
        assert_non_null(strstr(body, needle));
    }
    assert_non_null(strstr(body, "\"status\":\"active\",\"tradable\":true"));
    httpd_response_release(&r);
    expect_status(s, "/v2/assets?status=inactive", 200, "[]");
    expect_status(s, "/v2/assets?asset_class=crypto", 200, "[]");
    expect_status(s, "/v2/assets/NOPE", 404, NULL);
    char target[64];
    snprintf(target, sizeof target, "/v2/assets/%s", alpaca_sim_symbol(s, 0));
    assert_int_equal(get(s, target, &r), 200);
    assert_int_equal(buf_cstr(&r.body)[0], '{');
    httpd_response_release(&r);
    alpaca_sim_free(s);
}

static void test_holdings_csv(void **state)
{
    (void)state;
    reset_clock();
    struct alpaca_sim_opts o;
    base_opts(&o);
    struct alpaca_sim *s = new_sim(&o);
    struct httpd_response r;
    assert_int_equal(request(s, "GET", "/iwb_holdings.csv", 0, &r), 200);
    assert_string_equal(header(&r, "Content-Type"), "text/csv");
    char *csv = strdup(buf_cstr(&r.body));
    httpd_response_release(&r);
    assert_int_equal(strncmp(csv, "\xEF\xBB\xBFiShares Russell 1000 ETF\n", 28), 0);
    assert_non_null(strstr(csv, "\nFund Holdings as of,\"Nov 20, 2026\"\n"));
    const char *header_line = strstr(csv, "\nTicker,Name,Sector,Asset Class,Market Value,Weight "
                                          "(%),Notional Value,Quantity,Price,Location,Exchange,"
                                          "Currency,FX Rate,Market Currency,Accrual Date\n");
    assert_non_null(header_line);
    /* The line before the header is blank (a no-break space). */
    assert_int_equal(strncmp(header_line - 3, "\n\xC2\xA0", 3), 0);
    size_t equity = 0, cash = 0, futures = 0, stub = 0, lines = 0;
    char *save = NULL;
    char *rows = strdup(strchr(header_line + 1, '\n') + 1);
    int after_blank = 0, footer = 0;
    for (char *line = strtok_r(rows, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strcmp(line, "\xC2\xA0") == 0) {
            after_blank = 1;
            continue;
        }
        if (after_blank) {
            footer += strncmp(line, "\"The content", 12) == 0;
            continue;
        }
        lines++;
        assert_int_equal(line[0], '"');
        equity += strstr(line, "\",\"Equity\",\"") != NULL;
        cash += strstr(line, "\",\"Cash\",\"") != NULL;
        futures += strstr(line, "\",\"Futures\",\"") != NULL;
        stub += strstr(line, "\"NO MARKET (E.G. UNLISTED)\"") != NULL;
    }
    free(rows);
    assert_int_equal(equity, alpaca_sim_nsymbols(s) + 1);
    assert_int_equal(cash, 1);
    assert_int_equal(futures, 1);
    assert_int_equal(stub, 1);
    assert_int_equal(footer, 1);
    assert_int_equal(lines, alpaca_sim_nsymbols(s) + 3);
    for (size_t i = 0; i < alpaca_sim_nsymbols(s); i++) {
        char needle[32];
        snprintf(needle, sizeof needle, "\n\"%s\",\"", alpaca_sim_symbol(s, i));
        assert_non_null(strstr(csv, needle));
    }
    /* Numbers carry thousands separators. */
    assert_non_null(strstr(csv, ",000.00\",\""));
    free(csv);
    alpaca_sim_free(s);
}

static void test_no_secrets_in_logs(void **state)
{
    (void)state;
    reset_clock();
    FILE *logf = tmpfile();
    assert_non_null(logf);
    log_set_stream(logf);
    log_setup(LOG_DEBUG, LOG_FORMAT_JSON);
    struct alpaca_sim_opts o;
    base_opts(&o);
    o.secret = "S3CRET-VALUE-42";
    struct alpaca_sim *s = new_sim(&o);
    /* A wrong secret is not registered anywhere: it must simply never be written. */
    const char *headers[] = {"APCA-API-KEY-ID: SIMKEY", "APCA-API-SECRET-KEY: WRONG-GUESS-99"};
    struct httpd_request req = {.method = "GET",
                                .target = "/v2/assets?x=1",
                                .path = "/v2/assets",
                                .query = "x=1",
                                .headers = headers,
                                .nheaders = 2,
                                .body = ""};
    struct httpd_response r;
    httpd_response_init(&r, 1 << 20);
    alpaca_sim_handle(s, &req, &r);
    assert_int_equal(r.status, 403);
    httpd_response_release(&r);
    headers[1] = "APCA-API-SECRET-KEY: S3CRET-VALUE-42";
    httpd_response_init(&r, 1 << 20);
    alpaca_sim_handle(s, &req, &r);
    assert_int_equal(r.status, 200);
    httpd_response_release(&r);
    alpaca_sim_free(s);
    log_setup(LOG_WARN, LOG_FORMAT_JSON);
    log_set_stream(stderr);
    long n = ftell(logf);
    assert_true(n > 0); /* the requests were logged */
    char *text = calloc(1, (size_t)n + 1);
    rewind(logf);
    assert_int_equal(fread(text, 1, (size_t)n, logf), (size_t)n);
    fclose(logf);
    assert_non_null(strstr(text, "/v2/assets"));
    assert_null(strstr(text, "S3CRET-VALUE-42"));
    assert_null(strstr(text, "WRONG-GUESS-99"));
    free(text);
}

/* The longest market `screener demo --years` offers: the simulator serves it (a long random
 * walk once left the range it packs bars in: "bar ... out of range"). */
static void test_fifty_years(void **state)
{
    (void)state;
    reset_clock();
    struct alpaca_sim_opts o;
    base_opts(&o);
    o.seed = 42;
    o.nsymbols = 200;
    o.first_day = day_of("1976-11-20");
    struct alpaca_sim *s = new_sim(&o);
    char target[256];
    snprintf(target, sizeof target,
             "/v2/stocks/bars?symbols=%s&timeframe=1Day&start=1976-11-22&end=1976-11-30",
             alpaca_sim_symbol(s, 0));
    struct httpd_response r;
    assert_int_equal(get(s, target, &r), 200);
    struct page p;
    parse_page(buf_cstr(&r.body), &p);
    assert_int_equal(p.n, 6); /* 22-24, 26, 29, 30: Thanksgiving and a weekend out */
    page_release(&p);
    httpd_response_release(&r);
    alpaca_sim_free(s);
}

static void test_served_over_http(void **state)
{
    (void)state;
    reset_clock();
    clock_set_source(NULL); /* server threads and real sockets */
    struct alpaca_sim_opts o;
    base_opts(&o);
    struct alpaca_fault slow = {ALPACA_FAULT_SLOW, 1, 1};
    struct alpaca_fault_opts fo;
    alpaca_fault_opts_default(&fo);
    fo.slow_ms = 60000;
    fo.faults = &slow;
    fo.nfaults = 1;
    struct alpaca_fault_set *fs = with_faults(&o, &fo);
    struct alpaca_sim *s;
    int port;
    struct diag d;
    assert_int_equal(alpaca_sim_start(&o, &s, &port, &d), ERR_OK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    const char req[] = "GET /__sim/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_int_equal(send(fd, req, sizeof req - 1, 0), (ssize_t)(sizeof req - 1));
    char resp[4096];
    size_t n = 0;
    ssize_t got;
    while ((got = recv(fd, resp + n, sizeof resp - 1 - n, 0)) > 0)
        n += (size_t)got;
    resp[n] = '\0';
    close(fd);
    assert_int_equal(strncmp(resp, "HTTP/1.1 200", 12), 0);
    assert_non_null(strstr(resp, "\"requests\":0"));
    /* A slow response in progress does not hold up stopping for its full minute. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    const char bars[] = "GET /v2/stocks/bars?symbols=AAA&timeframe=1Day HTTP/1.1\r\nHost: x\r\n"
                        "APCA-API-KEY-ID: SIMKEY\r\nAPCA-API-SECRET-KEY: SIMSECRET\r\n\r\n";
    assert_int_equal(send(fd, bars, sizeof bars - 1, 0), (ssize_t)(sizeof bars - 1));
    struct alpaca_sim_stats st;
    for (int i = 0; i < 2000; i++) {
        alpaca_sim_get_stats(s, &st);
        if (st.bars_ordinal)
            break;
        usleep(1000);
    }
    assert_int_equal(st.bars_ordinal, 1);
    int64_t t0 = clock_mono_ms();
    alpaca_sim_stop(s);
    assert_true(clock_mono_ms() - t0 < 10000);
    close(fd);
    alpaca_fault_set_free(fs);
    clock_set_source(&fake_clock);
}

static int group_setup(void **state)
{
    log_setup(LOG_WARN, LOG_FORMAT_JSON);
    clock_set_source(&fake_clock);
    return 0;
}

static int group_teardown(void **state)
{
    clock_set_source(NULL);
    return 0;
}

/* A day's bar changes until 20:00 New York by the simulator's clock; a corporate action with a
 * delay is published (and filtered) on its process date, days after its ex-date. */
static void test_settling_bars_and_late_actions(void **state)
{
    (void)state;
    struct alpaca_sim_opts o;
    base_opts(&o);
    struct alpaca_sim *s = new_sim(&o);
    char sym[BAR_SYMBOL_MAX + 1];
    snprintf(sym, sizeof sym, "%s", alpaca_sim_symbol(s, 0));
    char target[256];
    snprintf(target, sizeof target,
             "/v2/stocks/bars?symbols=%s&timeframe=1Day&start=2026-11-20&end=2026-11-20T20:00:00Z"
             "&feed=sip",
             sym);
    struct httpd_response r;
    /* Friday 2026-11-20 16:30 New York (21:30 UTC): the day's bar is not complete. */
    fake_now_ms = (int64_t)day_of("2026-11-20") * 86400000 + 21 * 3600000 + 30 * 60000;
    assert_int_equal(get(s, target, &r), 200);
    char *early = strdup(buf_cstr(&r.body));
    httpd_response_release(&r);
    /* 20:00 New York: final; it no longer changes. */
    fake_now_ms = (int64_t)day_of("2026-11-21") * 86400000 + 1 * 3600000;
    assert_int_equal(get(s, target, &r), 200);
    char *final = strdup(buf_cstr(&r.body));
    httpd_response_release(&r);
    fake_now_ms += 86400000;
    assert_int_equal(get(s, target, &r), 200);
    assert_string_equal(buf_cstr(&r.body), final);
    httpd_response_release(&r);
    assert_string_not_equal(early, final);
    /* The volume grew after the close. */
    long long v_early = atoll(strstr(early, "\"v\":") + 4),
              v_final = atoll(strstr(final, "\"v\":") + 4);
    assert_true(v_early < v_final);
    free(early);
    free(final);
    alpaca_sim_free(s);
    /* --settled: final at once. */
    o.settling = 0;
    s = new_sim(&o);
    fake_now_ms = (int64_t)day_of("2026-11-20") * 86400000 + 21 * 3600000 + 30 * 60000;
    assert_int_equal(get(s, target, &r), 200);
    char *at_once = strdup(buf_cstr(&r.body));
    httpd_response_release(&r);
    fake_now_ms = (int64_t)day_of("2026-11-22") * 86400000;
    assert_int_equal(get(s, target, &r), 200);
    assert_string_equal(buf_cstr(&r.body), at_once);
    httpd_response_release(&r);
    free(at_once);
    alpaca_sim_free(s);

    /* A split on Monday 2026-11-16 published on Wednesday (two trading days later). */
    base_opts(&o);
    struct split sp = {.ex_date = day_of("2026-11-16"), .new_rate = 3000000, .old_rate = 1000000};
    snprintf(sp.symbol, sizeof sp.symbol, "%s", sym);
    o.splits = &sp;
    o.nsplits = 1;
    o.actions_delay = 2;
    s = new_sim(&o);
    snprintf(target, sizeof target,
             "/v1/corporate-actions?symbols=%s&types=forward_split&start=2026-11-10&end=2026-11-30",
             sym);
    fake_now_ms = (int64_t)day_of("2026-11-17") * 86400000 + 22 * 3600000; /* Tuesday */
    assert_int_equal(get(s, target, &r), 200);
    assert_null(strstr(buf_cstr(&r.body), "\"ex_date\":\"2026-11-16\""));
    httpd_response_release(&r);
    fake_now_ms += 86400000; /* Wednesday */
    assert_int_equal(get(s, target, &r), 200);
    assert_non_null(
        strstr(buf_cstr(&r.body), "\"process_date\":\"2026-11-18\",\"ex_date\":\"2026-11-16\""));
    httpd_response_release(&r);
    /* Filtered on the process date: a window that ends on the ex-date misses it. */
    snprintf(target, sizeof target,
             "/v1/corporate-actions?symbols=%s&types=forward_split&start=2026-11-10&end=2026-11-16",
             sym);
    assert_int_equal(get(s, target, &r), 200);
    assert_null(strstr(buf_cstr(&r.body), "\"ex_date\":\"2026-11-16\""));
    httpd_response_release(&r);
    alpaca_sim_free(s);
    reset_clock();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pagination_covers_every_bar_once),
        cmocka_unit_test(test_bar_times_and_prices),
        cmocka_unit_test(test_bars_parameters),
        cmocka_unit_test(test_iex_and_missing),
        cmocka_unit_test(test_split_adjustment),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_plans_and_bare_429),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_latency),
        cmocka_unit_test(test_corporate_actions),
        cmocka_unit_test(test_unit_splits_dividends_renames),
        cmocka_unit_test(test_settling_bars_and_late_actions),
        cmocka_unit_test(test_assets),
        cmocka_unit_test(test_holdings_csv),
        cmocka_unit_test(test_no_secrets_in_logs),
        cmocka_unit_test(test_fifty_years),
        cmocka_unit_test(test_served_over_http),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
