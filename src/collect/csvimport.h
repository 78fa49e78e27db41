/* csvimport.h - load bars from CSV files into the bar store (`screener import`).
 *
 * Each file needs a header naming at least symbol,date,open,high,low,close,volume (any order;
 * vwap and trades optional; other columns ignored).  Bad rows (malformed, invalid, dated after
 * today in New York or on a weekend since 1952, or one symbol and date given twice with
 * different values: each of them)
 * are reported with file:line and skipped, or fail the file in strict mode.  Bars already stored
 * with the same values are skipped silently; with different values they are conflicts, reported and
 * not written.
 */
#ifndef COLLECT_CSVIMPORT_H
#define COLLECT_CSVIMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "store/barstore.h"

/* A file is read in blocks of CSVIMPORT_BLOCK bytes (a block grows to hold a longer line, up
 * to CSVIMPORT_LINE_MAX), and its bars are stored in groups of dates of at most
 * CSVIMPORT_BATCH_ROWS rows, a regular file being read again for each group: memory does not
 * grow with the file.  A pipe, which cannot be read again, is held as bars whole, up to
 * CSVIMPORT_FILE_MAX bytes. */
#define CSVIMPORT_BLOCK      ((size_t)4 << 20)
#define CSVIMPORT_LINE_MAX   ((size_t)64 << 20)
#define CSVIMPORT_BATCH_ROWS ((size_t)1 << 20)
#define CSVIMPORT_FILE_MAX   ((size_t)4 << 30)

/* How far the reading of a file is (csvimport_opts.on_progress). */
struct csvimport_progress {
    const char *path;
    uint64_t bytes; /* read in this pass */
    uint64_t size;  /* the file's size; 0 when not known (a pipe) */
    size_t rows;    /* data rows read in the first pass so far */
    /* 0 in the first pass.  Then the group of dates being read again (1-based) of the
     * groups, each read once to be stored, and with --strict once before to be checked
     * (checking 1). */
    size_t group, groups;
    int checking;
};

struct csvimport_opts {
    int strict;        /* a bad row fails the whole file, nothing of it is written */
    size_t max_report; /* bad rows and conflicts logged one by one (the rest counted) */
    /* Told about every rejected row, none left out: a bad row (symbol and date "" when they
     * could not be read) or a bar that conflicts with the stored one.  reason has no file or
     * line prefix. */
    void (*on_reject)(void *ctx, const char *path, size_t line, const char *symbol,
                      const char *date, const char *reason);
    void *ctx;
    size_t batch_rows; /* 0: CSVIMPORT_BATCH_ROWS (tests set fewer) */
    /* Told at the start of each pass over the file and after each block read (NULL: not);
     * the callee decides how often it shows it. */
    void (*on_progress)(void *ctx, const struct csvimport_progress *p);
    void *progress_ctx;
};

struct csvimport_stats {
    size_t files;
    size_t rows;     /* data rows read */
    size_t imported; /* new bars stored (and used: a bar beaten by a racing writer is a conflict) */
    size_t present;  /* already stored, same values */
    size_t bad;      /* malformed or invalid rows skipped */
    size_t conflicts;     /* differing from what is stored: not written */
    size_t disputed;      /* stored and used, but a writer at the same time stored other values */
    size_t days;          /* trading days the files have bars for */
    size_t files_failed;  /* files that failed whole: unreadable, no usable header, or strict */
    size_t days_stored;   /* days new bars were stored on */
    int32_t first_stored; /* the first of them (when days_stored) */
};

/* Import one bar CSV file; stats accumulate over calls.  Returns ERR_OK when everything was
 * imported or already present; ERR_CONFLICT when some bars conflicted (the rest is written).
 * When the file itself fails (it cannot be read, its header lacks a column, or a bad row in
 * strict mode: ERR_INVALID / ERR_PARSE), nothing of it is written, files_failed counts it and
 * the error is returned: the store is fine and the next file can be imported.  So is a file
 * of more than a group of rows that changes between its readings (ERR_IO), but the groups
 * stored before stay.  Any other error (the store could not be read or written, out of
 * memory) leaves files_failed as it was. */
int csvimport_file(struct barstore *bs, const char *path, const struct csvimport_opts *opts,
                   struct csvimport_stats *stats, struct diag *d);

/* csvimport_file reading an open descriptor (standard input), which is left open; name is for
 * messages.  A regular file is read from where it stands, again from there for each pass; any
 * other is read once, as a pipe. */
int csvimport_fd(struct barstore *bs, int fd, const char *name, const struct csvimport_opts *opts,
                 struct csvimport_stats *stats, struct diag *d);

/* Import a split CSV (symbol,ex_date,new_rate,old_rate); *added counts new facts, and when
 * there are any, *first (may be NULL) is the earliest ex_date of the file's facts: the screens
 * of that date on may have changed (INT32_MAX when nothing was added).  The _fd form reads an
 * open descriptor to its end (left open); name is for messages. */
int csvimport_splits(struct barstore *bs, const char *path, size_t *added, int32_t *first,
                     struct diag *d);
int csvimport_splits_fd(struct barstore *bs, int fd, const char *name, size_t *added,
                        int32_t *first, struct diag *d);

#endif
