/* barstore.c - the bar store itself: its state, part names and keys, the day index, closed
 * days (barstore.h; the other barstore_*.c files read, write, keep the split log and verify). */
#include "store/barstore_int.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/crypto.h"
#include "codec/csv.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/banned.h"

struct hasher {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    pid_t pid; /* the process that started the thread (a fork has no such thread) */
    enum { H_IDLE, H_POSTED, H_DONE, H_QUIT } state;
    const void *data;
    size_t len;
    char name[32];
};

static void *hasher_main(void *arg)
{
    struct hasher *h = arg;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (h->state != H_POSTED && h->state != H_QUIT)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->state == H_QUIT)
            break;
        pthread_mutex_unlock(&h->mu);
        barstore_part_name(h->data, h->len, h->name);
        pthread_mutex_lock(&h->mu);
        h->state = H_DONE;
        pthread_cond_broadcast(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* Start hashing data aside; 0 when it cannot (then hash inline). */
int bs_hasher_post(struct hasher **hp, const void *data, size_t len)
{
    struct hasher *h = *hp;
    if (!h) {
        h = calloc(1, sizeof *h);
        if (!h)
            return 0;
        pthread_mutex_init(&h->mu, NULL);
        pthread_cond_init(&h->cv, NULL);
        h->pid = getpid();
        if (pthread_create(&h->th, NULL, hasher_main, h) != 0) {
            pthread_mutex_destroy(&h->mu);
            pthread_cond_destroy(&h->cv);
            free(h);
            return 0;
        }
        *hp = h;
    }
    if (h->pid != getpid())
        return 0;
    pthread_mutex_lock(&h->mu);
    h->data = data;
    h->len = len;
    h->state = H_POSTED;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return 1;
}

void bs_hasher_wait(struct hasher *h, char name[32])
{
    pthread_mutex_lock(&h->mu);
    while (h->state != H_DONE)
        pthread_cond_wait(&h->cv, &h->mu);
    h->state = H_IDLE;
    memcpy(name, h->name, 32);
    pthread_mutex_unlock(&h->mu);
}

static void hasher_free(struct hasher *h)
{
    if (!h)
        return;
    if (h->pid == getpid()) {
        pthread_mutex_lock(&h->mu);
        h->state = H_QUIT;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->th, NULL);
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->cv);
    }
    free(h);
}

int barstore_new(struct objstore *os, struct barstore **out, struct diag *d)
{
    struct barstore *bs = calloc(1, sizeof *bs);
    if (!bs)
        return diag_set(d, ERR_NOMEM, "out of memory");
    bs->os = os;
    buf_init(&bs->io, BARSTORE_PART_MAX);
    strvec_init(&bs->damaged);
    splitvec_init(&bs->splits);
    symchangevec_init(&bs->symlog.v);
    *out = bs;
    return ERR_OK;
}

void barstore_free(struct barstore *bs)
{
    if (!bs)
        return;
    hasher_free(bs->hasher);
    buf_release(&bs->io);
    strvec_release(&bs->damaged);
    splitvec_release(&bs->splits);
    symchangevec_release(&bs->symlog.v);
    free(bs);
}

void barstore_keep_splits(struct barstore *bs, int keep)
{
    bs->keep_splits = keep;
    bs->splits_kept = 0;
    splitvec_release(&bs->splits);
    splitvec_init(&bs->splits);
    bs->symlog.kept = 0;
    symchangevec_release(&bs->symlog.v);
    symchangevec_init(&bs->symlog.v);
}

struct barstore_kept_log *barstore_kept_symlog(struct barstore *bs)
{
    return bs->keep_splits ? &bs->symlog : NULL;
}

void barstore_set_ahead_split(struct barstore *bs, int split)
{
    bs->ahead_split = split;
}

void barstore_set_skip_damaged(struct barstore *bs, int skip)
{
    bs->skip_damaged = skip;
}

const struct strvec *barstore_damaged(const struct barstore *bs)
{
    return &bs->damaged;
}

void barstore_on_disagree(struct barstore *bs, barstore_disagree_fn fn, void *ctx)
{
    bs->on_disagree = fn;
    bs->disagree_ctx = ctx;
}

size_t barstore_disagreements(const struct barstore *bs)
{
    return bs->disagreements;
}

size_t barstore_final_revised(const struct barstore *bs)
{
    return bs->final_revised;
}

#define PART_HEX 16 /* hex digits of the hash in a part's name: 8 bytes of SHA-256 */

void barstore_part_name(const void *data, size_t len, char out[32])
{
    uint8_t h[SHA256_LEN];
    char hex[2 * SHA256_LEN + 1];
    crypto_sha256(data, len, h);
    crypto_hex(h, PART_HEX / 2, hex);
    snprintf(out, 32, "part-%.16s.csv", hex);
}

/* 1 when the last segment of key is "part-<16 lower-case hex>.csv". */
int bs_part_name_syntax_ok(const char *key, char *why)
{
    const char *name = strrchr(key, '/');
    name = name ? name + 1 : key;
    size_t n = strlen(name);
    int ok = n == 5 + PART_HEX + 4 && memcmp(name, "part-", 5) == 0 &&
             memcmp(name + 5 + PART_HEX, ".csv", 4) == 0;
    for (size_t i = 0; ok && i < PART_HEX; i++) {
        char c = name[5 + i];
        ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    }
    if (!ok)
        snprintf(why, 160, "its name is not part-<%d hex digits>.csv, the hash of its content",
                 PART_HEX);
    return ok;
}

/* Compare the hash of the content (want: its part name) with the key's name. */
int bs_part_hash_ok(const char *key, const char want[32], size_t len, char *why)
{
    const char *name = strrchr(key, '/');
    name = name ? name + 1 : key;
    if (memcmp(want + 5, name + 5, PART_HEX) == 0)
        return 1;
    snprintf(why, 160,
             "its content (%zu bytes) does not match its name: truncated or edited (content "
             "hash %.16s)",
             len, want + 5);
    return 0;
}

int barstore_part_name_ok(const char *key, const void *data, size_t len, char *why)
{
    if (!bs_part_name_syntax_ok(key, why))
        return 0;
    char want[32];
    barstore_part_name(data, len, want);
    return bs_part_hash_ok(key, want, len, why);
}

/* A part that cannot be used.  Fails the read with err (d already says why), or, when skipping,
 * records the part, warns, and lets the read go on without it. */
int bs_damaged(struct barstore *bs, const char *key, int err, struct diag *d)
{
    if (!bs->skip_damaged)
        return err;
    int seen = 0;
    for (size_t i = 0; i < bs->damaged.n && !seen; i++)
        seen = strcmp(bs->damaged.v[i], key) == 0;
    if (!seen) {
        if (bs->on_damaged)
            bs->on_damaged(bs->damaged_ctx, key, d->text);
        if (!bs->quiet)
            log_warn("DAMAGED PART SKIPPED: its bars are left out of this read",
                     LF_STR("store", bs->os->location), LF_STR("key", key),
                     LF_STR("error", d->text));
        if (strvec_push(&bs->damaged, key))
            return diag_set(d, ERR_NOMEM, "out of memory");
    }
    diag_clear(d);
    return ERR_OK;
}

void bar_index_release(struct bar_index *idx)
{
    free(idx->days);
    idx->days = NULL;
    idx->ndays = idx->cap = 0;
    strvec_release(&idx->keys);
}

void bs_day_prefix(int32_t date, char out[32])
{
    char day[DATE_STRLEN + 1];
    date_format(date, day);
    snprintf(out, 32, "bars/%.4s/%s/", day, day);
}

/* A part's key says its date, its revision and whether it is provisional:
 *   bars/YYYY/YYYY-MM-DD/part-*.csv                            revision 0, final
 *   bars/YYYY/YYYY-MM-DD/rev-NNNNNN/part-*.csv                 revision N, final
 *   bars/YYYY/YYYY-MM-DD/rev-NNNNNN-window-YYYY-MM-DD/part-*.csv
 *                                                              revision N, final, written in
 *                                                              the settle window from that day
 *   bars/YYYY/YYYY-MM-DD/rev-NNNNNN-provisional/part-*.csv     revision N, provisional
 * Returns 0 when the key is not a part. */
static int part_key_info_w(const char *key, int32_t *date, unsigned *rev, int *prov,
                           int32_t *window)
{
    size_t n = strlen(key);
    /* bars/ + YYYY/ + YYYY-MM-DD/ = 5 + 5 + 11 */
    if (n < 21 + 5 + 4 || memcmp(key, "bars/", 5) != 0 || key[9] != '/' || key[20] != '/')
        return 0;
    if (memcmp(key + 5, key + 10, 4) != 0 || date_parse(key + 10, DATE_STRLEN, date))
        return 0;
    const char *name = key + 21;
    unsigned r = 0;
    int pv = 0;
    int32_t w = INT32_MAX; /* no window recorded */
    if (memcmp(name, REV_DIR, 4) == 0) {
        const char *p = name + 4;
        for (int i = 0; i < REV_DIGITS; i++, p++) {
            if (*p < '0' || *p > '9')
                return 0;
            r = r * 10 + (unsigned)(*p - '0');
        }
        if (strncmp(p, PROV_SUFFIX "/", strlen(PROV_SUFFIX) + 1) == 0) {
            pv = 1;
            p += strlen(PROV_SUFFIX);
        } else if (strncmp(p, WINDOW_SUFFIX, strlen(WINDOW_SUFFIX)) == 0) {
            p += strlen(WINDOW_SUFFIX);
            if (strlen(p) < DATE_STRLEN || date_parse(p, DATE_STRLEN, &w))
                return 0;
            p += DATE_STRLEN;
        }
        if (*p != '/')
            return 0;
        name = p + 1;
    }
    size_t nl = strlen(name);
    if (rev)
        *rev = r;
    if (prov)
        *prov = pv;
    if (window)
        *window = w;
    return strchr(name, '/') == NULL && nl > 9 && memcmp(name, "part-", 5) == 0 &&
           memcmp(name + nl - 4, ".csv", 4) == 0;
}

int barstore_key_parse(const char *key, struct barstore_key *out)
{
    memset(out, 0, sizeof *out);
    out->window = INT32_MAX;
    return part_key_info_w(key, &out->date, &out->rev, &out->provisional, &out->window);
}

static int part_key_info(const char *key, int32_t *date, unsigned *rev, int *prov)
{
    return part_key_info_w(key, date, rev, prov, NULL);
}

/* The first day of the settle window a final revision part was written in (INT32_MAX: none
 * recorded). */
int32_t bs_key_window(const char *key)
{
    int32_t date, w = INT32_MAX;
    return part_key_info_w(key, &date, NULL, NULL, &w) ? w : INT32_MAX;
}

int bs_parse_part_key(const char *key, int32_t *date)
{
    return part_key_info(key, date, NULL, NULL);
}

unsigned bs_key_rev(const char *key)
{
    int32_t date;
    unsigned rev = 0;
    return part_key_info(key, &date, &rev, NULL) ? rev : 0;
}

int bs_key_provisional(const char *key)
{
    int32_t date;
    int prov = 0;
    return part_key_info(key, &date, NULL, &prov) ? prov : 0;
}

/* A compacted part: bars/YYYY/YYYY-MM/days-<8 hex>/part-<hash>.csv, the bars of a closed month
 * (docs/definitions.md#compaction); bit d-1 of the mask is set for each day d it holds bars of.
 * Returns 0 when the key is not one. */
int barstore_key_compacted(const char *key, int32_t *month, uint32_t *mask)
{
    size_t n = strlen(key);
    if (n < MONTH_KEY_LEN + 10 || memcmp(key, "bars/", 5) != 0 || key[9] != '/' || key[17] != '/' ||
        memcmp(key + 18, COMPACT_DIR, 5) != 0 || key[31] != '/' ||
        memcmp(key + 5, key + 10, 4) != 0 || key[14] != '-')
        return 0;
    int y = 0, m = 0;
    for (int i = 0; i < 4; i++) {
        if (key[10 + i] < '0' || key[10 + i] > '9')
            return 0;
        y = y * 10 + (key[10 + i] - '0');
    }
    for (int i = 0; i < 2; i++) {
        if (key[15 + i] < '0' || key[15 + i] > '9')
            return 0;
        m = m * 10 + (key[15 + i] - '0');
    }
    if (y < 1900 || m < 1 || m > 12)
        return 0;
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = key[23 + i];
        if (c >= '0' && c <= '9')
            v = v << 4 | (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v << 4 | (uint32_t)(c - 'a' + 10);
        else
            return 0;
    }
    int32_t first = date_from_ymd(y, m, 1);
    int32_t next = m == 12 ? date_from_ymd(y + 1, 1, 1) : date_from_ymd(y, m + 1, 1);
    int days = (int)(next - first);
    if (v == 0 || (days < 32 && (v >> days) != 0))
        return 0;
    const char *name = key + MONTH_KEY_LEN;
    size_t nl = strlen(name);
    if (strchr(name, '/') || nl < 10 || memcmp(name, "part-", 5) != 0 ||
        memcmp(name + nl - 4, ".csv", 4) != 0)
        return 0;
    if (month)
        *month = first;
    if (mask)
        *mask = v;
    return 1;
}

void barstore_compacted_key(int32_t month, uint32_t mask, const void *data, size_t len,
                            char key[OBJ_KEY_MAX])
{
    char name[32], day[DATE_STRLEN + 1];
    barstore_part_name(data, len, name);
    date_format(month, day);
    snprintf(key, OBJ_KEY_MAX, "bars/%.4s/%.7s/" COMPACT_DIR "%08x/%s", day, day, (unsigned)mask,
             name);
}

unsigned barstore_key_rev(const char *key)
{
    return bs_key_rev(key);
}

int bs_is_compacted(const char *key)
{
    return barstore_key_compacted(key, NULL, NULL);
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

struct ientry {
    int32_t date;
    int compacted;
    size_t key; /* in the listing, which is sorted */
};

static int ientry_cmp(const void *pa, const void *pb)
{
    const struct ientry *a = pa, *b = pb;
    if (a->date != b->date)
        return a->date < b->date ? -1 : 1;
    if (a->compacted != b->compacted) /* a day's compacted parts first: they win ties */
        return a->compacted ? -1 : 1;
    return (a->key > b->key) - (a->key < b->key);
}

/* Build the day index from keys already listed.  A compacted part counts for every day of its
 * mask, listed before the day's own parts. */
int bs_index_from_keys(struct bar_index *idx, int32_t from, int32_t to, struct diag *d)
{
    struct strvec all = idx->keys;
    strvec_init(&idx->keys);
    struct ientry *e = NULL;
    size_t ne = 0, cap = 0;
    int err = ERR_OK;
    for (size_t i = 0; i < all.n && !err; i++) {
        int32_t date, month;
        uint32_t mask;
        int compacted = 0;
        if (barstore_key_compacted(all.v[i], &month, &mask)) {
            compacted = 1;
        } else if (bs_parse_part_key(all.v[i], &date)) {
            month = date;
            mask = 1;
        } else {
            log_warn("ignoring an object that is not a bar part", LF_STR("key", all.v[i]));
            continue;
        }
        for (int b = 0; b < 32 && !err; b++) {
            if (!(mask >> b & 1))
                continue;
            int32_t day = month + b;
            if (day < from || day > to)
                continue;
            if (ne == cap) {
                cap = cap ? cap * 2 : 1024;
                struct ientry *v = realloc(e, cap * sizeof *v);
                if (!v) {
                    err = ERR_NOMEM;
                    break;
                }
                e = v;
            }
            e[ne++] = (struct ientry){day, compacted, i};
        }
    }
    if (!err && ne)
        qsort(e, ne, sizeof *e, ientry_cmp);
    for (size_t i = 0; i < ne && !err; i++) {
        err = strvec_push(&idx->keys, all.v[e[i].key]);
        if (!err)
            err = index_add(idx, e[i].date, idx->keys.n - 1);
    }
    free(e);
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
        /* The years' listings at once (objstore_list_many). */
        char years[3][16];
        const char *prefixes[3];
        size_t n = 0;
        for (int y = fy; y <= ty; y++, n++) {
            snprintf(years[n], sizeof years[n], "bars/%04d/", y);
            prefixes[n] = years[n];
        }
        err = objstore_list_many(bs->os, prefixes, n, &out->keys, d);
    } else {
        err = objstore_list(bs->os, "bars/", &out->keys, d);
    }
    if (!err)
        err = bs_index_from_keys(out, from, to, d);
    if (err)
        bar_index_release(out);
    return err;
}

/* ---- the listing a piece at a time (barstore_int.h) ---- */

void bs_pieces_release(struct index_pieces *p)
{
    strvec_release(&p->groups);
    p->next = 0;
}

/* 1 when the range is listed in pieces (p then set up, pieces_release frees it). */
int bs_pieces_start(struct barstore *bs, int32_t from, int32_t to, struct index_pieces *p)
{
    memset(p, 0, sizeof *p);
    strvec_init(&p->groups);
    p->from = from;
    p->to = to;
    int m, dd;
    if (from != INT32_MIN)
        date_to_ymd(from, &p->fy, &m, &dd);
    if (to != INT32_MAX)
        date_to_ymd(to, &p->ty, &m, &dd);
    if (p->fy && p->ty && p->ty - p->fy <= 2)
        return 0; /* barstore_index lists those years at once */
    struct diag d = {{0}};
    if (objstore_list_groups(bs->os, "bars/", &p->groups, &d) != ERR_OK) {
        bs_pieces_release(p); /* one listing of the whole, which says what is wrong if anything */
        return 0;
    }
    return 1;
}

/* 1 when the group is a year's (bars/YYYY/) outside the range. */
static int year_outside(const struct index_pieces *p, const char *g)
{
    int y = 0;
    if (strlen(g) != 10 || g[9] != '/')
        return 0;
    for (int i = 5; i < 9; i++) {
        if (g[i] < '0' || g[i] > '9')
            return 0;
        y = y * 10 + (g[i] - '0');
    }
    return (p->fy && y < p->fy) || (p->ty && y > p->ty);
}

/* Append src's days (and their keys) to dst's, which end before them. */
static int index_append(struct bar_index *dst, struct bar_index *src)
{
    if (dst->ndays == 0) {
        bar_index_release(dst);
        *dst = *src;
        memset(src, 0, sizeof *src);
        strvec_init(&src->keys);
        return ERR_OK;
    }
    int err = ERR_OK;
    for (size_t i = 0; i < src->ndays && !err; i++)
        for (size_t k = 0; k < src->days[i].nparts && !err; k++)
            if (!(err = strvec_push(&dst->keys, src->keys.v[src->days[i].first + k])))
                err = index_add(dst, src->days[i].date, dst->keys.n - 1);
    return err;
}

/* The next pieces' days into out: the pieces up to the first that has a day, or all that are
 * left. */
int bs_pieces_next(struct barstore *bs, struct index_pieces *p, struct bar_index *out,
                   struct diag *d)
{
    memset(out, 0, sizeof *out);
    strvec_init(&out->keys);
    int err = ERR_OK;
    while (!err && p->next < p->groups.n && out->ndays == 0) {
        const char *g = p->groups.v[p->next++];
        struct bar_index one = {0};
        strvec_init(&one.keys);
        if (g[strlen(g) - 1] != '/') {
            if ((err = strvec_push(&one.keys, g)))
                diag_set(d, err, "out of memory");
        } else if (!year_outside(p, g)) {
            err = objstore_list(bs->os, g, &one.keys, d);
        }
        if (!err)
            err = bs_index_from_keys(&one, p->from, p->to, d);
        if (!err && (err = index_append(out, &one)))
            diag_set(d, err, "indexing the bar store: %s", err_str(err));
        bar_index_release(&one);
    }
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
        err = objstore_missing(bs->os)
                  ? diag_set(d, ERR_NOTFOUND,
                             "store '%s' does not exist (no such directory; a collection or an "
                             "import makes it)",
                             bs->os->location)
                  : diag_set(d, ERR_NOTFOUND, "store '%s' has no bars yet", bs->os->location);
    } else {
        *first = idx.days[0].date;
        *last = idx.days[idx.ndays - 1].date;
        if (ndays)
            *ndays = idx.ndays;
    }
    bar_index_release(&idx);
    return err;
}

size_t bs_day_of(const struct bar_index *idx, int32_t date)
{
    size_t lo = 0, hi = idx->ndays;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (idx->days[mid].date < date)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < idx->ndays && idx->days[lo].date == date ? lo : SIZE_MAX;
}

struct objstore *barstore_objstore(struct barstore *bs)
{
    return bs->os;
}

/* ---- closed days ---- */

int barstore_record_closed(struct barstore *bs, int32_t date, const char *reason, struct diag *d)
{
    char day[DATE_STRLEN + 1], key[64];
    date_format(date, day);
    snprintf(key, sizeof key, BARSTORE_CLOSED_PREFIX "%s.csv", day);
    struct buf b = BUF_INIT(4096);
    int err = buf_printf(&b, "date,reason\n%s,", day);
    if (!err)
        err = csv_write_field(&b, reason, strlen(reason));
    if (!err)
        err = buf_puts(&b, "\n");
    if (err) {
        buf_release(&b);
        return diag_set(d, err, "recording a closed day: %s", err_str(err));
    }
    err = objstore_put(bs->os, key, b.data, b.len, OBJ_PUT_CREATE, NULL, d);
    if (err == ERR_EXISTS)
        err = ERR_OK;
    else if (err)
        diag_prefix_once(d, err, "store '%s'", bs->os->location);
    buf_release(&b);
    return err;
}

int barstore_closed_days(struct barstore *bs, int32_t **days, size_t *n, struct diag *d)
{
    *days = NULL;
    *n = 0;
    struct strvec keys = STRVEC_INIT;
    int err = objstore_list(bs->os, BARSTORE_CLOSED_PREFIX, &keys, d);
    if (!err && keys.n && !(*days = malloc(keys.n * sizeof **days)))
        err = diag_set(d, ERR_NOMEM, "out of memory");
    const size_t plen = sizeof BARSTORE_CLOSED_PREFIX - 1;
    for (size_t i = 0; !err && i < keys.n; i++) {
        const char *name = keys.v[i] + plen;
        int32_t date;
        if (strlen(name) != DATE_STRLEN + 4 || strcmp(name + DATE_STRLEN, ".csv") != 0 ||
            date_parse(name, DATE_STRLEN, &date)) {
            log_warn("ignoring an object that is not a closed day", LF_STR("key", keys.v[i]));
            continue;
        }
        (*days)[(*n)++] = date;
    }
    strvec_release(&keys);
    if (err) {
        free(*days);
        *days = NULL;
        *n = 0;
    }
    return err;
}
