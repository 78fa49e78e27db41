/* barstore.h - bars as append-only facts on an object store.
 *
 * Layout (docs/definitions.md#layout):
 *   bars/YYYY/YYYY-MM-DD/part-<hash>.csv   one or more immutable parts per trading day, each
 *                                          sorted by symbol, named by a hash of the content
 *   splits/part-<hash>.csv                 the split-factor log, also append-only
 *
 * Writing never edits a part: bars not yet stored go into a new part, created only if absent,
 * so writing the same bars twice is a no-op and two writers never overwrite each other.  A
 * symbol-day stored with different values is a conflict: refused (or skipped and reported),
 * never silently resolved.  Reading merges a day's parts, validates every row and reports the
 * part, line and field of anything wrong.
 *
 * Integrity: a part is named by the first 8 bytes of the SHA-256 of its content (16 hex
 * digits), and every read checks the name against the content.  A part that does not match
 * (truncated, edited) or whose rows are invalid is *damaged*: the read fails naming it
 * (ERR_DAMAGED, or the row's own error), or, when the barstore skips damaged parts, leaves it
 * out with a logged warning and remembers its key.
 *
 * Revisions: a day may also hold revision parts, bars/YYYY/YYYY-MM-DD/rev-NNNNNN/part-<hash>.csv
 * (NNNNNN from 000001 up; "rev-NNNNNN-provisional" for bars fetched before their settle time,
 * "rev-NNNNNN-window-YYYY-MM-DD" for final bars fetched in the settle window that began on that
 * day; revision 0 being the plain parts).  A symbol-day takes its bar from its latest revision;
 * an earlier one is superseded, not a disagreement, except a final bar changed by a revision
 * that is provisional or not from a settle window holding its date: that revision is refused
 * (reported as a disagreement with final_revised set), the same way by every reader.  Only a
 * writer asked to (barstore_write_opts .revisions) writes a revision, and only of a provisional
 * bar or, by a final fetch, of one in the settle window.  Bars read from a provisional part have
 * .provisional set.
 *
 * Racing writers: two writers that read a day before either wrote it can both add a part with
 * different values for one symbol-day.  Such a store still reads: the part first in name order
 * (byte order of the keys, the same for every reader) wins, and the disagreement is reported
 * (logged, counted, and told to the disagreement hook).  A writer checks its days again after
 * writing: when a part written meanwhile wins over one of its bars, the write returns
 * ERR_CONFLICT naming both parts; when its own part wins, the write succeeds and counts the
 * bars as disputed.
 */
#ifndef STORE_BARSTORE_H
#define STORE_BARSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/strvec.h"
#include "codec/bar.h"
#include "codec/split.h"
#include "codec/symchange.h"
#include "store/objstore.h"

/* Largest part the reader accepts (a compacted year of 1,000 symbols is ~20 MB). */
#define BARSTORE_PART_MAX ((size_t)256 << 20)

/* Compacted parts (a month each, ~1.5 MB for 1,000 symbols) a read has fetched and not yet
 * handed on, at most: a window that slides over them as each is handed on. */
#define BARSTORE_MONTHS_IN_FLIGHT 12

struct barstore;

/* Borrow os for the life of the barstore. */
int barstore_new(struct objstore *os, struct barstore **out, struct diag *d);
void barstore_free(struct barstore *bs);

/* The object store the barstore reads (borrowed), for the logs kept beside the bars. */
struct objstore *barstore_objstore(struct barstore *bs);

/* Leave damaged parts out of reads (with a warning) instead of failing.  Off by default. */
void barstore_set_skip_damaged(struct barstore *bs, int skip);
/* Which thread of barstore_scan_ahead parses a day's only part: the reader unless the caller's
 * thread would be left waiting (BALANCE, the default), always the caller's, or always the
 * reader (for tests: whichever does it, the days, errors and messages are the same). */
enum { BARSTORE_SPLIT_BALANCE, BARSTORE_SPLIT_CALLER, BARSTORE_SPLIT_READER };
void barstore_set_ahead_split(struct barstore *bs, int split);

/* The keys of the damaged parts left out so far, each once, in the order met. */
const struct strvec *barstore_damaged(const struct barstore *bs);

/* Two parts of one day that disagree on a symbol: the winner is the part first in name order. */
struct barstore_disagreement {
    const char *symbol;
    int32_t date;
    const char *field;        /* the first differing field */
    const char *winner_key;   /* the part whose bar is used */
    const char *loser_key;    /* the part whose bar is not */
    const struct bar *winner; /* the values used */
    const struct bar *loser;
    /* 1: loser_key is a revision part that changes the final bar of winner_key (a lower
     * revision, not provisional) without having been written in a settle window that held the
     * date (a provisional revision, or one whose key names no window or a later one).  The
     * revision is not used for this symbol-day (the versions before it decide); verify
     * reports it.  0: two parts of one revision disagree. */
    int final_revised;
};
typedef void (*barstore_disagree_fn)(void *ctx, const struct barstore_disagreement *x);

/* Be told of every disagreement a read meets (NULL to stop). */
void barstore_on_disagree(struct barstore *bs, barstore_disagree_fn fn, void *ctx);

/* Disagreements met by reads so far (a symbol-day read twice counts twice), and revisions of
 * final bars refused (final_revised), counted apart. */
size_t barstore_disagreements(const struct barstore *bs);
size_t barstore_final_revised(const struct barstore *bs);

/* 1 when the last segment of key is "part-<16 hex digits>.csv" and the digits are the first 8
 * bytes of the SHA-256 of data; else 0, with why (at least 160 bytes) saying what is wrong. */
int barstore_part_name_ok(const char *key, const void *data, size_t len, char *why);

/* What a bar part's key says (docs/definitions.md#layout): its date, its revision (0 for the
 * plain parts), whether it is provisional, and for a final revision the first day of the
 * settle window it was fetched in (INT32_MAX: none named). */
struct barstore_key {
    int32_t date;
    unsigned rev;
    int provisional;
    int32_t window;
};

/* 1 when key (a store's listing: outside input) is a bar part's key, filling out; 0 when it is
 * anything else (readers ignore it). */
int barstore_key_parse(const char *key, struct barstore_key *out);

/* The name a part with this content gets ("part-<16 hex>.csv", 26 bytes with the NUL). */
void barstore_part_name(const void *data, size_t len, char out[32]);

/* Compaction (docs/definitions.md#compaction): the days of a closed month merged into one
 * part, bars/YYYY/YYYY-MM/days-<8 hex>/part-<hash>.csv, rows by date then symbol, bit d-1 of
 * the hex mask set for each day d it holds.  A reader lists a compacted part among the parts
 * of each day of its mask, before the day's own parts, as revision 0: it wins a tie with a part
 * of revision 0 (a disagreement, reported), a revision part supersedes it.  1 when key is
 * such a part, with its month's first day and its mask. */
int barstore_key_compacted(const char *key, int32_t *month, uint32_t *mask);
/* The key of a compacted part of month (its first day) with this mask and content. */
void barstore_compacted_key(int32_t month, uint32_t mask, const void *data, size_t len,
                            char key[OBJ_KEY_MAX]);
/* A part key's revision (0 for plain and compacted parts). */
unsigned barstore_key_rev(const char *key);

/* The stored days in a range and their parts. */
struct bar_day {
    int32_t date;
    size_t first, nparts; /* keys[first .. first + nparts) */
};

struct bar_index {
    struct bar_day *days; /* ascending by date */
    size_t ndays, cap;
    struct strvec keys;
};

void bar_index_release(struct bar_index *idx);

/* List the days in [from, to] (INT32_MIN / INT32_MAX for open ends). */
int barstore_index(struct barstore *bs, int32_t from, int32_t to, struct bar_index *out,
                   struct diag *d);

/* First and last stored dates and the number of days (ERR_NOTFOUND when the store has no
 * bars). */
int barstore_date_range(struct barstore *bs, int32_t *first, int32_t *last, size_t *ndays,
                        struct diag *d);

/* Read one day of idx, merged and validated, sorted by symbol, into out (replacing its
 * content).  A row that is malformed, dated otherwise than its partition or out of order,
 * and two parts that disagree on a symbol, are errors naming the part and line. */
int barstore_read_day(struct barstore *bs, const struct bar_index *idx, size_t day,
                      struct barvec *out, struct diag *d);

/* Call fn for each stored day in [from, to] in date order; a non-zero return from fn stops
 * the scan and is returned. */
typedef int (*barstore_day_fn)(void *ctx, int32_t date, const struct bar *bars, size_t n);
int barstore_scan(struct barstore *bs, int32_t from, int32_t to, barstore_day_fn fn, void *ctx,
                  struct diag *d);

/* barstore_scan over the days of an index made by barstore_index: exactly its parts. */
int barstore_scan_index(struct barstore *bs, const struct bar_index *idx, barstore_day_fn fn,
                        void *ctx, struct diag *d);

/* barstore_scan with the reading and parsing on a second thread, a few days ahead of fn
 * (at most 32 parsed days wait for it), so that fn's work and the store's overlap: the same
 * calls of fn, in the same order, with the same bars and the same result.  fn runs on the
 * caller's thread and must not use this store (or its objstore) meanwhile.  Short ranges are
 * read on the caller's thread.  On a directory, a range of more than three years is listed
 * year by year (objstore_list_groups), each year as the reader gets to it: a listing that
 * fails there stops the scan after the days before it, as a damaged part does. */
int barstore_scan_ahead(struct barstore *bs, int32_t from, int32_t to, barstore_day_fn fn,
                        void *ctx, struct diag *d);

/* For each of the n symbols (sorted ascending, unique), the date of its last bar stored on or
 * before `upto`, looking back over at most max_days stored days (the latest ones); INT32_MIN
 * when the symbol has no bar there.  A daily run finds everything in the latest day. */
int barstore_last_dates(struct barstore *bs, const char *const *symbols, size_t n, int32_t upto,
                        size_t max_days, int32_t *out, struct diag *d);

/* The first of the latest max_days stored days up to `upto` on which a bar's current version is
 * provisional; INT32_MAX when none is. */
int barstore_first_provisional(struct barstore *bs, int32_t upto, size_t max_days, int32_t *out,
                               struct diag *d);

struct barstore_write_opts {
    /* Write the bars that do not conflict and report the others through on_conflict (the
     * call still returns ERR_CONFLICT).  Without it a conflict writes nothing at all. */
    int skip_conflicts;
    /* Told about each conflicting input bar: its index in the caller's array, the value it
     * disagrees with (stored, or earlier in the same batch) and the first differing field. */
    void (*on_conflict)(void *ctx, size_t index, const struct bar *other, const char *field);
    /* Told after each day is written. */
    void (*on_progress)(void *ctx, size_t days_done, size_t days_total);
    /* Revisions (docs/INTEGRITY.md#revisions), off unless set: bars dated on or after
     * provisional_from are written as provisional (fetched before their settle time); a bar
     * that differs from a stored provisional bar, or from any stored bar dated on or after
     * revise_from (the settle window), is written as a revision instead of a conflict; a bar
     * equal to a stored provisional one and itself final is written as a final revision. */
    int revisions;
    int32_t provisional_from, revise_from;
    void *ctx;
};

struct barstore_write_stats {
    size_t rows_new;       /* written now (counted only once the part is stored) */
    size_t rows_same;      /* already stored (or repeated in the batch) with the same values */
    size_t rows_conflict;  /* refused, or written but beaten by a part written at the same time */
    size_t rows_disputed;  /* written and used, but a part written at the same time differs */
    size_t rows_revised;   /* new values of stored bars, written as a revision */
    size_t rows_finalized; /* provisional bars confirmed unchanged by a final fetch */
    int32_t first_revised; /* the first date of a revised bar (INT32_MAX: none) */
    size_t parts_written;
    size_t days_touched;  /* days the batch has bars for */
    size_t days_stored;   /* days on which new bars were stored */
    int32_t first_stored; /* the first of them (INT32_MAX: none) */
};

/* Store bars (any order, any days).  Every bar must be valid (bar_validate). */
int barstore_write(struct barstore *bs, const struct bar *bars, size_t n,
                   const struct barstore_write_opts *opts, struct barstore_write_stats *stats,
                   struct diag *d);

/* Check a whole store: every bar part and split part against its name and its rows, and
 * every day's parts against each other.  Reports each damaged part through on_damaged and
 * each disagreement through on_disagree, and goes on; returns an error only when the store
 * cannot be listed or read (I/O, permissions). */
struct barstore_verify_opts {
    void (*on_damaged)(void *ctx, const char *key, const char *why);
    barstore_disagree_fn on_disagree;
    void *ctx;
};

struct barstore_verify_stats {
    size_t days, parts, bars; /* bar parts and the bars of the intact ones */
    size_t split_parts, splits;
    size_t damaged;       /* bar and split parts */
    size_t disagreements; /* symbol-days on which parts of one revision disagree */
    size_t final_revised; /* revisions refused: they change a final bar outside its window */
    size_t other;         /* objects under bars/ that are not parts (ignored by readers) */
    size_t compacted;     /* compacted parts (counted in parts too) */
    size_t months_mixed;  /* months with a compacted part and other parts */
};

int barstore_verify(struct barstore *bs, const struct barstore_verify_opts *o,
                    struct barstore_verify_stats *st, struct diag *d);

/* The whole split log, sorted by symbol and ex_date, duplicates merged.  Split parts are
 * checked against their names like bar parts.  Two facts for one symbol and ex_date with
 * different ratios (two writers racing) resolve like bars: the part first in name order wins,
 * and the disagreement is logged and counted.  A factor outside the bounds of split.h, or a
 * symbol whose factors multiply beyond them, is ERR_INVALID naming the symbol. */
int barstore_read_splits(struct barstore *bs, struct splitvec *out, struct diag *d);
/* The parts of the stored days from..to, at most max_days of them, and with splits the split
 * log's parts, read now together and held (objstore_prefetch) for the next read of each: for a
 * writer about to write those days (barstore_write reads them first) and to read the split
 * log.  More days than max_days: none of them is read.  Best effort: a failure only leaves the
 * reads to the store. */
void barstore_prefetch(struct barstore *bs, int32_t from, int32_t to, size_t max_days, int splits);
/* barstore_prefetch of the parts of every day of idx (made by barstore_index), which is not
 * listed again. */
void barstore_prefetch_index(struct barstore *bs, const struct bar_index *idx, int splits);
/* What barstore_prefetch reads, and more in the same round: the parts of the stored days of
 * each of the scans' ranges too (at most scan_max objects a scan, else none of that scan's),
 * a part of several ranges (the write's and the scans') held for a read by each, and the n
 * objects of keys (objstore_prefetch).  For a job that, after its write, scans the newest days
 * (a screen, the exports) and reads those objects. */
#define BARSTORE_AHEAD_SCANS 2
struct barstore_ahead {
    struct {
        int32_t from, to;
    } scan[BARSTORE_AHEAD_SCANS];
    size_t nscans;
    size_t scan_max;
    const char *const *keys;
    size_t n;
};
void barstore_prefetch_more(struct barstore *bs, int32_t from, int32_t to, size_t max_days,
                            int splits, const struct barstore_ahead *more);
/* Drop what barstore_prefetch holds. */
void barstore_prefetch_drop(struct barstore *bs);

/* on: the split log will be read soon: its listing goes along with the store's next listing
 * and answers the split log's listings (objstore_list_along) until a write to the log or a
 * call with 0, which drops every listing read ahead. */
void barstore_splits_ahead(struct barstore *bs, int on);

/* The bar parts of [from, to] will be listed soon (barstore_index, barstore_scan): where that
 * listing is of all of bars/ and the store lists it in pages, each a round trip (S3), it goes
 * along with the store's next listing (objstore_list_along) as barstore_splits_ahead's does.
 * A directory, which a long scan lists year by year as it reads, is left to do so. */
void barstore_index_ahead(struct barstore *bs, int32_t from, int32_t to);

/* For a process that reads the store for one command (a screen, a chart, a report, a
 * backtest) with on set: the split log's listing goes along with the store's next listing and
 * answers every later one (barstore_splits_ahead; symlog_ahead does the same for the
 * symbol-change log), and a listing of all the bar parts answers the later listings of some
 * of them (objstore_keep_listing_when_listed): on S3 each step's listing is not a round trip
 * of its own.  The command sees the store as it first listed it, with its own writes.  0 drops
 * what is held. */
void barstore_read_once(struct barstore *bs, int on);

/* With keep set, the split log is read from the store once and kept: barstore_read_splits
 * answers from memory until this barstore writes split facts (barstore_write_splits; read
 * again then) or keep is cleared.  The same for the symbol-change log (symlog_read,
 * symlog_write).  For one job that reads the log at several steps (the
 * daily run: the collection, the screen, the exports, the backtest, the report); a
 * long-lived reader leaves it off and sees what other writers add.  Setting or clearing it
 * forgets what was kept. */
void barstore_keep_splits(struct barstore *bs, int keep);

/* While barstore_keep_splits: the symbol-change log as last read (store/symlog.c keeps and
 * reads it there, kept 1 once read, 0 again after its write); NULL when not keeping. */
struct barstore_kept_log {
    int kept;
    struct symchangevec v;
};
struct barstore_kept_log *barstore_kept_symlog(struct barstore *bs);

/* Add split facts; the same fact twice is a no-op, a different ratio for a stored
 * symbol and ex_date is ERR_CONFLICT and nothing is written; a factor out of bounds, alone or
 * multiplied with the symbol's stored ones, is ERR_INVALID and nothing is written. */
int barstore_write_splits(struct barstore *bs, const struct split *s, size_t n, size_t *added,
                          struct diag *d);

/* Closed days learned from the data (docs/INTEGRITY.md): a weekday on which no symbol of a large
 * universe has a bar.  One small object per day, calendar/closed/YYYY-MM-DD.csv, written
 * create-if-absent (so recording a day twice, or by two writers, is a no-op). */
#define BARSTORE_CLOSED_PREFIX "calendar/closed/"
int barstore_record_closed(struct barstore *bs, int32_t date, const char *reason, struct diag *d);
/* The recorded days, ascending, appended to *days (malloc'ed; the caller frees). */
int barstore_closed_days(struct barstore *bs, int32_t **days, size_t *n, struct diag *d);

#endif
