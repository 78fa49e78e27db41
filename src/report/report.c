/* report.c - gathering a report's data from the results, and storing the page. */
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/calendar.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/split.h"
#include "store/barstore.h"
#include "store/symlog.h"

#include "base/banned.h"

#define REPORT_WRITE_ATTEMPTS 8
#define MAX_PROBLEMS          4
/* The largest object read ahead (a bigger one is read when asked for, to say it is too big). */
#define REPORT_PREFETCH_MAX ((size_t)128 << 20)

void report_key(int32_t date, char *key)
{
    char day[DATE_STRLEN + 1];
    date_format(date, day);
    snprintf(key, OBJ_KEY_MAX, REPORT_PREFIX "%s.html", day);
}

/* What report_build read, owned. */
struct loaded {
    struct results_screen screen;
    struct report_closes *closes;
    size_t ncloses, capcloses;
    int32_t closes_date;
    struct report_since *since;
    size_t nsince;
    struct results_run run;
    int have_run;
    struct report_equity equity;
    int have_equity;
};

static void loaded_release(struct loaded *l)
{
    results_screen_release(&l->screen);
    free(l->closes);
    free(l->since);
    report_equity_release(&l->equity);
}

static int keep_closes(void *ctx, const char *symbol, const struct results_closes *c)
{
    struct loaded *l = ctx;
    if (c->date != l->closes_date)
        return ERR_OK; /* a symbol without a bar on the date: no sparkline of another day */
    if (l->ncloses == l->capcloses) {
        size_t cap = l->capcloses ? l->capcloses * 2 : 256;
        struct report_closes *v = realloc(l->closes, cap * sizeof *v);
        if (!v)
            return ERR_NOMEM;
        l->closes = v;
        l->capcloses = cap;
    }
    struct report_closes *rc = &l->closes[l->ncloses++];
    snprintf(rc->symbol, sizeof rc->symbol, "%s", symbol);
    rc->c = *c;
    return ERR_OK;
}

/* The screen's rows by symbol, through an index sorted by symbol. */
static int idx_cmp(const void *a, const void *b)
{
    const struct screen_row *x = *(const struct screen_row *const *)a;
    const struct screen_row *y = *(const struct screen_row *const *)b;
    return strcmp(x->symbol, y->symbol);
}

static const struct screen_row *lookup(const struct screen_row **idx, size_t n, const char *s)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(idx[mid]->symbol, s);
        if (c == 0)
            return idx[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* What one share of symbol became through the splits after `from` up to `to`. */
static double split_growth(const struct splitvec *sv, const char *symbol, int32_t from, int32_t to)
{
    size_t lo = 0, hi = sv->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(sv->v[mid].symbol, symbol) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    double f = 1.0;
    for (size_t i = lo; i < sv->n && strcmp(sv->v[i].symbol, symbol) == 0; i++)
        if (sv->v[i].ex_date > from && sv->v[i].ex_date <= to)
            f *= split_factor(&sv->v[i]);
    return f;
}

/* The top candidates of the REPORT_HISTORY_DATES dates before the report's, valued at its
 * screen's closes. */
static int load_since(struct objstore *os, struct barstore *bars, struct loaded *l, char *problem,
                      size_t cap)
{
    struct results_history h = {0};
    struct splitvec sv;
    struct symchangevec changes;
    splitvec_init(&sv);
    symchangevec_init(&changes);
    const struct screen_row **idx = NULL;
    struct diag d = {{0}};
    int err = results_read_top(os, &h, &d);
    if (err == ERR_NOTFOUND) {
        err = ERR_OK;
        goto out;
    }
    if (err) {
        snprintf(problem, cap, "the top-candidate history could not be read: %.400s", d.text);
        goto out;
    }
    /* A candidate renamed since is valued under its name on the report's date, its splits
     * too (docs/definitions.md#symbol-changes). */
    int32_t date = l->screen.date;
    struct barstore *bs = bars;
    if ((!bs && barstore_new(os, &bs, &d) != ERR_OK) ||
        symlog_read_splits(bs, date, &sv, &d) != ERR_OK ||
        symlog_read(bs, &changes, &d) != ERR_OK) {
        snprintf(problem, cap,
                 "the split log could not be read, returns are not split-adjusted: %.400s", d.text);
        splitvec_release(&sv);
        splitvec_init(&sv);
        symchangevec_release(&changes);
        symchangevec_init(&changes);
    }
    if (bs != bars)
        barstore_free(bs);

    size_t end = h.n;
    while (end > 0 && h.rows[end - 1].date >= date)
        end--;
    size_t first = end, ndates = 0;
    while (first > 0 && ndates < REPORT_HISTORY_DATES) {
        int32_t dt = h.rows[first - 1].date;
        while (first > 0 && h.rows[first - 1].date == dt)
            first--;
        ndates++;
    }
    if (end == first)
        goto out;
    idx = malloc((l->screen.n ? l->screen.n : 1) * sizeof *idx);
    l->since = malloc((end - first) * sizeof *l->since);
    if (!idx || !l->since) {
        err = ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < l->screen.n; i++)
        idx[i] = &l->screen.rows[i];
    qsort(idx, l->screen.n, sizeof *idx, idx_cmp);
    for (size_t i = first; i < end; i++) {
        const struct screen_row *r = &h.rows[i];
        struct report_since *s = &l->since[l->nsince++];
        s->date = r->date;
        s->rank = r->rank;
        memcpy(s->symbol, r->symbol, sizeof s->symbol);
        const char *now = symchange_name_on(changes.v, changes.n, r->symbol, date);
        const struct screen_row *cur = lookup(idx, l->screen.n, now);
        double g = split_growth(&sv, now, r->date, date);
        s->then = r->close > 0 && g > 0 ? r->close / g : (double)NAN;
        s->now = cur ? cur->close : (double)NAN;
        s->since_pct = cur && s->then > 0 ? 100.0 * (s->now / s->then - 1.0) : (double)NAN;
    }
out:
    free(idx);
    splitvec_release(&sv);
    symchangevec_release(&changes);
    results_history_release(&h);
    return err;
}

int report_build(struct objstore *os, int32_t date, const struct report_opts *o, struct buf *out,
                 int32_t *date_out, struct diag *d)
{
    struct loaded l = {0};
    char problems[MAX_PROBLEMS][DIAG_MAX] = {{0}};
    size_t np = 0;
    struct log_timer t = log_timer_start("report build");
    /* Everything the page is made of, fetched together; the readers below take it from there. */
    char screen_key[OBJ_KEY_MAX];
    if (date)
        results_screen_key(date, screen_key);
    else
        snprintf(screen_key, sizeof screen_key, "%s", RESULTS_LATEST_KEY);
    const char *const want[] = {screen_key, RESULTS_CLOSES_KEY, RESULTS_TOP_KEY, RESULTS_RUN_KEY,
                                REPORT_EQUITY_KEY};
    objstore_prefetch(os, want, sizeof want / sizeof want[0], REPORT_PREFETCH_MAX);
    int err = results_read_screen(os, date, &l.screen, d);
    if (err == ERR_NOTFOUND && date) {
        char day[DATE_STRLEN + 1];
        date_format(date, day);
        err = diag_set(d, ERR_NOTFOUND,
                       "no screen of %s in the results (a collection or an import writes it)", day);
    } else if (err == ERR_NOTFOUND) {
        err = diag_set(d, ERR_NOTFOUND,
                       "no screen in the results yet (a collection or an import writes it)");
    }
    if (err)
        goto out;
    if (l.screen.n == 0 && !date) {
        err = diag_set(d, ERR_NOTFOUND, "the latest screen in the results has no rows");
        goto out;
    }
    if (!date)
        date = l.screen.date;
    l.screen.date = date;

    struct diag od = {{0}};
    l.closes_date = date;
    int e = results_read_closes_each(os, keep_closes, &l, &od);
    if (e == ERR_NOMEM) {
        err = diag_set(d, e, "out of memory");
        goto out;
    }
    if (e && e != ERR_NOTFOUND)
        snprintf(problems[np++], DIAG_MAX, "the closes for sparklines could not be read: %.400s",
                 od.text);
    if (e)
        l.ncloses = 0;

    if ((e = load_since(os, o->bars, &l, problems[np], DIAG_MAX)) != ERR_OK) {
        err = diag_set(d, e, "past candidates: %s", err_str(e));
        goto out;
    }
    if (np < MAX_PROBLEMS && problems[np][0])
        np++;

    e = results_read_run(os, &l.run, &od);
    if (e == ERR_OK)
        l.have_run = 1;
    else if (e != ERR_NOTFOUND && np < MAX_PROBLEMS)
        snprintf(problems[np++], DIAG_MAX, "the run record could not be read: %.400s", od.text);

    struct buf eb = BUF_INIT(REPORT_EQUITY_MAX);
    e = objstore_get(os, REPORT_EQUITY_KEY, &eb, NULL, &od);
    if (e == ERR_OK)
        e = report_parse_equity(REPORT_EQUITY_KEY, buf_cstr(&eb), eb.len, &l.equity, &od);
    buf_release(&eb);
    if (e == ERR_OK)
        l.have_equity = 1;
    else if (e != ERR_NOTFOUND && np < MAX_PROBLEMS)
        snprintf(problems[np++], DIAG_MAX, "the backtest could not be shown: %.400s", od.text);

    for (size_t i = 0; i < np; i++)
        log_warn("report: a section is left out", LF_STR("problem", problems[i]));

    struct report_data rd = {
        .date = date,
        .generated_ms = o->now_ms,
        .top = o->top ? o->top : REPORT_TOP_DEFAULT,
        .rows = l.screen.rows,
        .nrows = l.screen.n,
        .closes = l.closes,
        .ncloses = l.ncloses,
        .since = l.since,
        .nsince = l.nsince,
        .run = l.have_run ? &l.run : NULL,
        .portfolio = o->portfolio,
        .equity = l.have_equity ? &l.equity : NULL,
        .nproblems = np,
    };
    for (size_t i = 0; i < np; i++)
        rd.problems[i] = problems[i];
    /* SPEC 2a: bars fetched before the day's settle time may still change; a run after it
     * that failed did not fetch them again (its record's final_day says so). */
    if (l.have_run && l.run.date == date && l.run.finished_ms > 0 &&
        (l.run.finished_ms < cal_ny_to_utc_ms(date, REPORT_SETTLE_MINUTE) ||
         results_run_provisional(&l.run, date))) {
        rd.provisional = 1;
        if (l.run.finished_ms < cal_ny_to_utc_ms(date, REPORT_SETTLE_MINUTE))
            rd.as_of_ms = l.run.finished_ms;
    }
    if ((err = report_render(&rd, out)))
        err = diag_set(d, err, "the report of the date: %s (the limit is %zu bytes)", err_str(err),
                       out->max);
    if (!err && date_out)
        *date_out = date;
out:
    objstore_prefetch_drop(os);
    log_timer_end(&t, err);
    loaded_release(&l);
    return err;
}

/* The newest date with a dated report among keys, the listing of REPORT_PREFIX (0: none). */
static void newest_report(const struct strvec *k_list, int32_t *out)
{
    const struct strvec keys = *k_list;
    *out = 0;
    size_t plen = strlen(REPORT_PREFIX);
    for (size_t i = 0; i < keys.n; i++) {
        const char *k = keys.v[i];
        int32_t dt;
        if (strlen(k) == plen + DATE_STRLEN + 5 && strcmp(k + plen + DATE_STRLEN, ".html") == 0 &&
            date_parse(k + plen, DATE_STRLEN, &dt) == ERR_OK && dt > *out)
            *out = dt;
    }
}

int report_publish(struct objstore *os, int32_t date, const struct report_opts *o,
                   struct report_published *out, struct diag *d)
{
    struct buf page = BUF_INIT(REPORT_MAX), cur = BUF_INIT(REPORT_MAX);
    memset(out, 0, sizeof *out);
    int err = report_build(os, date, o, &page, &out->date, d);
    if (err)
        goto done;
    out->bytes = page.len;
    report_key(out->date, out->key);
    /* latest.html follows the newest date: read its etag, check no newer report exists, and
     * replace it only if nobody changed it meanwhile.  The first reads go with the dated
     * page's write (whether another date is newer does not depend on it); latest.html is
     * written only once the dated page is in. */
    int attempt;
    for (attempt = 1; attempt <= REPORT_WRITE_ATTEMPTS; attempt++) {
        struct strvec keys;
        strvec_init(&keys);
        buf_reset(&cur);
        struct objstore_req rq[3] = {
            {.op = OBJ_REQ_GET, .key = REPORT_LATEST_KEY, .out = &cur},
            {.op = OBJ_REQ_LIST, .key = REPORT_PREFIX, .keys = &keys},
            {.op = OBJ_REQ_PUT,
             .key = out->key,
             .data = buf_cstr(&page),
             .len = page.len,
             .mode = OBJ_PUT_ALWAYS},
        };
        objstore_batch(os, rq, attempt == 1 ? 3 : 2, NULL);
        if (attempt == 1 && (err = rq[2].err) != ERR_OK) {
            if (d)
                *d = rq[2].d;
            strvec_release(&keys);
            goto done;
        }
        const char *etag = rq[0].etag;
        err = rq[0].err;
        int exists = err == ERR_OK;
        /* Too big to be one of ours: replaced without a condition rather than fail every day. */
        enum obj_put_mode mode = exists              ? OBJ_PUT_IF_MATCH
                                 : err == ERR_TOOBIG ? OBJ_PUT_ALWAYS
                                                     : OBJ_PUT_CREATE;
        int32_t newest = 0;
        int which = err && err != ERR_NOTFOUND && err != ERR_TOOBIG ? 0 : rq[1].err ? 1 : -1;
        if (which >= 0) { /* the read's failure first, as when one came after the other */
            err = rq[which].err;
            if (d)
                *d = rq[which].d;
            strvec_release(&keys);
            goto done;
        }
        err = ERR_OK;
        newest_report(&keys, &newest);
        strvec_release(&keys);
        if (newest > out->date)
            break;
        err = objstore_put(os, REPORT_LATEST_KEY, buf_cstr(&page), page.len, mode,
                           exists ? etag : NULL, d);
        if (err == ERR_OK) {
            out->latest = 1;
            break;
        }
        if (err != ERR_PRECONDITION && err != ERR_EXISTS && !(exists && err == ERR_NOTFOUND))
            goto done;
        err = ERR_OK;
        log_info("another writer changed the latest report first: trying again",
                 LF_INT("attempt", attempt));
    }
    if (attempt > REPORT_WRITE_ATTEMPTS)
        err = diag_set(d, ERR_PRECONDITION,
                       "'%s': gave up after %d attempts, another writer changed it each time",
                       REPORT_LATEST_KEY, REPORT_WRITE_ATTEMPTS);
done:
    buf_release(&page);
    buf_release(&cur);
    return err;
}
