/* render.c - the report page from a struct report_data (report.h). */
#include "report/report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/calendar.h"
#include "base/date.h"
#include "codec/crypto.h"
#include "report/html.h"

#include "base/banned.h"

/* The page's only style and script; the Content-Security-Policy allows exactly these two by
 * their hashes.  No style attributes anywhere: SVG colours are presentation attributes or
 * classes. */
static const char style[] =
    ":root{--fg:#1b1f24;--mut:#5b6570;--line:#d8dee4;--neg:#c62828;--pos:#2e7d32;--acc:#1565c0;"
    "--soft:#f3f5f7}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:var(--fg);background:#fff}"
    "header,main,footer{max-width:1100px;margin:0 auto;padding:0 12px}"
    "h1{font-size:1.45rem;margin:.8em 0 .2em}"
    "h2{font-size:1.15rem;margin:1.6em 0 .5em;padding-bottom:.2em;border-bottom:2px solid "
    "var(--line)}"
    ".meta,.note{color:var(--mut);font-size:.9rem;margin:.3em 0}"
    ".badge{display:inline-block;padding:.15em .6em;border-radius:.3em;background:#fff3cd;"
    "color:#6d4c00;font-weight:600}"
    ".badge.ok{background:#e3f4e5;color:#1d5e22}"
    "nav{margin:.6em 0;display:flex;flex-wrap:wrap;gap:.3em 1em}"
    "nav a{color:var(--acc)}"
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}"
    "th,td{padding:.3em .45em;border-bottom:1px solid var(--line);text-align:right;"
    "white-space:nowrap}"
    "th{background:var(--soft);position:sticky;top:0}"
    "td.s,th.s{text-align:left}"
    "td.s{font-weight:600}"
    "th button{font:inherit;font-weight:600;background:none;border:0;padding:0;cursor:pointer;"
    "color:inherit}"
    "th[aria-sort=ascending] button::after{content:' \\25B2'}"
    "th[aria-sort=descending] button::after{content:' \\25BC'}"
    ".neg{color:var(--neg)}.pos{color:var(--pos)}"
    "svg{display:block;max-width:100%;height:auto}svg.chart{width:100%;max-width:760px}"
    "svg.spark{width:100px;height:24px;overflow:visible}"
    "svg.bar{width:120px;height:14px}"
    /* Inherited by the drawings <use> repeats, which the page's selectors do not reach. */
    "svg.spark{fill:none;stroke:var(--acc);stroke-width:1.6}"
    ".chart text{font-size:11px;fill:var(--mut)}"
    ".chart .ax{stroke:var(--line)}"
    ".chart .b{fill:var(--acc)}.chart .bn{fill:var(--neg)}.chart .bp{fill:var(--pos)}"
    ".chart .l1{fill:none;stroke:var(--acc);stroke-width:2}"
    ".chart .l2{fill:none;stroke:#8e5bd0;stroke-width:2;stroke-dasharray:5 3}"
    ".chart .tg{stroke:var(--neg);stroke-width:2;stroke-dasharray:4 3}"
    ".key{display:inline-block;width:1.2em;height:.25em;vertical-align:middle;margin:0 .3em}"
    ".key.l1{background:var(--acc)}.key.l2{background:#8e5bd0}"
    "footer{color:var(--mut);font-size:.85rem;margin-top:2em;padding-bottom:2em}"
    "@media (max-width:640px){body{font-size:14px}th,td{padding:.25em .3em}th{white-space:normal}"
    "#drawdowns tr>:nth-child(4),#drawdowns tr>:nth-child(5),#drawdowns tr>:nth-child(7),"
    "#drawdowns tr>:nth-child(9),#drops tr>:nth-child(6),#portfolio tr>:nth-child(3),"
    "#portfolio tr>:nth-child(5),#portfolio tr>:nth-child(7){display:none}"
    "svg.spark{width:72px}}"
    ".nb{white-space:nowrap}"
    "@media print{nav,.noprint{display:none}th button::after{content:''}.scroll{overflow:visible}"
    "th{position:static}tr,svg{break-inside:avoid}h2{break-after:avoid}body{font-size:11px}}";

static const char script[] =
    "(function(){"
    "function key(c,num){var v=c.textContent;return num?parseFloat(v):v}"
    "Array.prototype.forEach.call(document.querySelectorAll('table.sortable'),function(t){"
    "var hs=t.tHead.rows[0].cells;"
    "Array.prototype.forEach.call(hs,function(th,i){"
    "var b=th.querySelector('button');if(!b)return;"
    "b.addEventListener('click',function(){"
    "var asc=th.getAttribute('aria-sort')!=='ascending',num=th.getAttribute('data-type')==='num';"
    "Array.prototype.forEach.call(hs,function(h){h.removeAttribute('aria-sort')});"
    "th.setAttribute('aria-sort',asc?'ascending':'descending');"
    "var tb=t.tBodies[0],rows=Array.prototype.slice.call(tb.rows);"
    "rows.sort(function(a,c){var x=key(a.cells[i],num),y=key(c.cells[i],num);"
    "if(num){var nx=isNaN(x),ny=isNaN(y);if(nx||ny)return nx-ny;return asc?x-y:y-x}"
    "return asc?(x<y?-1:x>y?1:0):(x<y?1:x>y?-1:0)});"
    "rows.forEach(function(r){tb.appendChild(r)})})})})})();";

struct page {
    struct buf *out;
    int err;
    unsigned char *spark_done; /* per entry of closes: drawn once already */
};

static void put(struct page *pg, const char *s)
{
    if (!pg->err)
        pg->err = buf_puts(pg->out, s);
}

static void putf(struct page *pg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct page *pg, const char *fmt, ...)
{
    if (pg->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    pg->err = buf_vprintf(pg->out, fmt, ap);
    va_end(ap);
}

static void esc(struct page *pg, const char *s)
{
    if (!pg->err)
        pg->err = html_str(pg->out, s);
}

/* A symbol from a fixed array: escaped, and never read past its array. */
static void sym(struct page *pg, const char *s)
{
    if (!pg->err)
        pg->err = html_text(pg->out, s, strnlen(s, BAR_SYMBOL_MAX + 1));
}

static void num(struct page *pg, double v, int decimals, int plus)
{
    if (!pg->err)
        pg->err = html_num(pg->out, v, decimals, plus, "n/a");
}

static void coord(struct page *pg, double v)
{
    if (!pg->err)
        pg->err = html_coord(pg->out, v);
}

static void day(struct page *pg, int32_t date)
{
    char s[DATE_STRLEN + 1];
    date_format(date, s);
    put(pg, s);
}

/* A number cell, coloured by its sign when signed; the script sorts by the number shown. */
static void td_num(struct page *pg, double v, int decimals, int plus, int signed_class)
{
    const char *sign = !signed_class || !isfinite(v) || v == 0 ? NULL : v < 0 ? "neg" : "pos";
    putf(pg, sign ? "<td class=\"%s\">" : "<td>", sign);
    num(pg, v, decimals, plus);
    put(pg, "</td>");
}

static void td_date(struct page *pg, int32_t date)
{
    put(pg, "<td>");
    day(pg, date);
    put(pg, "</td>");
}

static void td_sym(struct page *pg, const char *s)
{
    put(pg, "<td class=\"s\">");
    sym(pg, s);
    put(pg, "</td>");
}

/* A header cell; sort: 0 none, 1 ascending now, -1 descending now. */
static void th(struct page *pg, const char *label, int numeric, const char *cls, int sorted)
{
    put(pg, "<th");
    if (cls)
        putf(pg, " class=\"%s\"", cls);
    if (numeric)
        put(pg, " data-type=\"num\"");
    if (sorted)
        putf(pg, " aria-sort=\"%s\"", sorted > 0 ? "ascending" : "descending");
    putf(pg, " scope=\"col\"><button type=\"button\">%s</button></th>", label);
}

static void fmt_utc(int64_t ms, char *out, size_t cap)
{
    int32_t date = (int32_t)(ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000);
    int64_t in_day = ms - (int64_t)date * 86400000;
    char s[DATE_STRLEN + 1];
    date_format(date, s);
    snprintf(out, cap, "%s %02d:%02d UTC", s, (int)(in_day / 3600000), (int)(in_day / 60000 % 60));
}

static void fmt_ny(int64_t ms, char *out, size_t cap)
{
    int minute;
    int32_t date = cal_ny_date(ms, &minute);
    char s[DATE_STRLEN + 1];
    date_format(date, s);
    snprintf(out, cap, "%s %02d:%02d New York", s, minute / 60, minute % 60);
}

/* ---- sparklines ---- */

/* The index of symbol's closes of the report's date, or -1. */
static long find_closes(const struct report_data *rd, const char *symbol)
{
    size_t lo = 0, hi = rd->ncloses;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strncmp(rd->closes[mid].symbol, symbol, BAR_SYMBOL_MAX + 1);
        if (c == 0)
            return rd->closes[mid].c.date == rd->date ? (long)mid : -1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int spark_y(double v, double lo, double span)
{
    double y = 27.0 - 26.0 * (v - lo) / span;
    return isfinite(y) ? (int)lround(fmin(fmax(y, 0.0), 28.0)) : 27;
}

/* The last closes up to the date, the peak's level as a dashed line and its bar as a dot
 * when it falls among them.  viewBox 2 units a close wide, 28 high (about the shape it is
 * shown in, so strokes keep their width).  A symbol's drawing is
 * written once, in its first row, and used again by reference (`<use>` of an element of the
 * page itself: no request) in the other tables. */
static void sparkline(struct page *pg, const struct report_data *rd, const struct screen_row *r)
{
    long k = find_closes(rd, r->symbol);
    const struct results_closes *c = k >= 0 ? &rd->closes[k].c : NULL;
    size_t n = c ? c->n : 0;
    if (n > RESULTS_CLOSES)
        n = RESULTS_CLOSES;
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(c->closes[i]))
            continue;
        lo = fmin(lo, c->closes[i]);
        hi = fmax(hi, c->closes[i]);
    }
    if (n < 2 || !(hi >= lo)) {
        put(pg, "<td>&mdash;</td>");
        return;
    }
    int w = 2 * (int)(n - 1);
    putf(pg,
         "<td><svg class=\"spark\" viewBox=\"0 0 %d 28\" preserveAspectRatio=\"none\" "
         "role=\"img\" aria-label=\"last %zu closes\">",
         w, n);
    if (pg->spark_done && pg->spark_done[k]) {
        putf(pg, "<use href=\"#k%ld\"/></svg></td>", k);
        return;
    }
    if (pg->spark_done)
        pg->spark_done[k] = 1;
    int peak_ok = isfinite(r->peak) && r->peak > 0 && r->peak < 1e15;
    if (peak_ok)
        hi = fmax(hi, r->peak);
    double span = hi > lo ? hi - lo : 1.0;
    putf(pg, "<g id=\"k%ld\"><path d=\"M0 %d", k, spark_y(c->closes[0], lo, span));
    int prev = spark_y(c->closes[0], lo, span);
    for (size_t i = 1; i < n; i++) {
        int y = spark_y(c->closes[i], lo, span);
        putf(pg, i == 1 ? "l2%s%d" : " 2%s%d", y - prev < 0 ? "" : " ", y - prev);
        prev = y;
    }
    put(pg, "\"/>");
    if (peak_ok) {
        int y = spark_y(r->peak, lo, span);
        putf(pg,
             "<line stroke=\"#c62828\" stroke-dasharray=\"3 2\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>", w,
             y, y);
        if (r->days_since_peak >= 0 && (size_t)r->days_since_peak < n)
            putf(pg, "<circle fill=\"#c62828\" stroke=\"none\" r=\"2.5\" cx=\"%d\" cy=\"%d\"/>",
                 2 * (int)(n - 1 - (size_t)r->days_since_peak), y);
    }
    put(pg, "</g></svg></td>");
}

/* ---- the tables of the date ---- */

static void drawdown_table(struct page *pg, const struct report_data *rd)
{
    size_t n = rd->nrows < rd->top ? rd->nrows : rd->top;
    putf(pg, "<section id=\"s-drawdowns\"><h2>Worst %zu drawdowns from the peak</h2>", n);
    put(pg, "<p class=\"note\">Drawdown: the close against the highest high of the window. "
            "The sparkline shows the last closes; the dashed line is the peak, the dot the day "
            "it was reached when it falls among them. Click a column to sort.</p>");
    put(pg, "<div class=\"scroll\"><table class=\"sortable\" id=\"drawdowns\"><thead><tr>");
    th(pg, "#", 1, NULL, 1);
    th(pg, "Symbol", 0, "s", 0);
    th(pg, "Close", 1, NULL, 0);
    th(pg, "Peak", 1, NULL, 0);
    th(pg, "Peak date", 0, NULL, 0);
    th(pg, "Drawdown %", 1, NULL, 0);
    th(pg, "Days since peak", 1, NULL, 0);
    th(pg, "Change %", 1, NULL, 0);
    th(pg, "Volume", 1, NULL, 0);
    put(pg, "<th scope=\"col\">Last closes</th></tr></thead><tbody>");
    for (size_t i = 0; i < n; i++) {
        const struct screen_row *r = &rd->rows[i];
        put(pg, "<tr>");
        td_num(pg, r->rank, 0, 0, 0);
        td_sym(pg, r->symbol);
        td_num(pg, r->close, 2, 0, 0);
        td_num(pg, r->peak, 2, 0, 0);
        td_date(pg, r->peak_date);
        td_num(pg, r->drawdown_pct, 1, 0, 1);
        td_num(pg, r->days_since_peak, 0, 0, 0);
        td_num(pg, r->change_pct, 1, 1, 1);
        td_num(pg, (double)r->volume, 0, 0, 0);
        sparkline(pg, rd, r);
        put(pg, "</tr>");
    }
    put(pg, "</tbody></table></div></section>");
}

static int by_change(const void *a, const void *b)
{
    const struct screen_row *x = *(const struct screen_row *const *)a;
    const struct screen_row *y = *(const struct screen_row *const *)b;
    if (x->change_pct != y->change_pct)
        return x->change_pct < y->change_pct ? -1 : 1;
    return strncmp(x->symbol, y->symbol, BAR_SYMBOL_MAX + 1);
}

static void drops_table(struct page *pg, const struct report_data *rd)
{
    const struct screen_row **v = malloc((rd->nrows ? rd->nrows : 1) * sizeof *v);
    if (!v) {
        pg->err = ERR_NOMEM;
        return;
    }
    size_t m = 0;
    for (size_t i = 0; i < rd->nrows; i++)
        if (isfinite(rd->rows[i].change_pct))
            v[m++] = &rd->rows[i];
    qsort(v, m, sizeof *v, by_change);
    size_t n = m < rd->top ? m : rd->top;
    putf(pg, "<section id=\"s-drops\"><h2>Worst %zu one-day drops</h2>", n);
    put(pg, "<div class=\"scroll\"><table class=\"sortable\" id=\"drops\"><thead><tr>");
    th(pg, "#", 1, NULL, 1);
    th(pg, "Symbol", 0, "s", 0);
    th(pg, "Close", 1, NULL, 0);
    th(pg, "Change %", 1, NULL, 0);
    th(pg, "Drawdown %", 1, NULL, 0);
    th(pg, "Drawdown rank", 1, NULL, 0);
    put(pg, "<th scope=\"col\">Last closes</th></tr></thead><tbody>");
    for (size_t i = 0; i < n; i++) {
        const struct screen_row *r = v[i];
        put(pg, "<tr>");
        td_num(pg, (double)(i + 1), 0, 0, 0);
        td_sym(pg, r->symbol);
        td_num(pg, r->close, 2, 0, 0);
        td_num(pg, r->change_pct, 1, 1, 1);
        td_num(pg, r->drawdown_pct, 1, 0, 1);
        td_num(pg, r->rank, 0, 0, 0);
        sparkline(pg, rd, r);
        put(pg, "</tr>");
    }
    put(pg, "</tbody></table></div></section>");
    free(v);
}

/* ---- the distribution ---- */

#define HIST_BINS 20 /* 5 points each, 0 to -100 */

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void histogram(struct page *pg, const struct report_data *rd)
{
    size_t bins[HIST_BINS] = {0}, total = 0, below[3] = {0};
    double *v = malloc((rd->nrows ? rd->nrows : 1) * sizeof *v);
    if (!v) {
        pg->err = ERR_NOMEM;
        return;
    }
    for (size_t i = 0; i < rd->nrows; i++) {
        double dd = rd->rows[i].drawdown_pct;
        if (!isfinite(dd))
            continue;
        v[total++] = dd;
        /* Bin k holds [-5(k+1), -5k) (bin 0 also 0); a drawdown so small that dd / 5 underflows
         * to 0 is bin 0 too. */
        double b = dd >= 0 ? 0 : ceil(-dd / 5.0) - 1;
        bins[b <= 0 ? 0 : b >= HIST_BINS - 1 ? HIST_BINS - 1 : (int)b]++;
        below[0] += dd <= -20;
        below[1] += dd <= -30;
        below[2] += dd <= -50;
    }
    put(pg, "<section id=\"s-distribution\"><h2>Drawdowns across the universe</h2>");
    if (total == 0) {
        put(pg, "<p class=\"note\">No stock is ranked on this date.</p></section>");
        free(v);
        return;
    }
    qsort(v, total, sizeof *v, dbl_cmp);
    double median = total % 2 ? v[total / 2] : (v[total / 2 - 1] + v[total / 2]) / 2;
    free(v);
    putf(pg, "<p class=\"note\">%zu stocks ranked; median drawdown ", total);
    num(pg, median, 1, 0);
    putf(pg,
         "%%; %zu at &minus;20%% or worse, %zu at &minus;30%%, %zu at &minus;50%%. Red: 20%% or "
         "more below the peak.</p>",
         below[0], below[1], below[2]);
    size_t max = 1;
    for (int k = 0; k < HIST_BINS; k++)
        max = bins[k] > max ? bins[k] : max;
    /* 600 x 230: bars from x 40, 26 units each, 180 high from y 20. */
    put(pg, "<svg class=\"chart\" id=\"histogram\" viewBox=\"0 0 600 230\" role=\"img\" "
            "aria-label=\"histogram of drawdowns in 5-point bins\">");
    put(pg, "<line class=\"ax\" x1=\"36\" y1=\"200\" x2=\"594\" y2=\"200\"/>");
    for (int k = 0; k < HIST_BINS; k++) {
        double h = 180.0 * (double)bins[k] / (double)max;
        int x = 40 + k * 27;
        putf(pg, "<rect class=\"%s\" x=\"%d\" width=\"24\" y=\"", k >= 4 ? "bn" : "b", x);
        coord(pg, 200.0 - h);
        put(pg, "\" height=\"");
        coord(pg, h);
        putf(pg, "\"><title>%s%d%% to &minus;%d%%: %zu stocks</title></rect>", k ? "&minus;" : "",
             k * 5, (k + 1) * 5, bins[k]);
        if (bins[k]) {
            putf(pg, "<text x=\"%d\" y=\"", x + 12);
            coord(pg, 196.0 - h);
            putf(pg, "\" text-anchor=\"middle\">%zu</text>", bins[k]);
        }
        if (k % 2 == 0)
            putf(pg, "<text x=\"%d\" y=\"216\" text-anchor=\"middle\">%s%d%%</text>", x,
                 k ? "&minus;" : "", k * 5);
    }
    put(pg, "<text x=\"580\" y=\"216\" text-anchor=\"middle\">&minus;100%</text></svg></section>");
}

/* ---- past candidates ---- */

static void history(struct page *pg, const struct report_data *rd)
{
    put(pg, "<section id=\"s-history\"><h2>How past candidates did since</h2>");
    if (rd->nsince == 0) {
        put(pg, "<p class=\"note\">No earlier top candidates are recorded yet.</p></section>");
        return;
    }
    /* Per date: the average return since of the candidates whose price is known. */
    size_t ndates = 0;
    for (size_t i = 0; i < rd->nsince; i++)
        ndates += i == 0 || rd->since[i].date != rd->since[i - 1].date;
    double *avg = malloc(ndates * sizeof *avg);
    int32_t *dates = malloc(ndates * sizeof *dates);
    if (!avg || !dates) {
        free(avg);
        free(dates);
        pg->err = ERR_NOMEM;
        return;
    }
    size_t k = 0, counted_all = 0, up = 0, known_dates = 0;
    double lo = 0, hi = 0, sum_all = 0;
    for (size_t i = 0; i < rd->nsince;) {
        int32_t date = rd->since[i].date;
        double sum = 0;
        size_t cnt = 0;
        for (; i < rd->nsince && rd->since[i].date == date; i++)
            if (isfinite(rd->since[i].since_pct)) {
                sum += rd->since[i].since_pct;
                cnt++;
            }
        dates[k] = date;
        avg[k] = cnt ? sum / (double)cnt : (double)NAN;
        if (cnt) {
            lo = fmin(lo, avg[k]);
            hi = fmax(hi, avg[k]);
            sum_all += sum;
            counted_all += cnt;
            known_dates++;
            up += avg[k] > 0;
        }
        k++;
    }
    put(pg, "<p class=\"note\">Each date's top candidates, bought at that close and valued at "
            "this date's close (split-adjusted): ");
    putf(pg, "%zu dates, %zu candidates, average ", ndates, counted_all);
    num(pg, counted_all ? sum_all / (double)counted_all : (double)NAN, 1, 1);
    putf(pg, "%%; %zu of %zu dates' averages above zero.</p>", up, known_dates);

    /* Bars per date, 560 wide from x 36; zero line between lo and hi. */
    double span = hi - lo > 0 ? hi - lo : 1.0;
    double zero = 10.0 + 170.0 * hi / span;
    double bw = 560.0 / (double)ndates;
    put(pg, "<svg class=\"chart\" id=\"history-chart\" viewBox=\"0 0 600 210\" role=\"img\" "
            "aria-label=\"average return since, per date of candidates\">");
    put(pg, "<line class=\"ax\" x1=\"36\" x2=\"596\" y1=\"");
    coord(pg, zero);
    put(pg, "\" y2=\"");
    coord(pg, zero);
    put(pg, "\"/>");
    for (size_t j = 0; j < ndates; j++) {
        if (!isfinite(avg[j]))
            continue;
        double h = 170.0 * fabs(avg[j]) / span;
        putf(pg, "<rect class=\"%s\" x=\"", avg[j] < 0 ? "bn" : "bp");
        coord(pg, 36.0 + bw * (double)j);
        put(pg, "\" width=\"");
        coord(pg, bw > 2 ? bw - 1 : bw);
        put(pg, "\" y=\"");
        coord(pg, avg[j] < 0 ? zero : zero - h);
        put(pg, "\" height=\"");
        coord(pg, h);
        put(pg, "\"><title>");
        day(pg, dates[j]);
        put(pg, ": ");
        num(pg, avg[j], 1, 1);
        put(pg, "%</title></rect>");
    }
    put(pg, "<text x=\"32\" y=\"16\" text-anchor=\"end\">");
    num(pg, hi, 0, 1);
    put(pg, "%</text><text x=\"32\" y=\"184\" text-anchor=\"end\">");
    num(pg, lo, 0, 1);
    put(pg, "%</text><text x=\"36\" y=\"202\">");
    day(pg, dates[0]);
    put(pg, "</text><text x=\"596\" y=\"202\" text-anchor=\"end\">");
    day(pg, dates[ndates - 1]);
    put(pg, "</text></svg>");
    free(avg);
    free(dates);

    /* The latest dates, candidate by candidate. */
    size_t first = rd->nsince, shown = 0;
    while (first > 0 && shown < REPORT_HISTORY_TABLE) {
        int32_t date = rd->since[first - 1].date;
        while (first > 0 && rd->since[first - 1].date == date)
            first--;
        shown++;
    }
    putf(pg, "<h3>The last %zu dates</h3>", shown);
    put(pg, "<div class=\"scroll\"><table class=\"sortable\" id=\"history\"><thead><tr>");
    th(pg, "Date", 0, NULL, 0);
    th(pg, "#", 1, NULL, 0);
    th(pg, "Symbol", 0, "s", 0);
    th(pg, "Then", 1, NULL, 0);
    th(pg, "Now", 1, NULL, 0);
    th(pg, "Since %", 1, NULL, 0);
    put(pg, "</tr></thead><tbody>");
    for (size_t i = first; i < rd->nsince; i++) {
        const struct report_since *s = &rd->since[i];
        put(pg, "<tr>");
        td_date(pg, s->date);
        td_num(pg, s->rank, 0, 0, 0);
        td_sym(pg, s->symbol);
        td_num(pg, s->then, 2, 0, 0);
        td_num(pg, s->now, 2, 0, 0);
        td_num(pg, s->since_pct, 1, 1, 1);
        put(pg, "</tr>");
    }
    put(pg, "</tbody></table></div></section>");
}

/* ---- the portfolio ---- */

/* A bar from -100% to the scale's top, the target as a line. */
static void target_bar(struct page *pg, double v, double target, double top)
{
    put(pg, "<td>");
    if (!isfinite(v) || !isfinite(target) || !(top > -100)) {
        put(pg, "&mdash;</td>");
        return;
    }
    double span = top + 100.0;
    double x0 = 120.0 * 100.0 / span; /* where 0 % is */
    double x = 120.0 * (fmin(fmax(v, -100.0), top) + 100.0) / span;
    double xt = 120.0 * (fmin(fmax(target, -100.0), top) + 100.0) / span;
    put(pg, "<svg class=\"bar chart\" viewBox=\"0 0 120 14\" role=\"img\" aria-label=\"return "
            "against the target\"><rect class=\"");
    put(pg, v < 0 ? "bn" : "bp");
    put(pg, "\" y=\"3\" height=\"8\" x=\"");
    coord(pg, fmin(x, x0));
    put(pg, "\" width=\"");
    coord(pg, fabs(x - x0));
    put(pg, "\"/><line class=\"ax\" y1=\"0\" y2=\"14\" x1=\"");
    coord(pg, x0);
    put(pg, "\" x2=\"");
    coord(pg, x0);
    put(pg, "\"/><line class=\"tg\" y1=\"0\" y2=\"14\" x1=\"");
    coord(pg, xt);
    put(pg, "\" x2=\"");
    coord(pg, xt);
    put(pg, "\"/></svg></td>");
}

static void portfolio(struct page *pg, const struct report_data *rd)
{
    const struct report_portfolio *p = rd->portfolio;
    if (!p)
        return;
    put(pg, "<section id=\"s-portfolio\"><h2>Portfolio against its target</h2>");
    put(pg, "<p class=\"note\">Snapshot of ");
    day(pg, p->date);
    put(pg, ". The sell signal: the average return of the best ");
    putf(pg, "%zu positions against the target of ", p->ntop);
    num(pg, p->target_pct, 1, 1);
    put(pg, "%: ");
    num(pg, p->average_pct, 1, 1);
    put(pg, "% ");
    if (p->ntop == 0)
        put(pg, "<span class=\"badge\">no position with a known return</span>");
    else if (p->reached)
        put(pg, "<span class=\"badge ok\" id=\"target-reached\">target reached</span>");
    else
        put(pg, "<span class=\"badge\" id=\"target-not-reached\">below the target</span>");
    put(pg, "</p>");
    double top = isfinite(p->target_pct) ? fmax(p->target_pct * 1.1, 10.0) : 100.0;
    for (size_t i = 0; i < p->n; i++)
        if (isfinite(p->pos[i].return_pct))
            top = fmax(top, p->pos[i].return_pct);
    if (top > 1e6)
        top = 1e6;
    put(pg, "<div class=\"scroll\"><table class=\"sortable\" id=\"portfolio\"><thead><tr>");
    th(pg, "Symbol", 0, "s", 1);
    th(pg, "Qty", 1, NULL, 0);
    th(pg, "Entry", 1, NULL, 0);
    th(pg, "Price", 1, NULL, 0);
    th(pg, "Value", 1, NULL, 0);
    th(pg, "Return %", 1, NULL, 0);
    th(pg, "Drawdown rank", 1, NULL, 0);
    put(pg, "<th scope=\"col\">Against the target</th></tr></thead><tbody>");
    for (size_t i = 0; i < p->n; i++) {
        const struct report_position *q = &p->pos[i];
        put(pg, "<tr>");
        td_sym(pg, q->symbol);
        td_num(pg, q->qty, 2, 0, 0);
        td_num(pg, q->entry, 2, 0, 0);
        td_num(pg, q->price, 2, 0, 0);
        td_num(pg, q->value, 2, 0, 0);
        td_num(pg, q->return_pct, 1, 1, 1);
        td_num(pg, q->rank > 0 ? q->rank : (double)NAN, 0, 0, 0);
        target_bar(pg, q->return_pct, p->target_pct, top);
        put(pg, "</tr>");
    }
    if (p->n == 0)
        put(pg, "<tr><td class=\"s\" colspan=\"8\">No positions.</td></tr>");
    put(pg, "</tbody></table></div></section>");
}

/* ---- the backtest ---- */

#define CHART_POINTS 600

static void polyline(struct page *pg, const struct report_equity *e, int bench, double lo,
                     double span, const char *cls)
{
    size_t step = e->n > CHART_POINTS ? (e->n + CHART_POINTS - 1) / CHART_POINTS : 1;
    double xs = e->n > 1 ? 540.0 / (double)(e->n - 1) : 0;
    putf(pg, "<polyline class=\"%s\" points=\"", cls);
    int first = 1;
    /* Every step-th point and the last one. */
    for (size_t i = 0;; i = i + step < e->n - 1 ? i + step : e->n - 1) {
        double v = bench ? e->v[i].benchmark : e->v[i].equity;
        if (isfinite(v)) {
            put(pg, first ? "" : " ");
            coord(pg, 50.0 + xs * (double)i);
            put(pg, ",");
            coord(pg, 190.0 - 170.0 * (v - lo) / span);
            if (e->n == 1) { /* one date: a level across the chart, not an invisible point */
                put(pg, " 590,");
                coord(pg, 190.0 - 170.0 * (v - lo) / span);
            }
            first = 0;
        }
        if (i == e->n - 1)
            break;
    }
    put(pg, "\"/>");
}

static void backtest(struct page *pg, const struct report_data *rd)
{
    const struct report_equity *e = rd->equity;
    if (!e)
        return;
    put(pg, "<section id=\"s-backtest\"><h2>Backtest: equity against the benchmark</h2>");
    if (e->n == 0) {
        put(pg, "<p class=\"note\">The backtest's equity file has no rows.</p></section>");
        return;
    }
    double lo = HUGE_VAL, hi = -HUGE_VAL, peak = 0, maxdd = 0;
    int have_bench = 0;
    for (size_t i = 0; i < e->n; i++) {
        const struct report_equity_point *p = &e->v[i];
        lo = fmin(lo, p->equity);
        hi = fmax(hi, p->equity);
        if (isfinite(p->benchmark)) {
            have_bench = 1;
            lo = fmin(lo, p->benchmark);
            hi = fmax(hi, p->benchmark);
        }
        peak = fmax(peak, p->equity);
        if (peak > 0)
            maxdd = fmin(maxdd, 100.0 * (p->equity / peak - 1.0));
    }
    const struct report_equity_point *a = &e->v[0], *z = &e->v[e->n - 1];
    put(pg, "<p class=\"note\">From ");
    day(pg, a->date);
    put(pg, " to ");
    day(pg, z->date);
    put(pg, ": equity ");
    num(pg, a->equity, 0, 0);
    put(pg, " &rarr; ");
    num(pg, z->equity, 0, 0);
    put(pg, " (");
    num(pg, a->equity > 0 ? 100.0 * (z->equity / a->equity - 1.0) : (double)NAN, 1, 1);
    put(pg, "%), worst drawdown ");
    num(pg, maxdd, 1, 0);
    put(pg, "%");
    if (have_bench) {
        const struct report_equity_point *b = NULL;
        for (size_t i = 0; i < e->n && !b; i++)
            if (isfinite(e->v[i].benchmark))
                b = &e->v[i];
        put(pg, "; benchmark ");
        num(pg,
            b && b->benchmark > 0 && isfinite(z->benchmark)
                ? 100.0 * (z->benchmark / b->benchmark - 1.0)
                : (double)NAN,
            1, 1);
        put(pg, "%");
    }
    putf(pg, "; %lld positions at the end.</p>", (long long)z->positions);
    double span = hi > lo ? hi - lo : 1.0;
    put(pg, "<p class=\"note\"><span class=\"key l1\"></span>strategy");
    if (have_bench)
        put(pg, "<span class=\"key l2\"></span>benchmark");
    put(pg, "</p><svg class=\"chart\" id=\"equity-chart\" viewBox=\"0 0 600 220\" role=\"img\" "
            "aria-label=\"equity and benchmark over time\">");
    put(pg, "<line class=\"ax\" x1=\"50\" x2=\"590\" y1=\"190\" y2=\"190\"/>");
    polyline(pg, e, 0, lo, span, "l1");
    if (have_bench)
        polyline(pg, e, 1, lo, span, "l2");
    put(pg, "<text x=\"46\" y=\"24\" text-anchor=\"end\">");
    num(pg, hi, 0, 0);
    put(pg, "</text><text x=\"46\" y=\"190\" text-anchor=\"end\">");
    num(pg, lo, 0, 0);
    put(pg, "</text><text x=\"50\" y=\"208\">");
    day(pg, a->date);
    put(pg, "</text><text x=\"590\" y=\"208\" text-anchor=\"end\">");
    day(pg, z->date);
    put(pg, "</text></svg></section>");
}

/* ---- the page ---- */

static void csp_hash(struct page *pg, const char *s)
{
    uint8_t h[SHA256_LEN];
    char b64[(SHA256_LEN + 2) / 3 * 4 + 1];
    crypto_sha256(s, strlen(s), h);
    crypto_base64_encode(h, SHA256_LEN, b64);
    putf(pg, "'sha256-%s'", b64);
}

static void footer(struct page *pg, const struct report_data *rd)
{
    put(pg, "<footer><p>Made by screener from the results in its store. Prices are "
            "split-adjusted; past returns say nothing certain about future ones.</p>");
    if (rd->run) {
        const struct results_run *r = rd->run;
        char when[64];
        fmt_utc(r->finished_ms, when, sizeof when);
        putf(pg,
             "<p id=\"last-run\">Last collection finished %s: %llu symbols, %llu new "
             "bars, %llu requests, %llu errors%s",
             when, (unsigned long long)r->symbols, (unsigned long long)r->bars_new,
             (unsigned long long)r->requests, (unsigned long long)r->errors,
             r->complete ? "" : ", incomplete (the next run completes it)");
        if (r->error[0]) {
            put(pg, ". Error: ");
            if (!pg->err)
                pg->err = html_text(pg->out, r->error, strnlen(r->error, sizeof r->error));
        }
        put(pg, ".</p>");
    }
    put(pg, "</footer>");
}

int report_render(const struct report_data *rd, struct buf *out)
{
    struct page pg = {out, ERR_OK, calloc(rd->ncloses ? rd->ncloses : 1, 1)};
    if (!pg.spark_done)
        return ERR_NOMEM;
    char date[DATE_STRLEN + 1], gen[64];
    date_format(rd->date, date);
    fmt_utc(rd->generated_ms, gen, sizeof gen);
    put(&pg, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
             "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
             "style-src ");
    csp_hash(&pg, style);
    put(&pg, "; script-src ");
    csp_hash(&pg, script);
    put(&pg, "; img-src data:; base-uri 'none'; form-action 'none'\">\n"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
             "<meta name=\"referrer\" content=\"no-referrer\">\n");
    putf(&pg, "<meta name=\"screener-date\" content=\"%s\">\n<title>Screener report %s</title>\n",
         date, date);
    putf(&pg,
         "<style>%s</style></head>\n<body><header><h1>Screener report <span class=\"nb\">&middot; "
         "%s</span></h1>",
         style, date);
    putf(&pg,
         "<p class=\"meta\">%zu stocks ranked by their drawdown from the peak &middot; "
         "generated %s</p>",
         rd->nrows, gen);
    if (rd->provisional && rd->as_of_ms) {
        char asof[64];
        fmt_ny(rd->as_of_ms, asof, sizeof asof);
        putf(&pg,
             "<p class=\"badge\" id=\"provisional\">Provisional: fetched %s, before the "
             "day's bars were final (20:15 New York). The numbers may still change.</p>",
             asof);
    } else if (rd->provisional) { /* a run after the settle time failed to fetch them again */
        put(&pg, "<p class=\"badge\" id=\"provisional\">Provisional: fetched before the day's "
                 "bars were final (20:15 New York), and not fetched again since. The numbers "
                 "may still change.</p>");
    }
    for (size_t i = 0; i < rd->nproblems && i < 4; i++) {
        put(&pg, "<p class=\"badge problem\">Left out: ");
        esc(&pg, rd->problems[i] ? rd->problems[i] : "");
        put(&pg, "</p>");
    }
    put(&pg, "<nav class=\"noprint\"><a href=\"#s-drawdowns\">Drawdowns</a><a "
             "href=\"#s-drops\">Drops</a><a href=\"#s-distribution\">Distribution</a><a "
             "href=\"#s-history\">Past candidates</a>");
    if (rd->portfolio)
        put(&pg, "<a href=\"#s-portfolio\">Portfolio</a>");
    if (rd->equity)
        put(&pg, "<a href=\"#s-backtest\">Backtest</a>");
    put(&pg, "</nav></header>\n<main>");
    drawdown_table(&pg, rd);
    put(&pg, "\n");
    drops_table(&pg, rd);
    put(&pg, "\n");
    histogram(&pg, rd);
    put(&pg, "\n");
    history(&pg, rd);
    put(&pg, "\n");
    portfolio(&pg, rd);
    backtest(&pg, rd);
    put(&pg, "</main>\n");
    footer(&pg, rd);
    putf(&pg, "\n<script>%s</script>\n</body></html>\n", script);
    free(pg.spark_done);
    return pg.err;
}
