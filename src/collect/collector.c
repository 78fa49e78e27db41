/* collector.c - plan, fetch and commit daily bars (see collector.h). */
#include "collect/collector.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/calendar.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/alpaca_auth.h"
#include "codec/num.h"
#include "collect/alpaca.h"
#include "store/symlog.h"

#include "base/banned.h"

#define URL_TOKEN_RESERVE 600 /* room for an encoded page token and the fixed parameters */
#define MAX_EMPTY_PAGES   3   /* pages in a row with a token but no bars */
#define SIP_DELAY_MS      (15 * 60 * 1000)
/* Requests end this much earlier still: a host clock a little ahead of Alpaca's would
 * otherwise ask for the last 15 minutes, which the free plan refuses. */
#define END_MARGIN_MS (2 * 60 * 1000)
/* After such a refusal anyway (a clock further ahead), the end moves back by this much more,
 * at most SIP_RETRIES times. */
#define END_BACKOFF_MS (15 * 60 * 1000)
#define SIP_RETRIES    4
/* A day is learned closed only when at least this many symbols were asked for it. */
#define COLLECT_CLOSED_MIN_SYMBOLS 20
/* The most stored days read ahead for the write (a daily run's settle window and a little). */
#define COLLECT_PREFETCH_DAYS 10

enum chain_state { CH_WAITING, CH_ACTIVE, CH_DONE, CH_FAILED, CH_COMMITTED, CH_CANCELLED };

struct run;

struct batch {
    size_t first, n; /* planned symbols [first, first + n), sorted by symbol */
    struct chain **chains;
    size_t nchains, next_commit;
    int failed, cancelled;
};

struct chain {
    struct run *run;
    struct batch *b;
    int32_t start, end;
    char token[ALPACA_TOKEN_MAX];
    struct barvec bars;
    struct alpaca_page page;
    size_t pages, empty_pages, expected;
    enum chain_state state;
};

struct actchain {
    struct run *run;
    size_t first, n;
    int32_t start, end;
    char token[ALPACA_TOKEN_MAX];
    struct splitvec page;
    struct symchangevec changes_page;
    size_t pages;
};

struct run {
    struct barstore *bs;
    const struct collect_opts *o;
    struct collect_stats *st;
    struct fetch *fetch;
    int64_t now_ms;
    /* Planned symbols, sorted by (start, symbol). */
    const char **names;
    int32_t *starts;
    size_t *counts;
    size_t nplanned;
    struct batch **batches;
    size_t nbatches, cap_batches;
    struct chain **chains; /* activation order */
    size_t nchains, cap_chains, next_activate, active, waiting;
    struct actchain *acts;
    size_t nacts;
    struct splitvec splits;
    /* Symbol changes: those stored before the run (the universe's symbols are asked for under
     * their names at the end), and those received now. */
    struct symchangevec known, changes;
    const char **asked;      /* the universe's symbols under their names at the end */
    unsigned char *takeover; /* per planned symbol: its history was stored under an older name */
    /* The stored split log, read on a thread of its own while the bars and actions are
     * fetched (the store is not touched otherwise until the first write, which waits for it). */
    pthread_t log_thread;
    int log_reading, log_read; /* the thread runs; its outcome is in log_* */
    struct splitvec log_splits;
    int log_err;
    struct diag log_diag;
    int critical;
    struct diag critical_diag;
    int incomplete;
    struct diag incomplete_diag;
    int deadline_passed;
    int64_t end_cut_ms; /* how far requests end before now - SIP_DELAY_MS - END_MARGIN_MS */
    size_t *nodata;     /* planned symbols that got no bar, reported at the end */
    size_t nnodata;
    int sip_retries;
    int settle_days; /* the settle window in trading days (refetch_days resolved) */
    struct buf url;
};

void collect_opts_default(struct collect_opts *o)
{
    memset(o, 0, sizeof *o);
    o->data_url = ALPACA_DEFAULT_DATA_URL;
    o->feed = "sip";
    o->start = o->end = INT32_MIN;
    o->close_minute = CAL_CLOSE_MINUTE;
    o->settle_minute = CAL_SETTLE_MINUTE;
    o->refetch_days = 0; /* SCREENER_SETTLE_DAYS, else COLLECT_SETTLE_DAYS_MIN */
    o->actions_back_days = 45;
    o->actions_ahead_days = 7;
    o->history_days = 365;
    o->scan_back_days = 10;
    o->max_url = 6000;
    o->chain_max_bars = 400000;
    fetch_opts_default(&o->fetch);
}

int collect_settle_days(int *out, struct diag *d)
{
    const char *v = getenv("SCREENER_SETTLE_DAYS");
    *out = COLLECT_SETTLE_DAYS_MIN;
    if (!v || !*v)
        return ERR_OK;
    int64_t n;
    if (num_parse_int(v, strlen(v), &n) != ERR_OK || n < COLLECT_SETTLE_DAYS_MIN ||
        n > COLLECT_SETTLE_DAYS_MAX) {
        char q[40];
        diag_quote(q, sizeof q, v, strlen(v), 24);
        return diag_set(d, ERR_USAGE,
                        "SCREENER_SETTLE_DAYS: expected a whole number of trading days from %d "
                        "to %d, got '%s'",
                        COLLECT_SETTLE_DAYS_MIN, COLLECT_SETTLE_DAYS_MAX, q);
    }
    *out = (int)n;
    return ERR_OK;
}

static void report(struct run *r, const char *symbol, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(struct run *r, const char *symbol, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    log_warn(what, LF_STR("symbol", symbol));
    if (r->o->on_problem)
        r->o->on_problem(r->o->ctx, symbol, what);
}

static void on_page_problem(void *ctx, const char *symbol, const char *what)
{
    struct chain *c = ctx;
    report(c->run, symbol, "%s", what);
}

static void set_critical(struct run *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_critical(struct run *r, int err, const char *fmt, ...)
{
    if (r->critical)
        return;
    r->critical = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->critical_diag.text, sizeof r->critical_diag.text, fmt, ap);
    va_end(ap);
    log_error("collection stopped", LF_STR("error", r->critical_diag.text));
    fetch_stop(r->fetch);
}

/* ---- planning ---- */

static struct batch *add_batch(struct run *r, size_t first, size_t n)
{
    if (r->nbatches == r->cap_batches) {
        size_t cap = r->cap_batches ? 2 * r->cap_batches : 16;
        struct batch **v = realloc(r->batches, cap * sizeof *v);
        if (!v)
            return NULL;
        r->batches = v;
        r->cap_batches = cap;
    }
    struct batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->first = first;
    b->n = n;
    r->batches[r->nbatches++] = b;
    return b;
}

static struct chain *add_chain(struct run *r, struct batch *b, int32_t start, int32_t end)
{
    if (r->nchains == r->cap_chains) {
        size_t cap = r->cap_chains ? 2 * r->cap_chains : 16;
        struct chain **v = realloc(r->chains, cap * sizeof *v);
        if (!v)
            return NULL;
        r->chains = v;
        r->cap_chains = cap;
    }
    struct chain **bc = realloc(b->chains, (b->nchains + 1) * sizeof *bc);
    if (!bc)
        return NULL;
    b->chains = bc;
    struct chain *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->run = r;
    c->b = b;
    c->start = start;
    c->end = end;
    c->expected = b->n * (size_t)cal_trading_days(start, end);
    barvec_init(&c->bars);
    alpaca_page_init(&c->page);
    b->chains[b->nchains++] = c;
    r->chains[r->nchains++] = c;
    r->st->chains++;
    r->st->bars_expected += c->expected;
    return c;
}

/* Cut [start, end] into chains of about equal numbers of trading days. */
static int plan_chains(struct run *r, struct batch *b, int32_t start, int32_t end)
{
    int32_t days = cal_trading_days(start, end);
    size_t expected = b->n * (size_t)days;
    size_t floor_pages = (expected + ALPACA_PAGE_LIMIT - 1) / ALPACA_PAGE_LIMIT;
    /* Each chain may end with a partly filled page: one chain per 20 pages keeps that waste
     * under 5%; the concurrency caps it, the memory bound raises it. */
    size_t nc = 1 + floor_pages / 20;
    size_t conc = r->o->fetch.concurrency ? r->o->fetch.concurrency : 1;
    if (nc > conc)
        nc = conc;
    size_t by_memory = (expected + r->o->chain_max_bars - 1) / r->o->chain_max_bars;
    if (nc < by_memory)
        nc = by_memory;
    if (nc > (size_t)days)
        nc = days > 0 ? (size_t)days : 1;
    int32_t d = start;
    for (size_t k = 0; k < nc; k++) {
        int32_t want = (int32_t)(((size_t)days * (k + 1)) / nc - ((size_t)days * k) / nc);
        int32_t cs = d, ce = d;
        for (int32_t got = 0; ce <= end; ce++) {
            got += cal_is_trading_day(ce);
            if (got == want)
                break;
        }
        if (k + 1 == nc || ce > end)
            ce = end;
        if (!add_chain(r, b, cs, ce))
            return ERR_NOMEM;
        d = ce + 1;
        if (d > end)
            break;
    }
    return ERR_OK;
}

static size_t symbol_url_len(const char *s)
{
    size_t n = 1; /* the comma */
    for (; *s; s++)
        n += *s == '/' ? 3 : 1;
    return n;
}

/* Batches of symbols sharing a start date, each as long as the URL budget allows. */
static int plan_batches(struct run *r, size_t first, size_t n, int32_t start, int32_t end)
{
    size_t fixed = strlen(r->o->data_url) + URL_TOKEN_RESERVE;
    size_t i = first, stop = first + n;
    while (i < stop) {
        size_t len = fixed, j = i;
        while (j < stop && (j == i || len + symbol_url_len(r->names[j]) <= r->o->max_url))
            len += symbol_url_len(r->names[j++]);
        struct batch *b = add_batch(r, i, j - i);
        if (!b)
            return ERR_NOMEM;
        int err = plan_chains(r, b, start, end);
        if (err)
            return err;
        i = j;
    }
    return ERR_OK;
}

/* ---- commits ---- */

static int bar_key_cmp(const void *pa, const void *pb)
{
    const struct bar *a = pa, *b = pb;
    int c = strcmp(a->symbol, b->symbol);
    return c ? c : (a->date > b->date) - (a->date < b->date);
}

/* Sort by (symbol, date); drop repeated dates: one copy kept when equal, none when they
 * differ (which one is right cannot be known). */
static void dedupe(struct run *r, struct barvec *v)
{
    if (v->n > 1)
        qsort(v->v, v->n, sizeof *v->v, bar_key_cmp);
    size_t w = 0;
    for (size_t i = 0; i < v->n;) {
        size_t j = i + 1;
        int differ = 0;
        while (j < v->n && bar_key_cmp(&v->v[i], &v->v[j]) == 0) {
            differ |= !bar_equal(&v->v[i], &v->v[j]);
            j++;
        }
        if (j - i > 1) {
            char day[DATE_STRLEN + 1];
            date_format(v->v[i].date, day);
            r->st->bars_duplicate += j - i - (differ ? 0 : 1);
            report(r, v->v[i].symbol, "%zu bars with the same date %s%s", j - i, day,
                   differ ? " and different values: none stored" : ": one kept");
        }
        if (j - i == 1 || !differ)
            v->v[w++] = v->v[i];
        i = j;
    }
    v->n = w;
}

struct conflict_ctx {
    struct run *r;
    const struct bar *bars;
};

static void on_conflict(void *ctx, size_t index, const struct bar *other, const char *field)
{
    struct conflict_ctx *cc = ctx;
    const struct bar *b = &cc->bars[index];
    char day[DATE_STRLEN + 1];
    date_format(b->date, day);
    (void)other;
    report(cc->r, b->symbol,
           "%s is already stored with a different '%s': the new bar is not "
           "stored",
           day, field);
}

static size_t planned_index(const struct run *r, const struct batch *b, const char *symbol)
{
    size_t lo = b->first, hi = b->first + b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->names[mid], symbol);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

/* A symbol without a bar is reported when the run ends, once closed days are learned: a day
 * the exchange did not open is not missing data. */
static void batch_finished(struct run *r, struct batch *b)
{
    r->st->symbols_done += b->n;
    for (size_t i = b->first; i < b->first + b->n; i++)
        if (!r->counts[i] && r->nnodata < r->nplanned)
            r->nodata[r->nnodata++] = i;
}

static void report_no_data(struct run *r)
{
    for (size_t k = 0; k < r->nnodata; k++) {
        size_t i = r->nodata[k];
        if (cal_trading_days(r->starts[i], r->st->end) == 0)
            continue; /* asked only for days now known to be closed */
        char s[DATE_STRLEN + 1], e[DATE_STRLEN + 1];
        date_format(r->starts[i], s);
        date_format(r->st->end, e);
        r->st->symbols_no_data++;
        report(r, r->names[i], "no data from the API between %s and %s", s, e);
    }
}

/* After a complete run: a weekday in the range asked for on which not one of at least
 * COLLECT_CLOSED_MIN_SYMBOLS symbols has a stored bar was a day the exchange did not open (an
 * unscheduled closure the built-in table does not know).  Record it in the store and the
 * calendar. */
static int learn_closed_days(struct run *r, struct diag *d)
{
    struct collect_stats *st = r->st;
    if (r->nplanned < COLLECT_CLOSED_MIN_SYMBOLS || st->first_start > st->end)
        return ERR_OK;
    struct bar_index idx;
    int err = barstore_index(r->bs, st->first_start, st->end, &idx, d);
    if (err)
        return err;
    size_t di = 0;
    for (int32_t day = st->first_start; !err && day <= st->end; day++) {
        while (di < idx.ndays && idx.days[di].date < day)
            di++;
        if (!cal_is_trading_day(day) || (di < idx.ndays && idx.days[di].date == day))
            continue;
        size_t asked = 0;
        for (size_t i = 0; i < r->nplanned; i++)
            asked += r->starts[i] <= day;
        if (asked < COLLECT_CLOSED_MIN_SYMBOLS)
            continue;
        char reason[128], s[DATE_STRLEN + 1];
        snprintf(reason, sizeof reason, "no bar for any of %zu symbols", asked);
        date_format(day, s);
        err = barstore_record_closed(r->bs, day, reason, d);
        if (!err && cal_learn_closed(&day, 1) == ERR_OK) {
            st->closed_days_learned++;
            log_warn("a weekday without any bar: recorded as a day the market was closed",
                     LF_STR("date", s), LF_INT("symbols", asked));
        }
    }
    bar_index_release(&idx);
    return err;
}

/* The planned symbol of a bar: the name its company has at the end of the run. */
static size_t planned_of(const struct run *r, const struct batch *b, const struct bar *x)
{
    return planned_index(r, b, symchange_name_on(r->known.v, r->known.n, x->symbol, r->st->end));
}

/* Bars are stored under the symbol their company had on their date: a vendor that serves a
 * renamed company's whole history under its new name gives the old days back to the old
 * symbol, where they are already stored (docs/definitions.md#symbol-changes). */
static void name_as_of_date(struct run *r, struct barvec *v)
{
    for (size_t i = 0; i < v->n && r->known.n; i++) {
        const char *name = symchange_name_on(r->known.v, r->known.n, v->v[i].symbol, v->v[i].date);
        if (name != v->v[i].symbol)
            memmove(v->v[i].symbol, name, strlen(name) + 1);
    }
}

static void join_log_read(struct run *r);

static void commit_chain(struct run *r, struct chain *c)
{
    join_log_read(r);
    /* Counted under the planned names, before the bars get the names of their dates. */
    int32_t takeover_from = INT32_MAX;
    for (size_t i = 0; i < c->bars.n; i++) {
        size_t at = planned_of(r, c->b, &c->bars.v[i]);
        if (at != SIZE_MAX)
            r->counts[at]++;
        if (at != SIZE_MAX && r->takeover && r->takeover[at] && c->bars.v[i].date < takeover_from)
            takeover_from = c->bars.v[i].date;
    }
    name_as_of_date(r, &c->bars);
    dedupe(r, &c->bars);
    struct conflict_ctx cc = {r, c->bars.v};
    struct barstore_write_opts wo = {.skip_conflicts = 1,
                                     .on_conflict = on_conflict,
                                     .ctx = &cc,
                                     .revisions = 1,
                                     .provisional_from = r->st->final_day + 1,
                                     .revise_from = r->st->refetch_from};
    struct barstore_write_stats ws;
    struct diag d = {{0}};
    int err = barstore_write(r->bs, c->bars.v, c->bars.n, &wo, &ws, &d);
    if (err && err != ERR_CONFLICT) {
        set_critical(r, err, "writing to the store failed: %s", d.text);
        c->state = CH_FAILED;
        return;
    }
    r->st->bars_new += ws.rows_new;
    r->st->bars_same += ws.rows_same;
    r->st->bars_conflict += ws.rows_conflict;
    r->st->bars_revised += ws.rows_revised;
    if (ws.rows_revised && ws.first_revised < r->st->changed_from)
        r->st->changed_from = ws.first_revised;
    /* A renamed company's first bars under its new name: the screens of their dates had it
     * under neither name. */
    if (ws.rows_new && takeover_from < r->st->changed_from)
        r->st->changed_from = takeover_from;
    r->st->bars_finalized += ws.rows_finalized;
    for (size_t i = 0; i < c->bars.n; i++)
        r->st->bars_provisional += c->bars.v[i].date > r->st->final_day;
    barvec_release(&c->bars);
    barvec_init(&c->bars);
    c->state = CH_COMMITTED;
    r->st->chains_done++;
}

/* Write the batch's chains that are complete and have every earlier chain written. */
static void try_commit(struct run *r, struct batch *b)
{
    while (!r->critical && !b->failed && !b->cancelled && b->next_commit < b->nchains &&
           b->chains[b->next_commit]->state == CH_DONE) {
        struct chain *c = b->chains[b->next_commit];
        r->waiting--;
        commit_chain(r, c);
        if (c->state != CH_COMMITTED)
            return;
        if (++b->next_commit == b->nchains)
            batch_finished(r, b);
    }
}

/* ---- fetching ---- */

static void activate(struct run *r);

static int submit_page(struct chain *c);

static int accept_page(void *ctx, const struct http_response *resp, struct diag *d)
{
    struct chain *c = ctx;
    c->page.bars.n = 0;
    return alpaca_parse_bars(resp->body.data, resp->body.len, &c->page, on_page_problem, c, d);
}

static void batch_give_up(struct run *r, struct batch *b, int err, const struct diag *d)
{
    if (b->failed)
        return;
    b->failed = 1;
    for (size_t k = b->next_commit; k < b->nchains; k++) {
        struct chain *c = b->chains[k];
        if (c->state == CH_DONE)
            r->waiting--;
        if (c->state != CH_ACTIVE)
            c->state = CH_FAILED;
        barvec_release(&c->bars);
        barvec_init(&c->bars);
    }
    r->st->symbols_failed += b->n;
    if (!r->incomplete) {
        r->incomplete = err;
        r->incomplete_diag = *d;
    }
    log_error("symbols given up for this run", LF_STR("first_symbol", r->names[b->first]),
              LF_INT("symbols", b->n), LF_STR("error", d->text));
}

/* Replace b by two batches of half the symbols each, for the chains not yet written. */
static void split_batch(struct run *r, struct batch *b)
{
    b->cancelled = 1;
    size_t from = b->next_commit;
    for (size_t k = from; k < b->nchains; k++) {
        struct chain *c = b->chains[k];
        if (c->state == CH_DONE)
            r->waiting--;
        if (c->state != CH_ACTIVE)
            c->state = CH_CANCELLED;
        r->st->chains--;
        r->st->bars_expected -= c->expected;
    }
    size_t half = b->n / 2;
    struct batch *h[2] = {add_batch(r, b->first, half), add_batch(r, b->first + half, b->n - half)};
    for (int i = 0; i < 2; i++) {
        if (!h[i]) {
            set_critical(r, ERR_NOMEM, "out of memory");
            return;
        }
        for (size_t k = from; k < b->nchains; k++)
            if (!add_chain(r, h[i], b->chains[k]->start, b->chains[k]->end)) {
                set_critical(r, ERR_NOMEM, "out of memory");
                return;
            }
    }
}

static void on_page(void *ctx, int err, struct http_response *resp, const struct diag *d)
{
    struct chain *c = ctx;
    struct run *r = c->run;
    struct batch *b = c->b;
    r->active--;
    if (c->state == CH_CANCELLED || b->failed || r->critical) {
        if (c->state == CH_ACTIVE)
            c->state = b->cancelled ? CH_CANCELLED : CH_FAILED;
        goto next;
    }
    if (err == ERR_OK) {
        r->st->bar_pages++;
        r->st->bars_bad += c->page.bad;
        r->st->bars_received += c->page.bars.n;
        for (size_t i = 0; i < c->page.bars.n; i++) {
            const struct bar *x = &c->page.bars.v[i];
            if (planned_index(r, b, x->symbol) == SIZE_MAX || x->date < c->start ||
                x->date > c->end) {
                char day[DATE_STRLEN + 1];
                date_format(x->date, day);
                r->st->bars_bad++;
                report(r, x->symbol, "the API sent a bar that was not asked for (%s)", day);
                continue;
            }
            if (barvec_push(&c->bars, x)) {
                set_critical(r, ERR_NOMEM, "out of memory");
                goto next;
            }
        }
        c->pages++;
        c->empty_pages = c->page.bars.n ? 0 : c->empty_pages + 1;
        if (!c->page.next_token[0]) {
            c->state = CH_DONE;
            r->waiting++;
            try_commit(r, b);
        } else if (strcmp(c->page.next_token, c->token) == 0 || c->empty_pages >= MAX_EMPTY_PAGES ||
                   c->pages > c->expected + 50) {
            set_critical(r, ERR_INVALID,
                         "the API's pages never end (page %zu for %zu symbols from %s "
                         "repeats its token or brings nothing new); stopping",
                         c->pages, b->n, r->names[b->first]);
        } else {
            memcpy(c->token, c->page.next_token, sizeof c->token);
            if (submit_page(c) == ERR_OK)
                r->active++;
            else
                set_critical(r, ERR_NOMEM, "out of memory");
        }
        goto next;
    }
    char msg[DIAG_MAX];
    snprintf(msg, sizeof msg, "%s", d->text);
    if (err == ERR_AUTH && resp &&
        alpaca_is_recent_data_refusal(resp->status, resp->body.data, resp->body.len)) {
        /* The request reached into the last 15 minutes by Alpaca's clock: not a credentials
         * problem.  End every request earlier and ask again. */
        r->st->recent_data_refusals++;
        if (r->sip_retries < SIP_RETRIES) {
            r->sip_retries++;
            r->end_cut_ms = (int64_t)r->sip_retries * END_BACKOFF_MS;
            log_warn("Alpaca refused recent data (this host's clock may be ahead of Alpaca's); "
                     "asking again with an earlier end",
                     LF_INT("end_minutes_before_now",
                            (SIP_DELAY_MS + END_MARGIN_MS + r->end_cut_ms) / 60000),
                     LF_STR("answer", msg));
            if (submit_page(c) == ERR_OK)
                r->active++;
            else
                set_critical(r, ERR_NOMEM, "out of memory");
            goto next;
        }
        c->state = CH_FAILED;
        struct diag why;
        diag_set(&why, ERR_UNAVAILABLE,
                 "Alpaca still refuses recent data with the request ending %lld minutes before "
                 "this host's clock (is the clock far ahead?): %.300s",
                 (long long)((SIP_DELAY_MS + END_MARGIN_MS + r->end_cut_ms) / 60000), msg);
        batch_give_up(r, b, ERR_UNAVAILABLE, &why);
    } else if (err == ERR_AUTH) {
        set_critical(r, ERR_AUTH,
                     "Alpaca refused the credentials (APCA_API_KEY_ID, APCA_API_SECRET_KEY) or "
                     "the subscription: %s",
                     msg);
    } else if (err == ERR_INVALID && resp->status == 414) {
        if (b->n < 2)
            set_critical(r, ERR_INVALID, "the API refuses even a one-symbol URL: %s", msg);
        else
            split_batch(r, b);
        c->state = CH_CANCELLED;
    } else if (err == ERR_INVALID && (resp->status == 400 || resp->status == 422) &&
               strstr(msg, "symbol")) {
        /* Some symbol of the batch is unknown to the API: narrow it down. */
        if (b->n < 2) {
            r->st->symbols_unknown++;
            report(r, r->names[b->first], "the API does not know this symbol: %s", msg);
            b->failed = 1;
            c->state = CH_FAILED;
        } else {
            split_batch(r, b);
            c->state = CH_CANCELLED;
        }
    } else if (err == ERR_INVALID) {
        set_critical(r, ERR_INVALID, "the API rejected the request: %s", msg);
    } else {
        c->state = CH_FAILED;
        batch_give_up(r, b, err, d);
    }
next:
    r->st->fetch = *fetch_get_stats(r->fetch);
    if (r->o->on_progress)
        r->o->on_progress(r->o->ctx, r->st);
    activate(r);
}

static int submit_page(struct chain *c)
{
    struct run *r = c->run;
    buf_reset(&r->url);
    int64_t start_ms = cal_ny_to_utc_ms(c->start, 0);
    int64_t end_ms = cal_ny_to_utc_ms(c->end + 1, 0) - 1000;
    int64_t latest = r->now_ms - SIP_DELAY_MS - END_MARGIN_MS - r->end_cut_ms;
    if (end_ms > latest)
        end_ms = latest;
    int err = alpaca_bars_url(&r->url, r->o->data_url, r->names + c->b->first, c->b->n, start_ms,
                              end_ms, r->o->feed, c->token);
    if (err)
        return err;
    struct fetch_req req = {
        .url = buf_cstr(&r->url), .accept = accept_page, .done = on_page, .ctx = c};
    r->st->bar_requests++; /* attempts are counted by the fetcher; this counts pages asked */
    return fetch_submit(r->fetch, &req, NULL);
}

/* Start chains while there is room: `concurrency` in flight, and no more than as many again
 * complete and waiting for an earlier chain of their batch. */
static void activate(struct run *r)
{
    size_t conc = r->o->fetch.concurrency ? r->o->fetch.concurrency : 1;
    while (!r->critical && !r->deadline_passed && r->next_activate < r->nchains &&
           r->active < conc && r->active + r->waiting < 2 * conc) {
        struct chain *c = r->chains[r->next_activate++];
        if (c->state != CH_WAITING || c->b->failed || c->b->cancelled)
            continue;
        if (r->o->deadline_ms && clock_wall_ms() >= r->o->deadline_ms) {
            r->deadline_passed = 1;
            r->next_activate--;
            log_warn("deadline reached: no more chains are started",
                     LF_INT("chains_in_flight", r->active));
            return;
        }
        if (submit_page(c)) {
            set_critical(r, ERR_NOMEM, "out of memory");
            return;
        }
        c->state = CH_ACTIVE;
        r->active++;
    }
}

/* Symbols whose batch still has a chain that was never started. */
static size_t count_not_attempted(const struct run *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nbatches; i++) {
        const struct batch *b = r->batches[i];
        if (b->failed || b->cancelled)
            continue;
        for (size_t k = 0; k < b->nchains; k++)
            if (b->chains[k]->state == CH_WAITING) {
                n += b->n;
                break;
            }
    }
    return n;
}

/* ---- corporate actions ---- */

static void on_action_problem(void *ctx, const char *symbol, const char *what)
{
    struct actchain *a = ctx;
    report(a->run, symbol, "%s", what);
}

static int accept_actions(void *ctx, const struct http_response *resp, struct diag *d)
{
    struct actchain *a = ctx;
    a->page.n = 0;
    a->changes_page.n = 0;
    char next[ALPACA_TOKEN_MAX];
    int err = alpaca_parse_actions(resp->body.data, resp->body.len, &a->page, &a->changes_page,
                                   next, on_action_problem, a, d);
    if (!err && strcmp(next, a->token) == 0 && next[0])
        err = diag_set(d, ERR_PARSE, "corporate actions page repeats its page token");
    if (!err)
        memcpy(a->token, next, sizeof next);
    return err;
}

static int submit_actions(struct actchain *a);

static void on_actions(void *ctx, int err, struct http_response *resp, const struct diag *d)
{
    struct actchain *a = ctx;
    struct run *r = a->run;
    if (r->critical)
        return;
    if (err == ERR_AUTH) {
        set_critical(r, ERR_AUTH,
                     "Alpaca refused the credentials (APCA_API_KEY_ID, APCA_API_SECRET_KEY) or "
                     "the subscription: %s",
                     d->text);
        return;
    }
    if (err == ERR_INVALID && resp && resp->status == 414 && a->n > 1 && a->pages == 0) {
        /* The URL is too long for the server: ask for each half of the symbols apart (the
         * array holds a chain per symbol at most, so it never moves). */
        struct actchain *h = &r->acts[r->nacts++];
        *h = *a;
        h->n = a->n / 2;
        h->first = a->first + (a->n - h->n);
        a->n -= h->n;
        a->token[0] = h->token[0] = '\0';
        splitvec_init(&h->page);
        symchangevec_init(&h->changes_page);
        if (submit_actions(a) || submit_actions(h))
            set_critical(r, ERR_NOMEM, "out of memory");
        return;
    }
    if (err) {
        if (!r->incomplete) {
            r->incomplete = err;
            snprintf(r->incomplete_diag.text, sizeof r->incomplete_diag.text,
                     "split facts could not be fetched: %.400s", d->text);
        }
        report(r, r->names[a->first], "split facts could not be fetched: %s", d->text);
        return;
    }
    for (size_t i = 0; i < a->page.n; i++)
        if (splitvec_push(&r->splits, &a->page.v[i])) {
            set_critical(r, ERR_NOMEM, "out of memory");
            return;
        }
    r->st->splits_received += a->page.n;
    for (size_t i = 0; i < a->changes_page.n; i++)
        if (symchangevec_push(&r->changes, &a->changes_page.v[i])) {
            set_critical(r, ERR_NOMEM, "out of memory");
            return;
        }
    r->st->symbol_changes_received += a->changes_page.n;
    if (a->token[0] && ++a->pages < 1000 && submit_actions(a))
        set_critical(r, ERR_NOMEM, "out of memory");
}

static int submit_actions(struct actchain *a)
{
    struct run *r = a->run;
    buf_reset(&r->url);
    int err = alpaca_actions_url(&r->url, r->o->data_url, r->names + a->first, a->n, a->start,
                                 a->end, a->token);
    if (err)
        return err;
    struct fetch_req req = {
        .url = buf_cstr(&r->url), .accept = accept_actions, .done = on_actions, .ctx = a};
    r->st->action_requests++;
    return fetch_submit(r->fetch, &req, NULL);
}

static void *read_log(void *arg)
{
    struct run *r = arg;
    /* A daily run writes the few days of its settle window: the stored parts the write reads
     * first are fetched now. */
    int days = r->o->start == INT32_MIN && r->st->first_start <= r->st->end;
    /* And what the caller reads next: the newest days' parts (those of the settle window
     * twice: the write reads them, then the caller), a few objects. */
    struct barstore_ahead more = {.scan_max = COLLECT_READ_AHEAD_MAX};
    for (size_t k = 0; days && k < COLLECT_READ_AHEAD_SCANS; k++)
        if (r->o->read_ahead_days[k] > 0) {
            more.scan[more.nscans].from = r->st->end - (r->o->read_ahead_days[k] - 1);
            more.scan[more.nscans++].to = r->st->end;
        }
    barstore_prefetch_more(r->bs, days ? r->st->first_start : 1, days ? r->st->end : 0,
                           COLLECT_PREFETCH_DAYS, !r->o->skip_actions, &more);
    if (!r->o->skip_actions)
        r->log_err = barstore_read_splits(r->bs, &r->log_splits, &r->log_diag);
    return NULL;
}

/* Start reading the split log and the days to be written alongside the fetching (they go to
 * the store, the fetching to Alpaca: on S3 their round trips then cost nothing).  When no
 * thread can be had, store_splits and the write read them as before. */
static void start_log_read(struct run *r)
{
    splitvec_init(&r->log_splits);
    r->log_reading = pthread_create(&r->log_thread, NULL, read_log, r) == 0;
}

/* Wait for the split log's read: before anything else uses the store. */
static void join_log_read(struct run *r)
{
    if (!r->log_reading)
        return;
    pthread_join(r->log_thread, NULL);
    r->log_reading = 0;
    r->log_read = 1;
    barstore_splits_ahead(r->bs, 0); /* later reads of the log list it afresh */
}

/* Store the split facts that are new; one that contradicts a stored fact is reported. */
static int store_splits(struct run *r, struct diag *d)
{
    join_log_read(r);
    if (!r->splits.n)
        return ERR_OK;
    struct splitvec have;
    splitvec_init(&have);
    int err = ERR_OK;
    if (r->log_read && !r->o->skip_actions) {
        have = r->log_splits;
        splitvec_init(&r->log_splits);
        if ((err = r->log_err) != ERR_OK)
            *d = r->log_diag;
    } else {
        err = barstore_read_splits(r->bs, &have, d);
    }
    struct splitvec add;
    splitvec_init(&add);
    for (size_t i = 0; !err && i < r->splits.n; i++) {
        const struct split *s = &r->splits.v[i];
        const struct split *same = NULL;
        for (size_t k = 0; k < have.n && !same; k++)
            if (have.v[k].ex_date == s->ex_date && strcmp(have.v[k].symbol, s->symbol) == 0)
                same = &have.v[k];
        if (same && (same->new_rate != s->new_rate || same->old_rate != s->old_rate)) {
            char day[DATE_STRLEN + 1];
            date_format(s->ex_date, day);
            r->st->splits_conflict++;
            report(r, s->symbol, "split on %s differs from the stored one: not stored", day);
            continue;
        }
        if (!same) {
            err = splitvec_push(&add, s);
            if (s->ex_date < r->st->changed_from)
                r->st->changed_from = s->ex_date;
        }
    }
    size_t added = 0;
    if (!err && add.n)
        err = barstore_write_splits(r->bs, add.v, add.n, &added, d);
    r->st->splits_new += added;
    splitvec_release(&add);
    splitvec_release(&have);
    return err;
}

/* Store the symbol changes that are new.  One that contradicts a stored change is reported and
 * not stored.  A new one changes the screens from its date on. */
static int store_symbol_changes(struct run *r, struct diag *d)
{
    for (size_t i = 0; i < r->changes.n; i++) {
        const struct symchange *c = &r->changes.v[i];
        size_t added = 0;
        struct diag wd = {{0}};
        int err = symlog_write(r->bs, c, 1, &added, &wd);
        if (err == ERR_CONFLICT || err == ERR_INVALID) {
            r->st->splits_conflict++;
            report(r, c->old_symbol, "symbol change not stored: %s", wd.text);
            continue;
        }
        if (err)
            return diag_set(d, err, "%s", wd.text);
        if (!added)
            continue;
        char day[DATE_STRLEN + 1];
        date_format(c->date, day);
        log_info("symbol change recorded: the history continues under the new symbol",
                 LF_STR("old_symbol", c->old_symbol), LF_STR("new_symbol", c->new_symbol),
                 LF_STR("date", day));
        r->st->symbol_changes_new++;
        if (c->date < r->st->changed_from)
            r->st->changed_from = c->date;
    }
    return ERR_OK;
}

/* The universe under the names its companies have at the end: a symbol renamed since is
 * asked for under its new name. */
static int map_universe(struct run *r, const char *const *symbols, size_t n, struct diag *d)
{
    r->asked = malloc((n ? n : 1) * sizeof *r->asked);
    if (!r->asked)
        return diag_set(d, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        r->asked[i] = bar_symbol_valid(symbols[i], strlen(symbols[i]))
                          ? symchange_name_on(r->known.v, r->known.n, symbols[i], r->st->end)
                          : symbols[i];
        if (r->asked[i] != symbols[i])
            log_info("asking for a renamed symbol under its new name", LF_STR("symbol", symbols[i]),
                     LF_STR("now", r->asked[i]));
    }
    return ERR_OK;
}

/* ---- the run ---- */

struct planned {
    const char *name;
    int32_t start;
    unsigned char takeover;
};

static int planned_cmp(const void *pa, const void *pb)
{
    const struct planned *a = pa, *b = pb;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void run_release(struct run *r)
{
    for (size_t i = 0; i < r->nchains; i++) {
        barvec_release(&r->chains[i]->bars);
        alpaca_page_release(&r->chains[i]->page);
        free(r->chains[i]);
    }
    for (size_t i = 0; i < r->nbatches; i++) {
        free(r->batches[i]->chains);
        free(r->batches[i]);
    }
    for (size_t i = 0; i < r->nacts; i++) {
        splitvec_release(&r->acts[i].page);
        symchangevec_release(&r->acts[i].changes_page);
    }
    symchangevec_release(&r->known);
    symchangevec_release(&r->changes);
    free(r->asked);
    free(r->takeover);
    free(r->acts);
    free(r->chains);
    free(r->batches);
    free(r->names);
    free(r->starts);
    free(r->counts);
    free(r->nodata);
    splitvec_release(&r->splits);
    join_log_read(r);
    barstore_splits_ahead(r->bs, 0);
    splitvec_release(&r->log_splits);
    buf_release(&r->url);
    fetch_free(r->fetch);
}

/* Unique, sorted, valid symbols. */
static int clean_symbols(struct run *r, const char *const *symbols, size_t n, const char ***out,
                         size_t *nout)
{
    const char **v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!bar_symbol_valid(symbols[i], strlen(symbols[i]))) {
            report(r, symbols[i], "not a valid symbol: skipped");
            continue;
        }
        v[k++] = symbols[i];
    }
    qsort(v, k, sizeof *v, str_cmp);
    size_t w = 0;
    for (size_t i = 0; i < k; i++)
        if (w == 0 || strcmp(v[w - 1], v[i]) != 0)
            v[w++] = v[i];
    *out = v;
    *nout = w;
    return ERR_OK;
}

/* The days fetched again: the last settle_days trading days up to the end, and every day
 * since that a stored bar is provisional on (looking back scan_back_days stored days). */
static int settle_window(struct run *r, struct diag *d)
{
    struct collect_stats *st = r->st;
    st->refetch_from = INT32_MAX;
    if (r->settle_days > 0) {
        int32_t from = cal_trading_day_at_or_before(st->end);
        for (int i = 1; i < r->settle_days; i++)
            from = cal_trading_day_at_or_before(from - 1);
        st->refetch_from = from;
    }
    int32_t prov;
    int err = barstore_first_provisional(r->bs, st->end, r->o->scan_back_days, &prov, d);
    if (!err && prov < st->refetch_from)
        st->refetch_from = prov;
    return err;
}

static int plan(struct run *r, const char *const *symbols, size_t n, struct diag *d)
{
    const struct collect_opts *o = r->o;
    struct collect_stats *st = r->st;
    const char **syms;
    size_t nsyms;
    if (clean_symbols(r, symbols, n, &syms, &nsyms))
        return diag_set(d, ERR_NOMEM, "out of memory");
    st->symbols = nsyms;
    int32_t *last = calloc(nsyms ? nsyms : 1, sizeof *last);
    struct planned *p = calloc(nsyms ? nsyms : 1, sizeof *p);
    int err = !last || !p ? diag_set(d, ERR_NOMEM, "out of memory") : ERR_OK;
    if (!err && o->start == INT32_MIN)
        err = barstore_last_dates(r->bs, syms, nsyms, st->end, o->scan_back_days, last, d);
    if (!err && o->start == INT32_MIN)
        err = settle_window(r, d);
    /* A renamed company's history is stored under its older names: its new name continues
     * from the last of those, it is not a new symbol to fetch a whole history for. */
    unsigned char *takeover = calloc(nsyms ? nsyms : 1, 1);
    if (!err && !takeover)
        err = diag_set(d, ERR_NOMEM, "out of memory");
    if (!err && o->start == INT32_MIN && r->known.n) {
        const char **olds = malloc(r->known.n * sizeof *olds);
        int32_t *old_last = calloc(r->known.n, sizeof *old_last);
        if (!olds || !old_last)
            err = diag_set(d, ERR_NOMEM, "out of memory");
        for (size_t k = 0; !err && k < r->known.n; k++)
            olds[k] = r->known.v[k].old_symbol;
        if (!err)
            err = barstore_last_dates(r->bs, olds, r->known.n, st->end, o->scan_back_days, old_last,
                                      d);
        for (size_t k = 0; !err && k < r->known.n; k++) {
            const char *now = symchange_name_on(r->known.v, r->known.n, olds[k], st->end);
            const char **at = bsearch(&now, syms, nsyms, sizeof *syms, str_cmp);
            if (!at || old_last[k] == INT32_MIN)
                continue;
            size_t i = (size_t)(at - syms);
            if (last[i] == INT32_MIN || old_last[k] > last[i]) {
                last[i] = old_last[k];
                takeover[i] = 1;
            }
        }
        free(olds);
        free(old_last);
    }
    size_t np = 0;
    for (size_t i = 0; !err && i < nsyms; i++) {
        int32_t start = o->start != INT32_MIN  ? o->start
                        : last[i] != INT32_MIN ? last[i] + 1
                                               : st->end - o->history_days + 1;
        /* The unsettled days are fetched again. */
        if (o->start == INT32_MIN && last[i] != INT32_MIN && start > st->refetch_from)
            start = st->refetch_from;
        if (cal_trading_days(start, st->end) == 0) {
            st->symbols_current++;
            continue;
        }
        p[np].name = syms[i];
        p[np].takeover = takeover[i];
        p[np++].start = start;
    }
    if (!err) {
        qsort(p, np, sizeof *p, planned_cmp);
        r->names = malloc((np ? np : 1) * sizeof *r->names);
        r->starts = malloc((np ? np : 1) * sizeof *r->starts);
        r->counts = calloc(np ? np : 1, sizeof *r->counts);
        r->nodata = calloc(np ? np : 1, sizeof *r->nodata);
        r->takeover = calloc(np ? np : 1, 1);
        if (!r->names || !r->starts || !r->counts || !r->takeover)
            err = diag_set(d, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; !err && i < np; i++) {
        r->names[i] = p[i].name;
        r->starts[i] = p[i].start;
        r->takeover[i] = p[i].takeover;
        if (p[i].start < st->first_start)
            st->first_start = p[i].start;
    }
    r->nplanned = np;
    st->symbols_planned = np;
    for (size_t i = 0; !err && i < np;) {
        size_t j = i;
        while (j < np && p[j].start == p[i].start)
            j++;
        if (plan_batches(r, i, j - i, p[i].start, st->end))
            err = diag_set(d, ERR_NOMEM, "out of memory");
        i = j;
    }
    free(last);
    free(p);
    free(takeover);
    /* The planned names point into the caller's symbols; syms itself can go. */
    free(syms);
    return err;
}

/* Split facts for every symbol of the universe, over a trailing window: from
 * actions_back_days before the end (or the earliest start, when earlier) to actions_ahead_days
 * after it.  Alpaca filters by the date an action is processed, which can be days after its
 * ex-date: asking again every run over the window finds a split published late. */
static int plan_actions(struct run *r, const char *const *symbols, size_t n)
{
    const char **syms;
    size_t nsyms;
    if (clean_symbols(r, symbols, n, &syms, &nsyms))
        return ERR_NOMEM;
    int32_t start = r->st->first_start != INT32_MAX ? r->st->first_start : r->st->end;
    if (r->st->end - r->o->actions_back_days < start)
        start = r->st->end - r->o->actions_back_days;
    size_t fixed = strlen(r->o->data_url) + URL_TOKEN_RESERVE;
    r->acts = calloc(nsyms ? nsyms : 1, sizeof *r->acts);
    /* The actions chains keep pointers to the names: keep them in r->names' lifetime by
     * reusing the caller's strings through a dedicated array. */
    int err = r->acts ? ERR_OK : ERR_NOMEM;
    const char **names = realloc(r->names, (r->nplanned + nsyms + 1) * sizeof *names);
    if (!names)
        err = ERR_NOMEM;
    else
        r->names = names;
    size_t base = r->nplanned;
    for (size_t i = 0; !err && i < nsyms; i++)
        r->names[base + i] = syms[i];
    for (size_t i = 0; !err && i < nsyms;) {
        size_t len = fixed, j = i;
        while (j < nsyms && (j == i || len + symbol_url_len(syms[j]) <= r->o->max_url))
            len += symbol_url_len(syms[j++]);
        struct actchain *a = &r->acts[r->nacts++];
        a->run = r;
        a->first = base + i;
        a->n = j - i;
        a->start = start;
        a->end = r->st->end + r->o->actions_ahead_days;
        splitvec_init(&a->page);
        symchangevec_init(&a->changes_page);
        err = submit_actions(a);
        i = j;
    }
    free(syms);
    return err;
}

int collect_run(struct barstore *bs, const char *const *symbols, size_t n,
                const struct collect_opts *o, struct collect_stats *st, struct diag *d)
{
    memset(st, 0, sizeof *st);
    st->first_start = INT32_MAX;
    int64_t t0 = clock_mono_us();
    struct run r = {.bs = bs, .o = o, .st = st};
    buf_init(&r.url, (size_t)1 << 20);
    splitvec_init(&r.splits);
    splitvec_init(&r.log_splits);
    r.now_ms = o->now_ms ? o->now_ms : clock_wall_ms();
    int32_t last_day = cal_last_final_day(r.now_ms, o->close_minute);
    st->end = o->end != INT32_MIN && o->end < last_day ? o->end : last_day;
    st->final_day = cal_last_final_day(r.now_ms, o->settle_minute);
    st->refetch_from = INT32_MAX;
    st->changed_from = INT32_MAX;
    r.settle_days = o->refetch_days;
    int err = ERR_OK;
    if (!r.settle_days)
        err = collect_settle_days(&r.settle_days, d);
    else if (r.settle_days < COLLECT_SETTLE_DAYS_MIN || r.settle_days > COLLECT_SETTLE_DAYS_MAX)
        err = diag_set(d, ERR_USAGE, "the settle window must be %d to %d trading days, not %d",
                       COLLECT_SETTLE_DAYS_MIN, COLLECT_SETTLE_DAYS_MAX, r.settle_days);
    if (err) {
        buf_release(&r.url);
        return err;
    }
    struct alpaca_auth auth;
    err = alpaca_auth_init(&auth, o->key_id, o->secret_key, d);
    if (err)
        return err;
    if (o->start != INT32_MIN && o->start > st->end) {
        char s[DATE_STRLEN + 1], e[DATE_STRLEN + 1];
        date_format(o->start, s);
        date_format(st->end, e);
        alpaca_auth_release(&auth);
        return diag_set(d, ERR_USAGE, "start %s is after the last final trading day %s", s, e);
    }
    log_add_secret(o->secret_key);
    const char *headers[] = {auth.lines[0], auth.lines[1], "Accept: application/json"};
    struct fetch_opts fo = o->fetch;
    fo.headers = headers;
    fo.nheaders = 3;
    err = fetch_new(o->http, &fo, &r.fetch, d);
    alpaca_auth_release(&auth); /* the fetcher has its own copy */
    if (!err && !o->skip_actions)
        barstore_splits_ahead(bs, 1); /* read on a thread during the fetch (start_log_read) */
    if (!err)
        symlog_ahead(bs);
    if (!err) {
        /* The closed days learned by earlier runs (or by other collectors). */
        int32_t *closed;
        size_t nclosed;
        err = barstore_closed_days(bs, &closed, &nclosed, d);
        if (!err && cal_learn_closed(closed, nclosed) != ERR_OK)
            log_warn("too many learned closed days; some are ignored", LF_INT("days", nclosed));
        free(closed);
    }
    if (!err && (err = symlog_read(bs, &r.known, d)))
        diag_prefix(d, err, "reading the symbol changes");
    if (!err)
        err = map_universe(&r, symbols, n, d);
    if (!err)
        err = plan(&r, r.asked, n, d);
    if (!err && !o->skip_actions && plan_actions(&r, r.asked, n))
        err = diag_set(d, ERR_NOMEM, "out of memory");
    if (!err) {
        char e[DATE_STRLEN + 1];
        date_format(st->end, e);
        log_info("collection planned", LF_INT("symbols", st->symbols),
                 LF_INT("up_to_date", st->symbols_current), LF_INT("chains", st->chains),
                 LF_INT("bars_expected", st->bars_expected), LF_STR("end", e));
        start_log_read(&r);
        activate(&r);
        err = fetch_run(r.fetch, d);
        join_log_read(&r);
    }
    /* Chains that finished after a failure of an earlier one are never written. */
    if (!err && !r.critical)
        err = store_splits(&r, d);
    if (!err && !r.critical)
        err = store_symbol_changes(&r, d);
    if (r.deadline_passed)
        st->symbols_not_attempted = count_not_attempted(&r);
    if (!err && !r.critical && !r.incomplete && !r.deadline_passed)
        err = learn_closed_days(&r, d);
    if (!o->read_ahead_days[0] && !o->read_ahead_days[1])
        barstore_prefetch_drop(bs); /* what the write did not read */
    report_no_data(&r);
    st->fetch = *fetch_get_stats(r.fetch);
    st->request_floor = (st->bars_received + ALPACA_PAGE_LIMIT - 1) / ALPACA_PAGE_LIMIT;
    st->elapsed_ms = (clock_mono_us() - t0) / 1000;
    if (!err && r.critical)
        err = diag_set(d, r.critical, "%s", r.critical_diag.text);
    if (!err && r.incomplete)
        err = diag_set(d, r.incomplete,
                       "%zu symbols could not be collected this time (a rerun completes "
                       "them): %s",
                       st->symbols_failed + st->symbols_not_attempted, r.incomplete_diag.text);
    if (!err && st->symbols_not_attempted)
        err = diag_set(d, ERR_TIMEOUT,
                       "the deadline came before %zu of %zu symbols were collected (a rerun "
                       "completes them)",
                       st->symbols_not_attempted, st->symbols_planned);
    run_release(&r);
    return err;
}
