/* Unit tests: the universe parser (plain lists and iShares holdings files). */
#include "testutil.h"

#include "base/buf.h"
#include "collect/universe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *text, const struct universe_opts *opts, struct universe *u,
                 struct diag *d)
{
    return universe_parse(text, strlen(text), "in.txt", opts, u, d);
}

/* The symbols joined by spaces, into a static buffer. */
static const char *symbols(const struct universe *u)
{
    static char out[1024];
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < u->n; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%s", i ? " " : "", u->v[i].symbol);
    return out;
}

/* A resolver over a NULL-terminated list of symbols. */
static int known_in(void *ctx, const char *symbol)
{
    for (const char *const *s = ctx; *s; s++)
        if (strcmp(*s, symbol) == 0)
            return 1;
    return 0;
}

static void test_list(void **state)
{
    (void)state;
    const char *text = "# my universe\r\n"
                       "AAPL\r\n"
                       "  msft  # Microsoft\r\n"
                       "\r\n"
                       "brk.b\n"
                       "BRK B\n"
                       "\t\n"
                       "AAPL\n"
                       "TOOLONGSYMBOL1234\n"
                       "#only a comment\n"
                       ".X\n"
                       "GOOG";
    struct universe u;
    struct diag d;
    assert_int_equal(parse(text, NULL, &u, &d), ERR_OK);
    assert_int_equal(u.format, UNIVERSE_LIST);
    assert_string_equal(symbols(&u), "AAPL BRK.B GOOG MSFT");
    assert_int_equal(u.v[0].line, 2);
    assert_int_equal(u.v[3].line, 3);
    assert_string_equal(u.v[3].ticker, "MSFT");
    assert_null(u.v[0].name);
    assert_null(u.v[0].sector);
    assert_true(u.v[0].weight == UNIVERSE_NONE);
    assert_int_equal(u.v[0].unresolved, 0);

    assert_int_equal(u.invalid, 3);
    assert_int_equal(u.duplicates, 1);
    assert_int_equal(u.unresolved, 0);
    assert_int_equal(u.nproblems, 4);
    assert_int_equal(u.problems_dropped, 0);
    assert_int_equal(u.problems[0].line, 6);
    assert_int_equal(u.problems[0].kind, UNIVERSE_INVALID);
    assert_string_equal(u.problems[0].text, "'BRK B' is not a ticker (expected 1-15 characters A-Z "
                                            "0-9 . - /, starting with a letter or digit)");
    assert_int_equal(u.problems[1].line, 8);
    assert_int_equal(u.problems[1].kind, UNIVERSE_DUPLICATE);
    assert_string_equal(u.problems[1].text, "'AAPL' repeats line 2; skipped");
    assert_int_equal(u.problems[2].line, 9);
    assert_int_equal(u.problems[3].line, 11);
    assert_string_equal(universe_problem_kind_name(u.problems[1].kind), "duplicate");

    assert_non_null(universe_find(&u, "BRK.B"));
    assert_int_equal(universe_find(&u, "BRK.B")->line, 5);
    assert_null(universe_find(&u, "brk.b"));
    assert_null(universe_find(&u, "ZZZ"));

    struct buf out = BUF_INIT(4096);
    assert_int_equal(universe_format_list(&u, &out), ERR_OK);
    assert_string_equal(buf_cstr(&out), "# in.txt: 4 symbols\nAAPL\nBRK.B\nGOOG\nMSFT\n");
    buf_release(&out);
    universe_release(&u);
    universe_release(&u); /* harmless twice */

    /* A BOM, and one symbol only. */
    assert_int_equal(parse("\xEF\xBB\xBFspy\n", NULL, &u, &d), ERR_OK);
    assert_string_equal(symbols(&u), "SPY");
    out = (struct buf)BUF_INIT(4096);
    universe_format_list(&u, &out);
    assert_string_equal(buf_cstr(&out), "# in.txt: 1 symbol\nSPY\n");
    buf_release(&out);
    universe_release(&u);
}

static void test_list_resolver(void **state)
{
    (void)state;
    static const char *const known[] = {"AAPL", "BRK.B", NULL};
    struct universe_opts opts = {.known = known_in, .known_ctx = (void *)known};
    struct universe u;
    struct diag d;
    /* Plain lists are taken as written: BRKB is not turned into BRK.B. */
    assert_int_equal(parse("AAPL\nNOPE\nBRKB\n", &opts, &u, &d), ERR_OK);
    assert_string_equal(symbols(&u), "AAPL BRKB NOPE");
    assert_int_equal(u.unresolved, 2);
    assert_int_equal(u.nproblems, 2);
    assert_int_equal(u.problems[0].line, 2);
    assert_int_equal(u.problems[0].kind, UNIVERSE_UNRESOLVED);
    assert_string_equal(u.problems[0].text, "'NOPE' is not a known symbol; kept");
    assert_int_equal(universe_find(&u, "NOPE")->unresolved, 1);
    assert_int_equal(universe_find(&u, "AAPL")->unresolved, 0);
    assert_int_equal(u.mapped, 0);
    universe_release(&u);
}

static void test_problem_cap(void **state)
{
    (void)state;
    struct universe_opts opts = {.max_problems = 2};
    struct universe u;
    struct diag d;
    /* The invalid lines come first, the repeat (line 2) only when sorting: the kept problems
     * are still the lowest lines. */
    assert_int_equal(parse("AAPL\nAAPL\nbad one\nbad two\nbad three\n", &opts, &u, &d), ERR_OK);
    assert_int_equal(u.nproblems, 2);
    assert_int_equal(u.problems_dropped, 2);
    assert_int_equal(u.problems[0].line, 2);
    assert_int_equal(u.problems[0].kind, UNIVERSE_DUPLICATE);
    assert_int_equal(u.problems[1].line, 3);
    assert_int_equal(u.invalid, 3);
    assert_int_equal(u.duplicates, 1);
    universe_release(&u);

    /* The symbol cap counts repeats too. */
    opts = (struct universe_opts){.max_symbols = 3};
    assert_int_equal(parse("A\nB\nC\n", &opts, &u, &d), ERR_OK);
    universe_release(&u);
    assert_int_equal(parse("A\nB\nA\nC\n", &opts, &u, &d), ERR_TOOBIG);
    assert_string_equal(d.text, "in.txt:4: more than 3 symbols");
    assert_int_equal(u.n, 0);
    assert_null(u.v);
    universe_release(&u);
}

/* A row of an IWB file, every field quoted as iShares writes them. */
#define ROW(ticker, name, sector, cls, weight, exchange)                                           \
    "\"" ticker "\",\"" name "\",\"" sector "\",\"" cls "\",\"1,000.00\",\"" weight                \
    "\",\"1,000.00\",\"10.00\",\"100.00\",\"United States\",\"" exchange                           \
    "\",\"USD\",\"1.00\",\"USD\",\"-\"\n"

#define IWB_PREAMBLE                                                                               \
    "\xEF\xBB\xBFiShares Russell 1000 ETF\n"                                                       \
    "Fund Holdings as of,\"Jul 17, 2026\"\n"                                                       \
    "Inception Date,\"May 15, 2000\"\n"                                                            \
    "Shares Outstanding,\"118,100,000.00\"\n"                                                      \
    "Stock,\"-\"\n"                                                                                \
    "Bond,\"-\"\n"                                                                                 \
    "Cash,\"-\"\n"                                                                                 \
    "Other,\"-\"\n"                                                                                \
    "\xa0\n"

#define IWB_HEADER                                                                                 \
    "Ticker,Name,Sector,Asset Class,Market Value,Weight (%),Notional Value,Quantity,Price,"        \
    "Location,Exchange,Currency,FX Rate,Market Currency,Accrual Date\n"

static const char iwb[] = IWB_PREAMBLE IWB_HEADER /* lines 1-10 */
    "\"AAPL\",\"APPLE INC\",\"Information Technology\",\"Equity\",\"3,363,320,918.32\","
    "\"7.00\",\"3,363,320,918.32\",\"10,077,668.00\",\"333.74\",\"United States\","
    "\"NASDAQ\",\"USD\",\"1.00\",\"USD\",\"-\"\n" /* 11 */
    ROW("BRKB", "BERKSHIRE HATHAWAY INC CLASS B", "Financials", "Equity", "1.60",
        "New York Stock Exchange Inc.")                                  /* 12 */
    ROW("AAON", "AAON, INC.", "Industrials", "Equity", "0.01", "NASDAQ") /* 13 */
    ROW("FWONA", "LIBERTY MEDIA FORMULA ONE SERIES A", "Communication", "Equity", "0.00",
        "NASDAQ") /* 14 */
    ROW("BFB", "BROWN FORMAN CORP CLASS B", "Consumer Staples", "Equity", "0.02",
        "New York Stock Exchange Inc.")                                               /* 15 */
    ROW("GOOGL", "ALPHABET INC CLASS A", "Communication", "Equity", "3.50", "NASDAQ") /* 16 */
    ROW("GOOG", "ALPHABET INC CLASS C", "Communication", "Equity", "2.80", "NASDAQ")  /* 17 */
    ROW("USD", "USD CASH", "Cash and/or Derivatives", "Cash", "0.05", "-")            /* 18 */
    ROW("XTSLA", "BLK CSH FND TREASURY SL AGENCY", "Cash and/or Derivatives", "Money Market",
        "0.20", "-") /* 19 */
    "\"ESU6\",\"S&P500 EMINI SEP 26\",\"Cash and/or Derivatives\",\"Futures\",\"0.00\","
    "\"0.00\",\"78,351,487.50\",\"209.00\",\"7,497.75\",\"-\",\"Index And Options Market\","
    "\"USD\",\"1.00\",\"USD\",\"-\"\n" /* 20 */
    ROW("P5N994", "ESCROW PAR PACIFIC", "Energy", "Equity", "0.00",
        "NO MARKET (E.G. UNLISTED)")                                    /* 21 */
    ROW("-", "OLD CORP CVR", "Health Care", "Equity", "0.00", "NASDAQ") /* 22 */
    "\xa0\n"                                                            /* 23 */
    "\"The content contained herein is owned or licensed by BlackRock and/or its "
    "third-party information providers and is protected by applicable copyrights.\"\n" ROW(
        "ZZZ", "AFTER THE TABLE", "Energy", "Equity", "0.00", "NASDAQ");

static void check_iwb(const struct universe *u)
{
    assert_int_equal(u->format, UNIVERSE_ISHARES);
    assert_string_equal(symbols(u), "AAON AAPL BF.B BRK.B FWONA GOOG GOOGL");
    assert_string_equal(u->as_of, "Jul 17, 2026");
    assert_int_equal(u->rows, 12);
    assert_int_equal(u->not_equity, 3);
    assert_int_equal(u->unlisted, 2);
    assert_int_equal(u->mapped, 2);
    assert_int_equal(u->nproblems, 0);
    assert_int_equal(u->invalid + u->duplicates + u->unresolved, 0);

    const struct universe_entry *e = universe_find(u, "AAPL");
    assert_non_null(e);
    assert_int_equal(e->line, 11);
    assert_string_equal(e->name, "APPLE INC");
    assert_string_equal(e->sector, "Information Technology");
    assert_true(e->weight == 7000000);
    e = universe_find(u, "AAON");
    assert_string_equal(e->name, "AAON, INC.");
    assert_true(e->weight == 10000);
    e = universe_find(u, "BRK.B");
    assert_string_equal(e->ticker, "BRKB");
    assert_int_equal(e->line, 12);
    assert_int_equal(e->unresolved, 0);
    e = universe_find(u, "FWONA");
    assert_string_equal(e->ticker, "FWONA");
    assert_true(e->weight == 0);
    assert_null(universe_find(u, "BFB"));
    assert_null(universe_find(u, "ZZZ"));
}

static void test_iwb(void **state)
{
    (void)state;
    struct universe u;
    struct diag d;
    assert_int_equal(universe_parse(iwb, sizeof iwb - 1, "IWB_holdings.csv", NULL, &u, &d), ERR_OK);
    check_iwb(&u);

    /* The stored form, and that it reads back as the same symbols. */
    struct buf out = BUF_INIT(4096);
    assert_int_equal(universe_format_list(&u, &out), ERR_OK);
    assert_string_equal(buf_cstr(&out),
                        "# IWB_holdings.csv (iShares holdings as of Jul 17, 2026): 7 symbols\n"
                        "AAON\nAAPL\nBF.B\nBRK.B\nFWONA\nGOOG\nGOOGL\n");
    struct universe back;
    assert_int_equal(universe_parse(out.data, out.len, "universe.txt", NULL, &back, &d), ERR_OK);
    assert_int_equal(back.format, UNIVERSE_LIST);
    assert_string_equal(symbols(&back), symbols(&u));
    assert_int_equal(back.nproblems, 0);
    universe_release(&back);
    buf_release(&out);
    universe_release(&u);

    /* The same file with CRLF line ends. */
    struct buf crlf = BUF_INIT(1 << 16);
    for (size_t i = 0; i < sizeof iwb - 1; i++) {
        if (iwb[i] == '\n')
            buf_putc(&crlf, '\r');
        buf_putc(&crlf, iwb[i]);
    }
    assert_int_equal(universe_parse(crlf.data, crlf.len, "IWB_holdings.csv", NULL, &u, &d), ERR_OK);
    check_iwb(&u);
    universe_release(&u);
    buf_release(&crlf);
}

static void test_iwb_table_end(void **state)
{
    (void)state;
    struct universe u;
    struct diag d;
    /* A UTF-8 no-break space ends the table; so does the disclaimer with no blank line before
     * it; a quoted header and an undated preamble are fine. */
    const char *nbsp = "Fund Holdings as of,\"-\"\n"
                       "\"Ticker\",\"Asset Class\"\n"
                       "\"AAPL\",\"Equity\"\n"
                       " \xc2\xa0 \n"
                       "\"MSFT\",\"Equity\"\n";
    assert_int_equal(parse(nbsp, NULL, &u, &d), ERR_OK);
    assert_string_equal(symbols(&u), "AAPL");
    assert_string_equal(u.as_of, "");
    universe_release(&u);

    const char *footer = "Ticker,Asset Class,Weight (%)\n"
                         "\"AAPL\",\"Equity\",\"-\"\n"
                         "\"The content contained herein, all of it\"\n"
                         "\"MSFT\",\"Equity\",\"1.00\"\n";
    assert_int_equal(parse(footer, NULL, &u, &d), ERR_OK);
    assert_string_equal(symbols(&u), "AAPL");
    assert_true(u.v[0].weight == UNIVERSE_NONE);
    assert_null(u.v[0].name);
    struct buf out = BUF_INIT(4096);
    universe_format_list(&u, &out);
    assert_string_equal(buf_cstr(&out), "# in.txt (iShares holdings): 1 symbol\nAAPL\n");
    buf_release(&out);
    universe_release(&u);

    /* A ticker iShares writes with a space is reported, like a plain list's. */
    const char *bad = "Ticker,Asset Class\n\"AAPL\",\"Equity\"\n\"MOG A\",\"Equity\"\n";
    assert_int_equal(parse(bad, NULL, &u, &d), ERR_OK);
    assert_string_equal(symbols(&u), "AAPL");
    assert_int_equal(u.invalid, 1);
    assert_int_equal(u.problems[0].line, 3);
    universe_release(&u);
}

static void test_iwb_share_classes(void **state)
{
    (void)state;
    const char *text = IWB_HEADER                                                      /* 1 */
        ROW("AAPL", "APPLE INC", "Information Technology", "Equity", "7.00", "NASDAQ") /* 2 */
        ROW("BRKB", "BERKSHIRE B", "Financials", "Equity", "1.60", "NYSE")             /* 3 */
        ROW("BFB", "BROWN FORMAN B", "Consumer Staples", "Equity", "0.02", "NYSE")     /* 4 */
        ROW("FWONA", "FORMULA ONE A", "Communication", "Equity", "0.01", "NASDAQ")     /* 5 */
        ROW("ABC.D", "ABC CLASS D", "Industrials", "Equity", "0.01", "NYSE")           /* 6 */
        ROW("ABCD", "ABC CLASS D AGAIN", "Industrials", "Equity", "0.01", "NYSE")      /* 7 */
        ROW("HEIA", "HEICO A", "Industrials", "Equity", "0.01", "NYSE")                /* 8 */
        ROW("XYZQ", "XYZ Q", "Energy", "Equity", "0.01", "NYSE")                       /* 9 */
        ROW("LENB", "LENNAR B", "Consumer Discretionary", "Equity", "0.01", "NYSE");   /* 10 */

    /* Without a resolver: the table only, nothing unresolved. */
    struct universe u;
    struct diag d;
    assert_int_equal(parse(text, NULL, &u, &d), ERR_OK);
    assert_string_equal(symbols(&u), "AAPL ABC.D ABCD BF.B BRK.B FWONA HEI.A LEN.B XYZQ");
    assert_int_equal(u.mapped, 4);
    assert_int_equal(u.unresolved, 0);
    assert_int_equal(u.nproblems, 0);
    universe_release(&u);

    /* With one.  BF.B is missing from it, HEIA is known as written: the table gives way. */
    static const char *const known[] = {"AAPL", "BRK.B", "FWONA", "ABC.D", "HEIA", "LEN.B", NULL};
    struct universe_opts opts = {.known = known_in, .known_ctx = (void *)known};
    assert_int_equal(parse(text, &opts, &u, &d), ERR_OK);
    assert_string_equal(symbols(&u), "AAPL ABC.D BF.B BRK.B FWONA HEIA LEN.B XYZQ");
    assert_int_equal(u.mapped, 3); /* BRKB, BFB, LENB; ABCD was a repeat */
    assert_string_equal(universe_find(&u, "HEIA")->ticker, "HEIA");
    assert_string_equal(universe_find(&u, "ABC.D")->ticker, "ABC.D");
    assert_int_equal(universe_find(&u, "BF.B")->unresolved, 1);
    assert_int_equal(universe_find(&u, "XYZQ")->unresolved, 1);
    assert_int_equal(universe_find(&u, "BRK.B")->unresolved, 0);

    assert_int_equal(u.duplicates, 1);
    assert_int_equal(u.unresolved, 2);
    assert_int_equal(u.nproblems, 3);
    assert_int_equal(u.problems[0].line, 4);
    assert_int_equal(u.problems[0].kind, UNIVERSE_UNRESOLVED);
    assert_string_equal(u.problems[0].text,
                        "neither 'BF.B' nor 'BFB' is a known symbol; kept as 'BF.B'");
    assert_int_equal(u.problems[1].line, 7);
    assert_int_equal(u.problems[1].kind, UNIVERSE_DUPLICATE);
    assert_string_equal(u.problems[1].text, "'ABC.D' (written 'ABCD') repeats line 6; skipped");
    assert_int_equal(u.problems[2].line, 9);
    assert_string_equal(u.problems[2].text,
                        "neither 'XYZQ' nor 'XYZ.Q' is a known symbol; kept as 'XYZQ'");
    universe_release(&u);
}

static void test_errors(void **state)
{
    (void)state;
    struct universe u;
    struct diag d;
    static const char nul[] = "AAPL\nMS\0FT\n";
    assert_int_equal(universe_parse(nul, sizeof nul - 1, "in.txt", NULL, &u, &d), ERR_PARSE);
    assert_string_equal(d.text,
                        "in.txt:2: NUL byte; expected UTF-8 or ASCII text (a UTF-16 file?)");
    assert_int_equal(u.n, 0);
    universe_release(&u);

    struct universe_opts small = {.max_bytes = 4};
    assert_int_equal(parse("AAPL\nMSFT\n", &small, &u, &d), ERR_TOOBIG);
    assert_string_equal(d.text, "in.txt: 10 bytes, over the limit of 4");

    assert_int_equal(parse("", NULL, &u, &d), ERR_PARSE);
    assert_string_equal(d.text, "in.txt: no symbols, only blank lines and comments");
    assert_int_equal(universe_parse(NULL, 0, NULL, NULL, &u, &d), ERR_PARSE);
    assert_string_equal(d.text, "input: no symbols, only blank lines and comments");
    assert_int_equal(parse("# nothing\n\n  \r\n", NULL, &u, &d), ERR_PARSE);
    assert_int_equal(parse("bad one\nbad two\n", NULL, &u, &d), ERR_PARSE);
    assert_string_equal(d.text, "in.txt: no symbols; 2 invalid lines, the first is line 1: "
                                "'bad one' is not a ticker (expected 1-15 characters A-Z 0-9 . "
                                "- /, starting with a letter or digit)");
    assert_null(u.problems);

    /* Holdings files. */
    assert_int_equal(parse("Ticker,Name\n\"AAPL\",\"APPLE INC\"\n", NULL, &u, &d), ERR_PARSE);
    assert_string_equal(d.text, "in.txt:1: holdings header lacks column 'Asset Class' (this line "
                                "starts with 'Ticker,', so the input is read as an iShares "
                                "holdings file)");
    assert_int_equal(parse("Fund Holdings as of,\"Jul 17, 2026\"\nSymbol,Asset Class\n"
                           "\"AAPL\",\"Equity\"\n",
                           NULL, &u, &d),
                     ERR_PARSE);
    assert_string_equal(d.text, "in.txt:1: an iShares holdings preamble, but no table header line "
                                "starting with 'Ticker,' follows");
    assert_int_equal(parse("x\nTicker,Asset Class,ticker\n", NULL, &u, &d), ERR_PARSE);
    assert_string_equal(d.text, "in.txt:2: holdings header names 'Ticker' twice");
    assert_int_equal(
        parse("Ticker,Asset Class\n\"USD\",\"Cash\"\n\"-\",\"Equity\"\n", NULL, &u, &d), ERR_PARSE);
    assert_string_equal(d.text, "in.txt: no equity rows in the holdings table (2 rows: 1 not "
                                "equity, 1 unlisted, 0 not a ticker)");
    /* A download cut short: in a quoted field, or between fields. */
    assert_int_equal(
        parse("pre\nTicker,Asset Class\n\"AAPL\",\"Equity\"\n\"MSFT\",\"Equ", NULL, &u, &d),
        ERR_PARSE);
    assert_string_equal(d.text, "in.txt: line 4: unterminated quoted field");
    assert_int_equal(parse("pre\nTicker,Asset Class,Weight (%)\n\"AAPL\",\"Equity\",\"1.00\"\n"
                           "\"MSFT\",\"Equity\"",
                           NULL, &u, &d),
                     ERR_PARSE);
    assert_string_equal(d.text, "in.txt:4: expected 3 fields as in the header on line 2, got 2");
    assert_int_equal(parse("Ticker,Asset Class\n\"AAPL\",\"Equity\"\n\"MSFT\"\n", NULL, &u, &d),
                     ERR_PARSE);
    assert_string_equal(d.text, "in.txt:3: expected 2 fields as in the header on line 1, got 1");
    assert_int_equal(u.n, 0);
    assert_null(u.v);
    universe_release(&u);

    struct buf wide = BUF_INIT(4096);
    buf_puts(&wide, "Ticker,Asset Class");
    for (int i = 0; i < UNIVERSE_COLUMNS_MAX; i++)
        buf_printf(&wide, ",c%d", i);
    buf_puts(&wide, "\n\"AAPL\",\"Equity\"\n");
    assert_int_equal(parse(buf_cstr(&wide), NULL, &u, &d), ERR_PARSE);
    assert_string_equal(d.text, "in.txt: holdings header: line 1: more than 64 fields");
    buf_release(&wide);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),          cmocka_unit_test(test_list_resolver),
        cmocka_unit_test(test_problem_cap),   cmocka_unit_test(test_iwb),
        cmocka_unit_test(test_iwb_table_end), cmocka_unit_test(test_iwb_share_classes),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("universe", tests, NULL, NULL);
}
