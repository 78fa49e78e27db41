#include "store/barstore.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/barcsv.h"
#include "codec/csv.h"
#include "codec/crypto.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/banned.h"

#define SPLITS_PREFIX "splits/"
#define SPLITS_MAX    ((size_t)16 << 20)
/* Few days to write: list each day's prefix; more: list the whole tree once. */
#define LIST_PER_DAY_MAX 16
/* Revision parts: bars/YYYY/YYYY-MM-DD/rev-NNNNNN[-provisional|-window-YYYY-MM-DD]/part-*.csv */
#define REV_DIR       "rev-"
#define REV_DIGITS    6
#define REV_MAX       999999u
#define PROV_SUFFIX   "-provisional"
#define WINDOW_SUFFIX "-window-"
#define COMPACT_DIR   "days-"
/* check_part's date for a compacted part: its rows span a month. */
#define MONTH_ROWS INT32_MIN

/* Hashing a part costs about a quarter of parsing it (SHA-256 at ~1.7 GB/s against ~0.5 GB/s
 * for the whole read), so a large part is hashed on a helper thread while the caller parses
 * it: the check costs CPU time but hardly any wall time.  The parser only reads the buffer
 * (it unescapes quoted fields in place, so a part with a quote, which the writer never
 * produces, is hashed first).  One job at a time; the thread lives as long as the barstore. */
#define HASH_ASIDE_MIN ((size_t)16 << 10)

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
static int hasher_post(struct hasher **hp, const void *data, size_t len)
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

static void hasher_wait(struct hasher *h, char name[32])
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

struct barstore {
    struct objstore *os;
    struct hasher *hasher; /* started on the first large part */
    struct buf io;         /* the part being read, reused */
    int skip_damaged;
    int ahead_split; /* who parses a day's only part reading ahead (barstore_set_ahead_split) */
    int quiet;       /* no warnings logged (verify reports through its hooks) */
    struct strvec damaged; /* parts left out, each once */
    size_t disagreements;
    size_t final_revised; /* revisions of final bars refused by reads */
    barstore_disagree_fn on_disagree;
    void *disagree_ctx;
    /* Told of each damaged part met (verify). */
    void (*on_damaged)(void *ctx, const char *key, const char *why);
    void *damaged_ctx;
    /* The split log as last read, while keep_splits (barstore_keep_splits). */
    int keep_splits, splits_kept;
    struct splitvec splits;
    struct barstore_kept_log symlog; /* the same for the symbol-change log */
};

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
static int part_name_syntax_ok(const char *key, char *why)
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
static int part_hash_ok(const char *key, const char want[32], size_t len, char *why)
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
    if (!part_name_syntax_ok(key, why))
        return 0;
    char want[32];
    barstore_part_name(data, len, want);
    return part_hash_ok(key, want, len, why);
}

/* A part that cannot be used.  Fails the read with err (d already says why), or, when skipping,
 * records the part, warns, and lets the read go on without it. */
static int damaged(struct barstore *bs, const char *key, int err, struct diag *d)
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

static void day_prefix(int32_t date, char out[32])
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
static int32_t key_window(const char *key)
{
    int32_t date, w = INT32_MAX;
    return part_key_info_w(key, &date, NULL, NULL, &w) ? w : INT32_MAX;
}

static int parse_part_key(const char *key, int32_t *date)
{
    return part_key_info(key, date, NULL, NULL);
}

static unsigned key_rev(const char *key)
{
    int32_t date;
    unsigned rev = 0;
    return part_key_info(key, &date, &rev, NULL) ? rev : 0;
}

static int key_provisional(const char *key)
{
    int32_t date;
    int prov = 0;
    return part_key_info(key, &date, NULL, &prov) ? prov : 0;
}

/* A compacted part: bars/YYYY/YYYY-MM/days-<8 hex>/part-<hash>.csv, the bars of a closed month
 * (docs/definitions.md#compaction); bit d-1 of the mask is set for each day d it holds bars of.
 * Returns 0 when the key is not one. */
#define MONTH_KEY_LEN    32 /* "bars/YYYY/YYYY-MM/days-XXXXXXXX/" */
#define MONTH_PREFIX_LEN 17 /* "bars/YYYY/YYYY-MM" */
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
    return key_rev(key);
}

static int is_compacted(const char *key)
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
static int index_from_keys(struct bar_index *idx, int32_t from, int32_t to, struct diag *d)
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
        } else if (parse_part_key(all.v[i], &date)) {
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
        err = index_from_keys(out, from, to, d);
    if (err)
        bar_index_release(out);
    return err;
}

/* ---- the listing a piece at a time ----
 *
 * A scan of more years than barstore_index lists at once, on a store that lists one level at a
 * time cheaply (a directory), lists year by year: bars/ one level deep, then each year when its
 * turn comes, so that reading starts on the first years while the later ones are listed.
 * Every part of a day is under its year (bars/YYYY/..., its key says so), so the years' days
 * follow one another in date order, and the pieces together are barstore_index's days. */
struct index_pieces {
    struct strvec groups; /* objstore_list_groups of bars/: keys and years' prefixes, sorted */
    size_t next;          /* the next one to list */
    int32_t from, to;
    int fy, ty; /* the years of from and to (0: open) */
};

static void pieces_release(struct index_pieces *p)
{
    strvec_release(&p->groups);
    p->next = 0;
}

/* 1 when the range is listed in pieces (p then set up, pieces_release frees it). */
static int pieces_start(struct barstore *bs, int32_t from, int32_t to, struct index_pieces *p)
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
        pieces_release(p); /* one listing of the whole, which says what is wrong if anything */
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
static int pieces_next(struct barstore *bs, struct index_pieces *p, struct bar_index *out,
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
            err = index_from_keys(&one, p->from, p->to, d);
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

static size_t day_of(const struct bar_index *idx, int32_t date);

/* Told about each day of read_days: k is its place in the list of days asked for.  The day's
 * bars are fn's to read, or to take by swapping the vector's content for another's. */
typedef int (*days_fn)(void *ctx, size_t k, int32_t date, struct barvec *day);
static int read_days(struct barstore *bs, const struct bar_index *idx, const size_t *days,
                     size_t ndays, days_fn fn, void *ctx, struct diag *d);

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
        err = read_days(bs, &idx, days, m, last_day, &lc, d);
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
            any = key_provisional(idx.keys.v[bd->first + k]);
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
 * damaged part appends nothing (see damaged()). */
static int check_part(struct barstore *bs, const char *key, int32_t date, char *data, size_t len,
                      struct barvec *out, struct diag *d)
{
    char why[160], want[32];
    if (!part_name_syntax_ok(key, why)) {
        diag_set(d, ERR_DAMAGED, "store '%s': part %s is damaged: %s", bs->os->location, key, why);
        return damaged(bs, key, ERR_DAMAGED, d);
    }
    int aside =
        len >= HASH_ASIDE_MIN && !memchr(data, '"', len) && hasher_post(&bs->hasher, data, len);
    if (!aside) {
        barstore_part_name(data, len, want);
        if (!part_hash_ok(key, want, len, why)) {
            diag_set(d, ERR_DAMAGED, "store '%s': part %s is damaged: %s", bs->os->location, key,
                     why);
            return damaged(bs, key, ERR_DAMAGED, d);
        }
    }
    size_t first = out->n;
    int err = date == MONTH_ROWS ? read_month_rows(key, data, len, out, d)
                                 : read_rows(key, date, data, len, out, d);
    if (aside) {
        hasher_wait(bs->hasher, want);
        if (!part_hash_ok(key, want, len, why)) {
            /* The hash decides: rows parsed from a damaged part are dropped whatever they say. */
            out->n = first;
            diag_set(d, ERR_DAMAGED, "store '%s': part %s is damaged: %s", bs->os->location, key,
                     why);
            return damaged(bs, key, ERR_DAMAGED, d);
        }
    }
    if (!err)
        return ERR_OK;
    out->n = first;
    if (err == ERR_NOMEM || err == ERR_IO)
        return err;
    return damaged(bs, key, err, d);
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
    if (bs->skip_damaged || memchr(data, '"', len) || !part_name_syntax_ok(key, why))
        return check_part(bs, key, date, data, len, out, d);
    if (hash_here && part_hash_check(bs, key, data, len, d) != ERR_OK) {
        diag_clear(d);
        return check_part(bs, key, date, data, len, out, d);
    }
    size_t first = out->n;
    if (read_rows(key, date, data, len, out, d) != ERR_OK) {
        out->n = first;
        diag_clear(d);
        return check_part(bs, key, date, data, len, out, d);
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
    if (part_hash_ok(key, want, len, why))
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
    return check_part(bs, key, date, bs->io.data ? bs->io.data : empty, bs->io.len, out, d);
}

/* Parse the rows of one part into out, each marked provisional as key says; checks date and
 * order.  On an error out->n may have grown; the caller resets it. */
static int read_rows(const char *key, int32_t date, char *data, size_t len, struct barvec *out,
                     struct diag *d)
{
    struct barcsv_reader r;
    const uint8_t prov = (uint8_t)key_provisional(key);
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
    const uint8_t prov = (uint8_t)key_provisional(key);
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

static const struct bar *sort_base;

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
    if (!key_provisional(key) && key_window(key) <= bd->date)
        return 1;
    for (size_t m = k + 1; m < last; m++) {
        if (o[m].rev >= o[k].rev || key_provisional(idx->keys.v[bd->first + o[m].part]))
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
    unsigned rev = bd->nparts ? key_rev(idx->keys.v[bd->first]) : 0;
    for (size_t k = 0, i = 0; i < all->n; i++) {
        while (k + 1 < bd->nparts && i >= starts[k + 1])
            rev = key_rev(idx->keys.v[bd->first + ++k]);
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
        if (is_compacted(idx->keys.v[bd->first + k]))
            return read_days(bs, idx, &day, 1, take_day, out, d);
    int err = read_day_parts(bs, idx, day, out, d);
    if (err == ERR_NOTFOUND) { /* a part went away: read_days lists the day again */
        diag_clear(d);
        err = read_days(bs, idx, &day, 1, take_day, out, d);
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
            barvec_release(&r->months[m].rows);
            barvec_init(&r->months[m].rows);
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
    if (it->month >= 0) {
        struct month_part *mp = &r->months[it->month];
        err = check_part(r->bs, mp->key, MONTH_ROWS, data, len, &mp->rows, d);
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
            !r->bs->skip_damaged && !memchr(data, '"', len) && part_name_syntax_ok(key, why)) {
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
            err = check_part(r->bs, key, bd->date, data, len, &r->all, d);
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
            if (!is_compacted(key)) {
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
    return err;
}

/* Times a read lists again after a listed part went away (a compaction retired it: its bars
 * are in the compacted part, written before). */
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
    for (int again = 0; err == ERR_NOTFOUND && missing && again < READ_RELISTS; again++) {
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
            size_t at = day_of(&now, dates[i]);
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

static int read_days(struct barstore *bs, const struct bar_index *idx, const size_t *days,
                     size_t ndays, days_fn fn, void *ctx, struct diag *d)
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
    err = days ? read_days(bs, &idx, days, idx.ndays, scan_day, &sc, d)
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
    int err = days ? read_days(bs, idx, days, idx->ndays, scan_day, &sc, d)
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
        if ((err = pieces_next(bs, more, &next, d)))
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
    struct index_pieces *more = pieces_start(bs, from, to, &pieces) ? &pieces : NULL;
    struct bar_index idx;
    int err = more ? pieces_next(bs, more, &idx, d) : barstore_index(bs, from, to, &idx, d);
    if (err) {
        if (more)
            pieces_release(more);
        return err;
    }
    size_t *days = all_days(idx.ndays);
    struct ahead *a = days ? calloc(1, sizeof *a) : NULL;
    if (!a) {
        free(days);
        bar_index_release(&idx);
        if (more)
            pieces_release(more);
        return diag_set(d, ERR_NOMEM, "out of memory");
    }
    if (idx.ndays < AHEAD_MIN_DAYS && (!more || more->next == more->groups.n)) {
        struct scan_ctx sc = {fn, ctx};
        err = read_days(bs, &idx, days, idx.ndays, scan_day, &sc, d);
        free(a);
        free(days);
        bar_index_release(&idx);
        if (more)
            pieces_release(more);
        return err;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    for (size_t i = 0; i < AHEAD_DAYS; i++) {
        barvec_init(&a->ring[i].bars);
        buf_init(&a->ring[i].raw, BARSTORE_PART_MAX);
    }
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
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
    free(days);
    bar_index_release(&idx);
    if (more)
        pieces_release(more);
    return err;
}

/* ---- writing ---- */

/* ROW_REVISE: a new version of a stored bar, written as a revision part. */
enum row_state { ROW_NEW, ROW_SAME, ROW_CONFLICT, ROW_REVISE };

static int fresh_state(unsigned char st)
{
    return st == ROW_NEW || st == ROW_REVISE;
}

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
        day_prefix(date, prefix);
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
        day_prefix(date, prefix);
        if (ndays > LIST_PER_DAY_MAX) {
            prefix[10] = '\0'; /* "bars/YYYY/": a year at a time */
            if (i && memcmp(prefix, "bars/", 5) == 0) {
                char prev[32];
                day_prefix(bars[perm[i - 1]].date, prev);
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
        day_prefix(bars[perm[i]].date, prefix);
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
        err = index_from_keys(idx, bars[perm[0]].date, bars[perm[n - 1]].date, d);
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

static size_t day_of(const struct bar_index *idx, int32_t date)
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
        size_t di = day_of(&now, date), bi = day_of(before, date);
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
    err = read_days(bs, &idx, touched, nt, classify_day, &c, d);
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
        size_t dix = day_of(&idx, date);
        for (size_t k = 0; revised && dix != SIZE_MAX && k < idx.days[dix].nparts; k++) {
            unsigned r = key_rev(idx.keys.v[idx.days[dix].first + k]);
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

/* ---- splits ---- */

struct split_origin {
    struct split s;
    size_t part;
};

static int split_origin_cmp(const void *pa, const void *pb)
{
    const struct split_origin *a = pa, *b = pb;
    int c = split_cmp(&a->s, &b->s);
    return c ? c : (a->part > b->part) - (a->part < b->part);
}

/* Read the split parts, each checked against its name; facts in read order, with the index of
 * their part in keys.  The parts are fetched together (objstore_get_many). */
struct split_read {
    struct barstore *bs;
    const struct strvec *keys;
    struct splitvec *out;
    size_t **part_of, cap;
    int failed; /* the error is the callback's, not a GET's */
};

static int split_part(void *ctx, size_t i, char *data, size_t len, struct diag *d)
{
    struct split_read *sr = ctx;
    struct barstore *bs = sr->bs;
    const struct strvec *keys = sr->keys;
    struct splitvec *out = sr->out;
    char why[160];
    size_t before = out->n;
    int err;
    if (!barstore_part_name_ok(keys->v[i], data, len, why)) {
        diag_set(d, ERR_DAMAGED, "store '%s': split part %s is damaged: %s", bs->os->location,
                 keys->v[i], why);
        err = damaged(bs, keys->v[i], ERR_DAMAGED, d);
    } else if ((err = splitcsv_parse(keys->v[i], data, len, out, d)) != ERR_OK &&
               err != ERR_NOMEM) {
        out->n = before;
        err = damaged(bs, keys->v[i], err, d);
    } else if (!err && out->n > sr->cap) {
        sr->cap = out->n * 2;
        size_t *v = realloc(*sr->part_of, sr->cap * sizeof *v);
        if (v)
            *sr->part_of = v;
        else
            err = diag_set(d, ERR_NOMEM, "out of memory");
    }
    for (size_t k = before; !err && k < out->n; k++)
        (*sr->part_of)[k] = i;
    sr->failed = err != ERR_OK;
    return err;
}

static int read_split_parts(struct barstore *bs, struct strvec *keys, struct splitvec *out,
                            size_t **part_of, struct diag *d)
{
    int err = objstore_list(bs->os, SPLITS_PREFIX, keys, d);
    struct split_read sr = {bs, keys, out, part_of, 0, 0};
    if (!err)
        err = objstore_get_many(bs->os, (const char *const *)keys->v, keys->n, SPLITS_MAX,
                                split_part, &sr, d);
    if (err && !sr.failed)
        diag_prefix_once(d, err, "store '%s'", bs->os->location);
    return err;
}

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
        objstore_prefetch_along(bs->os, keys, at, BARSTORE_PART_MAX, more->along, more->nalong);
        free(keys);
    } else {
        objstore_batch(bs->os, more->along, more->nalong, NULL);
    }
    strvec_release(&split_keys);
    bar_index_release(&idx);
    for (size_t k = 0; k < nscans; k++)
        bar_index_release(&scan[k]);
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

int barstore_read_splits(struct barstore *bs, struct splitvec *out, struct diag *d)
{
    if (bs->splits_kept) {
        for (size_t i = 0; i < bs->splits.n; i++)
            if (splitvec_push(out, &bs->splits.v[i]) != ERR_OK)
                return diag_set(d, ERR_NOMEM, "out of memory");
        return ERR_OK;
    }
    struct strvec keys = STRVEC_INIT;
    size_t *part_of = NULL;
    size_t base = out->n;
    int err = read_split_parts(bs, &keys, out, &part_of, d);
    struct split_origin *o = NULL;
    size_t n = out->n - base;
    if (!err && n) {
        o = malloc(n * sizeof *o);
        if (!o)
            err = diag_set(d, ERR_NOMEM, "out of memory");
    }
    if (!err && n) {
        for (size_t i = 0; i < n; i++)
            o[i] = (struct split_origin){out->v[base + i], part_of[base + i]};
        qsort(o, n, sizeof *o, split_origin_cmp);
        size_t w = base;
        for (size_t i = 0; i < n; i++) {
            if (w > base && split_cmp(&out->v[w - 1], &o[i].s) == 0) {
                const struct split *a = &out->v[w - 1], *b = &o[i].s;
                if (a->new_rate != b->new_rate || a->old_rate != b->old_rate) {
                    /* Two writers racing: the part first in name order wins, as for bars. */
                    char day[DATE_STRLEN + 1];
                    date_format(b->ex_date, day);
                    bs->disagreements++;
                    if (!bs->quiet)
                        log_warn("split parts disagree on a ratio: the part first in name order "
                                 "wins",
                                 LF_STR("store", bs->os->location), LF_STR("symbol", b->symbol),
                                 LF_STR("ex_date", day), LF_STR("not_used", keys.v[o[i].part]));
                    if (bs->on_disagree) {
                        struct barstore_disagreement x = {.symbol = b->symbol,
                                                          .date = b->ex_date,
                                                          .field = "ratio",
                                                          .winner_key = "",
                                                          .loser_key = keys.v[o[i].part]};
                        for (size_t k = i; k-- > 0;)
                            if (split_cmp(&o[k].s, b) == 0)
                                x.winner_key = keys.v[o[k].part];
                        bs->on_disagree(bs->disagree_ctx, &x);
                    }
                }
                continue;
            }
            out->v[w++] = o[i].s;
        }
        out->n = w;
        err = split_check_log(out->v + base, out->n - base, d);
        if (err)
            diag_prefix_once(d, err, "store '%s'", bs->os->location);
    }
    if (!err && bs->keep_splits) {
        bs->splits.n = 0;
        for (size_t i = base; i < out->n && !err; i++)
            if ((err = splitvec_push(&bs->splits, &out->v[i])) != ERR_OK)
                diag_set(d, err, "out of memory");
        bs->splits_kept = !err;
    }
    free(o);
    free(part_of);
    strvec_release(&keys);
    return err;
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
        if (!split_factor_ok(&s[i]) || !bar_symbol_valid(s[i].symbol, strlen(s[i].symbol))) {
            err = diag_set(d, ERR_INVALID,
                           "refusing an invalid split for '%s' (a factor must be within 1/%g and "
                           "%g)",
                           s[i].symbol, SPLIT_FACTOR_MAX, SPLIT_FACTOR_MAX);
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
        /* The log as it would be: every symbol's factors must still multiply within bounds. */
        struct splitvec all;
        splitvec_init(&all);
        for (size_t i = 0; i < have.n && !err; i++)
            err = splitvec_push(&all, &have.v[i]);
        for (size_t i = 0; i < add.n && !err; i++)
            err = splitvec_push(&all, &add.v[i]);
        if (err) {
            diag_set(d, err, "out of memory");
        } else {
            qsort(all.v, all.n, sizeof *all.v, split_cmp);
            err = split_check_log(all.v, all.n, d);
            if (err)
                diag_prefix(d, err, "refusing the split facts (nothing written)");
        }
        splitvec_release(&all);
    }
    if (!err && add.n) {
        bs->splits_kept = 0; /* the log changes: read it again next time */
        objstore_sweep(bs->os, SPLITS_PREFIX);
        struct buf csv = BUF_INIT(SPLITS_MAX);
        err = splitcsv_write(&csv, add.v, add.n);
        if (!err) {
            char name[32], key[OBJ_KEY_MAX];
            barstore_part_name(csv.data, csv.len, name);
            snprintf(key, sizeof key, SPLITS_PREFIX "%s", name);
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

/* ---- verify ---- */

struct verify_ctx {
    const struct barstore_verify_opts *o;
    struct barstore_verify_stats *st;
};

static void verify_damaged(void *ctx, const char *key, const char *why)
{
    struct verify_ctx *v = ctx;
    v->st->damaged++;
    if (v->o->on_damaged)
        v->o->on_damaged(v->o->ctx, key, why);
}

static void verify_disagree(void *ctx, const struct barstore_disagreement *x)
{
    struct verify_ctx *v = ctx;
    if (x->final_revised)
        v->st->final_revised++;
    else
        v->st->disagreements++;
    if (v->o->on_disagree)
        v->o->on_disagree(v->o->ctx, x);
}

static int verify_day(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    (void)date;
    (void)bars;
    struct barstore_verify_stats *st = ctx;
    st->days++;
    st->bars += n;
    return ERR_OK;
}

int barstore_verify(struct barstore *bs, const struct barstore_verify_opts *o,
                    struct barstore_verify_stats *st, struct diag *d)
{
    memset(st, 0, sizeof *st);
    struct verify_ctx v = {o, st};
    /* Read everything as a reader that skips damaged parts, with the hooks counting. */
    int keep_skip = bs->skip_damaged, keep_quiet = bs->quiet;
    barstore_disagree_fn keep_fn = bs->on_disagree;
    void *keep_ctx = bs->disagree_ctx;
    struct strvec keep_damaged = bs->damaged; /* verify reports every damaged part afresh */
    strvec_init(&bs->damaged);
    bs->skip_damaged = 1;
    bs->quiet = 1;
    bs->on_damaged = verify_damaged;
    /* The hooks point at this frame only until they are restored below, before it returns. */
    /* cppcheck-suppress autoVariables */
    bs->damaged_ctx = &v;
    bs->on_disagree = verify_disagree;
    /* cppcheck-suppress autoVariables */
    bs->disagree_ctx = &v;

    struct strvec all = STRVEC_INIT;
    int err = objstore_list(bs->os, "bars/", &all, d);
    /* Months with a compacted part and other parts (a late part, an interrupted compaction,
     * two compactions at once): they read right, a compaction merges them. */
    char month[MONTH_PREFIX_LEN + 1] = "";
    size_t in_month = 0;
    int compacted_month = 0;
    for (size_t i = 0; !err && i <= all.n; i++) {
        int32_t date;
        int c = i < all.n && is_compacted(all.v[i]);
        int part = i < all.n && (c || parse_part_key(all.v[i], &date));
        if (i < all.n && !part) {
            st->other++;
            continue;
        }
        if (i == all.n || strncmp(all.v[i], month, MONTH_PREFIX_LEN) != 0) {
            st->months_mixed += compacted_month && in_month > 1;
            if (i == all.n)
                break;
            memcpy(month, all.v[i], MONTH_PREFIX_LEN);
            in_month = 0;
            compacted_month = 0;
        }
        in_month++;
        compacted_month |= c;
        st->parts++;
        st->compacted += c;
    }
    strvec_release(&all);
    struct bar_index idx = {0};
    if (!err)
        err = barstore_index(bs, INT32_MIN, INT32_MAX, &idx, d);
    if (!err)
        err = barstore_scan_index(bs, &idx, verify_day, st, d);
    if (idx.days || idx.keys.v)
        bar_index_release(&idx);

    if (!err) {
        struct strvec keys = STRVEC_INIT;
        struct splitvec sv;
        splitvec_init(&sv);
        size_t *part_of = NULL;
        err = read_split_parts(bs, &keys, &sv, &part_of, d);
        st->split_parts = keys.n;
        st->splits = sv.n;
        free(part_of);
        splitvec_release(&sv);
        strvec_release(&keys);
        if (!err) {
            /* The log as readers merge it: ratio disagreements and factor bounds. */
            splitvec_init(&sv);
            err = barstore_read_splits(bs, &sv, d);
            if (err == ERR_INVALID) {
                verify_damaged(&v, SPLITS_PREFIX, d->text);
                err = ERR_OK;
            }
            splitvec_release(&sv);
        }
    }

    strvec_release(&bs->damaged);
    bs->damaged = keep_damaged;
    bs->skip_damaged = keep_skip;
    bs->quiet = keep_quiet;
    bs->on_damaged = NULL;
    bs->damaged_ctx = NULL;
    bs->on_disagree = keep_fn;
    bs->disagree_ctx = keep_ctx;
    return err;
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
