#include "screen/screen.h"
#include "base/date.h"
#include "codec/num.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

/* Prices inside the engine are in the symbol's "original share" basis: s = raw millionths
 * times the product G of the factors of every split with ex_date on or before the bar's date.
 * Comparing s values compares split-adjusted prices, whatever splits came in between, and a
 * value is brought back to the basis of date D by dividing by G as of D.  Without splits
 * G = 1 and s is the exact integer number of millionths. */

struct peak_entry { /* the monotone deque of highs: decreasing from front to back */
    int32_t seq;    /* the bar's index among the symbol's bars (one a day at most) */
    int32_t date;
    double high_s;
};

struct sym {
    char symbol[BAR_SYMBOL_MAX + 1];
    int32_t last_date; /* date of the latest bar fed */
    int64_t seq;       /* index of the latest bar among the symbol's bars */
    double g;          /* split factor product as of last_date */
    size_t next_split; /* first split of this symbol not yet applied */
    size_t split_end;
    double close_s, prev_close_s;
    int has_prev;
    int64_t volume;
    /* rings, capacity = window days */
    /* every bar in the window, for the count: its date, and its volume for the average (only
     * with a minimum volume; NULL otherwise) */
    int32_t *win_date;
    double *win_volume;
    size_t win_head, win_len;
    double win_volume_s;
    struct peak_entry *dq;
    size_t dq_head, dq_len;
};

struct screen {
    struct screen_opts o;
    struct split *splits;
    size_t nsplits;
    struct sym *syms;
    size_t nsyms, syms_cap;
    uint32_t *table; /* open addressing: index + 1, 0 = empty */
    size_t table_cap;
    int32_t day;
    int have_day;
    uint32_t *today; /* symbols with a bar on the current day */
    size_t ntoday, today_cap;
    /* The day before's list: most symbols trade every day, so a merge walk along it finds
     * them without hashing. */
    uint32_t *prev;
    size_t nprev, prev_cap;
    struct bar_symkey *today_keys, *prev_keys; /* the symbols of today and prev, as keys */
    struct screen_row *rows;
    size_t rows_cap;
};

void screen_opts_default(struct screen_opts *o)
{
    memset(o, 0, sizeof *o);
    o->window_days = SCREEN_WINDOW_DEFAULT;
    o->min_bars = SCREEN_MIN_BARS_DEFAULT;
    o->by = SCREEN_BY_DRAWDOWN;
    o->top = SCREEN_TOP_DEFAULT;
}

int screen_new(const struct screen_opts *opts, const struct split *splits, size_t nsplits,
               struct screen **out, struct diag *d)
{
    if (opts->window_days < 1 || opts->window_days > SCREEN_WINDOW_MAX)
        return diag_set(d, ERR_INVALID, "window must be 1 to %d days, got %d", SCREEN_WINDOW_MAX,
                        opts->window_days);
    if (opts->min_bars < 1 || opts->min_bars > opts->window_days)
        return diag_set(d, ERR_INVALID, "minimum bars must be 1 to the window (%d), got %d",
                        opts->window_days, opts->min_bars);
    struct screen *s = calloc(1, sizeof *s);
    if (!s)
        return diag_set(d, ERR_NOMEM, "out of memory");
    s->o = *opts;
    if (nsplits) {
        s->splits = malloc(nsplits * sizeof *s->splits);
        if (!s->splits) {
            free(s);
            return diag_set(d, ERR_NOMEM, "out of memory");
        }
        memcpy(s->splits, splits, nsplits * sizeof *splits);
        s->nsplits = nsplits;
    }
    *out = s;
    return ERR_OK;
}

void screen_free(struct screen *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nsyms; i++) {
        free(s->syms[i].win_date);
        free(s->syms[i].win_volume);
        free(s->syms[i].dq);
    }
    free(s->syms);
    free(s->table);
    free(s->today);
    free(s->prev);
    free(s->today_keys);
    free(s->prev_keys);
    free(s->rows);
    free(s->splits);
    free(s);
}

size_t screen_symbols(const struct screen *s)
{
    return s->nsyms;
}

static uint32_t hash_symbol(const char *p)
{
    uint32_t h = 2166136261u;
    while (*p)
        h = (h ^ (unsigned char)*p++) * 16777619u;
    return h;
}

static int table_grow(struct screen *s)
{
    size_t cap = s->table_cap ? s->table_cap * 2 : 2048;
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t)
        return ERR_NOMEM;
    for (size_t i = 0; i < s->nsyms; i++) {
        size_t h = hash_symbol(s->syms[i].symbol) & (cap - 1);
        while (t[h])
            h = (h + 1) & (cap - 1);
        t[h] = (uint32_t)i + 1;
    }
    free(s->table);
    s->table = t;
    s->table_cap = cap;
    return ERR_OK;
}

/* Locate the splits of a new symbol in the sorted log. */
static void find_splits(const struct screen *s, struct sym *y)
{
    size_t lo = 0, hi = s->nsplits;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->splits[mid].symbol, y->symbol) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    y->next_split = lo;
    while (hi < s->nsplits && strcmp(s->splits[hi].symbol, y->symbol) == 0)
        hi++;
    y->split_end = hi < lo ? lo : hi;
}

static int lookup(struct screen *s, const char *symbol, uint32_t *out)
{
    if ((s->nsyms + 1) * 2 > s->table_cap && table_grow(s))
        return ERR_NOMEM;
    size_t h = hash_symbol(symbol) & (s->table_cap - 1);
    while (s->table[h]) {
        uint32_t i = s->table[h] - 1;
        if (strcmp(s->syms[i].symbol, symbol) == 0) {
            *out = i;
            return ERR_OK;
        }
        h = (h + 1) & (s->table_cap - 1);
    }
    if (s->nsyms == s->syms_cap) {
        size_t cap = s->syms_cap ? s->syms_cap * 2 : 1024;
        struct sym *v = realloc(s->syms, cap * sizeof *v);
        if (!v)
            return ERR_NOMEM;
        s->syms = v;
        s->syms_cap = cap;
    }
    struct sym *y = &s->syms[s->nsyms];
    memset(y, 0, sizeof *y);
    memcpy(y->symbol, symbol, strlen(symbol) + 1);
    y->g = 1.0;
    y->seq = -1;
    y->win_date = malloc((size_t)s->o.window_days * sizeof *y->win_date);
    y->win_volume =
        s->o.min_volume ? malloc((size_t)s->o.window_days * sizeof *y->win_volume) : NULL;
    y->dq = malloc((size_t)s->o.window_days * sizeof *y->dq);
    if (!y->win_date || !y->dq || (s->o.min_volume && !y->win_volume)) {
        free(y->win_date);
        free(y->win_volume);
        free(y->dq);
        return ERR_NOMEM;
    }
    find_splits(s, y);
    s->table[h] = (uint32_t)s->nsyms + 1;
    *out = (uint32_t)s->nsyms++;
    return ERR_OK;
}

static uint32_t *find_slot(struct screen *s, const char *symbol)
{
    if (!s->table_cap)
        return NULL;
    size_t h = hash_symbol(symbol) & (s->table_cap - 1);
    while (s->table[h]) {
        if (strcmp(s->syms[s->table[h] - 1].symbol, symbol) == 0)
            return &s->table[h];
        h = (h + 1) & (s->table_cap - 1);
    }
    return NULL;
}

int screen_rename(struct screen *s, const char *old_symbol, const char *new_symbol, struct diag *d)
{
    size_t nl = strlen(new_symbol);
    if (!bar_symbol_valid(new_symbol, nl))
        return diag_set(d, ERR_INVALID, "screen: not a ticker: '%.20s'", new_symbol);
    uint32_t *slot = find_slot(s, old_symbol);
    if (!slot || find_slot(s, new_symbol))
        return ERR_OK;
    struct sym *y = &s->syms[*slot - 1];
    /* The old symbol's splits up to the change are part of the history carried over. */
    while (y->next_split < y->split_end)
        y->g *= split_factor(&s->splits[y->next_split++]);
    memcpy(y->symbol, new_symbol, nl + 1);
    find_splits(s, y);
    while (y->next_split < y->split_end && s->splits[y->next_split].ex_date <= y->last_date)
        y->next_split++;
    /* Rehash: the open-addressing table has no tombstones, so it is rebuilt. */
    size_t cap = s->table_cap;
    s->table_cap /= 2;
    if (table_grow(s)) {
        s->table_cap = cap;
        return diag_set(d, ERR_NOMEM, "out of memory");
    }
    /* The day before's list is sorted by symbol for the merge walk: it is not any more. */
    s->nprev = 0;
    return ERR_OK;
}

/* i + k in a ring of cap entries, for i < cap and k <= cap (no division: this runs for every
 * bar). */
static size_t ring_at(size_t i, size_t k, size_t cap)
{
    size_t at = i + k;
    return at >= cap ? at - cap : at;
}

static void add_bar(struct screen *s, struct sym *y, const struct bar *b)
{
    const size_t cap = (size_t)s->o.window_days;
    const int32_t start = b->date - (s->o.window_days - 1);

    while (y->next_split < y->split_end && s->splits[y->next_split].ex_date <= b->date)
        y->g *= split_factor(&s->splits[y->next_split++]);

    y->seq++;
    y->last_date = b->date;
    y->prev_close_s = y->close_s;
    y->has_prev = y->seq > 0;
    y->close_s = (double)b->close * y->g;
    y->volume = b->volume;

    /* Window of all bars: expire, then append. */
    while (y->win_len && y->win_date[y->win_head] < start) {
        if (y->win_volume)
            y->win_volume_s -= y->win_volume[y->win_head];
        y->win_head = ring_at(y->win_head, 1, cap);
        y->win_len--;
    }
    if (y->win_len == 0)
        y->win_volume_s = 0; /* no drift from a long run of additions and subtractions */
    size_t tail = ring_at(y->win_head, y->win_len, cap);
    y->win_date[tail] = b->date;
    if (y->win_volume) {
        double volume_s = (double)b->volume / y->g;
        y->win_volume[tail] = volume_s;
        y->win_volume_s += volume_s;
    }
    y->win_len++;

    /* Monotone deque of highs: expire the front, drop lower-or-equal highs from the back so
     * that the front is the highest high and the latest one among equals. */
    while (y->dq_len && y->dq[y->dq_head].date < start) {
        y->dq_head = ring_at(y->dq_head, 1, cap);
        y->dq_len--;
    }
    double high_s = (double)b->high * y->g;
    while (y->dq_len && y->dq[ring_at(y->dq_head, y->dq_len - 1, cap)].high_s <= high_s)
        y->dq_len--;
    y->dq[ring_at(y->dq_head, y->dq_len, cap)] =
        (struct peak_entry){(int32_t)y->seq, b->date, high_s};
    y->dq_len++;
}

int screen_add_day(struct screen *s, int32_t date, const struct bar *bars, size_t n, struct diag *d)
{
    if (s->have_day && date <= s->day) {
        char a[DATE_STRLEN + 1], b[DATE_STRLEN + 1];
        date_format(date, a);
        date_format(s->day, b);
        return diag_set(d, ERR_INVALID, "screen: day %s fed after %s", a, b);
    }
    /* Yesterday's list becomes prev; today's is rebuilt in prev's old array. */
    uint32_t *t = s->prev;
    struct bar_symkey *tk = s->prev_keys;
    size_t tcap = s->prev_cap;
    s->prev = s->today;
    s->prev_keys = s->today_keys;
    s->prev_cap = s->today_cap;
    s->nprev = s->ntoday;
    s->today = t;
    s->today_keys = tk;
    s->today_cap = tcap;
    s->ntoday = 0;
    if (n > s->today_cap) {
        t = realloc(s->today, n * sizeof *t);
        if (t)
            s->today = t;
        tk = t ? realloc(s->today_keys, n * sizeof *tk) : NULL;
        if (!tk)
            return diag_set(d, ERR_NOMEM, "out of memory");
        s->today_keys = tk;
        s->today_cap = n;
    }
    s->day = date;
    s->have_day = 1;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        const struct bar *b = &bars[i];
        struct bar_symkey k = bar_symkey_of(b->symbol);
        if (b->date != date || (i && bar_symkey_cmp(s->today_keys[i - 1], k) >= 0))
            return diag_set(d, ERR_INVALID,
                            "screen: bars of a day must share its date and be "
                            "sorted by symbol without repeats ('%s')",
                            b->symbol);
        int c = -1;
        while (j < s->nprev && (c = bar_symkey_cmp(s->prev_keys[j], k)) < 0)
            j++;
        uint32_t id;
        if (j < s->nprev && c == 0)
            id = s->prev[j++];
        else if (lookup(s, b->symbol, &id))
            return diag_set(d, ERR_NOMEM, "out of memory");
        s->today_keys[s->ntoday] = k;
        s->today[s->ntoday++] = id;
    }
    /* Each symbol's window lives in its own arrays, a few cache lines apart from the others:
     * ask for the lines a few bars ahead so that the memory works while we compute. */
    const size_t cap = (size_t)s->o.window_days, ahead = 8;
    for (size_t i = 0; i < n; i++) {
        /* The symbol's own state first (its fields say where the window lines are), twice as
         * far ahead. */
        if (i + 2 * ahead < n) {
            const char *z = (const char *)&s->syms[s->today[i + 2 * ahead]];
            __builtin_prefetch(z + offsetof(struct sym, last_date));
            __builtin_prefetch(z + offsetof(struct sym, dq_len));
        }
        if (i + ahead < n) {
            const struct sym *z = &s->syms[s->today[i + ahead]];
            __builtin_prefetch(&z->win_date[z->win_head]);
            __builtin_prefetch(&z->win_date[ring_at(z->win_head, z->win_len, cap)], 1);
            __builtin_prefetch(&z->dq[z->dq_head]);
            __builtin_prefetch(&z->dq[ring_at(z->dq_head, z->dq_len ? z->dq_len - 1 : 0, cap)], 1);
        }
        add_bar(s, &s->syms[s->today[i]], &bars[i]);
    }
    return ERR_OK;
}

/* A total order: ascending by the metric, a NaN after every number (it cannot be ranked, and
 * `<` with a NaN is false both ways, which would break sorting for everyone), then by symbol. */
static int row_before(const struct screen_row *a, const struct screen_row *b, enum screen_metric by)
{
    double x = by == SCREEN_BY_CHANGE ? a->change_pct : a->drawdown_pct;
    double y = by == SCREEN_BY_CHANGE ? b->change_pct : b->drawdown_pct;
    int xn = isnan(x), yn = isnan(y);
    if (xn != yn)
        return yn;
    if (!xn && x != y)
        return x < y;
    return strcmp(a->symbol, b->symbol) < 0;
}

/* The order qsort gives (one per thread: screens run on several at once). */
static _Thread_local enum screen_metric qsort_by;

static int row_cmp(const void *pa, const void *pb)
{
    const struct screen_row *a = pa, *b = pb;
    if (row_before(a, b, qsort_by))
        return -1;
    if (row_before(b, a, qsort_by))
        return 1;
    return 0;
}

static void fill_row(const struct screen *s, const struct sym *y, struct screen_row *r)
{
    const struct peak_entry *p = &y->dq[y->dq_head];
    r->date = s->day;
    r->rank = 0;
    memcpy(r->symbol, y->symbol, sizeof r->symbol);
    r->close = y->close_s / y->g / (double)NUM_FIXED_SCALE;
    r->peak = p->high_s / y->g / (double)NUM_FIXED_SCALE;
    r->peak_date = p->date;
    r->drawdown_pct = 100.0 * (y->close_s - p->high_s) / p->high_s;
    r->days_since_peak = (int)(y->seq - p->seq);
    r->change_pct = y->has_prev ? 100.0 * (y->close_s / y->prev_close_s - 1.0) : (double)NAN;
    r->volume = y->volume;
}

int screen_rank(struct screen *s, const struct screen_row **rows, size_t *n)
{
    size_t want = s->o.top ? s->o.top : s->ntoday;
    if (want > s->ntoday)
        want = s->ntoday;
    if (want > s->rows_cap || s->rows_cap == 0) {
        size_t cap = want + 1;
        struct screen_row *r = realloc(s->rows, cap * sizeof *r);
        if (!r)
            return ERR_NOMEM;
        s->rows = r;
        s->rows_cap = cap;
    }
    size_t count = 0;
    for (size_t i = 0; i < s->ntoday; i++) {
        const struct sym *y = &s->syms[s->today[i]];
        if (y->win_len < (size_t)s->o.min_bars)
            continue;
        if (s->o.min_price && (double)y->close_s / y->g < (double)s->o.min_price)
            continue;
        if (s->o.min_volume &&
            y->win_volume_s * y->g / (double)y->win_len < (double)s->o.min_volume)
            continue;
        if (s->o.by == SCREEN_BY_CHANGE && !y->has_prev)
            continue;
        if (s->o.top && count == want) {
            /* Most symbols do not make the top: compare the metric alone (computed as
             * fill_row does) with the last kept row's before filling a row. */
            const struct peak_entry *p = &y->dq[y->dq_head];
            double x = s->o.by == SCREEN_BY_CHANGE ? 100.0 * (y->close_s / y->prev_close_s - 1.0)
                                                   : 100.0 * (y->close_s - p->high_s) / p->high_s;
            const struct screen_row *last = &s->rows[count - 1];
            double w = s->o.by == SCREEN_BY_CHANGE ? last->change_pct : last->drawdown_pct;
            if (!isnan(w) && (isnan(x) || x > w))
                continue; /* row_before would say no */
        }
        struct screen_row r;
        fill_row(s, y, &r);
        if (!s->o.top) {
            s->rows[count++] = r;
            continue;
        }
        /* Keep the best `want` rows, in order, by insertion. */
        if (count == want && !row_before(&r, &s->rows[count - 1], s->o.by))
            continue;
        size_t k = count < want ? count++ : count - 1;
        while (k > 0 && row_before(&r, &s->rows[k - 1], s->o.by)) {
            s->rows[k] = s->rows[k - 1];
            k--;
        }
        s->rows[k] = r;
    }
    if (!s->o.top && count > 1) {
        qsort_by = s->o.by;
        qsort(s->rows, count, sizeof *s->rows, row_cmp);
    }
    for (size_t i = 0; i < count; i++)
        s->rows[i].rank = (int)i + 1;
    *rows = s->rows;
    *n = count;
    return ERR_OK;
}
