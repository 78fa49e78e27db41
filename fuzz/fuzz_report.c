/* fuzz_report.c - the report's reader and renderer on arbitrary bytes.
 *
 * The input is cut at "\n--\n" into up to four parts: the backtest's equity CSV (read by
 * report_parse_equity), then lines used as symbols, then bytes taken eight at a time as
 * numbers (any bit pattern: NaN, infinities, huge and tiny values), then free text (the run
 * record's error, a problem).  Symbols, numbers and text fill every field of a page, which
 * is rendered and checked:
 *   - outside the page's own style and script, every '<' opens or closes an element the
 *     report makes, tags hold only double-quoted attribute values, and no attribute is an
 *     event handler or points outside the page: nothing from the input became markup;
 *   - the page has exactly one script element;
 *   - every geometry attribute (coordinates, sizes, points, paths) holds only numbers: no
 *     NaN or infinity reached a drawing.
 * The equity reader must accept only rows in ascending date order with equity >= 0, and name
 * what it refuses.
 */
#include "report/equity.h"
#include "report/html.h"
#include "report/report.h"
#include "base/buf.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ROWS 40

static const char *const elements[] = {
    "html",   "head",  "meta", "title", "style", "body",   "header",  "h1",       "h2",
    "h3",     "p",     "span", "nav",   "a",     "main",   "section", "div",      "table",
    "thead",  "tbody", "tr",   "th",    "td",    "button", "svg",     "polyline", "line",
    "circle", "rect",  "text", "g",     "path",  "use",    "footer",  "script",
};

static int known_element(const char *p, size_t n)
{
    for (size_t i = 0; i < sizeof elements / sizeof elements[0]; i++)
        if (strlen(elements[i]) == n && memcmp(elements[i], p, n) == 0)
            return 1;
    return 0;
}

static int geometry(const char *name, size_t n)
{
    static const char *const attrs[] = {"x",  "y", "x1", "x2",    "y1",     "y2",     "cx",
                                        "cy", "r", "d",  "width", "height", "points", "viewBox"};
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
        if (strlen(attrs[i]) == n && memcmp(attrs[i], name, n) == 0)
            return 1;
    return 0;
}

/* Check one tag starting at p ('<'); returns the position after its '>'. */
static const char *check_tag(const char *p, const char *end)
{
    const char *q = p + 1;
    if (q < end && *q == '/')
        q++;
    const char *name = q;
    while (q < end && ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9')))
        q++;
    CHECKF(known_element(name, (size_t)(q - name)), "unexpected element '%.*s'\n", (int)(q - name),
           name);
    while (q < end && *q != '>') {
        CHECKF(*q != '<', "'<' inside a tag\n");
        if (*q == '=') {
            /* The attribute's name precedes; its value is double-quoted. */
            const char *a = q;
            while (a > p && a[-1] != ' ')
                a--;
            CHECKF(!(q - a >= 2 && a[0] == 'o' && a[1] == 'n'), "event handler '%.*s'\n",
                   (int)(q - a), a);
            CHECKF(q + 1 < end && q[1] == '"', "unquoted attribute value\n");
            const char *v = q + 2, *close = memchr(v, '"', (size_t)(end - v));
            CHECKF(close != NULL, "unterminated attribute value\n");
            if ((q - a == 4 && memcmp(a, "href", 4) == 0) ||
                (q - a == 3 && memcmp(a, "src", 3) == 0))
                CHECKF(v < close && *v == '#', "link outside the page\n");
            if (geometry(a, (size_t)(q - a)))
                CHECKF(strspn(v, "0123456789 .,-Ml") >= (size_t)(close - v),
                       "geometry '%.*s' is not numbers: %.*s\n", (int)(q - a), a, (int)(close - v),
                       v);
            CHECKF(!memchr(v, '<', (size_t)(close - v)), "'<' in an attribute value\n");
            q = close + 1;
            continue;
        }
        q++;
    }
    CHECKF(q < end, "unterminated tag\n");
    return q + 1;
}

static void check_page(const char *page, size_t len)
{
    const char *end = page + len;
    const char *p = page;
    size_t scripts = 0;
    static const char doctype[] = "<!DOCTYPE html>";
    CHECK(len > sizeof doctype && memcmp(page, doctype, sizeof doctype - 1) == 0);
    p += sizeof doctype - 1;
    while (p < end) {
        if (*p != '<') {
            p++;
            continue;
        }
        const char *after = check_tag(p, end);
        /* The style and the script are the page's own constants: skip to their end. */
        if (after - p == 7 && memcmp(p, "<style>", 7) == 0) {
            const char *e = memmem(after, (size_t)(end - after), "</style>", 8);
            CHECK(e != NULL);
            p = e;
            continue;
        }
        if (after - p == 8 && memcmp(p, "<script>", 8) == 0) {
            scripts++;
            const char *e = memmem(after, (size_t)(end - after), "</script>", 9);
            CHECK(e != NULL);
            p = e;
            continue;
        }
        CHECKF(!(p[1] == 's' && memcmp(p, "<script", 7) == 0 && p[7] != '>'), "odd script tag\n");
        p = after;
    }
    CHECKF(scripts == 1, "%zu script elements\n", scripts);
}

/* The parts of the input. */
struct parts {
    const char *p[4];
    size_t n[4];
};

static void split(const char *text, size_t size, struct parts *out)
{
    memset(out, 0, sizeof *out);
    size_t k = 0;
    const char *p = text, *end = text + size;
    while (k < 3) {
        const char *sep = memmem(p, (size_t)(end - p), "\n--\n", 4);
        if (!sep)
            break;
        out->p[k] = p;
        out->n[k++] = (size_t)(sep - p);
        p = sep + 4;
    }
    out->p[k] = p;
    out->n[k] = (size_t)(end - p);
}

struct numbers {
    const char *p;
    size_t n, at;
};

static double next_num(struct numbers *nb)
{
    if (nb->n < sizeof(double))
        return nb->n ? (double)(unsigned char)nb->p[nb->at++ % nb->n] - 100.0 : 1.0;
    double v;
    memcpy(&v, nb->p + (nb->at % (nb->n / sizeof v)) * sizeof v, sizeof v);
    nb->at++;
    return v;
}

/* A whole number from any double, without the undefined behaviour of an out-of-range cast. */
static int64_t whole(double v, int64_t max)
{
    return isfinite(v) && fabs(v) < (double)max ? (int64_t)v : 0;
}

static void fuzz_equity(const char *p, size_t n, struct report_equity *e)
{
    struct diag d;
    diag_clear(&d);
    int err = report_parse_equity("fuzz", p, n, e, &d);
    for (size_t i = 0; i < e->n; i++) {
        CHECK(e->v[i].equity >= 0 && e->v[i].positions >= 0);
        CHECK(i == 0 || e->v[i - 1].date < e->v[i].date);
    }
    if (err) {
        CHECKF(err == ERR_PARSE || err == ERR_TOOBIG, "unexpected error %s\n", err_name(err));
        CHECK(fuzz_diag_ok(&d));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    struct parts pt;
    split(text, size, &pt);
    struct report_equity eq = {0};
    fuzz_equity(pt.p[0] ? pt.p[0] : "", pt.n[0], &eq);

    /* Escaping alone: no markup character survives. */
    struct buf esc = BUF_INIT((size_t)64 << 20);
    CHECK(html_text(&esc, text, size) == ERR_OK);
    CHECK(strpbrk(buf_cstr(&esc), "<>\"'") == NULL);
    buf_release(&esc);

    /* Symbols: the lines of part 1 (any bytes, cut to the field's size). */
    struct screen_row rows[MAX_ROWS];
    struct report_closes closes[MAX_ROWS];
    struct report_since since[MAX_ROWS];
    struct report_position pos[MAX_ROWS];
    memset(rows, 0, sizeof rows);
    memset(closes, 0, sizeof closes);
    memset(since, 0, sizeof since);
    memset(pos, 0, sizeof pos);
    struct numbers nb = {pt.p[2], pt.n[2], 0};
    size_t nrows = 0;
    const char *s = pt.p[1], *send = pt.p[1] ? pt.p[1] + pt.n[1] : NULL;
    int32_t date = 20000 + (int32_t)(size % 1000);
    while (s && s < send && nrows < MAX_ROWS) {
        const char *nl = memchr(s, '\n', (size_t)(send - s));
        size_t len = (size_t)((nl ? nl : send) - s);
        if (len > BAR_SYMBOL_MAX)
            len = BAR_SYMBOL_MAX;
        struct screen_row *r = &rows[nrows];
        memcpy(r->symbol, s, len);
        r->date = date;
        r->rank = (int)nrows + 1;
        r->close = next_num(&nb);
        r->peak = next_num(&nb);
        r->peak_date = date - (int32_t)(nrows % 200);
        r->drawdown_pct = next_num(&nb);
        r->days_since_peak = (int)whole(next_num(&nb), 1000000);
        r->change_pct = next_num(&nb);
        r->volume = (int64_t)nrows * 1000;
        memcpy(closes[nrows].symbol, r->symbol, sizeof r->symbol);
        closes[nrows].c.date = nrows % 3 ? date : date - 1;
        closes[nrows].c.n = nrows % RESULTS_CLOSES + 1;
        for (size_t i = 0; i < closes[nrows].c.n; i++)
            closes[nrows].c.closes[i] = next_num(&nb);
        since[nrows] = (struct report_since){date - 10 + (int32_t)(nrows / 4),
                                             (int)nrows % 10 + 1,
                                             "",
                                             next_num(&nb),
                                             next_num(&nb),
                                             next_num(&nb)};
        memcpy(since[nrows].symbol, r->symbol, sizeof r->symbol);
        pos[nrows] = (struct report_position){"",
                                              next_num(&nb),
                                              next_num(&nb),
                                              next_num(&nb),
                                              next_num(&nb),
                                              next_num(&nb),
                                              (int)nrows - 2};
        memcpy(pos[nrows].symbol, r->symbol, sizeof r->symbol);
        nrows++;
        s = nl ? nl + 1 : send;
    }
    struct report_portfolio pf = {date, next_num(&nb), next_num(&nb), nrows % 6, (int)(size & 1),
                                  pos,  nrows};
    struct results_run run;
    memset(&run, 0, sizeof run);
    size_t tl = pt.n[3] < sizeof run.error - 1 ? pt.n[3] : sizeof run.error - 1;
    if (pt.p[3])
        memcpy(run.error, pt.p[3], tl);
    run.finished_ms = whole(next_num(&nb), 4000000000000LL);
    char problem[64] = "";
    memcpy(problem, run.error, sizeof problem - 1);
    struct report_data rd = {
        .date = date,
        .generated_ms = (int64_t)(size * 7919) % 4000000000000LL,
        .top = 1 + size % MAX_ROWS,
        .rows = rows,
        .nrows = nrows,
        .closes = closes,
        .ncloses = nrows,
        .since = since,
        .nsince = nrows,
        .provisional = (int)(size & 2),
        .as_of_ms = run.finished_ms,
        .run = size & 4 ? &run : NULL,
        .portfolio = size & 8 ? &pf : NULL,
        .equity = &eq,
        .problems = {problem},
        .nproblems = size & 16 ? 1 : 0,
    };
    struct buf page = BUF_INIT(REPORT_MAX);
    int err = report_render(&rd, &page);
    CHECKF(err == ERR_OK, "render: %s\n", err_name(err));
    check_page(buf_cstr(&page), page.len);
    buf_release(&page);
    report_equity_release(&eq);
    free(text);
    return 0;
}
