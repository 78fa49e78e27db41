/* compact.c - merging closed months into one part each (see compact.h). */
#include "store/compact.h"
#include "base/calendar.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/barcsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int32_t compact_closed_before(int64_t now_ms)
{
    int32_t day = cal_last_final_day(now_ms, CAL_SETTLE_MINUTE);
    for (int i = 1; i < COMPACT_SETTLE_DAYS; i++)
        day = cal_trading_day_at_or_before(day - 1);
    return day;
}

const char *compact_outcome_name(enum compact_outcome o)
{
    static const char *const names[] = {"compacted", "would compact", "disagreement",
                                        "damaged",   "provisional",   "changed"};
    return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "?";
}

static int32_t month_of(int32_t date)
{
    int y, m, d;
    date_to_ymd(date, &y, &m, &d);
    return date_from_ymd(y, m, 1);
}

static int32_t next_month(int32_t first)
{
    int y, m, d;
    date_to_ymd(first, &y, &m, &d);
    return m == 12 ? date_from_ymd(y + 1, 1, 1) : date_from_ymd(y, m + 1, 1);
}

/* What reading a month gives. */
struct month_read {
    int32_t month;
    struct buf csv;
    uint32_t mask;
    size_t days, bars;
    int provisional;
};

static int month_day(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    struct month_read *m = ctx;
    m->days++;
    if (!n)
        return ERR_OK;
    m->mask |= (uint32_t)1 << (date - m->month);
    for (size_t i = 0; i < n; i++) {
        if (bars[i].provisional)
            m->provisional = 1;
        int err = barcsv_write_row(&m->csv, &bars[i]);
        if (err)
            return err;
        m->bars++;
    }
    return ERR_OK;
}

/* Deleting order: revision 0 first and up, compacted parts last, so that a part a reader may
 * still see is never superseded by one already gone. */
static int retire_cmp(const void *pa, const void *pb)
{
    const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
    int ca = barstore_key_compacted(a, NULL, NULL), cb = barstore_key_compacted(b, NULL, NULL);
    if (ca != cb)
        return ca - cb;
    unsigned ra = barstore_key_rev(a), rb = barstore_key_rev(b);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    return strcmp(a, b);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The index of days [a, b) of idx alone, and its distinct keys (sorted for retiring). */
static int sub_index(const struct bar_index *idx, size_t a, size_t b, struct bar_index *sub,
                     const char ***keys, size_t *nkeys)
{
    memset(sub, 0, sizeof *sub);
    strvec_init(&sub->keys);
    *keys = NULL;
    *nkeys = 0;
    sub->days = malloc((b - a) * sizeof *sub->days);
    if (!sub->days)
        return ERR_NOMEM;
    sub->cap = b - a;
    size_t total = 0;
    for (size_t i = a; i < b; i++) {
        struct bar_day bd = idx->days[i];
        size_t first = sub->keys.n;
        for (size_t k = 0; k < bd.nparts; k++)
            if (strvec_push(&sub->keys, idx->keys.v[bd.first + k]))
                return ERR_NOMEM;
        bd.first = first;
        sub->days[sub->ndays++] = bd;
        total += bd.nparts;
    }
    const char **v = malloc((total ? total : 1) * sizeof *v);
    if (!v)
        return ERR_NOMEM;
    for (size_t i = 0; i < total; i++)
        v[i] = sub->keys.v[i];
    qsort(v, total, sizeof *v, str_cmp);
    size_t w = 0;
    for (size_t i = 0; i < total; i++)
        if (w == 0 || strcmp(v[w - 1], v[i]) != 0)
            v[w++] = v[i];
    qsort(v, w, sizeof *v, retire_cmp);
    *keys = v;
    *nkeys = w;
    return ERR_OK;
}

/* Compact the days [a, b) of idx, one month. */
static int compact_month(struct objstore *os, struct barstore *bs, const struct compact_opts *o,
                         const struct bar_index *idx, size_t a, size_t b, struct compact_month *cm,
                         struct compact_stats *st, struct diag *d)
{
    struct bar_index sub;
    const char **keys = NULL;
    size_t nkeys = 0;
    struct month_read m = {.month = cm->month};
    buf_init(&m.csv, BARSTORE_PART_MAX);
    char *key = cm->key, *why = cm->why;
    int err = sub_index(idx, a, b, &sub, &keys, &nkeys);
    if (err)
        err = diag_set(d, ERR_NOMEM, "out of memory");
    cm->parts = nkeys;
    size_t disagreements = barstore_disagreements(bs);
    size_t damaged = barstore_damaged(bs)->n;
    if (!err && (err = barcsv_write_header(&m.csv)))
        err = diag_set(d, err, "building a compacted part: %s", err_str(err));
    if (!err) {
        struct diag rd = {{0}};
        int rerr = barstore_scan_index(bs, &sub, month_day, &m, &rd);
        if (rerr == ERR_NOTFOUND) {
            cm->outcome = COMPACT_CHANGED;
            snprintf(why, DIAG_MAX, "%s", rd.text);
        } else if (rerr == ERR_DAMAGED || rerr == ERR_INVALID) {
            cm->outcome = COMPACT_DAMAGED;
            snprintf(why, DIAG_MAX, "%s", rd.text);
        } else if (rerr) {
            err = rerr;
            *d = rd;
            if (!d->text[0])
                diag_set(d, err, "building a compacted part: %s", err_str(err));
        } else if (barstore_damaged(bs)->n != damaged) {
            cm->outcome = COMPACT_DAMAGED;
            snprintf(why, DIAG_MAX, "damaged part %s left out of reads",
                     barstore_damaged(bs)->v[damaged]);
        } else if (barstore_disagreements(bs) != disagreements) {
            cm->outcome = COMPACT_DISAGREEMENT;
            snprintf(why, DIAG_MAX,
                     "%zu bars on which its parts disagree ('screener verify' lists them)",
                     barstore_disagreements(bs) - disagreements);
        } else if (m.provisional) {
            cm->outcome = COMPACT_PROVISIONAL;
            snprintf(why, DIAG_MAX, "a bar is still provisional");
        } else if (!m.bars) {
            cm->outcome = COMPACT_CHANGED;
            snprintf(why, DIAG_MAX, "no bars in it");
        } else {
            cm->outcome = o->dry_run ? COMPACT_DRY_RUN : COMPACT_DONE;
        }
    }
    cm->days = m.days;
    cm->bars = m.bars;
    if (!err && (cm->outcome == COMPACT_DONE || cm->outcome == COMPACT_DRY_RUN)) {
        barstore_compacted_key(cm->month, m.mask, m.csv.data, m.csv.len, key);
        cm->bytes = m.csv.len;
    }
    if (!err && cm->outcome == COMPACT_DONE) {
        char dir[OBJ_KEY_MAX];
        snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(key, '/') - key + 1), key);
        objstore_sweep(os, dir);
        err = objstore_put(os, key, m.csv.data, m.csv.len, OBJ_PUT_CREATE, NULL, d);
        if (err == ERR_EXISTS)
            err = ERR_OK; /* the same bars, compacted before (a rerun, another compactor) */
        else if (!err)
            st->bytes_written += m.csv.len;
        if (err)
            diag_prefix(d, err, "store '%s': writing %s", os->location, key);
        /* Only the parts read, never the one just written (a rerun may find it among them). */
        for (size_t i = 0; !err && i < nkeys; i++) {
            if (strcmp(keys[i], key) == 0)
                continue;
            err = objstore_del(os, keys[i], d);
            if (err == ERR_NOTFOUND) { /* another compactor retired it */
                err = ERR_OK;
                continue;
            }
            if (err)
                diag_prefix(d, err, "store '%s': retiring %s", os->location, keys[i]);
            else
                cm->retired++;
        }
    }
    free(keys);
    bar_index_release(&sub);
    if (!err && o->on_month)
        o->on_month(o->ctx, cm);
    buf_release(&m.csv);
    return err;
}

int barstore_compact(struct objstore *os, struct barstore *bs, const struct compact_opts *o,
                     struct compact_stats *st, struct diag *d)
{
    memset(st, 0, sizeof *st);
    if (o->closed_before == INT32_MIN)
        return ERR_OK;
    struct bar_index idx;
    int err = barstore_index(bs, INT32_MIN, o->closed_before - 1, &idx, d);
    if (err)
        return err;
    size_t tried = 0;
    for (size_t a = 0, b; !err && a < idx.ndays; a = b) {
        int32_t month = month_of(idx.days[a].date), next = next_month(month);
        for (b = a; b < idx.ndays && idx.days[b].date < next; b++)
            ;
        if (next > o->closed_before)
            break; /* the month is not over before the window */
        /* Nothing to gain from a month that is one object already. */
        const char *one = idx.keys.v[idx.days[a].first];
        int single = 1;
        for (size_t i = a; i < b && single; i++)
            for (size_t k = 0; k < idx.days[i].nparts && single; k++)
                single = strcmp(idx.keys.v[idx.days[i].first + k], one) == 0;
        if (single)
            continue;
        st->months_closed++;
        if ((o->max_months && tried >= o->max_months) ||
            (o->deadline_ms && clock_wall_ms() + COMPACT_MONTH_MIN_MS > o->deadline_ms)) {
            st->months_left++;
            continue;
        }
        tried++;
        struct compact_month cm = {.month = month};
        err = compact_month(os, bs, o, &idx, a, b, &cm, st, d);
        if (err)
            break;
        if (cm.outcome == COMPACT_DONE || cm.outcome == COMPACT_DRY_RUN) {
            st->months_compacted++;
            st->parts_merged += cm.parts;
            st->parts_retired += cm.retired;
        } else {
            st->months_skipped++;
            char day[DATE_STRLEN + 1];
            date_format(month, day);
            log_warn("compaction: month left as it is", LF_STR("month", day),
                     LF_STR("reason", compact_outcome_name(cm.outcome)), LF_STR("why", cm.why));
        }
    }
    bar_index_release(&idx);
    return err;
}
