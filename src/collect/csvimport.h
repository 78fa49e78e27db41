/* csvimport.h - load bars from CSV files into the bar store (`screener import`).
 *
 * Each file needs a header naming at least symbol,date,open,high,low,close,volume (any order;
 * vwap and trades optional; other columns ignored).  Bad rows are reported with file:line and
 * skipped, or stop the import in strict mode.  Bars already stored with the same values are
 * skipped silently; with different values they are conflicts, reported and not written.
 */
#ifndef COLLECT_CSVIMPORT_H
#define COLLECT_CSVIMPORT_H

#include <stddef.h>

#include "store/barstore.h"

#define CSVIMPORT_FILE_MAX ((size_t)4 << 30)

struct csvimport_opts {
    int strict;        /* a bad row fails the whole file, nothing of it is written */
    size_t max_report; /* bad rows and conflicts reported one by one (the rest counted) */
};

struct csvimport_stats {
    size_t files;
    size_t rows;      /* data rows read */
    size_t imported;  /* new bars written */
    size_t present;   /* already stored, same values */
    size_t bad;       /* malformed or invalid rows skipped */
    size_t conflicts; /* differing from what is stored: not written */
    size_t days;      /* trading days touched */
};

/* Import one bar CSV file; stats accumulate over calls.  Returns ERR_OK when everything was
 * imported or already present; ERR_CONFLICT when some bars conflicted (the rest is written);
 * ERR_INVALID / ERR_PARSE in strict mode on the first bad row; other errors for I/O. */
int csvimport_file(struct barstore *bs, const char *path, const struct csvimport_opts *opts,
                   struct csvimport_stats *stats, struct diag *d);

/* Import a split CSV (symbol,ex_date,new_rate,old_rate); *added counts new facts. */
int csvimport_splits(struct barstore *bs, const char *path, size_t *added, struct diag *d);

#endif
