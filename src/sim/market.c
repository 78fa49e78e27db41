#include "sim/market.h"

#include "base/calendar.h"
#include "base/date.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

/* Where the price walk is pulled back (dollars a share, raw), and how hard (per day and unit
 * of log-distance): a stock that doubles past it loses about 1.4 % a day to the pull. */
#define PRICE_SOFT_MAX 20000.0
#define PRICE_PULL     0.02

struct stock {
    char symbol[BAR_SYMBOL_MAX + 1];
    uint64_t rng;
    double price; /* in the original share basis */
    double drift, vol, vol_now;
    double base_volume;
    int slide_left;
    int32_t crash_day; /* a trading-day index, or -1 */
    double crash_size;
    double g; /* split factor so far: raw = price / g */
    size_t next_split, split_end;
};

struct market {
    struct market_opts o;
    struct stock *stocks;
    struct split *splits;
    size_t nsplits;
    int32_t day;   /* the last day produced */
    int32_t ndays; /* trading days in the range */
    int32_t t;     /* trading-day index of the next day */
};

void market_opts_default(struct market_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 42;
    o->nsymbols = 520;
    o->last_day = date_today_utc() - 1;
    o->first_day = o->last_day - 3 * 365;
    o->split_every = 97;
    o->crash_every = 37;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s)
{
    return (double)(splitmix(s) >> 11) * (1.0 / 9007199254740992.0);
}

static double normal(uint64_t *s)
{
    double u = uniform(s), v = uniform(s);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* ---- symbols ---- */

static void make_symbol(size_t i, uint64_t seed, char *out)
{
    static const char cons[] = "BCDFGHJKLMNPRSTVWXZ";
    static const char vow[] = "AEIOUY";
    uint64_t s = seed ^ (0x51ed2701ULL * (i + 1));
    splitmix(&s);
    /* Unique by construction: the index in base 19/6 letters, padded to 3 or 4 letters. */
    size_t n = i;
    char buf[8];
    size_t len = 0;
    buf[len++] = cons[n % 19];
    n /= 19;
    buf[len++] = vow[n % 6];
    n /= 6;
    buf[len++] = cons[n % 19];
    n /= 19;
    if (n || splitmix(&s) % 3 == 0)
        buf[len++] = (char)('A' + n % 26);
    memcpy(out, buf, len);
    out[len] = '\0';
}

static int symbol_cmp(const void *a, const void *b)
{
    return strcmp(((const struct stock *)a)->symbol, ((const struct stock *)b)->symbol);
}

int market_new(const struct market_opts *o, struct market **out, struct diag *d)
{
    if (o->nsymbols == 0 || o->nsymbols > 19 * 6 * 19 * 26)
        return diag_set(d, ERR_INVALID, "market: 1 to %d symbols, got %zu", 19 * 6 * 19 * 26,
                        o->nsymbols);
    if (o->last_day < o->first_day)
        return diag_set(d, ERR_INVALID, "market: the last day is before the first");
    struct market *m = calloc(1, sizeof *m);
    if (!m)
        return diag_set(d, ERR_NOMEM, "out of memory");
    m->o = *o;
    m->stocks = calloc(o->nsymbols, sizeof *m->stocks);
    m->splits = calloc(o->nsymbols, sizeof *m->splits);
    if (!m->stocks || !m->splits) {
        market_free(m);
        return diag_set(d, ERR_NOMEM, "out of memory");
    }
    for (int32_t day = o->first_day; day <= o->last_day; day++)
        m->ndays += cal_is_trading_day(day);
    for (size_t i = 0; i < o->nsymbols; i++) {
        struct stock *s = &m->stocks[i];
        make_symbol(i, o->seed, s->symbol);
        s->rng = o->seed * 0x9e3779b97f4a7c15ULL + i * 0xd1b54a32d192ed03ULL + 1;
        s->price = exp(log(8.0) + uniform(&s->rng) * (log(600.0) - log(8.0)));
        s->drift = (0.06 + 0.12 * normal(&s->rng)) / 252.0;
        s->vol = 0.008 + 0.016 * uniform(&s->rng);
        s->vol_now = s->vol;
        s->base_volume = exp(log(3e5) + uniform(&s->rng) * (log(6e7) - log(3e5)));
        s->crash_day = -1;
        s->g = 1.0;
        if (o->crash_every && i % o->crash_every == 7 && m->ndays > 130) {
            s->crash_day = m->ndays - 1 - (int32_t)(splitmix(&s->rng) % 120);
            s->crash_size = 0.18 + 0.4 * uniform(&s->rng);
        }
    }
    /* Splits: symbol 0 always (2-for-1, 60 trading days before the end); others at random. */
    for (size_t i = 0; i < o->nsymbols; i++) {
        struct stock *s = &m->stocks[i];
        int32_t at;
        int64_t new_rate, old_rate;
        if (i == 0) {
            at = m->ndays > 61 ? m->ndays - 61 : m->ndays / 2;
            new_rate = 2;
            old_rate = 1;
        } else if (o->split_every && i % o->split_every == 0) {
            at = (int32_t)(splitmix(&s->rng) % (uint64_t)(m->ndays > 1 ? m->ndays : 1));
            static const int64_t ratios[][2] = {{2, 1}, {3, 1}, {3, 2}, {1, 4}, {4, 1}};
            size_t r = splitmix(&s->rng) % 5;
            new_rate = ratios[r][0];
            old_rate = ratios[r][1];
        } else {
            continue;
        }
        if (at < 1)
            continue;
        /* at is a trading-day index: find its date. */
        int32_t t = 0, day = o->first_day;
        for (; day <= o->last_day; day++)
            if (cal_is_trading_day(day) && t++ == at)
                break;
        struct split *sp = &m->splits[m->nsplits++];
        memcpy(sp->symbol, s->symbol, sizeof sp->symbol);
        sp->ex_date = day;
        sp->new_rate = new_rate * 1000000;
        sp->old_rate = old_rate * 1000000;
    }
    qsort(m->stocks, o->nsymbols, sizeof *m->stocks, symbol_cmp);
    qsort(m->splits, m->nsplits, sizeof *m->splits, split_cmp);
    for (size_t i = 0, k = 0; i < o->nsymbols; i++) {
        struct stock *s = &m->stocks[i];
        while (k < m->nsplits && strcmp(m->splits[k].symbol, s->symbol) < 0)
            k++;
        s->next_split = k;
        while (k < m->nsplits && strcmp(m->splits[k].symbol, s->symbol) == 0)
            k++;
        s->split_end = k;
    }
    m->day = o->first_day - 1;
    *out = m;
    return ERR_OK;
}

void market_free(struct market *m)
{
    if (!m)
        return;
    free(m->stocks);
    free(m->splits);
    free(m);
}

size_t market_nsymbols(const struct market *m)
{
    return m->o.nsymbols;
}

const char *market_symbol(const struct market *m, size_t i)
{
    return m->stocks[i].symbol;
}

const struct split *market_splits(const struct market *m, size_t *n)
{
    *n = m->nsplits;
    return m->splits;
}

/* Round a raw price to the tick: cents from $1, hundredths of a cent below. */
static int64_t tick(double dollars)
{
    double step = dollars >= 1.0 ? 0.01 : 0.0001;
    double v = floor(dollars / step + 0.5) * step;
    if (v < 0.0001)
        v = 0.0001;
    return (int64_t)floor(v * 1e6 + 0.5);
}

static void step(struct market *m, struct stock *s, int32_t day, struct bar *b)
{
    while (s->next_split < s->split_end && m->splits[s->next_split].ex_date <= day)
        s->g *= split_factor(&m->splits[s->next_split++]);

    double z = normal(&s->rng);
    /* Volatility clusters: mean-reverting, pushed up by big moves. */
    s->vol_now = 0.94 * s->vol_now + 0.06 * s->vol * fabs(z) * 1.2533;
    double r = s->drift + s->vol_now * z;
    if (s->slide_left > 0) {
        r -= 0.006;
        s->slide_left--;
    } else if (uniform(&s->rng) < 1.0 / 1800) {
        s->slide_left = 20 + (int)(splitmix(&s->rng) % 40);
    }
    if (uniform(&s->rng) < 1.0 / 2500)
        r -= 0.08 + 0.15 * uniform(&s->rng); /* a bad earnings day */
    /* Decades of drift would compound into prices no share trades at (and past what the
     * simulator can serve): above PRICE_SOFT_MAX dollars a share (raw), the walk is pulled
     * back, harder the further it is. */
    double raw = s->price / s->g;
    if (raw > PRICE_SOFT_MAX)
        r -= PRICE_PULL * log(raw / PRICE_SOFT_MAX);
    if (m->t == s->crash_day) {
        r = log(1.0 - s->crash_size);
        s->vol_now = s->vol * 3;
    }
    double open = s->price * exp(0.3 * s->vol_now * normal(&s->rng));
    double close = s->price * exp(r);
    if (close < 0.05)
        close = 0.05;
    double hi = fmax(open, close) * (1.0 + fabs(normal(&s->rng)) * s->vol_now * 0.6);
    double lo = fmin(open, close) * (1.0 - fmin(0.5, fabs(normal(&s->rng)) * s->vol_now * 0.6));
    double volume = s->base_volume * exp(0.35 * normal(&s->rng)) * (1.0 + 8.0 * fabs(r));
    s->price = close;

    memcpy(b->symbol, s->symbol, sizeof b->symbol);
    b->date = day;
    b->open = tick(open / s->g);
    b->close = tick(close / s->g);
    b->high = tick(hi / s->g);
    b->low = tick(lo / s->g);
    if (b->high < b->open)
        b->high = b->open;
    if (b->high < b->close)
        b->high = b->close;
    if (b->low > b->open)
        b->low = b->open;
    if (b->low > b->close)
        b->low = b->close;
    b->volume = (int64_t)(volume * s->g);
    /* The bound of market.h, whatever the walk did. */
    int64_t *p[4] = {&b->open, &b->high, &b->low, &b->close};
    for (int i = 0; i < 4; i++)
        if (*p[i] > MARKET_PRICE_MAX)
            *p[i] = MARKET_PRICE_MAX;
    b->vwap = (b->high + b->low + b->close) / 3;
    b->trades = b->volume / 150 + 1;
}

int market_next_day(struct market *m, int32_t *date, struct barvec *out)
{
    int32_t day = m->day + 1;
    while (day <= m->o.last_day && !cal_is_trading_day(day))
        day++;
    if (day > m->o.last_day)
        return ERR_EOF;
    int err = barvec_reserve(out, m->o.nsymbols);
    if (err)
        return err;
    out->n = 0;
    for (size_t i = 0; i < m->o.nsymbols; i++)
        step(m, &m->stocks[i], day, &out->v[out->n++]);
    m->day = day;
    m->t++;
    *date = day;
    return ERR_OK;
}
