/* barstore_read.c - reading days: each part checked against its name and merged with the
 * day's others, scans in date order (on two threads where it helps), and reading ahead. */
#include "store/barstore_int.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/barcsv.h"
#include "codec/csv.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

static int sym_find(const char *const *symbols, size_t n, const char *s)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(symbols[mid], s);
        if (c == 0)
            return (int)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

size_t bs_day_of(const struct bar_index *idx, int32_t date);

struct last_ctx {
    const char *const *symbols;
    size_t n, missing;
    int32_t *out;
};

static int last_day(void *ctx, size_t k, int32_t date, struct barvec *day)
{
    (void)k;
    const struct bar *bars = day->v;
    size_t n = day->n;
    struct last_ctx *lc = ctx;
    for (size_t i = 0; i < n; i++) {
        int at = sym_find(lc->symbols, lc->n, bars[i].symbol);
        if (at >= 0 && (lc->out[at] == INT32_MIN || lc->out[at] < date)) {
            lc->missing -= lc->out[at] == INT32_MIN;
            lc->out[at] = date;
        }
    }
    return ERR_OK;
}

int barstore_last_dates(struct barstore *bs, const char *const *symbols, size_t n, int32_t upto,
                        size_t max_days, int32_t *out, struct diag *d)
{
    for (size_t i = 0; i < n; i++)
        out[i] = INT32_MIN;
    if (n == 0)
        return ERR_OK;
    struct bar_index idx;
    int err = barstore_index(bs, INT32_MIN, upto, &idx, d);
    if (err)
        return err;
    struct last_ctx lc = {symbols, n, n, out};
    size_t limit = idx.ndays < max_days ? idx.ndays : max_days;
    size_t *days = malloc((limit ? limit : 1) * sizeof *days);
    if (!days)
        err = diag_set(d, ERR_NOMEM, "out of memory");
    /* Newest first, in batches that grow (1, 4, 16, ... days): a daily run finds everything in
     * the latest day, a symbol that stopped trading costs a few overlapped batches. */
    for (size_t done = 0, batch = 1; !err && done < limit && lc.missing; batch *= 4) {
        size_t m = limit - done < batch ? limit - done : batch;
        for (size_t k = 0; k < m; k++)
            days[k] = idx.ndays - 1 - done - (m - 1 - k);
        err = bs_read_days(bs, &idx, days, m, last_day, &lc, d);
        done += m;
    }
    free(days);
    bar_index_release(&idx);
    return err;
}

int barstore_first_provisional(struct barstore *bs, int32_t upto, size_t max_days, int32_t *out,
                               struct diag *d)
{
    *out = INT32_MAX;
    struct bar_index idx;
    int32_t from = upto - 2 * (int32_t)(max_days < 3660 ? max_days : 3660) - 14;
    int err = barstore_index(bs, from, upto, &idx, d);
    if (err)
        return err;
    struct barvec day;
    barvec_init(&day);
    size_t first = idx.ndays > max_days ? idx.ndays - max_days : 0;
    for (size_t di = first; di < idx.ndays && *out == INT32_MAX && !err; di++) {
        const struct bar_day *bd = &idx.days[di];
        int any = 0;
        for (size_t k = 0; k < bd->nparts && !any; k++)
            any = bs_key_provisional(idx.keys.v[bd->first + k]);
        if (!any)
            continue;
        /* A provisional part may be superseded by a final revision of all its bars. */
        err = barstore_read_day(bs, &idx, di, &day, d);
        for (size_t i = 0; !err && i < day.n && *out == INT32_MAX; i++)
            if (day.v[i].provisional)
                *out = bd->date;
    }
    barvec_release(&day);
    bar_index_release(&idx);
    return err;
}

static int read_rows(const char *key, int32_t date, char *data, size_t len, struct barvec *out,
                     struct diag *d);
static int read_month_rows(const char *key, char *data, size_t len, struct barvec *out,
                           struct diag *d);

/* Check one part read into data (its name, date and order) and append its rows to out.  A
 * damaged part appends nothing (see bs_damaged()). */
int bs_check_part(struct barstore *bs, const char *key, int32_t date, char *data, size_t len,
                  struct barvec *out, struct diag *d)
{
    char why[160], want[32];
    if (!bs_part_name_syntax_ok(key, why)) {
        diag_set(d, ERR_DAMAGED, "store '%s': part %s is damaged: %s", bs->os->location, key, why);
        return bs_damaged(bs, key, ERR_DAMAGED, d);
    }
    int aside =
        len >= HASH_ASIDE_MIN && !memchr(data, '"', len) && bs_hasher_post(&bs->hasher, data, len);
    if (!aside) {
        barstore_part_name(data, len, want);
        if (!bs_part_hash_ok(key, want, len, why)) {
            diag_set(d, ERR_DAMAGED, "store '%s': part %s is damaged: %s", bs->os->location, key,
                     why);
            return bs_damaged(bs, key, ERR_DAMAGED, d);
        }
    }
    size_t first = out->n;
    int err = date == MONTH_ROWS ? read_month_rows(key, data, len, out, d)
                                 : read_rows(key, date, data, len, out, d);
    if (aside) {
        bs_hasher_wait(bs->hasher, want);
        if (!bs_part_hash_ok(key, want, len, why)) {
            /* The hash decides: rows parsed from a damaged part are dropped whatever they say. */
            out->n = first;
            diag_set(d, ERR_DAMAGED, "store '%s': part %s is damaged: %s", bs->os->location, key,
                     why);
            return bs_damaged(bs, key, ERR_DAMAGED, d);
        }
    }
    if (!err)
        return ERR_OK;
    out->n = first;
    if (err == ERR_NOMEM || err == ERR_IO)
        return err;
    return bs_damaged(bs, key, err, d);
}

/* check_part leaving the hash to the caller, for a part whose rows parse: 1 in *unhashed when
 * its rows were appended and only the comparison of its content with its name is left (the
 * caller makes it before using them, and a mismatch is ERR_DAMAGED as check_part says it).
 * Anything else (a quote, which the parser unescapes in place, a bad name, a bad row) goes
 * through check_part, with the hash first, so the same error comes out. */
static int part_hash_check(struct barstore *bs, const char *key, const char *data, size_t len,
                           struct diag *d);

static int check_part_unhashed(struct barstore *bs, const char *key, int32_t date, char *data,
                               size_t len, struct barvec *out, int hash_here, int *unhashed,
                               struct diag *d)
{
    char why[160];
    *unhashed = 0;
    if (bs->skip_damaged || memchr(data, '"', len) || !bs_part_name_syntax_ok(key, why))
        return bs_check_part(bs, key, date, data, len, out, d);
    if (hash_here && part_hash_check(bs, key, data, len, d) != ERR_OK) {
        diag_clear(d);
        return bs_check_part(bs, key, date, data, len, out, d);
    }
    size_t first = out->n;
    int err = date == MONTH_ROWS ? read_month_rows(key, data, len, out, d)
                                 : read_rows(key, date, data, len, out, d);
    if (err != ERR_OK) {
        out->n = first;
        diag_clear(d);
        return bs_check_part(bs, key, date, data, len, out, d);
    }
    *unhashed = !hash_here;
    return ERR_OK;
}

/* The message check_part gives when data does not match key's name; 0 when it does. */
static int part_hash_check(struct barstore *bs, const char *key, const char *data, size_t len,
                           struct diag *d)
{
    char want[32], why[160];
    barstore_part_name(data, len, want);
    if (bs_part_hash_ok(key, want, len, why))
        return ERR_OK;
    return diag_set(d, ERR_DAMAGED, "store '%s': part %s is damaged: %s", bs->os->location, key,
                    why);
}

/* Read one part and check it (check_part). */
static int read_part(struct barstore *bs, const char *key, int32_t date, struct barvec *out,
                     struct diag *d)
{
    buf_reset(&bs->io);
    int err = objstore_get(bs->os, key, &bs->io, NULL, d);
    if (err)
        return diag_prefix_once(d, err, "store '%s'", bs->os->location);
    char empty[1] = "";
    return bs_check_part(bs, key, date, bs->io.data ? bs->io.data : empty, bs->io.len, out, d);
}

/* Parse the rows of one part into out, each marked provisional as key says; checks date and
 * order.  On an error out->n may have grown; the caller resets it. */
static int read_rows(const char *key, int32_t date, char *data, size_t len, struct barvec *out,
                     struct diag *d)
{
    struct barcsv_reader r;
    const uint8_t prov = (uint8_t)bs_key_provisional(key);
    size_t first = out->n;
    struct bar_symkey last = {0, 0}; /* of the row before, once there is one */
    int err;
    if ((err = barcsv_reader_init(&r, key, data, len, d)))
        return err;
    for (;;) {
        if (out->n == out->cap && (err = barvec_reserve(out, out->n + 1)))
            return diag_set(d, err, "%s: %s", key, err_str(err));
        struct bar *b = &out->v[out->n];
        err = barcsv_next(&r, b, d);
        if (err == ERR_EOF)
            break;
        if (err)
            return err;
        if (b->date != date) {
            char want[DATE_STRLEN + 1], got[DATE_STRLEN + 1];
            date_format(date, want);
            date_format(b->date, got);
            return diag_set(d, ERR_INVALID, "%s:%zu: field 'date': %s in the partition of %s", key,
                            barcsv_line(&r), got, want);
        }
        struct bar_symkey k = bar_symkey_of(b->symbol);
        if (out->n > first && bar_symkey_cmp(last, k) >= 0)
            return diag_set(d, ERR_INVALID,
                            "%s:%zu: field 'symbol': %s is out of order or repeated after %s", key,
                            barcsv_line(&r), b->symbol, out->v[out->n - 1].symbol);
        last = k;
        b->provisional = prov;
        out->n++;
    }
    return ERR_OK;
}

/* Parse the rows of a compacted part into out: dated in its month, on the days of its mask
 * (each of them), by date then symbol; each marked provisional as key says. */
static int read_month_rows(const char *key, char *data, size_t len, struct barvec *out,
                           struct diag *d)
{
    const uint8_t prov = (uint8_t)bs_key_provisional(key);
    int32_t month;
    uint32_t mask, seen = 0;
    if (!barstore_key_compacted(key, &month, &mask))
        return diag_set(d, ERR_INVALID, "%s: not the name of a compacted part", key);
    struct barcsv_reader r;
    size_t first = out->n;
    int err;
    if ((err = barcsv_reader_init(&r, key, data, len, d)))
        return err;
    for (;;) {
        if (out->n == out->cap && (err = barvec_reserve(out, out->n + 1)))
            return diag_set(d, err, "%s: %s", key, err_str(err));
        struct bar *b = &out->v[out->n];
        err = barcsv_next(&r, b, d);
        if (err == ERR_EOF)
            break;
        if (err)
            return err;
        int32_t day = b->date - month;
        if (day < 0 || day >= 32 || !(mask >> day & 1)) {
            char got[DATE_STRLEN + 1];
            date_format(b->date, got);
            return diag_set(d, ERR_INVALID, "%s:%zu: field 'date': %s is not a day of this part",
                            key, barcsv_line(&r), got);
        }
        seen |= (uint32_t)1 << day;
        if (out->n > first) {
            const struct bar *p = &out->v[out->n - 1];
            if (p->date > b->date ||
                (p->date == b->date &&
                 bar_symkey_cmp(bar_symkey_of(p->symbol), bar_symkey_of(b->symbol)) >= 0))
                return diag_set(d, ERR_INVALID,
                                "%s:%zu: field 'symbol': %s is out of order or repeated after %s",
                                key, barcsv_line(&r), b->symbol, p->symbol);
        }
        b->provisional = prov;
        out->n++;
    }
    if (seen != mask)
        return diag_set(d, ERR_INVALID, "%s: the days its name lists are not all in it", key);
    return ERR_OK;
}

struct origin {
    size_t row;
    size_t part;
    unsigned rev;
};

/* The rows origin_cmp sorts by (one per thread: several read at once). */
static _Thread_local const struct bar *sort_base;

static int origin_cmp(const void *pa, const void *pb)
{
    const struct origin *a = pa, *b = pb;
    int c = strcmp(sort_base[a->row].symbol, sort_base[b->row].symbol);
    if (c)
        return c;
    if (a->rev != b->rev) /* the latest revision first */
        return a->rev > b->rev ? -1 : 1;
    return (a->part > b->part) - (a->part < b->part);
}

static void disagreement(struct barstore *bs, const struct barstore_disagreement *x)
{
    if (x->final_revised)
        bs->final_revised++;
    else
        bs->disagreements++;
    if (!bs->quiet && x->final_revised) {
        char day[DATE_STRLEN + 1];
        date_format(x->date, day);
        log_warn("a revision changes a final bar outside its settle window: not used, the final "
                 "bar is",
                 LF_STR("store", bs->os->location), LF_STR("symbol", x->symbol),
                 LF_STR("date", day), LF_STR("field", x->field), LF_STR("final", x->winner_key),
                 LF_STR("revision", x->loser_key));
    } else if (!bs->quiet) {
        char day[DATE_STRLEN + 1];
        date_format(x->date, day);
        log_warn("parts disagree on a bar: the part first in name order wins",
                 LF_STR("store", bs->os->location), LF_STR("symbol", x->symbol),
                 LF_STR("date", day), LF_STR("field", x->field), LF_STR("used", x->winner_key),
                 LF_STR("not_used", x->loser_key));
    }
    if (bs->on_disagree)
        bs->on_disagree(bs->disagree_ctx, x);
}

/* Whether the version at o[k] may stand over the earlier versions of its group o[first, last)
 * (sorted by revision, latest first): a revision that changes a final bar of a lower revision
 * must be final itself and written in a settle window that held the bar's date (its key says
 * from which day).  Otherwise it is refused, reported, and the next version is considered.
 * *final_at gets the o[] index of the final version it changes. */
static int revision_allowed(const struct bar_index *idx, const struct bar_day *bd,
                            const struct origin *o, const struct bar *all, size_t k, size_t last,
                            size_t *final_at, const char **field)
{
    if (o[k].rev == 0)
        return 1;
    const char *key = idx->keys.v[bd->first + o[k].part];
    if (!bs_key_provisional(key) && bs_key_window(key) <= bd->date)
        return 1;
    for (size_t m = k + 1; m < last; m++) {
        if (o[m].rev >= o[k].rev || bs_key_provisional(idx->keys.v[bd->first + o[m].part]))
            continue;
        const char *f = bar_diff_field(&all[o[m].row], &all[o[k].row]);
        if (f) {
            *final_at = m;
            *field = f;
            return 0;
        }
    }
    return 1;
}

/* Merge several sorted parts held back to back in all (part k starting at starts[k]; parts in
 * name order).  A symbol in several parts takes the bar of its latest revision; among parts of
 * one revision, the bar of the part first in name order.  Parts of one revision that differ
 * disagree (reported); an earlier revision is superseded (not a disagreement), except a final
 * bar by a revision not written in its settle window: that revision is refused and reported
 * (barstore_disagreement.final_revised), and the versions before it decide. */
static int merge_parts(struct barstore *bs, const struct bar_index *idx, size_t day,
                       struct barvec *all, const size_t *starts, struct barvec *out, struct diag *d)
{
    const struct bar_day *bd = &idx->days[day];
    struct origin *o = malloc(all->n * sizeof *o);
    if (!o && all->n)
        return diag_set(d, ERR_NOMEM, "out of memory");
    unsigned rev = bd->nparts ? bs_key_rev(idx->keys.v[bd->first]) : 0;
    for (size_t k = 0, i = 0; i < all->n; i++) {
        while (k + 1 < bd->nparts && i >= starts[k + 1])
            rev = bs_key_rev(idx->keys.v[bd->first + ++k]);
        o[i] = (struct origin){i, k, rev};
    }
    sort_base = all->v;
    qsort(o, all->n, sizeof *o, origin_cmp);
    int err = ERR_OK;
    out->n = 0;
    for (size_t i = 0; i < all->n && !err;) {
        const char *symbol = all->v[o[i].row].symbol;
        size_t last = i + 1;
        while (last < all->n && strcmp(all->v[o[last].row].symbol, symbol) == 0)
            last++;
        size_t win = i;
        for (;; win++) {
            size_t final_at = 0;
            const char *field = NULL;
            if (revision_allowed(idx, bd, o, all->v, win, last, &final_at, &field))
                break;
            struct barstore_disagreement x = {
                .symbol = symbol,
                .date = bd->date,
                .field = field,
                .winner_key = idx->keys.v[bd->first + o[final_at].part],
                .loser_key = idx->keys.v[bd->first + o[win].part],
                .winner = &all->v[o[final_at].row],
                .loser = &all->v[o[win].row],
                .final_revised = 1,
            };
            disagreement(bs, &x);
        }
        const struct bar *w = &all->v[o[win].row];
        for (size_t k = win + 1; k < last && o[k].rev == o[win].rev; k++) {
            const struct bar *b = &all->v[o[k].row];
            const char *field = bar_diff_field(w, b);
            if (field) {
                struct barstore_disagreement x = {
                    .symbol = symbol,
                    .date = b->date,
                    .field = field,
                    .winner_key = idx->keys.v[bd->first + o[win].part],
                    .loser_key = idx->keys.v[bd->first + o[k].part],
                    .winner = w,
                    .loser = b,
                };
                disagreement(bs, &x);
            }
        }
        err = barvec_push(out, w);
        i = last;
    }
    free(o);
    return err;
}

static int read_day_parts(struct barstore *bs, const struct bar_index *idx, size_t day,
                          struct barvec *out, struct diag *d);

/* The day's bars become out's, out's array the read's (released with it). */
static int take_day(void *ctx, size_t k, int32_t date, struct barvec *day)
{
    (void)k;
    (void)date;
    struct barvec *out = ctx, old = *out;
    *out = *day;
    *day = old;
    day->n = 0;
    return ERR_OK;
}

int barstore_read_day(struct barstore *bs, const struct bar_index *idx, size_t day,
                      struct barvec *out, struct diag *d)
{
    const struct bar_day *bd = &idx->days[day];
    out->n = 0;
    for (size_t k = 0; k < bd->nparts; k++)
        if (bs_is_compacted(idx->keys.v[bd->first + k]))
            return bs_read_days(bs, idx, &day, 1, take_day, out, d);
    int err = read_day_parts(bs, idx, day, out, d);
    if (err == ERR_NOTFOUND) { /* a part went away: read_days lists the day again */
        diag_clear(d);
        err = bs_read_days(bs, idx, &day, 1, take_day, out, d);
    }
    return err;
}

static int read_day_parts(struct barstore *bs, const struct bar_index *idx, size_t day,
                          struct barvec *out, struct diag *d)
{
    const struct bar_day *bd = &idx->days[day];
    if (bd->nparts == 1)
        return read_part(bs, idx->keys.v[bd->first], bd->date, out, d);
    struct barvec all;
    barvec_init(&all);
    size_t *starts = malloc(bd->nparts * sizeof *starts);
    int err = starts ? ERR_OK : diag_set(d, ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < bd->nparts && !err; k++) {
        starts[k] = all.n;
        err = read_part(bs, idx->keys.v[bd->first + k], bd->date, &all, d);
    }
    if (!err)
        err = merge_parts(bs, idx, day, &all, starts, out, d);
    free(starts);
    barvec_release(&all);
    return err;
}

/* A compacted part read once for the days of its month that a read asks for. */
struct month_part {
    const char *key;
    struct barvec rows; /* by date then symbol */
    size_t last;        /* the last day (of the days asked for) that uses it */
};

/* One object to fetch: a day's part or a compacted part. */
struct fetch_item {
    size_t day; /* the place, in the days asked for, of the day that needs it first */
    int month;  /* index in months[], or -1 for a day's part */
};

struct ahead;
static int ahead_unhashed(struct ahead *a, const char *key, const char *data, size_t len,
                          struct buf *own, int parse);
static int ahead_well_ahead(struct ahead *a);
static int ahead_short(struct ahead *a);
static int ahead_parse_there(struct barstore *bs, struct ahead *a)
{
    return bs->ahead_split == BARSTORE_SPLIT_CALLER ||
           (bs->ahead_split == BARSTORE_SPLIT_BALANCE && ahead_short(a));
}
static int ahead_drain(struct ahead *a);
static int read_days_for(struct ahead *ahead, struct barstore *bs, const struct bar_index *idx,
                         const size_t *days, size_t ndays, days_fn fn, void *ctx, struct diag *d);

struct days_read {
    struct ahead *ahead; /* reading ahead of the caller's thread: it checks hashes (see below) */
    struct barstore *bs;
    const struct bar_index *idx;
    const size_t *days;
    size_t ndays;
    size_t k;     /* the next day to hand on */
    size_t item;  /* items done */
    size_t batch; /* the item the current objstore_get_many batch starts at */
    size_t *need; /* day k is complete once need[k] items are done */
    int *src;     /* per key of the days asked for (in order): its months[] index, or -1 */
    size_t *src_at;
    struct fetch_item *items;
    struct month_part *months;
    size_t nmonths;
    struct barvec all, merged, combined;
    struct barvec spare; /* the rows of a compacted part let go, for the next one to fill */
    size_t *starts;
    size_t nday_parts; /* the current day's own parts read so far (into all) */
    days_fn fn;
    void *ctx;
    const size_t *kmap; /* the place told to fn of each day (NULL: its place here) */
    int failed;         /* the error is the part's or fn's, not the store's */
    /* the day's only part whose hash the caller checks (reading ahead), or NULL */
    const char *unhashed_key, *unhashed_data;
    size_t unhashed_len;
    struct buf *unhashed_own; /* the store's buffer holding it, when it may be taken */
    int unparsed;             /* ... and its rows too (the caller parses them) */
};

/* The rows of date in a compacted part's rows. */
static const struct bar *month_slice(const struct barvec *v, int32_t date, size_t *n)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->v[mid].date < date)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t e = lo;
    while (e < v->n && v->v[e].date == date)
        e++;
    *n = e - lo;
    return v->v + lo;
}

/* Hand on day k: its compacted rows and its own parts, merged when there are several.  fn
 * gets a vector it may take: a day's slice of its month is copied into one. */
static int emit_day(struct days_read *r, struct diag *d)
{
    size_t day = r->days[r->k];
    const struct bar_day *bd = &r->idx->days[day];
    const int *src = r->src + r->src_at[r->k];
    size_t nmonth = 0;
    for (size_t p = 0; p < bd->nparts; p++)
        nmonth += src[p] >= 0;
    struct barvec *out = &r->all;
    int err = ERR_OK;
    if (nmonth == 1 && bd->nparts == 1) {
        size_t n;
        const struct bar *v = month_slice(&r->months[src[0]].rows, bd->date, &n);
        r->combined.n = 0;
        if ((err = barvec_reserve(&r->combined, n ? n : 1)))
            return diag_set(d, err, "out of memory");
        if (n)
            memcpy(r->combined.v, v, n * sizeof *v);
        r->combined.n = n;
        out = &r->combined;
    } else if (bd->nparts > 1) {
        struct barvec *parts = &r->all;
        if (nmonth) {
            /* Every source of the day back to back, in the day's key order. */
            r->combined.n = 0;
            for (size_t p = 0, own = 0; p < bd->nparts && !err; p++) {
                r->starts[p] = r->combined.n;
                const struct bar *v;
                size_t m;
                if (src[p] >= 0) {
                    v = month_slice(&r->months[src[p]].rows, bd->date, &m);
                } else {
                    size_t end =
                        own + 1 < r->nday_parts ? r->starts[bd->nparts + own + 1] : r->all.n;
                    v = r->all.v + r->starts[bd->nparts + own];
                    m = end - r->starts[bd->nparts + own];
                    own++;
                }
                if (m && !(err = barvec_reserve(&r->combined, r->combined.n + m))) {
                    memcpy(r->combined.v + r->combined.n, v, m * sizeof *v);
                    r->combined.n += m;
                }
            }
            if (err)
                return diag_set(d, err, "out of memory");
            parts = &r->combined;
        }
        /* A merge reports disagreements (logs, counts, hooks): only once the caller has checked
         * every day before, as on one thread, where a damaged day stops the scan first. */
        if (r->ahead && (err = ahead_drain(r->ahead)))
            return err;
        if ((err = merge_parts(r->bs, r->idx, day, parts, r->starts, &r->merged, d)))
            return err;
        out = &r->merged;
    }
    if (r->ahead)
        ahead_unhashed(r->ahead, r->unhashed_key, r->unhashed_data, r->unhashed_len,
                       r->unhashed_own, r->unparsed);
    r->unhashed_key = NULL;
    r->unhashed_own = NULL;
    r->unparsed = 0;
    err = r->fn(r->ctx, r->kmap ? r->kmap[r->k] : r->k, bd->date, out);
    /* Compacted parts no later day asks for are let go. */
    for (size_t m = 0; m < r->nmonths; m++)
        if (r->months[m].last == r->k) {
            struct barvec *rows = &r->months[m].rows;
            if (rows->cap > r->spare.cap) {
                struct barvec t = r->spare;
                r->spare = *rows;
                *rows = t;
            }
            barvec_release(rows);
            barvec_init(rows);
        }
    r->k++;
    r->all.n = 0;
    r->nday_parts = 0;
    return err;
}

static int days_part(void *ctx, size_t i, char *data, size_t len, struct buf *store_buf,
                     struct diag *d)
{
    struct days_read *r = ctx;
    if (r->batch + i != r->item)
        return diag_set(d, ERR_INTERNAL, "store: part %zu of a read handed on as part %zu",
                        r->batch + i, r->item);
    const struct fetch_item *it = &r->items[r->item];
    r->failed = 1;
    r->unhashed_key = NULL;
    r->unhashed_own = NULL;
    r->unparsed = 0;
    int err;
    int month_unhashed = 0;
    if (it->month >= 0) {
        struct month_part *mp = &r->months[it->month];
        if (mp->rows.cap == 0) {
            mp->rows = r->spare;
            mp->rows.n = 0;
            barvec_init(&r->spare);
        }
        /* Reading ahead, the caller's thread checks the month's content against its name
         * along with the first of its days handed on now, as it does a day's only part: the
         * reader parses, the caller hashes, and the two halves of the work balance.  That day
         * must be handed on within this call (data is gone after it) and have no other part
         * (a merge reports disagreements, and only rows the caller checked may be merged). */
        const struct bar_day *bd = r->k < r->ndays ? &r->idx->days[r->days[r->k]] : NULL;
        if (r->ahead && bd && bd->nparts == 1 && r->src[r->src_at[r->k]] == it->month &&
            r->need[r->k] <= r->item + 1) {
            err = check_part_unhashed(r->bs, mp->key, MONTH_ROWS, data, len, &mp->rows, 0,
                                      &month_unhashed, d);
            if (!err && month_unhashed) {
                r->unhashed_key = mp->key;
                r->unhashed_data = data;
                r->unhashed_len = len;
                r->unhashed_own = store_buf;
            }
        } else {
            err = bs_check_part(r->bs, mp->key, MONTH_ROWS, data, len, &mp->rows, d);
        }
    } else {
        /* A day's own part: the day is the next one to hand on. */
        const struct bar_day *bd = &r->idx->days[r->days[r->k]];
        const int *src = r->src + r->src_at[r->k];
        size_t p = 0, own = 0;
        for (; p < bd->nparts; p++)
            if (src[p] < 0 && own++ == r->nday_parts)
                break;
        /* starts[0 .. nparts) are the day's sources, starts[nparts ..] its own parts in all */
        r->starts[bd->nparts + r->nday_parts] = r->all.n;
        size_t before = r->all.n;
        const char *key = r->idx->keys.v[bd->first + p];
        /* Reading ahead, a day's only part is hashed by whichever thread has the time: here
         * when the reader is well ahead, else by the caller's thread, the rows going with the
         * content, the caller checking one against the other before it uses them.  A reader
         * that met no problem has no side effect to take back if that fails.  The day is
         * handed on within this call (it has no other part), while data is still there. */
        char why[160];
        if (r->ahead && bd->nparts == 1 && ahead_parse_there(r->bs, r->ahead) &&
            !r->bs->skip_damaged && !memchr(data, '"', len) && bs_part_name_syntax_ok(key, why)) {
            /* The reader is the slower side: the caller's thread checks and parses the part
             * (caller_part), which gives what check_part would. */
            err = ERR_OK;
            r->unhashed_key = key;
            r->unhashed_data = data;
            r->unhashed_len = len;
            r->unhashed_own = store_buf;
            r->unparsed = 1;
        } else if (r->ahead && bd->nparts == 1) {
            int unhashed = 0;
            err = check_part_unhashed(r->bs, key, bd->date, data, len, &r->all,
                                      ahead_well_ahead(r->ahead), &unhashed, d);
            if (!err && unhashed) {
                r->unhashed_key = key;
                r->unhashed_data = data;
                r->unhashed_len = len;
                r->unhashed_own = store_buf;
            }
        } else {
            err = bs_check_part(r->bs, key, bd->date, data, len, &r->all, d);
        }
        r->nday_parts++;
        if (!err)
            r->starts[p] = before;
    }
    r->item++;
    while (!err && r->k < r->ndays && r->need[r->k] <= r->item)
        err = emit_day(r, d);
    r->failed = err != ERR_OK;
    return err;
}

/* Read the days days[0 .. ndays) of idx, each merged and checked as barstore_read_day does,
 * with the parts of several days in flight at once (objstore_get_many), and call fn for each
 * in order.  A compacted part is fetched once for all the days of its month asked for.
 * *emitted counts the days handed on; *missing is set when a listed part was not there. */
static int read_days_once(struct ahead *ahead, struct barstore *bs, const struct bar_index *idx,
                          const size_t *days, size_t ndays, const size_t *kmap, days_fn fn,
                          void *ctx, size_t *emitted, int *missing, struct diag *d)
{
    size_t nkeys = 0, most = 1;
    for (size_t k = 0; k < ndays; k++) {
        nkeys += idx->days[days[k]].nparts;
        if (idx->days[days[k]].nparts > most)
            most = idx->days[days[k]].nparts;
    }
    if (nkeys == 0)
        return ERR_OK;
    struct days_read r = {.ahead = ahead,
                          .bs = bs,
                          .idx = idx,
                          .days = days,
                          .ndays = ndays,
                          .fn = fn,
                          .ctx = ctx,
                          .kmap = kmap};
    barvec_init(&r.all);
    barvec_init(&r.merged);
    barvec_init(&r.combined);
    barvec_init(&r.spare);
    const char **keys = malloc(nkeys * sizeof *keys);
    r.starts = malloc(2 * most * sizeof *r.starts);
    r.need = malloc(ndays * sizeof *r.need);
    r.src = malloc(nkeys * sizeof *r.src);
    r.src_at = malloc(ndays * sizeof *r.src_at);
    r.items = malloc(nkeys * sizeof *r.items);
    r.months = calloc(nkeys, sizeof *r.months);
    int err = keys && r.starts && r.need && r.src && r.src_at && r.items && r.months
                  ? ERR_OK
                  : diag_set(d, ERR_NOMEM, "out of memory");
    size_t nitems = 0;
    for (size_t k = 0, at = 0; !err && k < ndays; k++) {
        const struct bar_day *bd = &idx->days[days[k]];
        r.src_at[k] = at;
        for (size_t p = 0; p < bd->nparts; p++, at++) {
            const char *key = idx->keys.v[bd->first + p];
            r.src[at] = -1;
            if (!bs_is_compacted(key)) {
                r.items[nitems] = (struct fetch_item){k, -1};
                keys[nitems++] = key;
                continue;
            }
            /* The same compacted part serves the days of its month: look back among those
             * already met (the days asked for ascend). */
            size_t m = r.nmonths;
            while (m > 0 && strncmp(r.months[m - 1].key, key, MONTH_PREFIX_LEN) == 0 &&
                   strcmp(r.months[m - 1].key, key) != 0)
                m--;
            if (m > 0 && strcmp(r.months[m - 1].key, key) == 0) {
                r.months[m - 1].last = k;
                r.src[at] = (int)(m - 1);
                continue;
            }
            r.months[r.nmonths] = (struct month_part){.key = key, .last = k};
            barvec_init(&r.months[r.nmonths].rows);
            r.src[at] = (int)r.nmonths;
            r.items[nitems] = (struct fetch_item){k, (int)r.nmonths++};
            keys[nitems++] = key;
        }
        r.need[k] = nitems;
    }
    if (!err) {
        /* A day's compacted parts come before its own parts in the fetch order. */
        for (size_t a = 0, b; a < nitems; a = b) {
            for (b = a; b < nitems && r.items[b].day == r.items[a].day; b++)
                ;
            size_t w = a;
            struct fetch_item tmp;
            const char *tk;
            for (size_t q = a; q < b; q++)
                if (r.items[q].month >= 0) {
                    tmp = r.items[q], r.items[q] = r.items[w], r.items[w] = tmp;
                    tk = keys[q], keys[q] = keys[w], keys[w] = tk;
                    w++;
                }
        }
        /* Compacted parts (~1.5 MB each) at most BARSTORE_MONTHS_IN_FLIGHT at once, in a window
         * that slides over a run of them, so that a read's memory stays small and the store is
         * never left idle while the parts in hand are parsed; day parts, small, in the
         * widest window. */
        for (size_t a = 0, b; !err && a < nitems; a = b) {
            int months = r.items[a].month >= 0;
            for (b = a; b < nitems && (r.items[b].month >= 0) == months; b++)
                ;
            r.batch = a;
            err = objstore_get_many_take(bs->os, keys + a, b - a, BARSTORE_PART_MAX,
                                         months ? BARSTORE_MONTHS_IN_FLIGHT : OBJSTORE_WINDOW,
                                         days_part, &r, d);
        }
        if (err && !r.failed)
            diag_prefix_once(d, err, "store '%s'", bs->os->location);
        *missing = err == ERR_NOTFOUND && !r.failed;
    }
    *emitted = r.k;
    for (size_t m = 0; r.months && m < r.nmonths; m++)
        barvec_release(&r.months[m].rows);
    free(keys);
    free(r.starts);
    free(r.need);
    free(r.src);
    free(r.src_at);
    free(r.items);
    free(r.months);
    barvec_release(&r.all);
    barvec_release(&r.merged);
    barvec_release(&r.combined);
    barvec_release(&r.spare);
    return err;
}

/* Fresh listings in a row that hand on no day, after a listed part went away (a compaction
 * retired it: its bars are in the compacted part, written before).  A listing that moves the
 * read forward does not count: a compaction running alongside a long read retires the parts of
 * one month after another, and the read must follow it to the end, however many months. */
#define READ_RELISTS 4

/* read_days_once, and again on a fresh listing for the days not handed on when a listed part
 * went away.  ahead: the reader thread of barstore_scan_ahead (NULL on the caller's thread). */
static int read_days_for(struct ahead *ahead, struct barstore *bs, const struct bar_index *idx,
                         const size_t *days, size_t ndays, days_fn fn, void *ctx, struct diag *d)
{
    size_t emitted = 0;
    int missing = 0;
    int err = read_days_once(ahead, bs, idx, days, ndays, NULL, fn, ctx, &emitted, &missing, d);
    struct bar_index now = {0};
    size_t *kmap = NULL, *nowdays = NULL, *prev_kmap = NULL;
    /* The listing and the days the last read went by: the caller's, then each new one's. */
    const struct bar_index *was = idx;
    const size_t *wdays = days;
    for (int again = 0, stuck = 0; err == ERR_NOTFOUND && missing && stuck < READ_RELISTS;
         again++) {
        /* The days not handed on yet, as the store is now. */
        size_t left = ndays - emitted;
        int32_t from = was->days[wdays[emitted]].date, to = was->days[wdays[ndays - 1]].date;
        int32_t *dates = malloc(left * sizeof *dates);
        size_t *places = malloc(left * sizeof *places);
        if (!dates || !places) {
            free(dates);
            free(places);
            err = diag_set(d, ERR_NOMEM, "out of memory");
            break;
        }
        for (size_t i = 0; i < left; i++) {
            dates[i] = was->days[wdays[emitted + i]].date;
            places[i] = again ? prev_kmap[emitted + i] : emitted + i;
        }
        if (again)
            bar_index_release(&now);
        free(nowdays);
        free(kmap);
        free(prev_kmap);
        prev_kmap = NULL;
        nowdays = kmap = NULL;
        diag_clear(d);
        objstore_listing_stale(bs->os); /* a listing kept by this job is older than the delete */
        err = barstore_index(bs, from, to, &now, d);
        if (!err) {
            nowdays = malloc(left * sizeof *nowdays);
            kmap = malloc(left * sizeof *kmap);
            if (!nowdays || !kmap)
                err = diag_set(d, ERR_NOMEM, "out of memory");
        }
        size_t m = 0;
        for (size_t i = 0; !err && i < left; i++) {
            size_t at = bs_day_of(&now, dates[i]);
            if (at == SIZE_MAX)
                continue;
            nowdays[m] = at;
            kmap[m++] = places[i];
        }
        free(dates);
        free(places);
        if (err) {
            if (now.days || now.keys.v)
                bar_index_release(&now);
            memset(&now, 0, sizeof now);
            break;
        }
        ndays = m;
        emitted = 0;
        err = read_days_once(ahead, bs, &now, nowdays, ndays, kmap, fn, ctx, &emitted, &missing, d);
        stuck = emitted ? 0 : stuck + 1;
        prev_kmap = kmap;
        kmap = NULL;
        was = &now;
        wdays = nowdays;
    }
    if (now.days || now.keys.v)
        bar_index_release(&now);
    free(nowdays);
    free(kmap);
    free(prev_kmap);
    return err;
}

int bs_read_days(struct barstore *bs, const struct bar_index *idx, const size_t *days, size_t ndays,
                 days_fn fn, void *ctx, struct diag *d)
{
    return read_days_for(NULL, bs, idx, days, ndays, fn, ctx, d);
}

struct scan_ctx {
    barstore_day_fn fn;
    void *ctx;
};

static int scan_day(void *ctx, size_t k, int32_t date, struct barvec *day)
{
    (void)k;
    struct scan_ctx *sc = ctx;
    return sc->fn(sc->ctx, date, day->v, day->n);
}

static size_t *all_days(size_t n)
{
    size_t *days = malloc((n ? n : 1) * sizeof *days);
    for (size_t i = 0; days && i < n; i++)
        days[i] = i;
    return days;
}

int barstore_scan(struct barstore *bs, int32_t from, int32_t to, barstore_day_fn fn, void *ctx,
                  struct diag *d)
{
    struct bar_index idx;
    int err = barstore_index(bs, from, to, &idx, d);
    if (err)
        return err;
    size_t *days = all_days(idx.ndays);
    struct scan_ctx sc = {fn, ctx};
    err = days ? bs_read_days(bs, &idx, days, idx.ndays, scan_day, &sc, d)
               : diag_set(d, ERR_NOMEM, "out of memory");
    free(days);
    bar_index_release(&idx);
    return err;
}

int barstore_scan_index(struct barstore *bs, const struct bar_index *idx, barstore_day_fn fn,
                        void *ctx, struct diag *d)
{
    size_t *days = all_days(idx->ndays);
    struct scan_ctx sc = {fn, ctx};
    int err = days ? bs_read_days(bs, idx, days, idx->ndays, scan_day, &sc, d)
                   : diag_set(d, ERR_NOMEM, "out of memory");
    free(days);
    return err;
}

/* ---- scanning on two threads ---- */

/* Days parsed and not yet handed on, at most: the reader thread waits for room. */
#define AHEAD_DAYS 32
/* Each side wakes the other only when this many days are ready (or free): a thread that sleeps
 * and wakes for every day spends more time in the kernel than in the day. */
#define AHEAD_BATCH 8
/* Fewer days than this are not worth a thread. */
#define AHEAD_MIN_DAYS 32
/* Fewer days than this waiting: the caller's thread parses the next day's only part itself. */
#define AHEAD_SHORT 8

struct ahead_day {
    int32_t date;
    struct barvec bars;
    /* The part whose hash the caller checks against raw ("": none).  A copy: the reader's
     * listing the key came from is replaced when a part vanishes and the reader lists again. */
    char key[OBJ_KEY_MAX];
    int parse; /* ... and whose rows it parses from raw into bars */
    struct buf raw;
};

/* The reader thread and the caller's thread share this, under mu, and nothing else. */
struct ahead {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ahead_day ring[AHEAD_DAYS];
    size_t made, used; /* days put in and taken out; ring[i % AHEAD_DAYS] */
    int finished, stop;
    int reader_waits, caller_waits; /* wake the other side only when it sleeps */
    int reader_drains;              /* the reader waits for every day to be taken */
    int err;
    struct diag d;
    /* the reader's own */
    struct barstore *bs;
    const struct bar_index *idx;
    const size_t *days;
    struct index_pieces *more; /* the years still to list after idx's (NULL: none) */
    const char *key; /* the content of the day being put, when its hash is left to the caller */
    const char *data;
    size_t len;
    struct buf *own; /* the store's buffer holding data, taken instead of copied (NULL: none) */
    int parse;
    /* A buffer the caller is done with, larger than the one its slot had: the store gets it
     * for a later part instead of the slot's, so that a month's content (1.5 MB) does not
     * leave the store a small buffer to grow again each time (under mu). */
    struct buf spare;
};

static int ahead_unhashed(struct ahead *a, const char *key, const char *data, size_t len,
                          struct buf *own, int parse)
{
    a->key = key;
    a->data = data;
    a->len = len;
    a->own = own;
    a->parse = parse;
    return ERR_OK;
}

/* The content of a and b traded, each keeping its own max. */
static void buf_trade(struct buf *a, struct buf *b)
{
    struct buf t = *a;
    a->data = b->data;
    a->len = b->len;
    a->cap = b->cap;
    b->data = t.data;
    b->len = t.len;
    b->cap = t.cap;
}

/* 1 when fewer days than a batch wait for the caller: it is idle or soon will be (a hint). */
static int ahead_short(struct ahead *a)
{
    size_t made = __atomic_load_n(&a->made, __ATOMIC_RELAXED);
    size_t used = __atomic_load_n(&a->used, __ATOMIC_RELAXED);
    return made - used < AHEAD_SHORT;
}

/* On the caller's thread, a day's only part the reader left whole (no quote, a well-formed
 * name, damaged parts not skipped): what check_part gives, the hash first. */
static int caller_part(struct barstore *bs, const char *key, int32_t date, char *data, size_t len,
                       struct barvec *out, struct diag *d)
{
    out->n = 0;
    int err = part_hash_check(bs, key, data, len, d);
    if (!err)
        err = read_rows(key, date, data, len, out, d);
    if (err)
        out->n = 0;
    return err;
}

/* 1 when at least half the ring waits for the caller (a hint: read without the lock). */
static int ahead_well_ahead(struct ahead *a)
{
    size_t made = __atomic_load_n(&a->made, __ATOMIC_RELAXED);
    size_t used = __atomic_load_n(&a->used, __ATOMIC_RELAXED);
    return made - used >= AHEAD_DAYS / 2;
}

/* Wait until the caller has taken (and checked) every day put so far. */
static int ahead_drain(struct ahead *a)
{
    pthread_mutex_lock(&a->mu);
    while (a->used != a->made && !a->stop) {
        a->reader_drains = 1;
        if (a->caller_waits) /* it may be waiting for a batch that is not coming */
            pthread_cond_broadcast(&a->cv);
        pthread_cond_wait(&a->cv, &a->mu);
        a->reader_drains = 0;
    }
    int stop = a->stop;
    pthread_mutex_unlock(&a->mu);
    return stop ? ERR_INTERNAL : ERR_OK;
}

static int ahead_put(void *ctx, size_t k, int32_t date, struct barvec *day)
{
    (void)k;
    struct ahead *a = ctx;
    pthread_mutex_lock(&a->mu);
    while (a->made - a->used == AHEAD_DAYS && !a->stop) {
        a->reader_waits = 1;
        pthread_cond_wait(&a->cv, &a->mu);
        a->reader_waits = 0;
    }
    int stop = a->stop;
    pthread_mutex_unlock(&a->mu);
    if (stop)
        return ERR_INTERNAL; /* the caller stopped first: its error is the one returned */
    /* The slot is the reader's until made moves past it.  The day's bars move into it, and the
     * slot's old array (used and handed back) becomes the reader's for a later day. */
    struct ahead_day *slot = &a->ring[a->made % AHEAD_DAYS];
    slot->date = date;
    struct barvec old = slot->bars;
    slot->bars = *day;
    *day = old;
    day->n = 0;
    slot->key[0] = '\0';
    slot->parse = a->parse;
    if (a->key) {
        snprintf(slot->key, sizeof slot->key, "%s", a->key);
        buf_reset(&slot->raw);
        if (a->own && a->own->data == a->data && a->own->len == a->len) {
            /* The part's own buffer moves into the slot, and the slot's old one (used and
             * handed back) goes to the store for a later part: no copy. */
            buf_trade(&slot->raw, a->own);
            if (a->own->cap < slot->raw.len) {
                pthread_mutex_lock(&a->mu);
                if (a->spare.cap > a->own->cap)
                    buf_trade(&a->spare, a->own);
                pthread_mutex_unlock(&a->mu);
            }
        } else if (buf_append(&slot->raw, a->data, a->len)) {
            return diag_set(&a->d, ERR_NOMEM, "out of memory");
        }
    }
    pthread_mutex_lock(&a->mu);
    __atomic_store_n(&a->made, a->made + 1, __ATOMIC_RELAXED); /* read unlocked as a hint */
    if (a->caller_waits && a->made - a->used >= AHEAD_BATCH)
        pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return ERR_OK;
}

/* The days of idx, then those of each piece still to list, each listed when its turn comes.
 * ahead: the reader thread (NULL: on the caller's thread). */
static int read_pieces(struct ahead *ahead, struct barstore *bs, const struct bar_index *idx,
                       const size_t *days, struct index_pieces *more, days_fn fn, void *ctx,
                       struct diag *d)
{
    int err = read_days_for(ahead, bs, idx, days, idx->ndays, fn, ctx, d);
    while (!err && more && more->next < more->groups.n) {
        if (ahead) {
            pthread_mutex_lock(&ahead->mu);
            int stop = ahead->stop;
            pthread_mutex_unlock(&ahead->mu);
            if (stop)
                return ERR_INTERNAL; /* the caller stopped: its error is the one returned */
        }
        struct bar_index next;
        if ((err = bs_pieces_next(bs, more, &next, d)))
            break;
        size_t *nd = all_days(next.ndays);
        err = nd ? read_days_for(ahead, bs, &next, nd, next.ndays, fn, ctx, d)
                 : diag_set(d, ERR_NOMEM, "out of memory");
        free(nd);
        bar_index_release(&next);
    }
    return err;
}

static void *ahead_main(void *arg)
{
    struct ahead *a = arg;
    struct diag d = {{0}};
    int err = read_pieces(a, a->bs, a->idx, a->days, a->more, ahead_put, a, &d);
    pthread_mutex_lock(&a->mu);
    if (err && !a->d.text[0])
        a->d = d;
    a->err = err;
    a->finished = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int barstore_scan_ahead(struct barstore *bs, int32_t from, int32_t to, barstore_day_fn fn,
                        void *ctx, struct diag *d)
{
    /* Many years on a directory: the first year's days now, the others listed by the reader as
     * it goes (the pieces above). */
    struct index_pieces pieces;
    struct index_pieces *more = bs_pieces_start(bs, from, to, &pieces) ? &pieces : NULL;
    struct bar_index idx;
    int err = more ? bs_pieces_next(bs, more, &idx, d) : barstore_index(bs, from, to, &idx, d);
    if (err) {
        if (more)
            bs_pieces_release(more);
        return err;
    }
    size_t *days = all_days(idx.ndays);
    struct ahead *a = days ? calloc(1, sizeof *a) : NULL;
    if (!a) {
        free(days);
        bar_index_release(&idx);
        if (more)
            bs_pieces_release(more);
        return diag_set(d, ERR_NOMEM, "out of memory");
    }
    if (idx.ndays < AHEAD_MIN_DAYS && (!more || more->next == more->groups.n)) {
        struct scan_ctx sc = {fn, ctx};
        err = bs_read_days(bs, &idx, days, idx.ndays, scan_day, &sc, d);
        free(a);
        free(days);
        bar_index_release(&idx);
        if (more)
            bs_pieces_release(more);
        return err;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    for (size_t i = 0; i < AHEAD_DAYS; i++) {
        barvec_init(&a->ring[i].bars);
        buf_init(&a->ring[i].raw, BARSTORE_PART_MAX);
    }
    buf_init(&a->spare, BARSTORE_PART_MAX);
    a->bs = bs;
    a->idx = &idx;
    a->days = days;
    a->more = more;
    pthread_t reader;
    int fn_err = ERR_OK;
    if (pthread_create(&reader, NULL, ahead_main, a) != 0) {
        struct scan_ctx sc = {fn, ctx}; /* no thread to be had: read here */
        err = read_pieces(NULL, bs, &idx, days, more, scan_day, &sc, d);
    } else {
        pthread_mutex_lock(&a->mu);
        for (;;) {
            if (a->used == a->made) {
                while (a->made - a->used < AHEAD_BATCH && !a->finished &&
                       !(a->reader_drains && a->made > a->used)) {
                    a->caller_waits = 1;
                    pthread_cond_wait(&a->cv, &a->mu);
                    a->caller_waits = 0;
                }
            }
            if (a->used == a->made)
                break;
            struct ahead_day *day = &a->ring[a->used % AHEAD_DAYS];
            pthread_mutex_unlock(&a->mu);
            /* The hash decides: a part that does not match its name is damaged, and its rows
             * are not used (the reader left the check to this thread). */
            if (day->key[0] && day->parse)
                fn_err = caller_part(bs, day->key, day->date, day->raw.data ? day->raw.data : "",
                                     day->raw.len, &day->bars, d);
            else if (day->key[0])
                fn_err = part_hash_check(bs, day->key, day->raw.data ? day->raw.data : "",
                                         day->raw.len, d);
            if (!fn_err)
                fn_err = fn(ctx, day->date, day->bars.v, day->bars.n);
            pthread_mutex_lock(&a->mu);
            if (day->raw.cap > a->spare.cap) {
                buf_reset(&day->raw);
                buf_trade(&day->raw, &a->spare);
            }
            __atomic_store_n(&a->used, a->used + 1, __ATOMIC_RELAXED);
            if (fn_err)
                a->stop = 1;
            if (fn_err || (a->reader_waits && a->made - a->used <= AHEAD_DAYS - AHEAD_BATCH) ||
                (a->reader_drains && a->used == a->made))
                pthread_cond_broadcast(&a->cv);
            if (fn_err)
                break;
        }
        pthread_mutex_unlock(&a->mu);
        pthread_join(reader, NULL);
        /* The caller's error, else the reader's (the days before it were all handed on, as a
         * scan on one thread would have). */
        err = fn_err;
        if (!err && a->err) {
            err = a->err;
            if (d)
                *d = a->d;
        }
    }
    for (size_t i = 0; i < AHEAD_DAYS; i++) {
        barvec_release(&a->ring[i].bars);
        buf_release(&a->ring[i].raw);
    }
    buf_release(&a->spare);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
    free(days);
    bar_index_release(&idx);
    if (more)
        bs_pieces_release(more);
    return err;
}

/* ---- reading ahead ---- */

/* The distinct parts of idx's days (a compacted month's part serves several: once), appended
 * to keys from at on; the new count. */
static size_t index_parts(const struct bar_index *idx, const char **keys, size_t at)
{
    size_t start = at;
    for (size_t k = 0; k < idx->ndays; k++)
        for (size_t p = 0; p < idx->days[k].nparts; p++) {
            const char *key = idx->keys.v[idx->days[k].first + p];
            size_t seen = start;
            while (seen < at && strcmp(keys[seen], key) != 0)
                seen++;
            if (seen == at)
                keys[at++] = key;
        }
    return at;
}

void barstore_prefetch(struct barstore *bs, int32_t from, int32_t to, size_t max_days, int splits)
{
    barstore_prefetch_more(bs, from, to, max_days, splits, NULL);
}

void barstore_prefetch_more(struct barstore *bs, int32_t from, int32_t to, size_t max_days,
                            int splits, const struct barstore_ahead *more)
{
    struct bar_index idx = {0}, scan[BARSTORE_AHEAD_SCANS];
    struct strvec split_keys = STRVEC_INIT;
    struct diag d;
    static const struct barstore_ahead none = {0};
    if (!more)
        more = &none;
    size_t nscans = more->nscans;
    if (nscans > BARSTORE_AHEAD_SCANS)
        nscans = BARSTORE_AHEAD_SCANS;
    strvec_init(&idx.keys);
    for (size_t k = 0; k < nscans; k++) {
        memset(&scan[k], 0, sizeof scan[k]);
        strvec_init(&scan[k].keys);
        if (more->scan[k].from <= more->scan[k].to &&
            barstore_index(bs, more->scan[k].from, more->scan[k].to, &scan[k], &d) != ERR_OK)
            scan[k].ndays = 0;
    }
    size_t n = 0;
    if (from > to || barstore_index(bs, from, to, &idx, &d) == ERR_OK) {
        if (splits && !bs->splits_kept && objstore_list(bs->os, SPLITS_PREFIX, &split_keys, &d))
            split_keys.n = 0;
        n = split_keys.n + more->n;
        if (idx.ndays <= max_days)
            for (size_t k = 0; k < idx.ndays; k++)
                n += idx.days[k].nparts;
        for (size_t s = 0; s < nscans; s++)
            for (size_t k = 0; k < scan[s].ndays; k++)
                n += scan[s].days[k].nparts;
    }
    const char **keys = n ? malloc(n * sizeof *keys) : NULL;
    if (keys) {
        size_t at = 0;
        for (size_t k = 0; k < split_keys.n; k++)
            keys[at++] = split_keys.v[k];
        if (idx.ndays <= max_days)
            at = index_parts(&idx, keys, at);
        for (size_t s = 0; s < nscans; s++) { /* a part of several: once for each */
            size_t before = at;
            at = index_parts(&scan[s], keys, at);
            if (at - before > more->scan_max)
                at = before;
        }
        for (size_t k = 0; k < more->n; k++)
            keys[at++] = more->keys[k];
        objstore_prefetch(bs->os, keys, at, BARSTORE_PART_MAX);
        free(keys);
    }
    strvec_release(&split_keys);
    bar_index_release(&idx);
    for (size_t k = 0; k < nscans; k++)
        bar_index_release(&scan[k]);
}

void barstore_prefetch_index(struct barstore *bs, const struct bar_index *idx, int splits)
{
    struct strvec split_keys = STRVEC_INIT;
    struct diag d;
    if (splits && !bs->splits_kept && objstore_list(bs->os, SPLITS_PREFIX, &split_keys, &d))
        split_keys.n = 0;
    size_t n = split_keys.n;
    for (size_t k = 0; k < idx->ndays; k++)
        n += idx->days[k].nparts;
    const char **keys = n ? malloc(n * sizeof *keys) : NULL;
    if (keys) {
        size_t at = 0;
        for (size_t k = 0; k < split_keys.n; k++)
            keys[at++] = split_keys.v[k];
        at = index_parts(idx, keys, at);
        objstore_prefetch(bs->os, keys, at, BARSTORE_PART_MAX);
        free(keys);
    }
    strvec_release(&split_keys);
}

void barstore_prefetch_drop(struct barstore *bs)
{
    objstore_prefetch_drop(bs->os);
}

void barstore_splits_ahead(struct barstore *bs, int on)
{
    if (!on)
        objstore_list_along(bs->os, NULL);
    else if (!bs->splits_kept)
        objstore_list_along(bs->os, SPLITS_PREFIX);
}

void barstore_read_once(struct barstore *bs, int on)
{
    barstore_splits_ahead(bs, on);
    objstore_keep_listing_when_listed(bs->os, on ? "bars/" : NULL);
}

void barstore_index_ahead(struct barstore *bs, int32_t from, int32_t to)
{
    int fy = 0, ty = 0, m, dd;
    if (from != INT32_MIN && to != INT32_MAX) {
        date_to_ymd(from, &fy, &m, &dd);
        date_to_ymd(to, &ty, &m, &dd);
    }
    /* As barstore_index lists: up to three years year by year, anything longer as bars/. */
    if (bs->os->ops->list_groups == NULL && !(fy && ty && ty - fy <= 2))
        objstore_list_along(bs->os, "bars/");
}
