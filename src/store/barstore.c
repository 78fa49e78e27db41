#include "store/barstore.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/barcsv.h"
#include "codec/crypto.h"

#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

#define SPLITS_PREFIX "splits/"
#define SPLITS_MAX    ((size_t)16 << 20)
/* Few days to write: list each day's prefix; more: list the whole tree once. */
#define LIST_PER_DAY_MAX 16

struct barstore {
    struct objstore *os;
    struct buf io; /* the part being read, reused */
};

int barstore_new(struct objstore *os, struct barstore **out, struct diag *d)
{
    struct barstore *bs = calloc(1, sizeof *bs);
    if (!bs)
        return diag_set(d, ERR_NOMEM, "out of memory");
    bs->os = os;
    buf_init(&bs->io, BARSTORE_PART_MAX);
    *out = bs;
    return ERR_OK;
}

void barstore_free(struct barstore *bs)
{
    if (!bs)
        return;
    buf_release(&bs->io);
    free(bs);
}

void bar_index_release(struct bar_index *idx)
{
    free(idx->days);
    idx->days = NULL;
    idx->ndays = idx->cap = 0;
    strvec_release(&idx->keys);
}

static void day_prefix(int32_t date, char out[32])
{
    char day[DATE_STRLEN + 1];
    date_format(date, day);
    snprintf(out, 32, "bars/%.4s/%s/", day, day);
}

/* "bars/YYYY/YYYY-MM-DD/part-*.csv" -> date; 0 when the key is not a part. */
static int parse_part_key(const char *key, int32_t *date)
{
    size_t n = strlen(key);
    /* bars/ + YYYY/ + YYYY-MM-DD/ = 5 + 5 + 11 */
    if (n < 21 + 5 + 4 || memcmp(key, "bars/", 5) != 0 || key[9] != '/' || key[20] != '/')
        return 0;
    if (memcmp(key + 5, key + 10, 4) != 0 || date_parse(key + 10, DATE_STRLEN, date))
        return 0;
    const char *name = key + 21;
    size_t nl = n - 21;
    return strchr(name, '/') == NULL && nl > 9 && memcmp(name, "part-", 5) == 0 &&
           memcmp(name + nl - 4, ".csv", 4) == 0;
}

static int index_add(struct bar_index *idx, int32_t date, size_t key)
{
    if (idx->ndays && idx->days[idx->ndays - 1].date == date) {
        idx->days[idx->ndays - 1].nparts++;
        return ERR_OK;
    }
    if (idx->ndays == idx->cap) {
        size_t cap = idx->cap ? idx->cap * 2 : 256;
        struct bar_day *v = realloc(idx->days, cap * sizeof *v);
        if (!v)
            return ERR_NOMEM;
        idx->days = v;
        idx->cap = cap;
    }
    idx->days[idx->ndays++] = (struct bar_day){date, key, 1};
    return ERR_OK;
}

/* Build the day index from keys already listed (sorted, so days come out in order). */
static int index_from_keys(struct bar_index *idx, int32_t from, int32_t to, struct diag *d)
{
    struct strvec all = idx->keys;
    strvec_init(&idx->keys);
    int err = ERR_OK;
    for (size_t i = 0; i < all.n && !err; i++) {
        int32_t date;
        if (!parse_part_key(all.v[i], &date)) {
            log_warn("ignoring an object that is not a bar part", LF_STR("key", all.v[i]));
            continue;
        }
        if (date < from || date > to)
            continue;
        err = strvec_push(&idx->keys, all.v[i]);
        if (!err)
            err = index_add(idx, date, idx->keys.n - 1);
    }
    strvec_release(&all);
    if (err)
        return diag_set(d, err, "indexing the bar store: %s", err_str(err));
    return ERR_OK;
}

int barstore_index(struct barstore *bs, int32_t from, int32_t to, struct bar_index *out,
                   struct diag *d)
{
    memset(out, 0, sizeof *out);
    strvec_init(&out->keys);
    int err = ERR_OK;
    int fy = 0, ty = 0, m, dd;
    if (from != INT32_MIN && to != INT32_MAX) {
        date_to_ymd(from, &fy, &m, &dd);
        date_to_ymd(to, &ty, &m, &dd);
    }
    if (from != INT32_MIN && to != INT32_MAX && ty - fy <= 2) {
        for (int y = fy; y <= ty && !err; y++) {
            char prefix[16];
            snprintf(prefix, sizeof prefix, "bars/%04d/", y);
            err = objstore_list(bs->os, prefix, &out->keys, d);
        }
    } else {
        err = objstore_list(bs->os, "bars/", &out->keys, d);
    }
    if (!err)
        err = index_from_keys(out, from, to, d);
    if (err)
        bar_index_release(out);
    return err;
}

int barstore_date_range(struct barstore *bs, int32_t *first, int32_t *last, size_t *ndays,
                        struct diag *d)
{
    struct bar_index idx;
    int err = barstore_index(bs, INT32_MIN, INT32_MAX, &idx, d);
    if (err)
        return err;
    if (idx.ndays == 0) {
        err = diag_set(d, ERR_NOTFOUND, "store '%s' has no bars yet", bs->os->location);
    } else {
        *first = idx.days[0].date;
        *last = idx.days[idx.ndays - 1].date;
        if (ndays)
            *ndays = idx.ndays;
    }
    bar_index_release(&idx);
    return err;
}

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
    struct barvec day;
    barvec_init(&day);
    size_t missing = n;
    for (size_t k = 0; k < idx.ndays && k < max_days && missing && !err; k++) {
        size_t di = idx.ndays - 1 - k;
        err = barstore_read_day(bs, &idx, di, &day, d);
        for (size_t i = 0; !err && i < day.n; i++) {
            int at = sym_find(symbols, n, day.v[i].symbol);
            if (at >= 0 && out[at] == INT32_MIN) {
                out[at] = idx.days[di].date;
                missing--;
            }
        }
    }
    barvec_release(&day);
    bar_index_release(&idx);
    return err;
}

/* Parse one part, appending its rows to out; checks date and order. */
static int read_part(struct barstore *bs, const char *key, int32_t date, struct barvec *out,
                     struct diag *d)
{
    buf_reset(&bs->io);
    int err = objstore_get(bs->os, key, &bs->io, NULL, d);
    if (err)
        return diag_prefix(d, err, "store '%s'", bs->os->location);
    struct barcsv_reader r;
    if ((err = barcsv_reader_init(&r, key, bs->io.data, bs->io.len, d)))
        return err;
    size_t first = out->n;
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
        if (out->n > first && strcmp(out->v[out->n - 1].symbol, b->symbol) >= 0)
            return diag_set(d, ERR_INVALID,
                            "%s:%zu: field 'symbol': %s is out of order or repeated after %s", key,
                            barcsv_line(&r), b->symbol, out->v[out->n - 1].symbol);
        out->n++;
    }
    return ERR_OK;
}

struct origin {
    size_t row;
    size_t part;
};

static const struct bar *sort_base;

static int origin_cmp(const void *pa, const void *pb)
{
    const struct origin *a = pa, *b = pb;
    int c = strcmp(sort_base[a->row].symbol, sort_base[b->row].symbol);
    if (c)
        return c;
    return (a->part > b->part) - (a->part < b->part);
}

/* Merge several sorted parts held back to back in all (part k starting at starts[k]). */
static int merge_parts(const struct bar_index *idx, size_t day, struct barvec *all,
                       const size_t *starts, struct barvec *out, struct diag *d)
{
    const struct bar_day *bd = &idx->days[day];
    struct origin *o = malloc(all->n * sizeof *o);
    if (!o && all->n)
        return diag_set(d, ERR_NOMEM, "out of memory");
    for (size_t k = 0, i = 0; i < all->n; i++) {
        while (k + 1 < bd->nparts && i >= starts[k + 1])
            k++;
        o[i] = (struct origin){i, k};
    }
    sort_base = all->v;
    qsort(o, all->n, sizeof *o, origin_cmp);
    int err = ERR_OK;
    out->n = 0;
    for (size_t i = 0; i < all->n && !err; i++) {
        const struct bar *b = &all->v[o[i].row];
        if (out->n && strcmp(out->v[out->n - 1].symbol, b->symbol) == 0) {
            const struct bar *prev = &all->v[o[i - 1].row];
            const char *field = bar_diff_field(prev, b);
            if (field) {
                char day_s[DATE_STRLEN + 1];
                date_format(b->date, day_s);
                err = diag_set(d, ERR_CONFLICT, "%s %s: parts disagree on field '%s': %s and %s",
                               b->symbol, day_s, field, idx->keys.v[bd->first + o[i - 1].part],
                               idx->keys.v[bd->first + o[i].part]);
            }
            continue;
        }
        err = barvec_push(out, b);
    }
    free(o);
    return err;
}

int barstore_read_day(struct barstore *bs, const struct bar_index *idx, size_t day,
                      struct barvec *out, struct diag *d)
{
    const struct bar_day *bd = &idx->days[day];
    out->n = 0;
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
        err = merge_parts(idx, day, &all, starts, out, d);
    free(starts);
    barvec_release(&all);
    return err;
}

int barstore_scan(struct barstore *bs, int32_t from, int32_t to, barstore_day_fn fn, void *ctx,
                  struct diag *d)
{
    struct bar_index idx;
    int err = barstore_index(bs, from, to, &idx, d);
    if (err)
        return err;
    struct barvec day;
    barvec_init(&day);
    for (size_t i = 0; i < idx.ndays && !err; i++) {
        err = barstore_read_day(bs, &idx, i, &day, d);
        if (!err)
            err = fn(ctx, idx.days[i].date, day.v, day.n);
    }
    barvec_release(&day);
    bar_index_release(&idx);
    return err;
}

/* ---- writing ---- */

enum row_state { ROW_NEW, ROW_SAME, ROW_CONFLICT };

static const struct bar *wsort_base;

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

static int write_part(struct barstore *bs, int32_t date, const struct bar *bars, const size_t *perm,
                      const unsigned char *state, size_t from, size_t to, size_t *written,
                      struct diag *d)
{
    struct buf csv = BUF_INIT(BARSTORE_PART_MAX);
    int err = barcsv_write_header(&csv);
    size_t rows = 0;
    for (size_t i = from; i < to && !err; i++) {
        if (state[perm[i]] != ROW_NEW)
            continue;
        err = barcsv_write_row(&csv, &bars[perm[i]]);
        rows++;
    }
    if (err) {
        buf_release(&csv);
        return diag_set(d, err, "building a part: %s", err_str(err));
    }
    if (rows) {
        uint8_t h[SHA256_LEN];
        char hex[2 * SHA256_LEN + 1], prefix[32], key[OBJ_KEY_MAX];
        crypto_sha256(csv.data, csv.len, h);
        crypto_hex(h, 8, hex);
        day_prefix(date, prefix);
        snprintf(key, sizeof key, "%spart-%s.csv", prefix, hex);
        err = objstore_put(bs->os, key, csv.data, csv.len, OBJ_PUT_CREATE, NULL, d);
        if (err == ERR_EXISTS)
            err = ERR_OK; /* the same content is already there */
        else if (!err)
            (*written)++;
        if (err)
            diag_prefix(d, err, "store '%s'", bs->os->location);
    }
    buf_release(&csv);
    return err;
}

/* Index only the days that the batch touches. */
static int index_days(struct barstore *bs, const struct bar *bars, const size_t *perm, size_t n,
                      size_t ndays, struct bar_index *idx, struct diag *d)
{
    if (ndays > LIST_PER_DAY_MAX)
        return barstore_index(bs, bars[perm[0]].date, bars[perm[n - 1]].date, idx, d);
    memset(idx, 0, sizeof *idx);
    strvec_init(&idx->keys);
    int err = ERR_OK;
    for (size_t i = 0; i < n && !err; i++) {
        int32_t date = bars[perm[i]].date;
        if (i && bars[perm[i - 1]].date == date)
            continue;
        char prefix[32];
        day_prefix(date, prefix);
        err = objstore_list(bs->os, prefix, &idx->keys, d);
    }
    if (!err)
        err = index_from_keys(idx, INT32_MIN, INT32_MAX, d);
    if (err)
        bar_index_release(idx);
    return err;
}

int barstore_write(struct barstore *bs, const struct bar *bars, size_t n,
                   const struct barstore_write_opts *opts, struct barstore_write_stats *stats,
                   struct diag *d)
{
    static const struct barstore_write_opts none = {0};
    if (!opts)
        opts = &none;
    memset(stats, 0, sizeof *stats);
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
    struct barvec stored;
    barvec_init(&stored);
    int err = index_days(bs, bars, perm, n, ndays, &idx, d);
    if (err)
        goto out;

    /* Pass 1: classify every row against the store and the rest of the batch. */
    struct diag first_conflict = {{0}};
    size_t di = 0;
    for (size_t i = 0; i < n && !err;) {
        int32_t date = bars[perm[i]].date;
        size_t j = i;
        while (j < n && bars[perm[j]].date == date)
            j++;
        while (di < idx.ndays && idx.days[di].date < date)
            di++;
        stored.n = 0;
        if (di < idx.ndays && idx.days[di].date == date &&
            (err = barstore_read_day(bs, &idx, di, &stored, d)))
            break;
        for (size_t k = i; k < j; k++) {
            const struct bar *b = &bars[perm[k]];
            const struct bar *other = find_symbol(&stored, b->symbol);
            if (!other && k > i && strcmp(bars[perm[k - 1]].symbol, b->symbol) == 0)
                other = &bars[perm[k - 1]];
            const char *field = other ? bar_diff_field(other, b) : NULL;
            if (!other) {
                state[perm[k]] = ROW_NEW;
            } else if (!field) {
                state[perm[k]] = ROW_SAME;
                stats->rows_same++;
            } else {
                state[perm[k]] = ROW_CONFLICT;
                stats->rows_conflict++;
                if (stats->rows_conflict == 1) {
                    char day_s[DATE_STRLEN + 1];
                    date_format(date, day_s);
                    diag_set(&first_conflict, ERR_CONFLICT,
                             "%s %s is already stored with a different '%s'", b->symbol, day_s,
                             field);
                }
                if (opts->on_conflict)
                    opts->on_conflict(opts->ctx, perm[k], other, field);
            }
        }
        i = j;
    }
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
        for (size_t k = i; k < j; k++)
            stats->rows_new += state[perm[k]] == ROW_NEW;
        err = write_part(bs, date, bars, perm, state, i, j, &stats->parts_written, d);
        if (!err && opts->on_progress)
            opts->on_progress(opts->ctx, ++done, ndays);
        i = j;
    }
    if (!err && stats->rows_conflict)
        err = diag_set(d, ERR_CONFLICT, "%s (%zu conflicting bars skipped)", first_conflict.text,
                       stats->rows_conflict);
out:
    barvec_release(&stored);
    if (idx.days || idx.keys.v)
        bar_index_release(&idx);
    free(perm);
    free(state);
    return err;
}

/* ---- splits ---- */

int barstore_read_splits(struct barstore *bs, struct splitvec *out, struct diag *d)
{
    struct strvec keys = STRVEC_INIT;
    int err = objstore_list(bs->os, SPLITS_PREFIX, &keys, d);
    struct buf b = BUF_INIT(SPLITS_MAX);
    for (size_t i = 0; i < keys.n && !err; i++) {
        buf_reset(&b);
        err = objstore_get(bs->os, keys.v[i], &b, NULL, d);
        if (!err)
            err = splitcsv_parse(keys.v[i], b.data, b.len, out, d);
    }
    buf_release(&b);
    strvec_release(&keys);
    if (err)
        return err;
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, split_cmp);
    size_t w = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (w && split_cmp(&out->v[w - 1], &out->v[i]) == 0) {
            if (out->v[w - 1].new_rate != out->v[i].new_rate ||
                out->v[w - 1].old_rate != out->v[i].old_rate) {
                char day[DATE_STRLEN + 1];
                date_format(out->v[i].ex_date, day);
                return diag_set(d, ERR_CONFLICT, "split log: %s %s has two different ratios",
                                out->v[i].symbol, day);
            }
            continue;
        }
        out->v[w++] = out->v[i];
    }
    out->n = w;
    return ERR_OK;
}

int barstore_write_splits(struct barstore *bs, const struct split *s, size_t n, size_t *added,
                          struct diag *d)
{
    struct splitvec have, add;
    splitvec_init(&have);
    splitvec_init(&add);
    *added = 0;
    int err = barstore_read_splits(bs, &have, d);
    for (size_t i = 0; i < n && !err; i++) {
        if (s[i].new_rate <= 0 || s[i].old_rate <= 0 ||
            !bar_symbol_valid(s[i].symbol, strlen(s[i].symbol))) {
            err = diag_set(d, ERR_INVALID, "refusing an invalid split for '%s'", s[i].symbol);
            break;
        }
        const struct split *found =
            have.n ? bsearch(&s[i], have.v, have.n, sizeof *have.v, split_cmp) : NULL;
        const struct split *dup = NULL;
        for (size_t k = 0; k < add.n && !dup; k++)
            if (split_cmp(&add.v[k], &s[i]) == 0)
                dup = &add.v[k];
        const struct split *other = found ? found : dup;
        if (other) {
            if (other->new_rate != s[i].new_rate || other->old_rate != s[i].old_rate) {
                char day[DATE_STRLEN + 1];
                date_format(s[i].ex_date, day);
                err = diag_set(d, ERR_CONFLICT,
                               "split %s %s is already recorded with a different ratio",
                               s[i].symbol, day);
            }
            continue;
        }
        err = splitvec_push(&add, &s[i]);
    }
    if (!err && add.n) {
        qsort(add.v, add.n, sizeof *add.v, split_cmp);
        struct buf csv = BUF_INIT(SPLITS_MAX);
        err = splitcsv_write(&csv, add.v, add.n);
        if (!err) {
            uint8_t h[SHA256_LEN];
            char hex[2 * SHA256_LEN + 1], key[OBJ_KEY_MAX];
            crypto_sha256(csv.data, csv.len, h);
            crypto_hex(h, 8, hex);
            snprintf(key, sizeof key, SPLITS_PREFIX "part-%s.csv", hex);
            err = objstore_put(bs->os, key, csv.data, csv.len, OBJ_PUT_CREATE, NULL, d);
            if (err == ERR_EXISTS)
                err = ERR_OK;
        } else {
            diag_set(d, err, "building the split log: %s", err_str(err));
        }
        buf_release(&csv);
        if (!err)
            *added = add.n;
    }
    splitvec_release(&have);
    splitvec_release(&add);
    return err;
}
