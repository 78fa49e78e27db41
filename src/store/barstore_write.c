/* barstore_write.c - writing bars: new parts created only if absent, revisions, and the check
 * for writers racing on the same days. */
#include "store/barstore_int.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/barcsv.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

/* ROW_REVISE: a new version of a stored bar, written as a revision part. */
enum row_state { ROW_NEW, ROW_SAME, ROW_CONFLICT, ROW_REVISE };

static int fresh_state(unsigned char st)
{
    return st == ROW_NEW || st == ROW_REVISE;
}

/* The rows the write sorts by (one per thread). */
static _Thread_local const struct bar *wsort_base;

static int perm_cmp(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const struct bar *x = &wsort_base[a], *y = &wsort_base[b];
    if (x->date != y->date)
        return x->date < y->date ? -1 : 1;
    int c = strcmp(x->symbol, y->symbol);
    if (c)
        return c;
    return (a > b) - (a < b);
}

static const struct bar *find_symbol(const struct barvec *v, const char *symbol)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v->v[mid].symbol, symbol);
        if (c == 0)
            return &v->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Write the new rows of perm[from, to) as one part; *written counts parts created, key gets
 * the part's key ("" when there was nothing to write). */
static int write_part(struct barstore *bs, int32_t date, const struct bar *bars, const size_t *perm,
                      const unsigned char *state, size_t from, size_t to, unsigned rev, int prov,
                      int32_t window, size_t *written, char key[OBJ_KEY_MAX], struct diag *d)
{
    struct buf csv = BUF_INIT(BARSTORE_PART_MAX);
    int err = barcsv_write_header(&csv);
    size_t rows = 0;
    key[0] = '\0';
    for (size_t i = from; i < to && !err; i++) {
        if (!fresh_state(state[perm[i]]))
            continue;
        err = barcsv_write_row(&csv, &bars[perm[i]]);
        rows++;
    }
    if (err) {
        buf_release(&csv);
        return diag_set(d, err, "building a part: %s", err_str(err));
    }
    if (rows) {
        char prefix[32], name[32];
        barstore_part_name(csv.data, csv.len, name);
        bs_day_prefix(date, prefix);
        char wday[DATE_STRLEN + 1] = "";
        if (rev && !prov && window != INT32_MAX)
            date_format(window, wday);
        if (rev || prov)
            snprintf(key, OBJ_KEY_MAX, "%s" REV_DIR "%0*u%s%s%s/%s", prefix, REV_DIGITS, rev,
                     prov ? PROV_SUFFIX : "", wday[0] ? WINDOW_SUFFIX : "", wday, name);
        else
            snprintf(key, OBJ_KEY_MAX, "%s%s", prefix, name);
        err = objstore_put(bs->os, key, csv.data, csv.len, OBJ_PUT_CREATE, NULL, d);
        if (err == ERR_EXISTS)
            err = ERR_OK; /* the same content is already there */
        else if (!err)
            (*written)++;
        if (err)
            diag_prefix_once(d, err, "store '%s'", bs->os->location);
    }
    buf_release(&csv);
    return err;
}

/* Clean the days the batch touches of what writers that died left there (objstore_sweep). */
static void sweep_days(struct barstore *bs, const struct bar *bars, const size_t *perm, size_t n,
                       size_t ndays)
{
    for (size_t i = 0; i < n; i++) {
        int32_t date = bars[perm[i]].date;
        char prefix[32];
        bs_day_prefix(date, prefix);
        if (ndays > LIST_PER_DAY_MAX) {
            prefix[10] = '\0'; /* "bars/YYYY/": a year at a time */
            if (i && memcmp(prefix, "bars/", 5) == 0) {
                char prev[32];
                bs_day_prefix(bars[perm[i - 1]].date, prev);
                if (memcmp(prev, prefix, 10) == 0)
                    continue;
            }
        } else if (i && bars[perm[i - 1]].date == date) {
            continue;
        }
        objstore_sweep(bs->os, prefix);
    }
}

/* Index only the days that the batch touches. */
static int index_days(struct barstore *bs, const struct bar *bars, const size_t *perm, size_t n,
                      size_t ndays, struct bar_index *idx, struct diag *d)
{
    if (ndays > LIST_PER_DAY_MAX)
        return barstore_index(bs, bars[perm[0]].date, bars[perm[n - 1]].date, idx, d);
    memset(idx, 0, sizeof *idx);
    strvec_init(&idx->keys);
    /* One listing per month, all at once (objstore_list_many): the days' parts and the
     * month's compacted parts (bars/YYYY/YYYY-MM...). */
    char months[LIST_PER_DAY_MAX][32];
    const char *prefixes[LIST_PER_DAY_MAX];
    size_t m = 0;
    for (size_t i = 0; i < n && m < LIST_PER_DAY_MAX; i++) {
        char prefix[32];
        bs_day_prefix(bars[perm[i]].date, prefix);
        prefix[MONTH_PREFIX_LEN] = '\0';
        if (m && strcmp(months[m - 1], prefix) == 0)
            continue;
        memcpy(months[m], prefix, sizeof prefix);
        prefixes[m] = months[m];
        m++;
    }
    int err = objstore_list_many(bs->os, prefixes, m, &idx->keys, d);
    /* Only the batch's days: the rest of the months is not the write's business. */
    if (!err)
        err = bs_index_from_keys(idx, bars[perm[0]].date, bars[perm[n - 1]].date, d);
    if (err)
        bar_index_release(idx);
    return err;
}

static int key_in_day(const struct bar_index *idx, size_t day, const char *key)
{
    const struct bar_day *bd = &idx->days[day];
    for (size_t k = 0; k < bd->nparts; k++)
        if (strcmp(idx->keys.v[bd->first + k], key) == 0)
            return 1;
    return 0;
}

/* After writing: a part that another writer added to one of our days meanwhile may disagree
 * with ours.  Read those days again as every reader will (the part first in name order wins)
 * and sort our new rows into lost (counted as conflicts and reported) and disputed (ours is
 * used, theirs is not). */
static int check_race(struct barstore *bs, const struct bar *bars, const size_t *perm,
                      unsigned char *state, size_t n, size_t ndays, const struct bar_index *before,
                      const struct strvec *mine, const struct barstore_write_opts *opts,
                      struct barstore_write_stats *stats, struct diag *first_conflict,
                      struct diag *d)
{
    struct bar_index now;
    /* What another writer added is seen only in the store itself, never in a kept listing. */
    int was = objstore_list_fresh(bs->os, 1);
    int err = index_days(bs, bars, perm, n, ndays, &now, d);
    objstore_list_fresh(bs->os, was);
    if (err)
        return err;
    struct barvec merged;
    barvec_init(&merged);
    size_t m = 0; /* mine.v[m]: our part of the current date, mine is in date order */
    for (size_t i = 0; i < n && !err;) {
        int32_t date = bars[perm[i]].date;
        size_t j = i, fresh = 0;
        while (j < n && bars[perm[j]].date == date)
            fresh += fresh_state(state[perm[j++]]);
        if (!fresh) {
            i = j;
            continue;
        }
        const char *key = mine->v[m++];
        size_t di = bs_day_of(&now, date), bi = bs_day_of(before, date);
        int foreign = 0;
        for (size_t k = 0; di != SIZE_MAX && k < now.days[di].nparts && !foreign; k++) {
            const char *other = now.keys.v[now.days[di].first + k];
            foreign = strcmp(other, key) != 0 && (bi == SIZE_MAX || !key_in_day(before, bi, other));
        }
        if (!foreign) {
            i = j;
            continue;
        }
        /* Another writer added a part to this day since we read it. */
        err = barstore_read_day(bs, &now, di, &merged, d);
        for (size_t k = i; k < j && !err; k++) {
            if (!fresh_state(state[perm[k]]))
                continue;
            const struct bar *b = &bars[perm[k]];
            const struct bar *used = find_symbol(&merged, b->symbol);
            const char *field = used ? bar_diff_field(used, b) : NULL;
            if (!field)
                continue; /* ours is used (or theirs is equal) */
            /* Find which part won: it is not ours when the values differ. */
            if (state[perm[k]] == ROW_REVISE)
                stats->rows_revised--;
            else
                stats->rows_new--;
            state[perm[k]] = ROW_CONFLICT;
            stats->rows_conflict++;
            char day_s[DATE_STRLEN + 1];
            date_format(date, day_s);
            log_warn("a bar written at the same time by another writer wins over this one",
                     LF_STR("store", bs->os->location), LF_STR("symbol", b->symbol),
                     LF_STR("date", day_s), LF_STR("field", field), LF_STR("not_used", key));
            if (stats->rows_conflict == 1)
                diag_set(first_conflict, ERR_CONFLICT,
                         "%s %s was written at the same time by another writer with a different "
                         "'%s'; that part comes first in name order and wins, so %s is not used "
                         "for it",
                         b->symbol, day_s, field, key);
            if (opts->on_conflict)
                opts->on_conflict(opts->ctx, perm[k], used, field);
        }
        /* Our rows that survived against a differing concurrent part are disputed. */
        for (size_t k = 0; !err && k < now.days[di].nparts; k++) {
            const char *other = now.keys.v[now.days[di].first + k];
            if (strcmp(other, key) == 0 || (bi != SIZE_MAX && key_in_day(before, bi, other)))
                continue;
            struct barvec theirs;
            barvec_init(&theirs);
            int keep = bs->skip_damaged;
            bs->skip_damaged = 1; /* a damaged foreign part has already been reported */
            struct bar_index one = {0};
            strvec_init(&one.keys);
            struct bar_day bd1 = {date, 0, 1};
            one.days = &bd1;
            one.ndays = 1;
            if (strvec_push(&one.keys, other)) {
                err = diag_set(d, ERR_NOMEM, "out of memory");
            } else {
                err = barstore_read_day(bs, &one, 0, &theirs, d);
            }
            bs->skip_damaged = keep;
            for (size_t q = i; q < j && !err; q++) {
                if (!fresh_state(state[perm[q]]))
                    continue;
                const struct bar *t = find_symbol(&theirs, bars[perm[q]].symbol);
                if (t && bar_diff_field(t, &bars[perm[q]]))
                    stats->rows_disputed++;
            }
            strvec_release(&one.keys);
            barvec_release(&theirs);
        }
        i = j;
    }
    barvec_release(&merged);
    bar_index_release(&now);
    return err;
}

/* Classifying a batch against the store, day by day in date order. */
struct classify {
    const struct bar *bars;
    const size_t *perm;
    unsigned char *state;
    size_t n, i; /* rows perm[0 .. i) are classified */
    const struct barstore_write_opts *opts;
    struct barstore_write_stats *stats;
    struct diag first_conflict;
};

/* Classify the rows of one day, perm[i .. j), against what is stored for it. */
static void classify_group(struct classify *c, size_t i, size_t j, const struct barvec *stored)
{
    const struct bar *bars = c->bars;
    const size_t *perm = c->perm;
    for (size_t k = i; k < j; k++) {
        const struct bar *b = &bars[perm[k]];
        const struct bar *other = find_symbol(stored, b->symbol);
        /* A stored bar that may change: provisional, or final and in the settle window, by
         * a final fetch (a fetch before the settle time never revises a final bar). */
        int fetched_final = b->date < c->opts->provisional_from;
        int revisable = other && c->opts->revisions &&
                        (other->provisional || (b->date >= c->opts->revise_from && fetched_final));
        if (!other && k > i && strcmp(bars[perm[k - 1]].symbol, b->symbol) == 0)
            other = &bars[perm[k - 1]];
        const char *field = other ? bar_diff_field(other, b) : NULL;
        if (!other) {
            c->state[perm[k]] = ROW_NEW;
        } else if (revisable && field) {
            c->state[perm[k]] = ROW_REVISE;
            c->stats->rows_revised++;
            if (b->date < c->stats->first_revised)
                c->stats->first_revised = b->date;
        } else if (revisable && !field && other->provisional &&
                   b->date < c->opts->provisional_from) {
            /* The same values, now final: a final revision records that. */
            c->state[perm[k]] = ROW_REVISE;
            c->stats->rows_finalized++;
        } else if (!field) {
            c->state[perm[k]] = ROW_SAME;
            c->stats->rows_same++;
        } else {
            c->state[perm[k]] = ROW_CONFLICT;
            c->stats->rows_conflict++;
            if (c->stats->rows_conflict == 1) {
                char day_s[DATE_STRLEN + 1];
                date_format(b->date, day_s);
                diag_set(&c->first_conflict, ERR_CONFLICT,
                         "%s %s is already stored with a different '%s'", b->symbol, day_s, field);
            }
            if (c->opts->on_conflict)
                c->opts->on_conflict(c->opts->ctx, perm[k], other, field);
        }
    }
}

/* Classify the days before `date` that have nothing stored. */
static void classify_upto(struct classify *c, int32_t date)
{
    static const struct barvec none = {0};
    while (c->i < c->n && c->bars[c->perm[c->i]].date < date) {
        size_t j = c->i;
        int32_t day = c->bars[c->perm[j]].date;
        while (j < c->n && c->bars[c->perm[j]].date == day)
            j++;
        classify_group(c, c->i, j, &none);
        c->i = j;
    }
}

static int classify_day(void *ctx, size_t k, int32_t date, struct barvec *day)
{
    (void)k;
    const struct bar *bars = day->v;
    size_t n = day->n;
    struct classify *c = ctx;
    classify_upto(c, date);
    size_t j = c->i;
    while (j < c->n && c->bars[c->perm[j]].date == date)
        j++;
    const struct barvec stored = {(struct bar *)bars, n, n};
    classify_group(c, c->i, j, &stored);
    c->i = j;
    return ERR_OK;
}

int barstore_write(struct barstore *bs, const struct bar *bars, size_t n,
                   const struct barstore_write_opts *opts, struct barstore_write_stats *stats,
                   struct diag *d)
{
    static const struct barstore_write_opts none = {0};
    if (!opts)
        opts = &none;
    memset(stats, 0, sizeof *stats);
    stats->first_revised = INT32_MAX;
    stats->first_stored = INT32_MAX;
    if (n == 0)
        return ERR_OK;
    for (size_t i = 0; i < n; i++) {
        struct diag why;
        if (!bar_symbol_valid(bars[i].symbol, strlen(bars[i].symbol)) ||
            bar_validate(&bars[i], &why))
            return diag_set(d, ERR_INVALID, "refusing to store an invalid bar for '%s'",
                            bars[i].symbol);
    }
    size_t *perm = malloc(n * sizeof *perm);
    unsigned char *state = calloc(n, 1);
    if (!perm || !state) {
        free(perm);
        free(state);
        return diag_set(d, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    wsort_base = bars;
    qsort(perm, n, sizeof *perm, perm_cmp);

    size_t ndays = 0;
    for (size_t i = 0; i < n; i++)
        ndays += i == 0 || bars[perm[i]].date != bars[perm[i - 1]].date;
    stats->days_touched = ndays;

    struct bar_index idx;
    struct strvec mine = STRVEC_INIT; /* the keys of the parts this write stored, by date */
    sweep_days(bs, bars, perm, n, ndays);
    int err = index_days(bs, bars, perm, n, ndays, &idx, d);
    if (err)
        goto out;

    /* Pass 1: classify every row against the store and the rest of the batch, reading the
     * stored days that the batch touches several at a time. */
    struct classify c = {bars, perm, state, n, 0, opts, stats, {{0}}};
    size_t *touched = malloc((idx.ndays ? idx.ndays : 1) * sizeof *touched), nt = 0;
    if (!touched) {
        err = diag_set(d, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0, di = 0; i < n && di < idx.ndays;) {
        int32_t date = bars[perm[i]].date;
        while (di < idx.ndays && idx.days[di].date < date)
            di++;
        if (di < idx.ndays && idx.days[di].date == date)
            touched[nt++] = di++;
        while (i < n && bars[perm[i]].date == date)
            i++;
    }
    err = bs_read_days(bs, &idx, touched, nt, classify_day, &c, d);
    free(touched);
    if (!err)
        classify_upto(&c, INT32_MAX);
    struct diag first_conflict = c.first_conflict;
    if (err)
        goto out;
    if (stats->rows_conflict && !opts->skip_conflicts) {
        err = diag_set(d, ERR_CONFLICT, "%s (%zu conflicting bars; nothing written)",
                       first_conflict.text, stats->rows_conflict);
        goto out;
    }

    /* Pass 2: one new part per day that has new rows. */
    size_t done = 0;
    for (size_t i = 0; i < n && !err;) {
        int32_t date = bars[perm[i]].date;
        size_t j = i;
        while (j < n && bars[perm[j]].date == date)
            j++;
        size_t fresh = 0, revised = 0;
        for (size_t k = i; k < j; k++) {
            fresh += fresh_state(state[perm[k]]);
            revised += state[perm[k]] == ROW_REVISE;
        }
        /* A day with revised bars gets a part of the next revision (holding its new bars
         * too); otherwise the new bars go into a part of revision 0. */
        unsigned rev = 0;
        size_t dix = bs_day_of(&idx, date);
        for (size_t k = 0; revised && dix != SIZE_MAX && k < idx.days[dix].nparts; k++) {
            unsigned r = bs_key_rev(idx.keys.v[idx.days[dix].first + k]);
            if (r > rev)
                rev = r;
        }
        if (revised && rev >= REV_MAX) {
            err = diag_set(d, ERR_INVALID, "store '%s': too many revisions of one day",
                           bs->os->location);
            break;
        }
        rev += revised > 0;
        int prov = opts->revisions && date >= opts->provisional_from;
        /* A final revision says the settle window it was written in: verify and readers know
         * from it that a final bar it changes was in the window (docs/INTEGRITY.md). */
        int32_t window = opts->revisions ? opts->revise_from : INT32_MAX;
        char key[OBJ_KEY_MAX];
        err = write_part(bs, date, bars, perm, state, i, j, rev, prov, window,
                         &stats->parts_written, key, d);
        if (!err && fresh)
            err = strvec_push(&mine, key) ? diag_set(d, ERR_NOMEM, "out of memory") : ERR_OK;
        if (!err) {
            stats->rows_new += fresh - revised;
            stats->days_stored += fresh > 0;
            if (fresh && date < stats->first_stored)
                stats->first_stored = date;
        }
        if (!err && opts->on_progress)
            opts->on_progress(opts->ctx, ++done, ndays);
        i = j;
    }
    if (!err && mine.n)
        err = check_race(bs, bars, perm, state, n, ndays, &idx, &mine, opts, stats, &first_conflict,
                         d);
    if (!err && stats->rows_conflict)
        err = diag_set(d, ERR_CONFLICT, "%s (%zu conflicting bars skipped)", first_conflict.text,
                       stats->rows_conflict);
out:
    if (idx.days || idx.keys.v)
        bar_index_release(&idx);
    strvec_release(&mine);
    free(perm);
    free(state);
    return err;
}
