/* alpaca_sim.c - the fake Alpaca: a precomputed market, paged out in Alpaca's wire format.
 *
 * The market is generated once at start and kept as one array of compact bars, symbol-major
 * (bar of symbol i on trading day t at i * ndays + t), so a page is a few ranges of that
 * array.  The market data is immutable after start; only the counters, the rate-limit windows
 * and the bars request ordinal change, under one mutex.
 */
#include "sim/alpaca_sim.h"

#include "base/calendar.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/alpaca_auth.h"
#include "codec/crypto.h"
#include "codec/json.h"
#include "codec/num.h"
#include "sim/market.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

#define MAX_LIMIT_BARS     10000
#define DEFAULT_LIMIT_BARS 1000
#define MAX_LIMIT_CA       1000
#define DEFAULT_LIMIT_CA   100
#define SIP_DELAY_MS       (15 * 60 * 1000)
#define HOLD_SLICE_MS      50
#define PARAM_MAX          256

/* A bar in 40 bytes: prices in ten-thousandths of a dollar (the market's finest tick). */
struct sbar {
    int64_t v;
    int64_t vw; /* millionths: an average, not on the tick */
    uint32_t o, h, l, c;
    uint32_t n;
};

struct alpaca_sim {
    struct alpaca_sim_opts o;
    char *key_id, *secret;

    size_t nsym, ndays;
    char (*sym)[BAR_SYMBOL_MAX + 1]; /* sorted */
    unsigned char *hidden;           /* per symbol: the hooks leave its bars out */
    int32_t *days;                   /* the trading days */
    int64_t *day_ms;                 /* each day's bar time: midnight in New York, in UTC */
    char (*day_t)[24];               /* the same as "2024-01-02T05:00:00Z" */
    struct sbar *bars;

    struct split *splits;      /* the market's and the injected ones, by symbol and ex_date */
    unsigned char *split_kind; /* per split: KIND_SPLIT, KIND_UNIT or KIND_STOCK_DIVIDEND */
    size_t nsplits;
    /* Symbol changes: each new name is a virtual symbol nsym + i, serving the bars of the
     * market symbol rename_sym[i] from rename_t[i] (the first day on the new name) on. */
    struct symchange *renames;
    size_t nrenames;
    size_t *rename_sym, *rename_t;
    size_t *split_first, *split_count; /* per symbol */
    size_t *ca_order;                  /* splits by ex_date, then symbol */

    struct httpd *httpd;
    int stopping;       /* atomic */
    int64_t latency_ms; /* atomic: o.latency_ms, then POST /__sim/latency */

    pthread_mutex_t mu;
    struct alpaca_sim_stats st;
    /* Two rate-limit budgets, counted apart as Alpaca does: the market data API (bars,
     * corporate actions) and the trading API (assets, account, positions, history).  Each a
     * ring of the start times of the requests admitted in the window. */
    struct window {
        int64_t *acc;
        size_t acc_head, acc_n;
    } win[2];
    int64_t *started; /* ring: start times of every authenticated API request in the window */
    size_t st_cap, st_head, st_n;
    uint64_t request_seq;
    char *portfolio; /* the scripted trading account, JSON */
    size_t portfolio_len;
};

/* The trading account without a script: a fresh paper account. */
#define DEFAULT_PORTFOLIO "{\"account\":{\"cash\":\"100000\"},\"positions\":[]}"
#define PORTFOLIO_MAX     (1 << 20)

static int set_doc(struct alpaca_sim *s, const char *json, size_t len, int positions_only,
                   struct diag *d);

/* ---- small helpers ---- */

/* A buffer writer that remembers the first error, so that long runs of appends are checked
 * once at the end. */
struct out {
    struct buf *b;
    int err;
};

static void out_puts(struct out *w, const char *s)
{
    if (!w->err)
        w->err = buf_puts(w->b, s);
}

static void out_append(struct out *w, const char *s, size_t n)
{
    if (!w->err)
        w->err = buf_append(w->b, s, n);
}

__attribute__((format(printf, 2, 3))) static void out_printf(struct out *w, const char *fmt, ...)
{
    if (w->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    w->err = buf_vprintf(w->b, fmt, ap);
    va_end(ap);
}

static void out_json_str(struct out *w, const char *s, size_t n)
{
    out_puts(w, "\"");
    if (!w->err)
        w->err = buf_json_escape(w->b, s, n);
    out_puts(w, "\"");
}

static void out_fixed(struct out *w, int64_t millionths)
{
    char num[NUM_FIXED_STRMAX];
    size_t n = num_format_fixed(millionths, num);
    out_append(w, num, n);
}

static uint64_t fnv1a(const char *s, uint64_t salt)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ salt;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A version-4-shaped UUID derived from key. */
static void make_uuid(const char *key, char out[37])
{
    uint64_t a = mix(fnv1a(key, 1)), b = mix(fnv1a(key, 2));
    snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
             (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
             (unsigned long long)(b & 0xffffffffffffULL));
}

/* A syntactically valid CUSIP: 6 issuer characters from the symbol, the issue, the check
 * digit. */
static void make_cusip(const char *symbol, const char *issue, char out[10])
{
    static const char chars[] = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    uint64_t h = mix(fnv1a(symbol, 3));
    for (int i = 0; i < 6; i++) {
        out[i] = chars[h % (sizeof chars - 1)];
        h /= sizeof chars - 1;
    }
    out[6] = issue[0];
    out[7] = issue[1];
    int sum = 0;
    for (int i = 0; i < 8; i++) {
        char c = out[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c - 'A' + 10;
        if (i % 2)
            v *= 2;
        sum += v / 10 + v % 10;
    }
    out[8] = (char)('0' + (10 - sum % 10) % 10);
    out[9] = '\0';
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* out needs 4 * ((n + 2) / 3) + 1 bytes. */
static void b64_encode(const char *in, size_t n, char *out)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = b64chars[(v >> 18) & 63];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
    }
    out[o] = '\0';
}

/* Strict standard base64 with padding; out gets a C string. */
static int b64_decode(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in), o = 0;
    if (n == 0 || n % 4)
        return ERR_PARSE;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char c = in[i + k];
            const char *at = c ? strchr(b64chars, c) : NULL;
            if (c == '=' && i + 4 == n && k >= 2 && (k == 3 || in[i + 3] == '=')) {
                pad++;
                v <<= 6;
            } else if (at && !pad) {
                v = v << 6 | (uint32_t)(at - b64chars);
            } else {
                return ERR_PARSE;
            }
        }
        for (int k = 0; k < 3 - pad; k++) {
            if (o + 1 >= cap)
                return ERR_TOOBIG;
            out[o++] = (char)(v >> (16 - 8 * k));
        }
    }
    out[o] = '\0';
    return strlen(out) == o ? ERR_OK : ERR_PARSE;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* "2024-01-02T05:00:00Z", or with nanoseconds "2024-01-02T05:00:00.000000000Z". */
static void format_utc(int64_t ms, int nanos, char out[40])
{
    int64_t days = floor_div(ms, 86400000);
    int64_t sec = (ms - days * 86400000) / 1000;
    int y, m, d;
    date_to_ymd((int32_t)days, &y, &m, &d);
    snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", y, m, d, (int)(sec / 3600),
             (int)(sec / 60 % 60), (int)(sec % 60), nanos ? ".000000000" : "");
}

static int digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* "YYYY-MM-DD" (midnight in New York, like the bars' own times) or RFC 3339
 * ("2024-01-02T00:00:00Z", "2024-01-02T09:30:00.5-05:00"). */
static int parse_instant(const char *s, int64_t *ms)
{
    size_t n = strlen(s);
    int32_t date;
    if (n < 10 || date_parse(s, 10, &date) != ERR_OK)
        return ERR_PARSE;
    if (n == 10) {
        *ms = cal_ny_to_utc_ms(date, 0);
        return ERR_OK;
    }
    if (n < 20 || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return ERR_PARSE;
    int hh = digits(s + 11, 2), mm = digits(s + 14, 2), ss = digits(s + 17, 2);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
        return ERR_PARSE;
    const char *p = s + 19;
    int64_t frac_ms = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        int64_t scale = 100;
        while (*p >= '0' && *p <= '9') {
            frac_ms += (*p - '0') * scale;
            scale /= 10;
            p++;
            nd++;
        }
        if (nd == 0 || nd > 9)
            return ERR_PARSE;
    }
    int64_t offset_min = 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        offset_min = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh = digits(p + 1, 2), om = digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return ERR_PARSE;
        offset_min = (*p == '-' ? -1 : 1) * (oh * 60 + om);
    } else {
        return ERR_PARSE;
    }
    if (ss == 60)
        ss = 59;
    *ms = (int64_t)date * 86400000 + ((int64_t)hh * 3600 + mm * 60 + ss) * 1000 + frac_ms -
          offset_min * 60000;
    return ERR_OK;
}

static int32_t today_ny(void)
{
    int minute;
    return cal_ny_date(clock_wall_ms(), &minute);
}

static void json_type(struct httpd_response *r)
{
    httpd_response_header(r, "Content-Type", "application/json; charset=UTF-8");
}

void alpaca_sim_reply_json(struct httpd_response *r, int status, const char *json)
{
    json_type(r);
    r->status = status;
    buf_reset(&r->body);
    buf_puts(&r->body, json);
}

/* {"code":code,"message":"..."}; code 0 leaves it out. */
__attribute__((format(printf, 4, 5))) static void reply_error(struct httpd_response *r, int status,
                                                              long code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_type(r);
    r->status = status;
    buf_reset(&r->body);
    struct out w = {&r->body, 0};
    out_puts(&w, "{");
    if (code)
        out_printf(&w, "\"code\":%ld,", code);
    out_puts(&w, "\"message\":");
    out_json_str(&w, msg, strlen(msg));
    out_puts(&w, "}");
}

void alpaca_sim_reply_nginx(struct httpd_response *r, int status, const char *reason)
{
    r->status = status;
    buf_reset(&r->body);
    buf_printf(&r->body,
               "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
               "<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n"
               "</body>\r\n</html>\r\n",
               status, reason, status, reason);
    httpd_response_header(r, "Content-Type", "text/html");
}

void alpaca_sim_reply_429(const struct alpaca_sim *s, struct httpd_response *r,
                          int64_t retry_after_s)
{
    alpaca_sim_reply_json(r, 429, "{\"message\":\"too many requests.\"}");
    if (!s->o.no_retry_after) {
        char v[24];
        snprintf(v, sizeof v, "%lld", (long long)retry_after_s);
        httpd_response_header(r, "Retry-After", v);
    }
}

/* ---- options ---- */

int alpaca_sim_split_parse(const char *spec, struct split *out, struct diag *d)
{
    const char *c1 = strchr(spec, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    const char *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
    if (!c3)
        goto bad;
    size_t slen = (size_t)(c1 - spec);
    memset(out, 0, sizeof *out);
    if (!bar_symbol_valid(spec, slen))
        goto bad;
    memcpy(out->symbol, spec, slen);
    if (date_parse(c1 + 1, (size_t)(c2 - c1 - 1), &out->ex_date) != ERR_OK)
        goto bad;
    if (num_parse_fixed(c2 + 1, (size_t)(c3 - c2 - 1), &out->new_rate) != ERR_OK ||
        num_parse_fixed(c3 + 1, strlen(c3 + 1), &out->old_rate) != ERR_OK || out->new_rate <= 0 ||
        out->old_rate <= 0)
        goto bad;
    return ERR_OK;
bad:
    return diag_set(d, ERR_INVALID,
                    "split '%s': expected SYMBOL:YYYY-MM-DD:NEW:OLD with positive rates, "
                    "e.g. ABC:2026-06-10:4:1",
                    spec);
}

int alpaca_sim_rename_parse(const char *spec, struct symchange *out, struct diag *d)
{
    const char *c1 = strchr(spec, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    memset(out, 0, sizeof *out);
    if (!c2 || !bar_symbol_valid(spec, (size_t)(c1 - spec)) ||
        !bar_symbol_valid(c1 + 1, (size_t)(c2 - c1 - 1)) ||
        date_parse(c2 + 1, strlen(c2 + 1), &out->date) != ERR_OK)
        goto bad;
    memcpy(out->old_symbol, spec, (size_t)(c1 - spec));
    memcpy(out->new_symbol, c1 + 1, (size_t)(c2 - c1 - 1));
    if (symchange_valid(out))
        return ERR_OK;
bad:
    return diag_set(d, ERR_INVALID,
                    "symbol change '%s': expected OLD:NEW:YYYY-MM-DD with two different tickers, "
                    "e.g. FB:META:2022-06-09",
                    spec);
}

void alpaca_sim_opts_default(struct alpaca_sim_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 42;
    o->nsymbols = 520;
    o->last_day = date_from_ymd(2026, 11, 20);
    o->first_day = o->last_day - 3 * 365;
    o->key_id = "SIMKEY";
    o->secret = "SIMSECRET";
    o->auth_status = 403;
    o->page_size = 10000;
    o->max_url = 8192;
    o->rate_limit = 200;
    o->rate_window_ms = 60000;
    o->free_plan = 1;
    o->settling = 1;
}

/* ---- building the market ---- */

static long find_symbol(const struct alpaca_sim *s, const char *name, size_t n)
{
    size_t lo = 0, hi = s->nsym;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strncmp(s->sym[mid], name, n);
        if (c == 0 && s->sym[mid][n] != '\0')
            c = 1;
        if (c < 0)
            lo = mid + 1;
        else if (c > 0)
            hi = mid;
        else
            return (long)mid;
    }
    return -1;
}

static int pack_bar(const struct bar *b, struct sbar *out)
{
    const int64_t p[4] = {b->open, b->high, b->low, b->close};
    uint32_t q[4];
    for (int i = 0; i < 4; i++) {
        if (p[i] < 0 || p[i] % 100 || p[i] / 100 > UINT32_MAX)
            return ERR_INVALID;
        q[i] = (uint32_t)(p[i] / 100);
    }
    if (b->trades < 0 || b->trades > UINT32_MAX || b->vwap == BAR_NONE)
        return ERR_INVALID;
    out->o = q[0];
    out->h = q[1];
    out->l = q[2];
    out->c = q[3];
    out->v = b->volume;
    out->vw = b->vwap;
    out->n = (uint32_t)b->trades;
    return ERR_OK;
}

/* Raw bars before an injected split's ex_date were on the old share basis. */
static int apply_injected_split(struct alpaca_sim *s, size_t sym, const struct split *sp,
                                struct diag *d)
{
    double r = (double)sp->new_rate / (double)sp->old_rate;
    for (size_t t = 0; t < s->ndays && s->days[t] < sp->ex_date; t++) {
        struct sbar *b = &s->bars[sym * s->ndays + t];
        uint32_t *p[4] = {&b->o, &b->h, &b->l, &b->c};
        for (int i = 0; i < 4; i++) {
            int64_t v = llround((double)*p[i] * r);
            if (v < 1)
                v = 1;
            if (v > UINT32_MAX)
                return diag_set(d, ERR_INVALID, "split %s: prices out of the simulator's range",
                                sp->symbol);
            *p[i] = (uint32_t)v;
        }
        b->vw = llround((double)b->vw * r);
        b->v = llround((double)b->v / r);
    }
    return ERR_OK;
}

enum { KIND_SPLIT, KIND_UNIT, KIND_STOCK_DIVIDEND };

struct kinded {
    struct split s;
    unsigned char kind;
};

static int kinded_cmp(const void *a, const void *b)
{
    return split_cmp(&((const struct kinded *)a)->s, &((const struct kinded *)b)->s);
}

/* Order split indices by ex_date, then symbol (ctx: the split array). */
static int ca_cmp(const void *a, const void *b, void *ctx)
{
    const struct split *splits = ctx;
    const struct split *x = &splits[*(const size_t *)a];
    const struct split *y = &splits[*(const size_t *)b];
    if (x->ex_date != y->ex_date)
        return x->ex_date < y->ex_date ? -1 : 1;
    int c = strcmp(x->symbol, y->symbol);
    if (c)
        return c;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

static int build_market(struct alpaca_sim *s, struct diag *d)
{
    struct market_opts mo;
    market_opts_default(&mo);
    mo.seed = s->o.seed;
    mo.nsymbols = s->o.nsymbols;
    mo.first_day = s->o.first_day;
    mo.last_day = s->o.last_day;
    struct market *m = NULL;
    int err = market_new(&mo, &m, d);
    if (err)
        return err;
    struct barvec day;
    barvec_init(&day);
    s->nsym = market_nsymbols(m);
    s->ndays = (size_t)cal_trading_days(mo.first_day, mo.last_day);
    if (s->ndays == 0) {
        err = diag_set(d, ERR_INVALID, "simulator: no trading day in the range");
        goto out;
    }
    s->sym = calloc(s->nsym, sizeof *s->sym);
    s->hidden = calloc(s->nsym, 1);
    s->days = calloc(s->ndays, sizeof *s->days);
    s->day_ms = calloc(s->ndays, sizeof *s->day_ms);
    s->day_t = calloc(s->ndays, sizeof *s->day_t);
    s->bars = calloc(s->nsym * s->ndays, sizeof *s->bars);
    if (!s->sym || !s->hidden || !s->days || !s->day_ms || !s->day_t || !s->bars) {
        err = diag_set(d, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < s->nsym; i++) {
        snprintf(s->sym[i], sizeof s->sym[i], "%s", market_symbol(m, i));
        s->hidden[i] = s->o.hooks.hides && s->o.hooks.hides(s->o.hooks.ctx, s->sym[i]);
    }
    int32_t date;
    size_t t = 0;
    while ((err = market_next_day(m, &date, &day)) == ERR_OK) {
        if (t == s->ndays || day.n != s->nsym) {
            err = diag_set(d, ERR_INTERNAL, "simulator: the market's days are not as counted");
            goto out;
        }
        s->days[t] = date;
        s->day_ms[t] = cal_ny_to_utc_ms(date, 0);
        char when[40];
        format_utc(s->day_ms[t], 0, when);
        memcpy(s->day_t[t], when, sizeof "2024-01-02T05:00:00Z");
        for (size_t i = 0; i < s->nsym; i++) {
            if (strcmp(day.v[i].symbol, s->sym[i]) != 0 ||
                pack_bar(&day.v[i], &s->bars[i * s->ndays + t]) != ERR_OK) {
                err = diag_set(d, ERR_INVALID, "simulator: bar %s on day %zu out of range",
                               day.v[i].symbol, t);
                goto out;
            }
        }
        t++;
    }
    if (err != ERR_EOF)
        goto out;
    err = t == s->ndays ? ERR_OK : diag_set(d, ERR_INTERNAL, "simulator: the market ended early");
    if (err)
        goto out;

    size_t nmarket;
    const struct split *ms = market_splits(m, &nmarket);
    s->nsplits = nmarket + s->o.nsplits + s->o.nunit_splits + s->o.nstock_dividends;
    struct kinded *all = calloc(s->nsplits ? s->nsplits : 1, sizeof *all);
    s->split_kind = calloc(s->nsplits ? s->nsplits : 1, 1);
    if (!all || !s->split_kind) {
        free(all);
        err = diag_set(d, ERR_NOMEM, "out of memory");
        goto out;
    }
    s->splits = calloc(s->nsplits ? s->nsplits : 1, sizeof *s->splits);
    s->ca_order = calloc(s->nsplits ? s->nsplits : 1, sizeof *s->ca_order);
    s->split_first = calloc(s->nsym, sizeof *s->split_first);
    s->split_count = calloc(s->nsym, sizeof *s->split_count);
    if (!s->splits || !s->ca_order || !s->split_first || !s->split_count) {
        err = diag_set(d, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nmarket; i++)
        all[i] = (struct kinded){ms[i], KIND_SPLIT};
    const struct split *inj[3] = {s->o.splits, s->o.unit_splits, s->o.stock_dividends};
    const size_t ninj[3] = {s->o.nsplits, s->o.nunit_splits, s->o.nstock_dividends};
    const unsigned char kinds[3] = {KIND_SPLIT, KIND_UNIT, KIND_STOCK_DIVIDEND};
    size_t at = nmarket;
    for (int g = 0; g < 3 && !err; g++)
        for (size_t i = 0; i < ninj[g]; i++) {
            const struct split *sp = &inj[g][i];
            long k = find_symbol(s, sp->symbol, strlen(sp->symbol));
            if (k < 0) {
                err = diag_set(d, ERR_INVALID, "split: '%s' is not a symbol of the market",
                               sp->symbol);
                break;
            }
            if (sp->new_rate <= 0 || sp->old_rate <= 0 ||
                (kinds[g] == KIND_STOCK_DIVIDEND && sp->new_rate <= sp->old_rate)) {
                err = diag_set(d, ERR_INVALID, "split %s: rates must be positive", sp->symbol);
                break;
            }
            if ((err = apply_injected_split(s, (size_t)k, sp, d)))
                break;
            all[at++] = (struct kinded){*sp, kinds[g]};
        }
    if (err) {
        free(all);
        goto out;
    }
    if (s->nsplits)
        qsort(all, s->nsplits, sizeof *all, kinded_cmp);
    for (size_t i = 0; i < s->nsplits; i++) {
        s->splits[i] = all[i].s;
        s->split_kind[i] = all[i].kind;
    }
    free(all);
    for (size_t i = 0; i < s->nsplits; i++) {
        long k = find_symbol(s, s->splits[i].symbol, strlen(s->splits[i].symbol));
        if (k >= 0) {
            if (s->split_count[k] == 0)
                s->split_first[k] = i;
            s->split_count[k]++;
        }
        s->ca_order[i] = i;
    }
    if (s->nsplits)
        qsort_r(s->ca_order, s->nsplits, sizeof *s->ca_order, ca_cmp, s->splits);

    s->nrenames = s->o.nrenames;
    s->renames = calloc(s->nrenames ? s->nrenames : 1, sizeof *s->renames);
    s->rename_sym = calloc(s->nrenames ? s->nrenames : 1, sizeof *s->rename_sym);
    s->rename_t = calloc(s->nrenames ? s->nrenames : 1, sizeof *s->rename_t);
    if (!s->renames || !s->rename_sym || !s->rename_t) {
        err = diag_set(d, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < s->nrenames; i++) {
        const struct symchange *c = &s->o.renames[i];
        long k = find_symbol(s, c->old_symbol, strlen(c->old_symbol));
        if (k < 0 || !symchange_valid(c) ||
            find_symbol(s, c->new_symbol, strlen(c->new_symbol)) >= 0) {
            err = diag_set(d, ERR_INVALID,
                           "symbol change %.15s -> %.15s: the old symbol must be one of the "
                           "market's, the new one not",
                           c->old_symbol, c->new_symbol);
            goto out;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->renames[j].old_symbol, c->old_symbol) == 0 ||
                strcmp(s->renames[j].new_symbol, c->new_symbol) == 0) {
                err = diag_set(d, ERR_INVALID, "symbol change %.15s -> %.15s: given twice",
                               c->old_symbol, c->new_symbol);
                goto out;
            }
        s->renames[i] = *c;
        s->rename_sym[i] = (size_t)k;
        size_t first = 0;
        while (first < s->ndays && s->days[first] < c->date)
            first++;
        s->rename_t[i] = first;
    }
out:
    barvec_release(&day);
    market_free(m);
    return err;
}

/* ---- lifecycle ---- */

int alpaca_sim_new(const struct alpaca_sim_opts *o, struct alpaca_sim **out, struct diag *d)
{
    if (o->auth_status != 401 && o->auth_status != 403)
        return diag_set(d, ERR_INVALID, "simulator: auth status must be 401 or 403, got %d",
                        o->auth_status);
    if (o->page_size < 1 || o->rate_limit < 1 || o->rate_window_ms < 1 || o->max_url < 16)
        return diag_set(d, ERR_INVALID,
                        "simulator: page size, rate limit and window must be positive, the "
                        "longest URL at least 16 bytes");
    if (!o->key_id || !*o->key_id || !o->secret || !*o->secret)
        return diag_set(d, ERR_INVALID, "simulator: a key id and a secret are required");
    if (o->latency_ms < 0 || o->latency_ms > ALPACA_SIM_LATENCY_MAX_MS)
        return diag_set(d, ERR_INVALID, "simulator: the latency must be 0 to %d ms",
                        ALPACA_SIM_LATENCY_MAX_MS);
    struct alpaca_sim *s = calloc(1, sizeof *s);
    if (!s)
        return diag_set(d, ERR_NOMEM, "out of memory");
    s->o = *o;
    s->latency_ms = o->latency_ms;
    pthread_mutex_init(&s->mu, NULL);
    int err;
    s->key_id = strdup(o->key_id);
    s->secret = strdup(o->secret);
    s->win[0].acc = calloc(o->rate_limit, sizeof *s->win[0].acc);
    s->win[1].acc = calloc(o->rate_limit, sizeof *s->win[1].acc);
    if (!s->key_id || !s->secret || !s->win[0].acc || !s->win[1].acc) {
        err = diag_set(d, ERR_NOMEM, "out of memory");
        goto fail;
    }
    s->o.key_id = s->key_id;
    s->o.secret = s->secret;
    log_add_secret(s->secret);
    log_add_secret(s->key_id);
    s->o.portfolio_json = NULL;
    const char *pj = o->portfolio_json ? o->portfolio_json : DEFAULT_PORTFOLIO;
    if ((err = set_doc(s, pj, strlen(pj), 0, d)) != ERR_OK)
        goto fail;
    err = build_market(s, d);
    /* borrowed only for the build */
    s->o.splits = s->o.unit_splits = s->o.stock_dividends = NULL;
    s->o.renames = NULL;
    if (err)
        goto fail;
    log_info("simulator ready", LF_INT("symbols", s->nsym), LF_INT("days", s->ndays),
             LF_INT("splits", s->nsplits));
    *out = s;
    return ERR_OK;
fail:
    alpaca_sim_free(s);
    return err;
}

void alpaca_sim_free(struct alpaca_sim *s)
{
    if (!s)
        return;
    free(s->key_id);
    free(s->secret);
    free(s->sym);
    free(s->hidden);
    free(s->days);
    free(s->day_ms);
    free(s->day_t);
    free(s->bars);
    free(s->splits);
    free(s->split_kind);
    free(s->renames);
    free(s->rename_sym);
    free(s->rename_t);
    free(s->split_first);
    free(s->split_count);
    free(s->ca_order);
    free(s->win[0].acc);
    free(s->win[1].acc);
    free(s->started);
    free(s->portfolio);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int alpaca_sim_start(const struct alpaca_sim_opts *o, struct alpaca_sim **out, int *port,
                     struct diag *d)
{
    struct alpaca_sim *s;
    int err = alpaca_sim_new(o, &s, d);
    if (err)
        return err;
    struct httpd_opts ho = {
        .bind_addr = "127.0.0.1",
        .port = o->port,
        .max_body = 64 << 10,
        /* Room for a request target a little over max_url, so that the simulator, not the
         * server library, answers the 414. */
        .max_head = (o->max_url > (32 << 10) ? o->max_url : (32 << 10)) * 2,
        .handler = alpaca_sim_handle,
        .ctx = s,
    };
    err = httpd_start(&ho, &s->httpd, port, d);
    if (err) {
        alpaca_sim_free(s);
        return err;
    }
    *out = s;
    return ERR_OK;
}

void alpaca_sim_stop(struct alpaca_sim *s)
{
    if (!s)
        return;
    __atomic_store_n(&s->stopping, 1, __ATOMIC_SEQ_CST);
    httpd_stop(s->httpd);
    alpaca_sim_free(s);
}

size_t alpaca_sim_nsymbols(const struct alpaca_sim *s)
{
    return s->nsym;
}

const char *alpaca_sim_symbol(const struct alpaca_sim *s, size_t i)
{
    return s->sym[i];
}

void alpaca_sim_get_stats(struct alpaca_sim *s, struct alpaca_sim_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    pthread_mutex_unlock(&s->mu);
}

void alpaca_sim_reset(struct alpaca_sim *s)
{
    pthread_mutex_lock(&s->mu);
    memset(&s->st, 0, sizeof s->st);
    s->win[0].acc_head = s->win[0].acc_n = 0;
    s->win[1].acc_head = s->win[1].acc_n = 0;
    s->st_head = s->st_n = 0;
    pthread_mutex_unlock(&s->mu);
}

/* ---- rate limit (call with the mutex held) ---- */

struct admission {
    int ok;
    int64_t remaining, reset_s, retry_after_s;
};

static int started_push(struct alpaca_sim *s, int64_t now)
{
    if (s->st_n == s->st_cap) {
        size_t cap = s->st_cap ? s->st_cap * 2 : 256;
        int64_t *v = malloc(cap * sizeof *v);
        if (!v)
            return ERR_NOMEM;
        for (size_t i = 0; i < s->st_n; i++)
            v[i] = s->started[(s->st_head + i) % s->st_cap];
        free(s->started);
        s->started = v;
        s->st_cap = cap;
        s->st_head = 0;
    }
    s->started[(s->st_head + s->st_n) % s->st_cap] = now;
    s->st_n++;
    return ERR_OK;
}

static struct admission admit(struct alpaca_sim *s, int64_t now, int trading_budget)
{
    struct window *win = &s->win[trading_budget ? 1 : 0];
    int64_t w = s->o.rate_window_ms;
    size_t limit = s->o.rate_limit;
    /* A request started at e is in the window until e + w. */
    while (s->st_n && s->started[s->st_head] <= now - w) {
        s->st_head = (s->st_head + 1) % s->st_cap;
        s->st_n--;
    }
    if (started_push(s, now) == ERR_OK && s->st_n > s->st.max_in_window)
        s->st.max_in_window = s->st_n;
    while (win->acc_n && win->acc[win->acc_head] <= now - w) {
        win->acc_head = (win->acc_head + 1) % limit;
        win->acc_n--;
    }
    struct admission a = {0};
    if (win->acc_n < limit) {
        win->acc[(win->acc_head + win->acc_n) % limit] = now;
        win->acc_n++;
        a.ok = 1;
    }
    int64_t oldest = win->acc[win->acc_head];
    a.remaining = (int64_t)(limit - win->acc_n);
    a.reset_s = floor_div(oldest + w + 999, 1000);
    a.retry_after_s = floor_div(oldest + w - now + 999, 1000);
    if (a.retry_after_s < 1)
        a.retry_after_s = 1;
    return a;
}

static void ratelimit_headers(const struct alpaca_sim *s, const struct admission *a,
                              struct httpd_response *r)
{
    char v[32];
    snprintf(v, sizeof v, "%zu", s->o.rate_limit);
    httpd_response_header(r, "X-RateLimit-Limit", v);
    snprintf(v, sizeof v, "%lld", (long long)a->remaining);
    httpd_response_header(r, "X-RateLimit-Remaining", v);
    snprintf(v, sizeof v, "%lld", (long long)a->reset_s);
    httpd_response_header(r, "X-RateLimit-Reset", v);
}

/* ---- /v2/stocks/bars ---- */

/* A page: runs of consecutive days of one symbol. */
struct seg {
    size_t sym, t0, t1; /* days [t0, t1) */
};

/* Where a page starts or the next one would: the j-th requested symbol, day t. */
struct pos {
    size_t j, t;
};

static int want_param(const struct httpd_request *req, const char *name, char *out, size_t cap,
                      struct httpd_response *r, int *present)
{
    int err = httpd_query_get(req->query, name, out, cap);
    *present = err == ERR_OK;
    if (err == ERR_NOTFOUND) {
        out[0] = '\0';
        return ERR_OK;
    }
    if (err) {
        reply_error(r, 400, 40010001, "invalid %s", name);
        return err;
    }
    return ERR_OK;
}

static size_t lower_bound_ms(const struct alpaca_sim *s, int64_t ms)
{
    size_t lo = 0, hi = s->ndays;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->day_ms[mid] < ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t upper_bound_ms(const struct alpaca_sim *s, int64_t ms)
{
    size_t lo = 0, hi = s->ndays;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->day_ms[mid] <= ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Symbols as requests see them: a market symbol i < nsym, or the new name of symbol change
 * i - nsym, which serves its market symbol's bars. */
static size_t real_sym(const struct alpaca_sim *s, size_t v)
{
    return v < s->nsym ? v : s->rename_sym[v - s->nsym];
}

static const char *vname(const struct alpaca_sim *s, size_t v)
{
    return v < s->nsym ? s->sym[v] : s->renames[v - s->nsym].new_symbol;
}

static int vname_cmp(const void *a, const void *b, void *ctx)
{
    const struct alpaca_sim *s = ctx;
    return strcmp(vname(s, *(const size_t *)a), vname(s, *(const size_t *)b));
}

/* The days [lo, hi) a symbol's bars are served for: a renamed symbol's until its change, the
 * new name's from it (from the first day, with the old history, once the mapping appears the
 * day after the change). */
static void served_days(const struct alpaca_sim *s, size_t v, size_t *lo, size_t *hi)
{
    *lo = 0;
    *hi = s->ndays;
    if (v >= s->nsym) {
        size_t c = v - s->nsym;
        if (today_ny() <= s->renames[c].date)
            *lo = s->rename_t[c];
        return;
    }
    for (size_t c = 0; c < s->nrenames; c++)
        if (s->rename_sym[c] == v)
            *hi = s->rename_t[c];
}

/* The symbols parameter: the requested market symbols, sorted, without duplicates, unknown
 * and hidden ones left out.  ERR_INVALID (answered) for a malformed symbol. */
static int parse_symbols(const struct alpaca_sim *s, const char *list, size_t **out, size_t *n,
                         struct httpd_response *r)
{
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    size_t *idx = calloc(cap, sizeof *idx);
    if (!idx) {
        reply_error(r, 500, 0, "out of memory");
        return ERR_NOMEM;
    }
    size_t k = 0;
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!bar_symbol_valid(p, len)) {
            reply_error(r, 400, 40010001, "invalid symbol: %.*s", (int)(len > 64 ? 64 : len), p);
            free(idx);
            return ERR_INVALID;
        }
        long i = find_symbol(s, p, len);
        for (size_t c = 0; i < 0 && c < s->nrenames; c++)
            if (strlen(s->renames[c].new_symbol) == len &&
                memcmp(s->renames[c].new_symbol, p, len) == 0)
                i = (long)(s->nsym + c);
        if (i < 0 && s->o.strict_symbols) {
            reply_error(r, 400, 40010001, "invalid symbol: %.*s", (int)(len > 64 ? 64 : len), p);
            free(idx);
            return ERR_INVALID;
        }
        if (i >= 0 && !s->hidden[real_sym(s, (size_t)i)])
            idx[k++] = (size_t)i;
        if (!comma)
            break;
        p = comma + 1;
    }
    qsort_r(idx, k, sizeof *idx, vname_cmp, (void *)s);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || idx[u - 1] != idx[i])
            idx[u++] = idx[i];
    *out = idx;
    *n = u;
    return ERR_OK;
}

/* A page token: base64 of "SYMBOL|D|<the bar's time with nanoseconds>", like Alpaca's. */
static void bars_token(const struct alpaca_sim *s, size_t sym, size_t t, char out[96])
{
    char when[40], raw[64];
    format_utc(s->day_ms[t], 1, when);
    int n = snprintf(raw, sizeof raw, "%s|D|%s", vname(s, sym), when);
    b64_encode(raw, (size_t)n, out);
}

static int parse_bars_token(const char *token, char sym[BAR_SYMBOL_MAX + 1], int64_t *ms)
{
    char raw[128];
    if (b64_decode(token, raw, sizeof raw) != ERR_OK)
        return ERR_PARSE;
    char *bar1 = strchr(raw, '|');
    if (!bar1 || !bar_symbol_valid(raw, (size_t)(bar1 - raw)) || strncmp(bar1, "|D|", 3) != 0)
        return ERR_PARSE;
    memcpy(sym, raw, (size_t)(bar1 - raw));
    sym[bar1 - raw] = '\0';
    return parse_instant(bar1 + 3, ms);
}

static double factor_at(const struct alpaca_sim *s, size_t sym, int32_t date)
{
    double f = 1.0;
    for (size_t i = 0; i < s->split_count[sym]; i++) {
        const struct split *sp = &s->splits[s->split_first[sym] + i];
        if (sp->ex_date > date)
            f *= (double)sp->new_rate / (double)sp->old_rate;
    }
    return f;
}

struct bars_query {
    int split_adjusted, iex;
};

/* New York minute from which a day's bar no longer changes. */
#define SETTLED_MINUTE (20 * 60)

/* Bar t of symbol sym as the request sees it (split-adjusted, IEX volumes, not yet settled). */
static void page_bar(const struct alpaca_sim *s, const struct bars_query *q, size_t sym, size_t t,
                     struct alpaca_sim_page_bar *out)
{
    const char *name = vname(s, sym);
    sym = real_sym(s, sym);
    const struct sbar *b = &s->bars[sym * s->ndays + t];
    int64_t o = (int64_t)b->o * 100, h = (int64_t)b->h * 100, l = (int64_t)b->l * 100,
            c = (int64_t)b->c * 100, vw = b->vw, v = b->v, n = b->n;
    if (q->split_adjusted) {
        double f = factor_at(s, sym, s->days[t]);
        if (f != 1.0) {
            o = llround((double)o / f);
            h = llround((double)h / f);
            l = llround((double)l / f);
            c = llround((double)c / f);
            vw = llround((double)vw / f);
            v = llround((double)v * f);
        }
    }
    if (s->o.settling && clock_wall_ms() < cal_ny_to_utc_ms(s->days[t], SETTLED_MINUTE)) {
        /* The day's bar before 20:00: the extended-hours prints are not in it yet. */
        v -= v / 50;
        n -= n / 50;
        vw -= vw / 1000;
        if (sym % 5 == 1) { /* a late trade moves the close */
            int64_t up = c + c / 500, down = c - c / 500;
            c = up <= h ? up : down >= l ? down : c;
        }
        if (sym % 3 == 0) /* a late print sets the day's low */
            l += ((o < c ? o : c) - l) / 2;
    }
    if (q->iex) {
        /* IEX sees a few percent of the consolidated volume. */
        v = (v + 20) / 40;
        n = (n + 20) / 40;
    }
    *out = (struct alpaca_sim_page_bar){
        .symbol = name, .o = o, .h = h, .l = l, .c = c, .v = v, .n = n, .vw = vw};
    memcpy(out->t, s->day_t[t], sizeof out->t);
}

static void emit_bar(struct out *w, const struct alpaca_sim_page_bar *b)
{
    out_puts(w, "{\"t\":\"");
    out_puts(w, b->t);
    out_puts(w, "\",\"o\":");
    if (b->o_text)
        out_puts(w, b->o_text);
    else
        out_fixed(w, b->o);
    out_puts(w, ",\"h\":");
    out_fixed(w, b->h);
    out_puts(w, ",\"l\":");
    out_fixed(w, b->l);
    out_puts(w, ",\"c\":");
    out_fixed(w, b->c);
    out_printf(w, ",\"v\":%lld,\"n\":%lld,\"vw\":", (long long)b->v, (long long)b->n);
    out_fixed(w, b->vw);
    out_puts(w, "}");
}

static void serve_bars(struct alpaca_sim *s, struct alpaca_sim_call *call, struct httpd_response *r)
{
    const struct httpd_request *req = call->req;
    char tf[PARAM_MAX], start[PARAM_MAX], end[PARAM_MAX], limit[PARAM_MAX], token[PARAM_MAX],
        feed[PARAM_MAX], adj[PARAM_MAX], sort[PARAM_MAX];
    int has_tf, has_start, has_end, has_limit, has_token, has_feed, has_adj, has_sort, has_sym;
    if (want_param(req, "timeframe", tf, sizeof tf, r, &has_tf) ||
        want_param(req, "start", start, sizeof start, r, &has_start) ||
        want_param(req, "end", end, sizeof end, r, &has_end) ||
        want_param(req, "limit", limit, sizeof limit, r, &has_limit) ||
        want_param(req, "page_token", token, sizeof token, r, &has_token) ||
        want_param(req, "feed", feed, sizeof feed, r, &has_feed) ||
        want_param(req, "adjustment", adj, sizeof adj, r, &has_adj) ||
        want_param(req, "sort", sort, sizeof sort, r, &has_sort))
        return;
    size_t qlen = strlen(req->query) + 1;
    char *symbols = malloc(qlen);
    size_t *idx = NULL, nidx = 0;
    struct seg *segs = NULL;
    struct alpaca_sim_page pg = {0};
    if (!symbols) {
        reply_error(r, 500, 0, "out of memory");
        return;
    }
    if (want_param(req, "symbols", symbols, qlen, r, &has_sym))
        goto out;
    if (!has_sym || !*symbols) {
        reply_error(r, 400, 40010001, "symbols is required");
        goto out;
    }
    if (!has_tf) {
        reply_error(r, 400, 40010001, "timeframe is required");
        goto out;
    }
    if (strcmp(tf, "1Day") != 0 && strcmp(tf, "1D") != 0) {
        reply_error(r, 400, 40010001, "invalid timeframe: the simulator serves 1Day only");
        goto out;
    }
    struct bars_query q = {0};
    if (has_feed && strcmp(feed, "iex") == 0) {
        q.iex = 1;
    } else if (has_feed && strcmp(feed, "sip") != 0) {
        reply_error(r, 400, 40010001, "invalid feed: %s", feed);
        goto out;
    }
    if (has_adj) {
        for (char *p = adj;;) {
            char *comma = strchr(p, ',');
            if (comma)
                *comma = '\0';
            if (strcmp(p, "split") == 0 || strcmp(p, "all") == 0)
                q.split_adjusted = 1;
            else if (strcmp(p, "raw") != 0 && strcmp(p, "dividend") != 0 &&
                     strcmp(p, "spin-off") != 0) {
                reply_error(r, 400, 40010001, "invalid adjustment: %s", p);
                goto out;
            }
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    if (has_sort && strcmp(sort, "asc") != 0) {
        reply_error(r, 400, 40010001, "invalid sort: the simulator serves asc only");
        goto out;
    }
    int64_t lim = DEFAULT_LIMIT_BARS;
    if (has_limit) {
        if (num_parse_int(limit, strlen(limit), &lim) != ERR_OK) {
            reply_error(r, 400, 40010001, "invalid limit: %s", limit);
            goto out;
        }
        if (lim < 1 || lim > MAX_LIMIT_BARS) {
            reply_error(r, 422, 42210000, "invalid limit: must be between 1 and %d",
                        MAX_LIMIT_BARS);
            goto out;
        }
    }
    int64_t now = clock_wall_ms();
    int64_t start_ms, end_ms;
    if (!has_start) {
        start_ms = cal_ny_to_utc_ms(today_ny(), 0);
    } else if (parse_instant(start, &start_ms) != ERR_OK) {
        reply_error(r, 400, 40010001, "invalid start: %s", start);
        goto out;
    }
    int delayed = !q.iex && s->o.free_plan;
    if (!has_end) {
        end_ms = delayed ? now - SIP_DELAY_MS : now;
    } else if (parse_instant(end, &end_ms) != ERR_OK) {
        reply_error(r, 400, 40010001, "invalid end: %s", end);
        goto out;
    } else if (delayed && end_ms > now - SIP_DELAY_MS) {
        alpaca_sim_reply_json(r, 403,
                              "{\"message\":\"subscription does not permit querying recent SIP "
                              "data\"}");
        goto out;
    }
    if (start_ms > end_ms) {
        reply_error(r, 422, 42210000, "end should not be before start");
        goto out;
    }
    if (parse_symbols(s, symbols, &idx, &nidx, r))
        goto out;

    size_t d0 = lower_bound_ms(s, start_ms), d1 = upper_bound_ms(s, end_ms);
    struct pos from = {0, d0};
    if (has_token) {
        char tsym[BAR_SYMBOL_MAX + 1];
        int64_t tms;
        if (parse_bars_token(token, tsym, &tms) != ERR_OK) {
            reply_error(r, 400, 40010001, "invalid page_token");
            goto out;
        }
        size_t lo = 0, hi = nidx;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(vname(s, idx[mid]), tsym) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        from.j = lo;
        if (lo < nidx && strcmp(vname(s, idx[lo]), tsym) == 0) {
            size_t t = lower_bound_ms(s, tms);
            from.t = t > d0 ? t : d0;
        }
    }

    /* Lay out the page. */
    size_t page = (size_t)lim < s->o.page_size ? (size_t)lim : s->o.page_size;
    segs = calloc(nidx ? nidx : 1, sizeof *segs);
    if (!segs) {
        reply_error(r, 500, 0, "out of memory");
        goto out;
    }
    size_t nseg = 0, nbars = 0;
    int has_next = 0;
    struct pos next = {0, 0};
    for (size_t j = from.j; j < nidx && nbars < page && d0 < d1; j++) {
        size_t lo, hi;
        served_days(s, idx[j], &lo, &hi);
        if (lo < d0)
            lo = d0;
        if (hi > d1)
            hi = d1;
        size_t t0 = j == from.j && from.t > lo ? from.t : lo;
        if (t0 >= hi)
            continue;
        size_t take = hi - t0 < page - nbars ? hi - t0 : page - nbars;
        segs[nseg++] = (struct seg){idx[j], t0, t0 + take};
        nbars += take;
        if (nbars == page) {
            if (t0 + take < hi) {
                has_next = 1;
                next = (struct pos){j, t0 + take};
            } else if (j + 1 < nidx) {
                has_next = 1;
                next = (struct pos){j + 1, d0};
            }
        }
    }
    if (has_next)
        bars_token(s, idx[next.j], next.t, pg.next_token);
    if (nseg)
        bars_token(s, segs[0].sym, segs[0].t0, pg.first_token);

    /* The page as bars, which the hooks may change, then written out. */
    pg.cap = nbars + 1;
    pg.bars = malloc(pg.cap * sizeof *pg.bars);
    if (!pg.bars) {
        reply_error(r, 500, 0, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nseg; i++)
        for (size_t t = segs[i].t0; t < segs[i].t1; t++)
            page_bar(s, &q, segs[i].sym, t, &pg.bars[pg.n++]);
    if (s->o.hooks.page)
        s->o.hooks.page(s->o.hooks.ctx, call, &pg);

    buf_reset(&r->body);
    struct out w = {&r->body, 0};
    out_puts(&w, "{\"bars\":{");
    for (size_t i = 0; i < pg.n; i++) {
        const struct alpaca_sim_page_bar *b = &pg.bars[i];
        if (i == 0 || strcmp(b->symbol, pg.bars[i - 1].symbol) != 0) {
            if (i)
                out_puts(&w, "],");
            out_json_str(&w, b->symbol, strlen(b->symbol));
            out_puts(&w, ":[");
        } else {
            out_puts(&w, ",");
        }
        emit_bar(&w, b);
    }
    if (pg.n)
        out_puts(&w, "]");
    out_puts(&w, "},\"next_page_token\":");
    if (pg.next_token[0])
        out_printf(&w, "\"%s\"", pg.next_token);
    else
        out_puts(&w, "null");
    out_puts(&w, "}");
    if (w.err) {
        reply_error(r, 500, 0, "response too large");
        goto out;
    }
    json_type(r);
    r->status = 200;
out:
    free(symbols);
    free(idx);
    free(segs);
    free(pg.bars);
}

/* ---- /v1/corporate-actions ---- */

static const char *const ca_types[] = {
    "forward_split",         "reverse_split", "unit_split",     "stock_dividend",
    "cash_dividend",         "spin_off",      "cash_merger",    "stock_merger",
    "stock_and_cash_merger", "redemption",    "name_change",    "worthless_removal",
    "rights_distribution",   "partial_call",  "reorganization",
};

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The date an action is processed (published): actions_delay trading days after its ex-date. */
static int32_t process_date(const struct alpaca_sim *s, const struct split *sp)
{
    int32_t pd = sp->ex_date;
    for (int i = 0; i < s->o.actions_delay; i++)
        pd = cal_trading_day_at_or_after(pd + 1);
    return pd;
}

static void emit_action(struct out *w, const struct alpaca_sim *s, const struct split *sp)
{
    char key[96], id[37], ex[DATE_STRLEN + 1], rec[DATE_STRLEN + 1], pay[DATE_STRLEN + 1];
    int forward = sp->new_rate > sp->old_rate;
    snprintf(key, sizeof key, "ca|%s|%d|%lld|%lld", sp->symbol, (int)sp->ex_date,
             (long long)sp->new_rate, (long long)sp->old_rate);
    make_uuid(key, id);
    date_format(sp->ex_date, ex);
    char proc[DATE_STRLEN + 1];
    date_format(process_date(s, sp), proc);
    out_printf(w, "{\"id\":\"%s\",\"symbol\":\"%s\",", id, sp->symbol);
    if (forward) {
        /* US due-bill convention: record a week before, paid the day before the ex-date. */
        char cusip[10];
        make_cusip(sp->symbol, "10", cusip);
        date_format(cal_trading_day_at_or_before(sp->ex_date - 7), rec);
        date_format(cal_trading_day_at_or_before(sp->ex_date - 1), pay);
        out_printf(w, "\"cusip\":\"%s\",", cusip);
    } else {
        char old_cusip[10], new_cusip[10];
        make_cusip(sp->symbol, "10", old_cusip);
        make_cusip(sp->symbol, "20", new_cusip);
        memcpy(rec, ex, sizeof rec);
        memcpy(pay, ex, sizeof pay);
        out_printf(w, "\"old_cusip\":\"%s\",\"new_cusip\":\"%s\",\"new_symbol\":\"\",", old_cusip,
                   new_cusip);
    }
    out_puts(w, "\"new_rate\":");
    out_fixed(w, sp->new_rate);
    out_puts(w, ",\"old_rate\":");
    out_fixed(w, sp->old_rate);
    out_printf(w,
               ",\"process_date\":\"%s\",\"ex_date\":\"%s\",\"record_date\":\"%s\","
               "\"payable_date\":\"%s\"}",
               proc, ex, rec, pay);
}

/* A unit split as Alpaca lists it: old_rate units became new_rate shares (of the same symbol
 * here) and alternate_rate warrants, on the effective date. */
static void emit_unit_split(struct out *w, const struct alpaca_sim *s, const struct split *sp)
{
    char key[96], id[37], eff[DATE_STRLEN + 1], proc[DATE_STRLEN + 1], c1[10], c2[10], c3[10];
    snprintf(key, sizeof key, "unit|%s|%d", sp->symbol, (int)sp->ex_date);
    make_uuid(key, id);
    date_format(sp->ex_date, eff);
    date_format(process_date(s, sp), proc);
    make_cusip(sp->symbol, "30", c1);
    make_cusip(sp->symbol, "31", c2);
    make_cusip(sp->symbol, "32", c3);
    out_printf(w, "{\"id\":\"%s\",\"old_symbol\":\"%s\",\"old_cusip\":\"%s\",\"old_rate\":", id,
               sp->symbol, c1);
    out_fixed(w, sp->old_rate);
    out_printf(w, ",\"new_symbol\":\"%s\",\"new_cusip\":\"%s\",\"new_rate\":", sp->symbol, c2);
    out_fixed(w, sp->new_rate);
    out_printf(w,
               ",\"alternate_symbol\":\"%.12sW\",\"alternate_cusip\":\"%s\",\"alternate_rate\":0.5,"
               "\"process_date\":\"%s\",\"effective_date\":\"%s\",\"payable_date\":\"%s\"}",
               sp->symbol, c3, proc, eff, eff);
}

/* A stock dividend: rate new shares per share held, on the ex-date. */
static void emit_stock_dividend(struct out *w, const struct alpaca_sim *s, const struct split *sp)
{
    char key[96], id[37], ex[DATE_STRLEN + 1], proc[DATE_STRLEN + 1], rec[DATE_STRLEN + 1],
        cusip[10];
    snprintf(key, sizeof key, "sd|%s|%d", sp->symbol, (int)sp->ex_date);
    make_uuid(key, id);
    date_format(sp->ex_date, ex);
    date_format(process_date(s, sp), proc);
    date_format(cal_trading_day_at_or_after(sp->ex_date + 1), rec);
    make_cusip(sp->symbol, "10", cusip);
    out_printf(w, "{\"id\":\"%s\",\"symbol\":\"%s\",\"cusip\":\"%s\",\"rate\":", id, sp->symbol,
               cusip);
    out_fixed(w, sp->new_rate - sp->old_rate > 0
                     ? (int64_t)llround((double)(sp->new_rate - sp->old_rate) * 1e6 /
                                        (double)sp->old_rate)
                     : 0);
    out_printf(w,
               ",\"process_date\":\"%s\",\"ex_date\":\"%s\",\"record_date\":\"%s\","
               "\"payable_date\":\"%s\"}",
               proc, ex, rec, rec);
}

/* The date a symbol change is published: actions_delay trading days after it. */
static int32_t rename_published(const struct alpaca_sim *s, const struct symchange *c)
{
    int32_t pd = c->date;
    for (int i = 0; i < s->o.actions_delay; i++)
        pd = cal_trading_day_at_or_after(pd + 1);
    return pd;
}

static void emit_name_change(struct out *w, const struct symchange *c)
{
    char key[96], id[37], day[DATE_STRLEN + 1], c1[10], c2[10];
    snprintf(key, sizeof key, "nc|%s|%s|%d", c->old_symbol, c->new_symbol, (int)c->date);
    make_uuid(key, id);
    date_format(c->date, day);
    make_cusip(c->old_symbol, "10", c1);
    make_cusip(c->new_symbol, "10", c2);
    out_printf(w,
               "{\"id\":\"%s\",\"old_symbol\":\"%s\",\"old_cusip\":\"%s\",\"new_symbol\":\"%s\","
               "\"new_cusip\":\"%s\",\"process_date\":\"%s\"}",
               id, c->old_symbol, c1, c->new_symbol, c2, day);
}

/* The group an item of the corporate-actions list goes in (items >= nsplits are symbol
 * changes). */
enum { GRP_FORWARD, GRP_REVERSE, GRP_UNIT, GRP_STOCK_DIVIDEND, GRP_NAME, GRP_COUNT };

static int item_group(const struct alpaca_sim *s, size_t item)
{
    if (item >= s->nsplits)
        return GRP_NAME;
    if (s->split_kind[item] == KIND_UNIT)
        return GRP_UNIT;
    if (s->split_kind[item] == KIND_STOCK_DIVIDEND)
        return GRP_STOCK_DIVIDEND;
    return s->splits[item].new_rate > s->splits[item].old_rate ? GRP_FORWARD : GRP_REVERSE;
}

static void serve_corporate_actions(struct alpaca_sim *s, const struct httpd_request *req,
                                    struct httpd_response *r)
{
    char types[1024], start[PARAM_MAX], end[PARAM_MAX], limit[PARAM_MAX], token[PARAM_MAX];
    int has_types, has_start, has_end, has_limit, has_token, has_sym;
    if (want_param(req, "types", types, sizeof types, r, &has_types) ||
        want_param(req, "start", start, sizeof start, r, &has_start) ||
        want_param(req, "end", end, sizeof end, r, &has_end) ||
        want_param(req, "limit", limit, sizeof limit, r, &has_limit) ||
        want_param(req, "page_token", token, sizeof token, r, &has_token))
        return;
    size_t qlen = strlen(req->query) + 1;
    char *symbols = malloc(qlen);
    char **want = NULL;
    size_t *items = NULL;
    if (!symbols) {
        reply_error(r, 500, 0, "out of memory");
        return;
    }
    if (want_param(req, "symbols", symbols, qlen, r, &has_sym))
        goto out;
    size_t nwant = 0;
    if (has_sym && *symbols) {
        size_t cap = 1;
        for (const char *p = symbols; *p; p++)
            cap += *p == ',';
        want = calloc(cap, sizeof *want);
        if (!want) {
            reply_error(r, 500, 0, "out of memory");
            goto out;
        }
        for (char *p = symbols;;) {
            char *comma = strchr(p, ',');
            if (comma)
                *comma = '\0';
            if (!bar_symbol_valid(p, strlen(p))) {
                reply_error(r, 400, 40010001, "invalid symbol: %.64s", p);
                goto out;
            }
            want[nwant++] = p;
            if (!comma)
                break;
            p = comma + 1;
        }
        qsort(want, nwant, sizeof *want, str_cmp);
    }
    static const char *const type_of[GRP_COUNT] = {"forward_split", "reverse_split", "unit_split",
                                                   "stock_dividend", "name_change"};
    int want_type[GRP_COUNT] = {1, 1, 1, 1, 1};
    if (has_types) {
        memset(want_type, 0, sizeof want_type);
        for (char *p = types;;) {
            char *comma = strchr(p, ',');
            if (comma)
                *comma = '\0';
            int known = 0;
            for (size_t i = 0; i < sizeof ca_types / sizeof ca_types[0]; i++)
                known |= strcmp(p, ca_types[i]) == 0;
            if (!known) {
                reply_error(r, 400, 40010001, "invalid types: %s", p);
                goto out;
            }
            for (int g = 0; g < GRP_COUNT; g++)
                want_type[g] |= strcmp(p, type_of[g]) == 0;
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    int32_t today = today_ny(), from = today, to = today;
    if (has_start && date_parse(start, strlen(start), &from) != ERR_OK) {
        reply_error(r, 400, 40010001, "invalid start: %s", start);
        goto out;
    }
    if (has_end && date_parse(end, strlen(end), &to) != ERR_OK) {
        reply_error(r, 400, 40010001, "invalid end: %s", end);
        goto out;
    }
    if (from > to) {
        reply_error(r, 422, 42210000, "end should not be before start");
        goto out;
    }
    int64_t lim = DEFAULT_LIMIT_CA;
    if (has_limit) {
        if (num_parse_int(limit, strlen(limit), &lim) != ERR_OK) {
            reply_error(r, 400, 40010001, "invalid limit: %s", limit);
            goto out;
        }
        if (lim < 1 || lim > MAX_LIMIT_CA) {
            reply_error(r, 422, 42210000, "invalid limit: must be between 1 and %d", MAX_LIMIT_CA);
            goto out;
        }
    }
    items = calloc(s->nsplits + s->nrenames + 1, sizeof *items);
    if (!items) {
        reply_error(r, 500, 0, "out of memory");
        goto out;
    }
    size_t nitems = 0;
    for (size_t i = 0; i < s->nsplits; i++) {
        const struct split *sp = &s->splits[s->ca_order[i]];
        /* Alpaca filters on the process date, which can come days after the ex-date; with a
         * delay, an action is not published before it (by the simulator's clock). */
        int32_t pd = process_date(s, sp);
        if (pd < from || pd > to || sp->new_rate == sp->old_rate)
            continue;
        if (s->o.actions_delay > 0 && pd > today)
            continue;
        if (!want_type[item_group(s, s->ca_order[i])])
            continue;
        const char *sym = sp->symbol;
        if (nwant && !bsearch(&sym, want, nwant, sizeof *want, str_cmp))
            continue;
        items[nitems++] = s->ca_order[i];
    }
    for (size_t i = 0; i < s->nrenames && want_type[GRP_NAME]; i++) {
        /* Filtered on the process date, the day of the change; published some days later. */
        const struct symchange *c = &s->renames[i];
        if (c->date < from || c->date > to || rename_published(s, c) > today)
            continue;
        const char *a = c->old_symbol, *b = c->new_symbol;
        if (nwant && !bsearch(&a, want, nwant, sizeof *want, str_cmp) &&
            !bsearch(&b, want, nwant, sizeof *want, str_cmp))
            continue;
        items[nitems++] = s->nsplits + i;
    }
    size_t offset = 0;
    if (has_token) {
        char raw[64];
        int64_t v;
        if (b64_decode(token, raw, sizeof raw) != ERR_OK || strncmp(raw, "ca|", 3) != 0 ||
            num_parse_int(raw + 3, strlen(raw + 3), &v) != ERR_OK || v < 0 || (size_t)v > nitems) {
            reply_error(r, 400, 40010001, "invalid page_token");
            goto out;
        }
        offset = (size_t)v;
    }
    size_t stop = nitems - offset > (size_t)lim ? offset + (size_t)lim : nitems;

    buf_reset(&r->body);
    struct out w = {&r->body, 0};
    out_puts(&w, "{\"corporate_actions\":{");
    int groups = 0;
    static const char *const group_key[GRP_COUNT] = {
        "forward_splits", "reverse_splits", "unit_splits", "stock_dividends", "name_changes"};
    for (int pass = 0; pass < GRP_COUNT; pass++) {
        int first = 1;
        for (size_t i = offset; i < stop; i++) {
            if (item_group(s, items[i]) != pass)
                continue;
            if (first)
                out_printf(&w, "%s\"%s\":[", groups++ ? "," : "", group_key[pass]);
            else
                out_puts(&w, ",");
            first = 0;
            if (pass == GRP_NAME)
                emit_name_change(&w, &s->renames[items[i] - s->nsplits]);
            else if (pass == GRP_UNIT)
                emit_unit_split(&w, s, &s->splits[items[i]]);
            else if (pass == GRP_STOCK_DIVIDEND)
                emit_stock_dividend(&w, s, &s->splits[items[i]]);
            else
                emit_action(&w, s, &s->splits[items[i]]);
        }
        if (!first)
            out_puts(&w, "]");
    }
    out_puts(&w, "},\"next_page_token\":");
    if (stop < nitems) {
        char raw[32], tok[64];
        int n = snprintf(raw, sizeof raw, "ca|%zu", stop);
        b64_encode(raw, (size_t)n, tok);
        out_printf(&w, "\"%s\"", tok);
    } else {
        out_puts(&w, "null");
    }
    out_puts(&w, "}");
    if (w.err) {
        reply_error(r, 500, 0, "response too large");
        goto out;
    }
    json_type(r);
    r->status = 200;
out:
    free(symbols);
    free(want);
    free(items);
}

/* ---- /v2/assets and the holdings file: made-up company facts from the symbol ---- */

static const char *const name_suffixes[] = {
    "Corp",           "Holdings, Inc.", "Group Inc",    "Technologies Inc",
    "Industries Co",  "Systems, Inc.",  "Brands Inc",   "Therapeutics Inc",
    "Financial Corp", "Energy Inc",     "Realty Trust", "Labs, Inc.",
};

static const char *const sectors[] = {
    "Information Technology",
    "Health Care",
    "Financials",
    "Consumer Discretionary",
    "Communication",
    "Industrials",
    "Consumer Staples",
    "Energy",
    "Utilities",
    "Real Estate",
    "Materials",
};

static void company_name(const char *symbol, int upper, char *out, size_t cap)
{
    char word[BAR_SYMBOL_MAX + 1];
    size_t n = strlen(symbol);
    for (size_t i = 0; i < n; i++) {
        char c = symbol[i];
        word[i] = (char)(i == 0 || upper || c < 'A' || c > 'Z' ? c : c - 'A' + 'a');
    }
    word[n] = '\0';
    const char *suffix =
        name_suffixes[fnv1a(symbol, 5) % (sizeof name_suffixes / sizeof name_suffixes[0])];
    snprintf(out, cap, "%s %s", word, suffix);
    if (upper)
        for (char *p = out; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
}

static int on_nasdaq(const char *symbol)
{
    return fnv1a(symbol, 6) % 5 < 3;
}

static void emit_asset(struct out *w, const char *symbol)
{
    char key[32], id[37], name[96];
    snprintf(key, sizeof key, "asset|%s", symbol);
    make_uuid(key, id);
    company_name(symbol, 0, name, sizeof name);
    out_printf(w,
               "{\"id\":\"%s\",\"class\":\"us_equity\",\"exchange\":\"%s\",\"symbol\":\"%s\","
               "\"name\":",
               id, on_nasdaq(symbol) ? "NASDAQ" : "NYSE", symbol);
    out_json_str(w, name, strlen(name));
    out_puts(w, ",\"status\":\"active\",\"tradable\":true,\"marginable\":true,"
                "\"maintenance_margin_requirement\":30,\"shortable\":true,"
                "\"easy_to_borrow\":true,\"fractionable\":true,\"attributes\":[]}");
}

static void serve_assets(struct alpaca_sim *s, const struct httpd_request *req,
                         struct httpd_response *r)
{
    buf_reset(&r->body);
    struct out w = {&r->body, 0};
    const char *one = req->path + strlen("/v2/assets");
    if (*one == '/') {
        one++;
        long k = find_symbol(s, one, strlen(one));
        if (k < 0) {
            reply_error(r, 404, 40410000, "asset not found");
            return;
        }
        emit_asset(&w, s->sym[k]);
    } else {
        char status[PARAM_MAX], cls[PARAM_MAX], exch[PARAM_MAX];
        int has_status, has_cls, has_exch;
        if (want_param(req, "status", status, sizeof status, r, &has_status) ||
            want_param(req, "asset_class", cls, sizeof cls, r, &has_cls) ||
            want_param(req, "exchange", exch, sizeof exch, r, &has_exch))
            return;
        int none = (has_status && strcmp(status, "active") != 0) ||
                   (has_cls && strcmp(cls, "us_equity") != 0);
        out_puts(&w, "[");
        int first = 1;
        for (size_t i = 0; i < s->nsym && !none; i++) {
            if (has_exch && strcmp(exch, on_nasdaq(s->sym[i]) ? "NASDAQ" : "NYSE") != 0)
                continue;
            if (!first)
                out_puts(&w, ",");
            first = 0;
            emit_asset(&w, s->sym[i]);
        }
        out_puts(&w, "]");
    }
    if (w.err) {
        reply_error(r, 500, 0, "response too large");
        return;
    }
    json_type(r);
    r->status = 200;
}

/* 123456789 hundredths -> "1,234,567.89". */
static void format_grouped(int64_t hundredths, char out[40])
{
    char digits_[32];
    int neg = hundredths < 0;
    uint64_t v = neg ? (uint64_t)0 - (uint64_t)hundredths : (uint64_t)hundredths;
    int n = snprintf(digits_, sizeof digits_, "%llu", (unsigned long long)(v / 100));
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits_[i];
    }
    snprintf(out + o, 40 - o, ".%02u", (unsigned)(v % 100));
}

static void serve_holdings(struct alpaca_sim *s, struct httpd_response *r)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    buf_reset(&r->body);
    struct out w = {&r->body, 0};
    int y, m, d;
    date_to_ymd(s->days[s->ndays - 1], &y, &m, &d);
    out_printf(&w,
               "\xEF\xBB\xBFiShares Russell 1000 ETF\n"
               "Fund Holdings as of,\"%s %d, %d\"\n"
               "Inception Date,\"May 15, 2000\"\n"
               "Shares Outstanding,\"118,100,000.00\"\n"
               "Stock,\"-\"\nBond,\"-\"\nCash,\"-\"\nOther,\"-\"\n"
               "\xC2\xA0\n"
               "Ticker,Name,Sector,Asset Class,Market Value,Weight (%%),Notional Value,"
               "Quantity,Price,Location,Exchange,Currency,FX Rate,Market Currency,"
               "Accrual Date\n",
               months[m - 1], d, y);
    /* Market value in cents: the last close (ten-thousandths) times a made-up quantity. */
    int64_t total = 0;
    for (size_t i = 0; i < s->nsym; i++) {
        int64_t qty = 100000 + (int64_t)(fnv1a(s->sym[i], 7) % 50000000);
        total += ((int64_t)s->bars[i * s->ndays + s->ndays - 1].c * qty + 50) / 100;
    }
    for (size_t i = 0; i < s->nsym; i++) {
        const char *sym = s->sym[i];
        int64_t price = s->bars[i * s->ndays + s->ndays - 1].c; /* ten-thousandths */
        int64_t qty = 100000 + (int64_t)(fnv1a(sym, 7) % 50000000);
        int64_t value = (price * qty + 50) / 100;
        char name[96], mv[40], q[40], p[40];
        company_name(sym, 1, name, sizeof name);
        format_grouped(value, mv);
        format_grouped(qty * 100, q);
        format_grouped((price + 50) / 100, p);
        double weight = total ? 100.0 * (double)value / (double)total : 0.0;
        out_printf(&w,
                   "\"%s\",\"%s\",\"%s\",\"Equity\",\"%s\",\"%.2f\",\"%s\",\"%s\",\"%s\","
                   "\"United States\",\"%s\",\"USD\",\"1.00\",\"USD\",\"-\"\n",
                   sym, name, sectors[fnv1a(sym, 8) % (sizeof sectors / sizeof sectors[0])], mv,
                   weight, mv, q, p, on_nasdaq(sym) ? "NASDAQ" : "New York Stock Exchange Inc.");
    }
    out_puts(&w, "\"USD\",\"USD CASH\",\"Cash and/or Derivatives\",\"Cash\",\"12,345,678.90\","
                 "\"0.03\",\"12,345,678.90\",\"12,345,679.00\",\"100.00\",\"United States\","
                 "\"-\",\"USD\",\"1.00\",\"USD\",\"-\"\n");
    out_puts(&w, "\"ESZ6\",\"S&P500 EMINI DEC 26\",\"Cash and/or Derivatives\",\"Futures\","
                 "\"0.00\",\"0.00\",\"78,351,487.50\",\"209.00\",\"7,497.75\",\"-\","
                 "\"Index And Options Market\",\"USD\",\"1.00\",\"USD\",\"-\"\n");
    out_puts(&w, "\"AXQZ\",\"AXQZ ESCROW STUB\",\"Health Care\",\"Equity\",\"0.00\",\"0.00\","
                 "\"0.00\",\"1,000.00\",\"0.01\",\"United States\","
                 "\"NO MARKET (E.G. UNLISTED)\",\"USD\",\"1.00\",\"USD\",\"-\"\n");
    out_puts(&w, "\xC2\xA0\n");
    out_puts(&w, "\"The content contained herein is owned or licensed by BlackRock and/or its "
                 "third-party information providers and is protected by applicable copyrights, "
                 "trademarks, service marks, and/or other intellectual property rights.\"\n"
                 "\"This file was produced by the screener's Alpaca simulator; the holdings "
                 "are synthetic.\"\n");
    if (w.err) {
        reply_error(r, 500, 0, "response too large");
        return;
    }
    r->status = 200;
    httpd_response_header(r, "Content-Type", "text/csv");
}

/* ---- the trading API ---- */

/* The shape a scripted document must have: an object, "account" an object, "positions" an
 * array of objects (what is in them is served as it is, garbage included). */
static int check_portfolio(const struct jv *root, struct diag *d)
{
    if (jv_type(root) != JV_OBJECT)
        return diag_set(d, ERR_PARSE,
                        "portfolio: expected an object with \"account\" and "
                        "\"positions\"");
    const struct jv *a = jv_get(root, "account"), *p = jv_get(root, "positions");
    if (a && jv_type(a) != JV_OBJECT)
        return diag_set(d, ERR_PARSE, "portfolio: \"account\" must be an object");
    if (p && jv_type(p) != JV_ARRAY)
        return diag_set(d, ERR_PARSE, "portfolio: \"positions\" must be an array");
    for (size_t i = 0; p && i < jv_len(p); i++)
        if (jv_type(jv_at(p, i)) != JV_OBJECT)
            return diag_set(d, ERR_PARSE, "portfolio: position %zu is not an object", i + 1);
    for (struct jv_iter it = jv_iter(root); jv_iter_ok(&it); jv_iter_next(&it))
        if (strcmp(it.key, "account") != 0 && strcmp(it.key, "positions") != 0)
            return diag_set(d, ERR_PARSE, "portfolio: unknown member \"%.40s\"", it.key);
    return ERR_OK;
}

/* Emit a parsed value as JSON. */
static void emit_jv(struct out *w, const struct jv *v)
{
    switch (jv_type(v)) {
    case JV_NULL:
        out_puts(w, "null");
        break;
    case JV_BOOL: {
        int b = 0;
        jv_bool(v, &b);
        out_puts(w, b ? "true" : "false");
        break;
    }
    case JV_NUMBER: {
        int64_t i;
        double x = 0;
        if (jv_int(v, &i) == ERR_OK)
            out_printf(w, "%lld", (long long)i);
        else if (jv_num(v, &x) == ERR_OK)
            out_printf(w, "%.17g", x);
        break;
    }
    case JV_STRING: {
        size_t n;
        const char *s = jv_str(v, &n);
        out_json_str(w, s, n);
        break;
    }
    case JV_ARRAY:
        out_puts(w, "[");
        for (size_t i = 0; i < jv_len(v); i++) {
            if (i)
                out_puts(w, ",");
            emit_jv(w, jv_at(v, i));
        }
        out_puts(w, "]");
        break;
    case JV_OBJECT: {
        out_puts(w, "{");
        int first = 1;
        for (struct jv_iter it = jv_iter(v); jv_iter_ok(&it); jv_iter_next(&it)) {
            out_puts(w, first ? "" : ",");
            first = 0;
            out_json_str(w, it.key, strlen(it.key));
            out_puts(w, ":");
            emit_jv(w, it.value);
        }
        out_puts(w, "}");
        break;
    }
    }
}

/* A scripted decimal (a string or a number) in millionths; INT64_MIN when it is not one. */
static int64_t scripted_money(const struct jv *o, const char *key)
{
    const struct jv *v = jv_get(o, key);
    size_t n;
    const char *s = jv_str(v, &n);
    int64_t x;
    double f;
    if (s && num_parse_fixed(s, n, &x) == ERR_OK)
        return x;
    if (v && !s && jv_type(v) == JV_NUMBER && jv_num(v, &f) == ERR_OK && fabs(f) < 1e12)
        return llround(f * 1e6);
    return INT64_MIN;
}

/* The hooks' say on a money member (see alpaca_sim_hooks.money): NULL to write it as usual. */
static const char *money_override(struct alpaca_sim_call *call, const char *object,
                                  const char *member)
{
    const struct alpaca_sim_hooks *h = &call->sim->o.hooks;
    return h->money ? h->money(h->ctx, call, object, member) : NULL;
}

/* An object's members, each either given by the script, overridden by the hooks, or
 * computed. */
struct emitter {
    struct out *w;
    const struct jv *scripted; /* may be NULL */
    struct alpaca_sim_call *call;
    const char *object;   /* "account" or "position" */
    const char *done[48]; /* the members written */
    size_t ndone;
};

/* Write the member's key; returns 1 when the caller writes the computed value.  Money members
 * go through the hooks first. */
static int em_key(struct emitter *e, const char *name, int money)
{
    const struct jv *v = jv_get(e->scripted, name);
    if (e->ndone < sizeof e->done / sizeof e->done[0])
        e->done[e->ndone++] = name;
    const char *alt = money ? money_override(e->call, e->object, name) : NULL;
    if (alt && !*alt)
        return 0;
    out_puts(e->w, e->ndone > 1 ? "," : "");
    out_printf(e->w, "\"%s\":", name);
    if (alt) {
        out_puts(e->w, alt);
        return 0;
    }
    if (v) {
        emit_jv(e->w, v);
        return 0;
    }
    return 1;
}

static void em_money(struct emitter *e, const char *name, int money, int64_t v)
{
    if (!em_key(e, name, money))
        return;
    if (v == INT64_MIN) {
        out_puts(e->w, "null");
        return;
    }
    out_puts(e->w, "\"");
    out_fixed(e->w, v);
    out_puts(e->w, "\"");
}

/* A fraction with up to 16 decimals, no exponent, trailing zeros dropped. */
static void em_ratio(struct emitter *e, const char *name, int money, double v)
{
    if (!em_key(e, name, money))
        return;
    if (!isfinite(v)) {
        out_puts(e->w, "null");
        return;
    }
    char num[64];
    snprintf(num, sizeof num, "%.16f", v);
    size_t n = strlen(num);
    while (n > 1 && num[n - 1] == '0' && num[n - 2] != '.')
        n--;
    num[n] = '\0';
    out_printf(e->w, "\"%s\"", strcmp(num, "-0.0") == 0 ? "0.0" : num);
}

static void em_str(struct emitter *e, const char *name, const char *v)
{
    if (em_key(e, name, 0))
        out_json_str(e->w, v, strlen(v));
}

static void em_bool(struct emitter *e, const char *name, int v)
{
    if (em_key(e, name, 0))
        out_puts(e->w, v ? "true" : "false");
}

/* The scripted members not written yet, as they are. */
static void em_rest(struct emitter *e)
{
    for (struct jv_iter it = jv_iter(e->scripted); e->scripted && jv_iter_ok(&it);
         jv_iter_next(&it)) {
        int done = 0;
        for (size_t i = 0; i < e->ndone && !done; i++)
            done = strcmp(e->done[i], it.key) == 0;
        if (done)
            continue;
        out_puts(e->w, e->ndone++ ? "," : "");
        out_json_str(e->w, it.key, strlen(it.key));
        out_puts(e->w, ":");
        emit_jv(e->w, it.value);
    }
}

/* The trading day index of "now" in the market (the latest day up to today), or -1. */
static long day_now(const struct alpaca_sim *s)
{
    int32_t today = today_ny();
    long t = (long)s->ndays - 1;
    while (t >= 0 && s->days[t] > today)
        t--;
    return t;
}

/* A position's numbers, from the script and the market. */
struct pos_calc {
    const char *symbol;
    long k; /* market symbol index, or -1 */
    int64_t qty, avg, cur, last;
    double mv, cost, pl; /* dollars; NAN when unknown */
};

static int64_t close_at(const struct alpaca_sim *s, long k, long t)
{
    return k >= 0 && t >= 0 ? (int64_t)s->bars[(size_t)k * s->ndays + (size_t)t].c * 100
                            : INT64_MIN;
}

static void position_calc(const struct alpaca_sim *s, const struct jv *p, long t,
                          struct pos_calc *c)
{
    memset(c, 0, sizeof *c);
    size_t n = 0;
    c->symbol = jv_str(jv_get(p, "symbol"), &n);
    c->k = c->symbol ? find_symbol(s, c->symbol, n) : -1;
    c->qty = scripted_money(p, "qty");
    c->avg = scripted_money(p, "avg_entry_price");
    c->cur = jv_get(p, "current_price") ? scripted_money(p, "current_price") : close_at(s, c->k, t);
    c->last =
        jv_get(p, "lastday_price") ? scripted_money(p, "lastday_price") : close_at(s, c->k, t - 1);
    if (c->last == INT64_MIN && !jv_get(p, "lastday_price"))
        c->last = c->cur;
    double q = c->qty == INT64_MIN ? (double)NAN : (double)c->qty / 1e6;
    c->mv = c->cur == INT64_MIN ? (double)NAN : q * (double)c->cur / 1e6;
    c->cost = c->avg == INT64_MIN ? (double)NAN : q * (double)c->avg / 1e6;
    c->pl = c->mv - c->cost;
}

static int64_t to_micro(double x)
{
    return isfinite(x) && fabs(x) < 1e12 ? llround(x * 1e6) : INT64_MIN;
}

static void emit_position(struct out *w, const struct alpaca_sim *s, const struct jv *p, long t,
                          struct alpaca_sim_call *call)
{
    struct pos_calc c;
    position_calc(s, p, t, &c);
    char id[37];
    make_uuid(c.symbol ? c.symbol : "", id);
    struct emitter e = {.w = w, .scripted = p, .call = call, .object = "position"};
    out_puts(w, "{");
    em_str(&e, "asset_id", id);
    em_str(&e, "symbol", c.symbol ? c.symbol : "");
    em_str(&e, "exchange", c.symbol && on_nasdaq(c.symbol) ? "NASDAQ" : "NYSE");
    em_str(&e, "asset_class", "us_equity");
    em_bool(&e, "asset_marginable", 1);
    em_money(&e, "qty", 0, c.qty);
    em_money(&e, "qty_available", 0, c.qty);
    em_str(&e, "side", c.qty != INT64_MIN && c.qty < 0 ? "short" : "long");
    em_money(&e, "avg_entry_price", 0, c.avg);
    em_money(&e, "cost_basis", 0, to_micro(c.cost));
    em_money(&e, "current_price", 1, c.cur);
    em_money(&e, "market_value", 1, to_micro(c.mv));
    em_money(&e, "lastday_price", 1, c.last);
    double change = c.cur != INT64_MIN && c.last != INT64_MIN && c.last > 0
                        ? (double)c.cur / (double)c.last - 1.0
                        : (double)NAN;
    em_ratio(&e, "change_today", 1, change);
    em_money(&e, "unrealized_pl", 1, to_micro(c.pl));
    em_ratio(&e, "unrealized_plpc", 1, c.cost != 0 ? c.pl / fabs(c.cost) : (double)NAN);
    double q = c.qty == INT64_MIN ? (double)NAN : (double)c.qty / 1e6;
    double intraday = c.cur != INT64_MIN && c.last != INT64_MIN
                          ? q * ((double)c.cur - (double)c.last) / 1e6
                          : (double)NAN;
    em_money(&e, "unrealized_intraday_pl", 1, to_micro(intraday));
    em_ratio(&e, "unrealized_intraday_plpc", 1, change);
    em_rest(&e);
    out_puts(w, "}");
}

/* The scripted document, parsed (a copy taken under the lock). */
static int portfolio_doc(struct alpaca_sim *s, struct jv **root, struct diag *d)
{
    pthread_mutex_lock(&s->mu);
    char *text = malloc(s->portfolio_len + 1);
    size_t len = s->portfolio_len;
    if (text)
        memcpy(text, s->portfolio, len + 1);
    pthread_mutex_unlock(&s->mu);
    if (!text)
        return diag_set(d, ERR_NOMEM, "out of memory");
    int err = jv_parse(text, len, root, d);
    free(text);
    return err;
}

/* Account totals from the positions at day t (t - 1 for last_equity). */
struct totals {
    int64_t cash;
    double long_mv, short_mv, last_mv;
    int unknown; /* a position whose value is unknown */
};

static void account_totals(const struct alpaca_sim *s, const struct jv *root, long t,
                           struct totals *tt)
{
    memset(tt, 0, sizeof *tt);
    const struct jv *a = jv_get(root, "account");
    tt->cash = a && jv_get(a, "cash") ? scripted_money(a, "cash") : 100000000000LL;
    const struct jv *ps = jv_get(root, "positions");
    for (size_t i = 0; i < jv_len(ps); i++) {
        struct pos_calc c;
        position_calc(s, jv_at(ps, i), t, &c);
        if (!isfinite(c.mv)) {
            tt->unknown = 1;
            continue;
        }
        if (c.mv >= 0)
            tt->long_mv += c.mv;
        else
            tt->short_mv += c.mv;
        tt->last_mv += c.last != INT64_MIN && c.qty != INT64_MIN
                           ? (double)c.qty / 1e6 * (double)c.last / 1e6
                           : c.mv;
    }
}

static void serve_account(struct alpaca_sim *s, struct alpaca_sim_call *call,
                          struct httpd_response *r)
{
    struct jv *root;
    struct diag d;
    if (portfolio_doc(s, &root, &d)) {
        reply_error(r, 500, 0, "simulator: %s", d.text);
        return;
    }
    long t = day_now(s);
    struct totals tt;
    account_totals(s, root, t, &tt);
    int64_t cash = tt.cash;
    int64_t equity = cash == INT64_MIN || tt.unknown
                         ? INT64_MIN
                         : cash + to_micro(tt.long_mv) + to_micro(tt.short_mv);
    int64_t last = cash == INT64_MIN || tt.unknown ? INT64_MIN : cash + to_micro(tt.last_mv);
    char asof[DATE_STRLEN + 1] = "";
    if (t > 0)
        date_format(s->days[t - 1], asof);
    buf_reset(&r->body);
    struct out w = {&r->body, 0};
    struct emitter e = {
        .w = &w, .scripted = jv_get(root, "account"), .call = call, .object = "account"};
    out_puts(&w, "{");
    em_str(&e, "id", "0d9f3c1e-5a7b-4c2e-9f10-2b6a8e4d7c31");
    em_str(&e, "account_number", "PA3SIMULATOR");
    em_str(&e, "status", "ACTIVE");
    em_str(&e, "crypto_status", "ACTIVE");
    em_str(&e, "currency", "USD");
    em_money(&e, "cash", 1, cash);
    em_money(&e, "buying_power", 1, cash == INT64_MIN ? INT64_MIN : 2 * cash);
    em_money(&e, "regt_buying_power", 0, cash == INT64_MIN ? INT64_MIN : 2 * cash);
    em_money(&e, "non_marginable_buying_power", 0, cash);
    em_money(&e, "equity", 1, equity);
    em_money(&e, "last_equity", 1, last);
    em_money(&e, "portfolio_value", 1, equity);
    em_money(&e, "long_market_value", 1, to_micro(tt.long_mv));
    em_money(&e, "short_market_value", 0, to_micro(tt.short_mv));
    em_money(&e, "initial_margin", 0, 0);
    em_money(&e, "maintenance_margin", 0, 0);
    em_money(&e, "sma", 0, 0);
    em_str(&e, "multiplier", "2");
    em_str(&e, "balance_asof", asof);
    em_bool(&e, "shorting_enabled", 1);
    em_bool(&e, "trading_blocked", 0);
    em_bool(&e, "transfers_blocked", 0);
    em_bool(&e, "account_blocked", 0);
    em_bool(&e, "trade_suspended_by_user", 0);
    em_str(&e, "created_at", "2025-02-11T15:04:09.118273Z");
    em_rest(&e);
    out_puts(&w, "}");
    jv_free(root);
    if (w.err) {
        reply_error(r, 500, 0, "response too large");
        return;
    }
    json_type(r);
    r->status = 200;
}

static void serve_positions(struct alpaca_sim *s, struct alpaca_sim_call *call,
                            struct httpd_response *r)
{
    struct jv *root;
    struct diag d;
    if (portfolio_doc(s, &root, &d)) {
        reply_error(r, 500, 0, "simulator: %s", d.text);
        return;
    }
    long t = day_now(s);
    buf_reset(&r->body);
    struct out w = {&r->body, 0};
    const struct jv *ps = jv_get(root, "positions");
    out_puts(&w, "[");
    for (size_t i = 0; i < jv_len(ps); i++) {
        out_puts(&w, i ? "," : "");
        emit_position(&w, s, jv_at(ps, i), t, call);
    }
    out_puts(&w, "]");
    jv_free(root);
    if (w.err) {
        reply_error(r, 500, 0, "response too large");
        return;
    }
    json_type(r);
    r->status = 200;
}

/* The account's equity at the close of day t. */
static double equity_at(const struct alpaca_sim *s, const struct jv *root, long t)
{
    struct totals tt;
    account_totals(s, root, t, &tt);
    if (tt.cash == INT64_MIN || tt.unknown)
        return NAN;
    return (double)tt.cash / 1e6 + tt.long_mv + tt.short_mv;
}

static void serve_history(struct alpaca_sim *s, struct alpaca_sim_call *call,
                          struct httpd_response *r)
{
    const struct httpd_request *req = call->req;
    char period[PARAM_MAX], tf[PARAM_MAX];
    int has_period, has_tf;
    if (want_param(req, "period", period, sizeof period, r, &has_period) ||
        want_param(req, "timeframe", tf, sizeof tf, r, &has_tf))
        return;
    if (has_tf && strcmp(tf, "1D") != 0) {
        reply_error(r, 422, 42210000, "the simulator serves timeframe 1D only, not %s", tf);
        return;
    }
    int64_t count = 1;
    size_t pl = has_period ? strlen(period) : 2;
    char unit = has_period ? period[pl - 1] : 'M';
    int unit_days = unit == 'D' ? 1 : unit == 'W' ? 7 : unit == 'M' ? 30 : unit == 'A' ? 365 : 0;
    if (has_period && (pl < 2 || !unit_days || num_parse_int(period, pl - 1, &count) != ERR_OK ||
                       count < 1 || count > 100)) {
        reply_error(r, 422, 42210000, "invalid period: %s", period);
        return;
    }
    struct jv *root;
    struct diag d;
    if (portfolio_doc(s, &root, &d)) {
        reply_error(r, 500, 0, "simulator: %s", d.text);
        return;
    }
    long t1 = day_now(s), t0 = t1;
    int32_t from = t1 >= 0 ? s->days[t1] - (int32_t)(count * unit_days) : 0;
    while (t0 > 0 && s->days[t0 - 1] > from)
        t0--;
    double base = t0 > 0    ? equity_at(s, root, t0 - 1)
                  : t1 >= 0 ? equity_at(s, root, t0)
                            : (double)NAN;
    /* The hooks may override the equity values (an empty answer leaves them as they are). */
    const char *eq_alt = money_override(call, "history", "equity");
    if (eq_alt && !*eq_alt)
        eq_alt = NULL;
    buf_reset(&r->body);
    struct out w = {&r->body, 0};
    static const char *const arrays[] = {"timestamp", "equity", "profit_loss", "profit_loss_pct"};
    out_puts(&w, "{");
    for (int a = 0; a < 4; a++) {
        out_printf(&w, "%s\"%s\":[", a ? "," : "", arrays[a]);
        for (long t = t0; t1 >= 0 && t <= t1; t++) {
            out_puts(&w, t > t0 ? "," : "");
            double eq = equity_at(s, root, t);
            if (a == 0) /* 00:00 UTC of the next calendar day, as Alpaca stamps a 1D point */
                out_printf(&w, "%lld", (long long)(s->days[t] + 1) * 86400);
            else if (a == 1 && eq_alt)
                out_puts(&w, eq_alt);
            else if (a == 1)
                out_printf(&w, isfinite(eq) ? "%.2f" : "null", eq);
            else if (a == 2)
                out_printf(&w, isfinite(eq - base) ? "%.2f" : "null", eq - base);
            else
                out_printf(&w, isfinite(eq / base) && base != 0 ? "%.6f" : "null", eq / base - 1.0);
        }
        out_puts(&w, "]");
    }
    char asof[DATE_STRLEN + 1] = "";
    if (t0 > 0)
        date_format(s->days[t0 - 1], asof);
    out_printf(&w, isfinite(base) ? ",\"base_value\":%.2f" : ",\"base_value\":null", base);
    if (asof[0])
        out_printf(&w, ",\"base_value_asof\":\"%s\"", asof);
    out_puts(&w, ",\"timeframe\":\"1D\"}");
    jv_free(root);
    if (w.err) {
        reply_error(r, 500, 0, "response too large");
        return;
    }
    json_type(r);
    r->status = 200;
}

static int set_doc(struct alpaca_sim *s, const char *json, size_t len, int positions_only,
                   struct diag *d)
{
    if (len > PORTFOLIO_MAX)
        return diag_set(d, ERR_TOOBIG, "portfolio: more than %d bytes", PORTFOLIO_MAX);
    struct jv *root;
    int err = jv_parse(json, len, &root, d);
    if (err)
        return diag_prefix(d, ERR_PARSE, "portfolio");
    struct buf doc = BUF_INIT(2 * PORTFOLIO_MAX);
    struct out w = {&doc, 0};
    if (positions_only) {
        if (jv_type(root) != JV_ARRAY) {
            jv_free(root);
            return diag_set(d, ERR_PARSE, "positions: expected a JSON array");
        }
        struct jv *old;
        if ((err = portfolio_doc(s, &old, d)) != ERR_OK) {
            jv_free(root);
            return err;
        }
        out_puts(&w, "{\"account\":");
        if (jv_get(old, "account"))
            emit_jv(&w, jv_get(old, "account"));
        else
            out_puts(&w, "{}");
        out_puts(&w, ",\"positions\":");
        emit_jv(&w, root);
        out_puts(&w, "}");
        jv_free(old);
        jv_free(root);
        if (!w.err && (err = jv_parse(doc.data, doc.len, &root, d)) != ERR_OK) {
            buf_release(&doc);
            return err;
        }
    } else {
        out_append(&w, json, len);
    }
    if (w.err) {
        jv_free(root);
        buf_release(&doc);
        return diag_set(d, ERR_NOMEM, "out of memory");
    }
    err = check_portfolio(root, d);
    jv_free(root);
    if (err) {
        buf_release(&doc);
        return err;
    }
    size_t n;
    char *text = buf_detach(&doc, &n);
    if (!text)
        return diag_set(d, ERR_NOMEM, "out of memory");
    pthread_mutex_lock(&s->mu);
    free(s->portfolio);
    s->portfolio = text;
    s->portfolio_len = n;
    pthread_mutex_unlock(&s->mu);
    return ERR_OK;
}

int alpaca_sim_set_portfolio(struct alpaca_sim *s, const char *json, size_t len, struct diag *d)
{
    return set_doc(s, json, len, 0, d);
}

int alpaca_sim_set_positions(struct alpaca_sim *s, const char *json, size_t len, struct diag *d)
{
    return set_doc(s, json, len, 1, d);
}

static void serve_trading(struct alpaca_sim *s, struct alpaca_sim_call *call,
                          struct httpd_response *r)
{
    if (call->ep == ALPACA_SIM_EP_ACCOUNT)
        serve_account(s, call, r);
    else if (call->ep == ALPACA_SIM_EP_POSITIONS)
        serve_positions(s, call, r);
    else
        serve_history(s, call, r);
}

/* ---- the control endpoints ---- */

static const char *const endpoint_names[ALPACA_SIM_EP_COUNT_] = {
    "/v2/stocks/bars",
    "/v1/corporate-actions",
    "/v2/assets",
    "/iwb_holdings.csv",
    "/v2/account",
    "/v2/positions",
    "/v2/account/portfolio/history",
    "other",
};

static void serve_stats(struct alpaca_sim *s, struct httpd_response *r)
{
    struct alpaca_sim_stats st;
    alpaca_sim_get_stats(s, &st);
    buf_reset(&r->body);
    struct out w = {&r->body, 0};
    out_printf(&w, "{\"requests\":%llu,\"endpoints\":{", (unsigned long long)st.requests);
    for (int i = 0; i < ALPACA_SIM_EP_COUNT_; i++)
        out_printf(&w, "%s\"%s\":%llu", i ? "," : "", endpoint_names[i],
                   (unsigned long long)st.endpoint[i]);
    out_printf(&w,
               "},\"bars_ordinal\":%llu,\"trading_ordinal\":%llu,\"over_limit\":%llu,\"max_in_"
               "window\":%llu,"
               "\"altered\":%llu,\"dropped\":%llu,\"status\":{",
               (unsigned long long)st.bars_ordinal, (unsigned long long)st.trading_ordinal,
               (unsigned long long)st.over_limit, (unsigned long long)st.max_in_window,
               (unsigned long long)st.altered, (unsigned long long)st.dropped);
    int first = 1;
    for (int i = 0; i < 600; i++) {
        if (!st.status[i])
            continue;
        out_printf(&w, "%s\"%d\":%llu", first ? "" : ",", i, (unsigned long long)st.status[i]);
        first = 0;
    }
    out_printf(&w, "},\"rate_limit\":{\"limit\":%zu,\"window_ms\":%lld}}", s->o.rate_limit,
               (long long)s->o.rate_window_ms);
    json_type(r);
    r->status = w.err ? 500 : 200;
}

static void serve_control(struct alpaca_sim *s, const struct httpd_request *req,
                          struct httpd_response *r)
{
    if (strcmp(req->path, "/__sim/stats") == 0) {
        if (strcmp(req->method, "GET") != 0)
            reply_error(r, 405, 0, "method not allowed");
        else
            serve_stats(s, r);
    } else if (strcmp(req->path, "/__sim/portfolio") == 0 ||
               strcmp(req->path, "/__sim/positions") == 0) {
        struct diag d = {{0}};
        if (strcmp(req->method, "POST") != 0) {
            reply_error(r, 405, 0, "method not allowed");
            return;
        }
        int err =
            set_doc(s, req->body, req->body_len, strcmp(req->path, "/__sim/positions") == 0, &d);
        if (err)
            reply_error(r, 400, 0, "%s", d.text);
        else
            alpaca_sim_reply_json(r, 200, "{\"ok\":true}");
    } else if (strcmp(req->path, "/__sim/latency") == 0) {
        char v[32];
        int64_t ms;
        if (strcmp(req->method, "POST") != 0) {
            reply_error(r, 405, 0, "method not allowed");
        } else if (httpd_query_get(req->query, "ms", v, sizeof v) != ERR_OK ||
                   num_parse_int(v, strlen(v), &ms) != ERR_OK || ms < 0 ||
                   ms > ALPACA_SIM_LATENCY_MAX_MS) {
            reply_error(r, 400, 0, "expected ms=N, 0 to %d", ALPACA_SIM_LATENCY_MAX_MS);
        } else {
            __atomic_store_n(&s->latency_ms, ms, __ATOMIC_SEQ_CST);
            alpaca_sim_reply_json(r, 200, "{\"latency\":true}");
        }
    } else if (strcmp(req->path, "/__sim/reset") == 0) {
        if (strcmp(req->method, "POST") != 0) {
            reply_error(r, 405, 0, "method not allowed");
        } else {
            alpaca_sim_reset(s);
            alpaca_sim_reply_json(r, 200, "{\"reset\":true}");
        }
    } else if (!s->o.hooks.control || !s->o.hooks.control(s->o.hooks.ctx, s, req, r)) {
        reply_error(r, 404, 0, "not found");
    }
}

/* ---- dispatch ---- */

static enum alpaca_sim_endpoint route(const char *path)
{
    if (strcmp(path, "/v2/stocks/bars") == 0)
        return ALPACA_SIM_EP_BARS;
    if (strcmp(path, "/v1/corporate-actions") == 0)
        return ALPACA_SIM_EP_CORPORATE_ACTIONS;
    if (strcmp(path, "/v2/assets") == 0 ||
        (strncmp(path, "/v2/assets/", 11) == 0 && path[11] && !strchr(path + 11, '/')))
        return ALPACA_SIM_EP_ASSETS;
    if (strcmp(path, "/iwb_holdings.csv") == 0)
        return ALPACA_SIM_EP_HOLDINGS;
    if (strcmp(path, "/v2/account") == 0)
        return ALPACA_SIM_EP_ACCOUNT;
    if (strcmp(path, "/v2/positions") == 0)
        return ALPACA_SIM_EP_POSITIONS;
    if (strcmp(path, "/v2/account/portfolio/history") == 0)
        return ALPACA_SIM_EP_HISTORY;
    return ALPACA_SIM_EP_OTHER;
}

void alpaca_sim_handle(void *ctx, const struct httpd_request *req, struct httpd_response *r)
{
    struct alpaca_sim *s = ctx;
    const struct alpaca_sim_hooks *h = &s->o.hooks;
    if (strncmp(req->path, "/__sim/", 7) == 0) {
        serve_control(s, req, r);
        return;
    }
    enum alpaca_sim_endpoint ep = route(req->path);
    struct alpaca_sim_call call = {.sim = s,
                                   .req = req,
                                   .ep = ep,
                                   .hold_ms = __atomic_load_n(&s->latency_ms, __ATOMIC_SEQ_CST)};
    int over = 0;
    char rid[32];
    pthread_mutex_lock(&s->mu);
    snprintf(rid, sizeof rid, "sim-%08llx", (unsigned long long)++s->request_seq);
    pthread_mutex_unlock(&s->mu);
    httpd_response_header(r, "X-Request-ID", rid);

    if (strlen(req->target) > s->o.max_url) {
        alpaca_sim_reply_nginx(r, 414, "Request-URI Too Large");
    } else if (ep == ALPACA_SIM_EP_OTHER) {
        reply_error(r, 404, 0, "not found");
    } else if (strcmp(req->method, "GET") != 0) {
        reply_error(r, 405, 0, "method not allowed");
    } else if (ep == ALPACA_SIM_EP_HOLDINGS) {
        serve_holdings(s, r);
    } else if (!crypto_secret_streq(httpd_request_header(req, ALPACA_KEY_ID_HEADER), s->key_id) ||
               !crypto_secret_streq(httpd_request_header(req, ALPACA_SECRET_KEY_HEADER),
                                    s->secret)) {
        if (s->o.auth_status == 401)
            reply_error(r, 401, 40110000, "request is not authorized");
        else
            alpaca_sim_reply_json(r, 403, "{\"message\":\"forbidden.\"}");
    } else {
        pthread_mutex_lock(&s->mu);
        int trading = ep == ALPACA_SIM_EP_ACCOUNT || ep == ALPACA_SIM_EP_POSITIONS ||
                      ep == ALPACA_SIM_EP_HISTORY;
        struct admission a = admit(s, clock_wall_ms(), trading || ep == ALPACA_SIM_EP_ASSETS);
        if (a.ok && ep == ALPACA_SIM_EP_BARS)
            call.ordinal = ++s->st.bars_ordinal;
        else if (a.ok && trading)
            call.ordinal = ++s->st.trading_ordinal;
        pthread_mutex_unlock(&s->mu);
        ratelimit_headers(s, &a, r);
        if (!a.ok) {
            over = 1;
            alpaca_sim_reply_429(s, r, a.retry_after_s);
        } else if (h->before && h->before(h->ctx, &call, r)) {
            /* answered by the hooks */
        } else {
            if (ep == ALPACA_SIM_EP_BARS)
                serve_bars(s, &call, r);
            else if (ep == ALPACA_SIM_EP_CORPORATE_ACTIONS)
                serve_corporate_actions(s, req, r);
            else if (trading)
                serve_trading(s, &call, r);
            else
                serve_assets(s, req, r);
            if (h->after)
                h->after(h->ctx, &call, r);
        }
    }

    pthread_mutex_lock(&s->mu);
    s->st.requests++;
    s->st.endpoint[ep]++;
    if (r->action == HTTPD_DROP)
        s->st.dropped++;
    else if (r->status >= 0 && r->status < 600)
        s->st.status[r->status]++;
    s->st.altered += call.altered != NULL;
    s->st.over_limit += over;
    pthread_mutex_unlock(&s->mu);
    log_debug("simulator request", LF_STR("method", req->method), LF_STR("path", req->path),
              LF_INT("status", r->action == HTTPD_DROP ? 0 : r->status),
              LF_STR("altered", call.altered ? call.altered : ""));

    /* In slices, so that stopping the server cuts the wait short. */
    for (int64_t left = call.hold_ms; left > 0 && !__atomic_load_n(&s->stopping, __ATOMIC_SEQ_CST);
         left -= HOLD_SLICE_MS)
        clock_sleep_ms(left < HOLD_SLICE_MS ? left : HOLD_SLICE_MS);
}
