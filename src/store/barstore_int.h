/* barstore_int.h - what the files of the bar store share (barstore.h is the interface): the
 * store's state, the layout's names, and the few functions one file defines for another.
 *
 *   barstore.c          the store itself, part names and keys, the day index, closed days
 *   barstore_read.c     reading days (parts checked and merged), scans, reading ahead
 *   barstore_write.c    writing bars: new parts, revisions, the check for racing writers
 *   barstore_splits.c   the split log
 *   barstore_verify.c   barstore_verify
 *
 * For those files only. */
#ifndef STORE_BARSTORE_INT_H
#define STORE_BARSTORE_INT_H

#include "store/barstore.h"

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
#define HASH_ASIDE_MIN   ((size_t)16 << 10)
#define MONTH_KEY_LEN    32 /* "bars/YYYY/YYYY-MM/days-XXXXXXXX/" */
#define MONTH_PREFIX_LEN 17 /* "bars/YYYY/YYYY-MM" */

/* The helper thread that hashes large parts (barstore.c). */
struct hasher;

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

/* Told about each day of bs_read_days: k is its place in the list of days asked for.  The
 * day's bars are fn's to read, or to take by swapping the vector's content for another's. */
typedef int (*days_fn)(void *ctx, size_t k, int32_t date, struct barvec *day);

/* ---- barstore.c ---- */

/* Start hashing data aside (started on first use into *hp); 0 when it cannot (then hash
 * inline). */
int bs_hasher_post(struct hasher **hp, const void *data, size_t len);
/* Wait for the hash posted last: its part name into name. */
void bs_hasher_wait(struct hasher *h, char name[32]);
/* 1 when the last segment of key is "part-<16 lower-case hex>.csv" (else why says what). */
int bs_part_name_syntax_ok(const char *key, char *why);
/* Compare the hash of the content (want: its part name) with the key's name. */
int bs_part_hash_ok(const char *key, const char want[32], size_t len, char *why);
/* A part that cannot be used.  Fails the read with err (d already says why), or, when
 * skipping, records the part, warns, and lets the read go on without it. */
int bs_damaged(struct barstore *bs, const char *key, int err, struct diag *d);
/* "bars/YYYY/YYYY-MM-DD/": a day's prefix. */
void bs_day_prefix(int32_t date, char out[32]);
/* What a part's key tells: its day (0 when key is not a day's part), its revision, whether it
 * is provisional, and the first day of the settle window it was written in (INT32_MAX: none). */
int bs_parse_part_key(const char *key, int32_t *date);
unsigned bs_key_rev(const char *key);
int bs_key_provisional(const char *key);
int32_t bs_key_window(const char *key);
/* 1 when key is a compacted month's part. */
int bs_is_compacted(const char *key);
/* Build the day index from keys already listed (idx->keys).  A compacted part counts for
 * every day of its mask, listed before the day's own parts. */
int bs_index_from_keys(struct bar_index *idx, int32_t from, int32_t to, struct diag *d);
/* The listing a piece at a time: 1 when the range is listed in pieces (p then set up,
 * bs_pieces_release frees it); bs_pieces_next gives the next pieces' days. */
int bs_pieces_start(struct barstore *bs, int32_t from, int32_t to, struct index_pieces *p);
int bs_pieces_next(struct barstore *bs, struct index_pieces *p, struct bar_index *out,
                   struct diag *d);
void bs_pieces_release(struct index_pieces *p);
/* The place of date among idx's days (SIZE_MAX: not there). */
size_t bs_day_of(const struct bar_index *idx, int32_t date);

/* ---- barstore_read.c ---- */

/* Check one part read into data (its name, date and order; date MONTH_ROWS for a compacted
 * part) and append its rows to out.  A damaged part appends nothing (see bs_damaged()). */
int bs_check_part(struct barstore *bs, const char *key, int32_t date, char *data, size_t len,
                  struct barvec *out, struct diag *d);
/* Read the days of idx at the places days[0..ndays) (ascending), each merged from its parts,
 * telling fn of each in order. */
int bs_read_days(struct barstore *bs, const struct bar_index *idx, const size_t *days, size_t ndays,
                 days_fn fn, void *ctx, struct diag *d);

/* ---- barstore_splits.c ---- */

/* Every fact of the split log into out, and for each the place of its part among keys (the
 * log's listing) into *part_of. */
int bs_read_split_parts(struct barstore *bs, struct strvec *keys, struct splitvec *out,
                        size_t **part_of, struct diag *d);

#endif
