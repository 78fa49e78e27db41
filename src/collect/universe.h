/* universe.h - the collector's universe: which Alpaca symbols to collect bars for.
 *
 * Two inputs are understood, told apart by their content:
 *
 *  - A plain list, one symbol per line.  '#' starts a comment (a whole line or the end of
 *    one), blank lines are ignored, surrounding blanks and the CR of a CRLF are dropped, a
 *    UTF-8 byte order mark is skipped.  Lowercase letters are upper-cased ("brk.b" is BRK.B):
 *    Alpaca symbols are upper-case and a hand-written list has no other sensible reading.  A
 *    line that is then still not a ticker (bar_symbol_valid, codec/bar.h) is skipped and
 *    reported.  This is the form universe_format_list() writes and `screener universe fetch`
 *    stores.
 *
 *  - An iShares holdings CSV (IWB, Russell 1000 ETF; docs/alpaca.md#the-universe-file), told by a
 *    line starting with `Ticker,` after an optional BOM and a preamble of any length.  Columns
 *    are found by header name: Ticker and Asset Class are required; Name, Sector, Exchange and
 *    Weight (%) are used when present.  The table ends at the first blank line (spaces, tabs,
 *    no-break spaces) or at a line starting with "The content (the disclaimer).  Only rows of
 *    Asset Class "Equity" are kept; rows with ticker "-" or an Exchange starting with
 *    "NO MARKET" (delisted stubs) are dropped.  iShares writes share classes without their
 *    separator (BRKB for Alpaca's BRK.B, BFB for BF.B), while FWONA, LBRDA or ZG are real
 *    tickers; see universe_opts.known for how they are told apart.
 *
 * Either way the result is sorted and unique: a symbol listed twice is kept once (its first
 * line) and the repeats are reported.  The parser is pure (no I/O, no logging): what the
 * caller should tell the user comes back as problems with line numbers, and as counts.
 */
#ifndef COLLECT_UNIVERSE_H
#define COLLECT_UNIVERSE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "codec/bar.h"

#define UNIVERSE_INPUT_MAX    ((size_t)16 << 20) /* default cap on the input, bytes */
#define UNIVERSE_SYMBOLS_MAX  50000              /* default cap on the symbols read */
#define UNIVERSE_PROBLEMS_MAX 100                /* default number of problems kept one by one */
#define UNIVERSE_COLUMNS_MAX  64                 /* columns of a holdings table */
#define UNIVERSE_NONE         INT64_MIN          /* a missing weight */

#define UNIVERSE_PROBLEM_TEXT 192
#define UNIVERSE_SOURCE_MAX   128
#define UNIVERSE_AS_OF_MAX    48

struct universe_opts {
    /* Optional resolver, e.g. backed by Alpaca's asset list: returns 1 when symbol (upper-case,
     * NUL-terminated) is a symbol Alpaca knows, else 0.  With it, an iShares ticker that is not
     * known as it is but is known with a dot before its last letter takes the dotted form
     * (ABCB -> ABC.B); one known in neither form is kept as written, marked unresolved and
     * reported; a plain-list symbol it does not know is kept, marked and reported too.
     * Without it, only a built-in table of well-known share classes is mapped (BRKB, BFA,
     * BFB, LENB, HEIA, UHALB, ...) and nothing is reported unresolved.  With it, the table
     * still wins unless the resolver knows the ticker as written but not the table's symbol. */
    int (*known)(void *ctx, const char *symbol);
    void *known_ctx;
    size_t max_bytes;    /* a longer input is ERR_TOOBIG; 0 means UNIVERSE_INPUT_MAX */
    size_t max_symbols;  /* symbols read, repeats included; 0 means UNIVERSE_SYMBOLS_MAX */
    size_t max_problems; /* kept one by one, the rest counted; 0 means UNIVERSE_PROBLEMS_MAX */
};

enum universe_format {
    UNIVERSE_LIST,    /* a plain list */
    UNIVERSE_ISHARES, /* an iShares holdings CSV */
};

enum universe_problem_kind {
    UNIVERSE_INVALID,    /* not a ticker: skipped */
    UNIVERSE_DUPLICATE,  /* listed before: skipped */
    UNIVERSE_UNRESOLVED, /* unknown to the resolver: kept as written */
};

/* One problem, for the caller to print as "<source>:<line>: <text>". */
struct universe_problem {
    enum universe_problem_kind kind;
    size_t line; /* 1-based line of the input */
    /* What and why, input quoted with control characters escaped:
     * "'BRK B' is not a ticker (expected 1-15 characters A-Z 0-9 . - /, ...)" */
    char text[UNIVERSE_PROBLEM_TEXT];
};

struct universe_entry {
    char symbol[BAR_SYMBOL_MAX + 1]; /* Alpaca's form; bar_symbol_valid */
    char ticker[BAR_SYMBOL_MAX + 1]; /* as the input wrote it, upper-cased ("BRKB") */
    size_t line;                     /* where it was listed (the first time) */
    int unresolved;                  /* 1 when the resolver knew it in no form */
    /* iShares metadata; NULL / UNIVERSE_NONE for plain lists or when the column is absent,
     * empty or "-".  Strings are as in the file, unescaped, blanks trimmed. */
    char *name;     /* "APPLE INC" */
    char *sector;   /* GICS sector, "Information Technology" */
    int64_t weight; /* weight in the fund in millionths of a percent (7.00% is 7000000) */
};

struct universe {
    struct universe_entry *v; /* sorted by symbol (strcmp order), no two alike */
    size_t n;                 /* at least 1 after a successful parse */
    enum universe_format format;
    char source[UNIVERSE_SOURCE_MAX]; /* the source name, control characters escaped */
    char as_of[UNIVERSE_AS_OF_MAX];   /* iShares "Fund Holdings as of" ("Jul 17, 2026"), or "" */

    /* Problems in line order: the max_problems with the lowest line numbers. */
    struct universe_problem *problems;
    size_t nproblems;
    size_t problems_dropped;                /* found beyond the cap, only counted */
    size_t invalid, duplicates, unresolved; /* all problems by kind, kept or dropped */

    /* iShares counts. */
    size_t rows;       /* rows of the holdings table */
    size_t not_equity; /* dropped: Asset Class other than Equity (cash, futures, ...) */
    size_t unlisted;   /* dropped: ticker "-" or Exchange "NO MARKET ..." */
    size_t mapped;     /* kept under another symbol than written (BRKB as BRK.B) */
};

/* Parse a universe from data[0..len) (borrowed, need not be NUL-terminated), telling the
 * format by content.  source_name names the input in messages ("universe.txt"; NULL means
 * "input"); opts may be NULL for the defaults.  out is overwritten, not released first.
 *
 * Returns ERR_OK with at least one symbol, or, with out left empty and d saying why:
 *   ERR_TOOBIG  the input is over max_bytes, or has more than max_symbols symbols;
 *   ERR_PARSE   a NUL byte (the line is named: UTF-16 is the usual cause); an iShares file
 *               (its preamble names "Fund Holdings as of") without a `Ticker,` header line;
 *               a holdings header without a Ticker or Asset Class column, or naming one twice;
 *               a holdings header or row that is not CSV (a broken quote, more than
 *               UNIVERSE_COLUMNS_MAX fields), or a row with another number of fields than the
 *               header (a cut or changed file); no symbols at all;
 *   ERR_NOMEM.
 * Skipped and doubtful lines are not errors: they are out->problems. */
int universe_parse(const char *data, size_t len, const char *source_name,
                   const struct universe_opts *opts, struct universe *out, struct diag *d);

/* Free what u holds and leave it empty; harmless on an empty or already released universe. */
void universe_release(struct universe *u);

/* Append the plain-list form to out: a '#' comment line naming the source (and the holdings
 * date) and the count, then one symbol per line.  Parsing it back gives the same symbols
 * with no problems.  ERR_TOOBIG past out's cap, ERR_NOMEM. */
int universe_format_list(const struct universe *u, struct buf *out);

/* The entry for symbol (exact, upper-case), or NULL. */
const struct universe_entry *universe_find(const struct universe *u, const char *symbol);

/* "invalid", "duplicate" or "unresolved". */
const char *universe_problem_kind_name(enum universe_problem_kind kind);

#endif
