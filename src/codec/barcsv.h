/* barcsv.h - bars as CSV: reading any file whose header names the bar columns, and writing the
 * store's canonical form.
 *
 * Reading: the header must name at least symbol,date,open,high,low,close,volume (any order,
 * any case); vwap and trades are optional; other columns are ignored.  Each row is parsed and
 * validated; a bad row is reported with file, line and field, and reading can go on.  A row is
 * one line: no bar field holds a line break, so a quoted field must close on its line, and a
 * broken row costs that line only (csv_reader_one_line).
 *
 * Writing: the canonical header "symbol,date,open,high,low,close,volume,vwap,trades" and rows
 * with prices in their shortest exact form, so equal bars always give equal bytes.
 */
#ifndef CODEC_BARCSV_H
#define CODEC_BARCSV_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/date.h"
#include "codec/bar.h"
#include "codec/csv.h"

#define BARCSV_HEADER     "symbol,date,open,high,low,close,volume,vwap,trades\n"
#define BARCSV_MAX_FIELDS 64
#define BARCSV_NO_DATE    INT32_MIN /* out->date of a bad row whose date was not read */

enum barcsv_col {
    BARCSV_SYMBOL,
    BARCSV_DATE,
    BARCSV_OPEN,
    BARCSV_HIGH,
    BARCSV_LOW,
    BARCSV_CLOSE,
    BARCSV_VOLUME,
    BARCSV_VWAP,
    BARCSV_TRADES,
    BARCSV_NCOLS
};

struct barcsv_reader {
    struct csv_reader csv;
    const char *name; /* for messages: a file name or store key */
    int col[BARCSV_NCOLS];
    size_t ncols;  /* fields in the header: every row must have as many */
    int canonical; /* header is exactly the canonical one */
    /* The last date text seen in a canonical row and its value: a part holds one day. */
    char last_date_text[DATE_STRLEN];
    int32_t last_date;
    int have_last_date;
};

/* Read the header of data[0..len) (writable, kept alive by the caller).  ERR_PARSE when it is
 * missing or lacks a required column; d says which. */
int barcsv_reader_init(struct barcsv_reader *r, const char *name, char *data, size_t len,
                       struct diag *d);

/* Go on with the rows in data[0..len), the continuation of the data read so far (the header
 * kept), which began at line number `line`.  For a file read in blocks, each ending at a line
 * break. */
void barcsv_reader_refill(struct barcsv_reader *r, char *data, size_t len, size_t line);

/* Next bar: ERR_OK, ERR_EOF, or an error for a bad row (d: "name:line: field 'x': ...");
 * after a bad row the next call reads the following row.  At the end out is untouched; on a
 * bad row out->symbol and out->date hold the row's symbol and date when they were read before
 * the fault (a row whose prices are refused), else "" and BARCSV_NO_DATE. */
int barcsv_next(struct barcsv_reader *r, struct bar *out, struct diag *d);

/* Line number of the row last returned. */
size_t barcsv_line(const struct barcsv_reader *r);

int barcsv_write_header(struct buf *out);
int barcsv_write_row(struct buf *out, const struct bar *b);

#endif
