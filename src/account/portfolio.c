/* portfolio.c - positions against the screen, snapshots, the sell signal. */
#include "account/portfolio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/calendar.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/csv.h"
#include "codec/json.h"
#include "codec/num.h"

#include "base/banned.h"

/* Conditional writes tried before giving up when other writers keep changing the object. */
#define WRITE_ATTEMPTS 8
/* New York minute of the open: from then on a snapshot is of today. */
#define OPEN_MINUTE (9 * 60 + 30)

void portfolio_release(struct portfolio *p)
{
    free(p->rows);
    memset(p, 0, sizeof *p);
}

int32_t portfolio_snapshot_date(int64_t now_ms)
{
    int minute;
    int32_t today = cal_ny_date(now_ms, &minute);
    if (cal_is_trading_day(today) && minute >= OPEN_MINUTE)
        return today;
    return cal_trading_day_at_or_before(today - (cal_is_trading_day(today) ? 1 : 0));
}

void portfolio_snapshot_key(int32_t date, char *key)
{
    char day[DATE_STRLEN + 1];
    date_format(date, day);
    snprintf(key, OBJ_KEY_MAX, PORTFOLIO_SNAPSHOT_PREFIX "%.4s/%s.csv", day, day);
}

int portfolio_from_positions(const struct trading_positions *pos,
                             const struct results_screen *screen, int32_t date,
                             struct portfolio *out, struct diag *d)
{
    memset(out, 0, sizeof *out);
    out->date = date;
    if (screen) {
        out->screen_date = screen->date;
        out->screen_n = screen->n;
    }
    out->rows = calloc(pos->n ? pos->n : 1, sizeof *out->rows);
    if (!out->rows)
        return diag_set(d, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < pos->n; i++) {
        const struct trading_position *p = &pos->v[i];
        struct portfolio_row *r = &out->rows[out->n++];
        memcpy(r->symbol, p->symbol, sizeof r->symbol);
        r->qty = p->qty == TRADING_NONE ? TRADING_NONE : p->side * p->qty;
        r->avg_entry_price = p->avg_entry_price;
        r->current_price = p->current_price;
        r->market_value = p->market_value;
        r->unrealized_pl = p->unrealized_pl;
        r->return_pct = p->return_pct;
        r->drawdown_pct = (double)NAN;
        for (size_t k = 0; screen && k < screen->n; k++)
            if (strcmp(screen->rows[k].symbol, p->symbol) == 0) {
                r->rank = screen->rows[k].rank;
                r->drawdown_pct = screen->rows[k].drawdown_pct;
                break;
            }
    }
    /* The positions come sorted by symbol; keep that promise whatever the caller passed. */
    for (size_t i = 1; i < out->n; i++)
        if (strcmp(out->rows[i - 1].symbol, out->rows[i].symbol) >= 0) {
            portfolio_release(out);
            return diag_set(d, ERR_INVALID, "positions are not sorted by symbol");
        }
    return ERR_OK;
}

/* ---- the snapshot CSV ---- */

static int put_money(struct buf *out, int64_t v)
{
    if (v == TRADING_NONE)
        return buf_putc(out, ',');
    char num[NUM_FIXED_STRMAX];
    num_format_fixed(v, num);
    return buf_printf(out, ",%s", num);
}

int portfolio_snapshot_csv(const struct portfolio *p, struct buf *out)
{
    char day[DATE_STRLEN + 1];
    date_format(p->date, day);
    int ranked = p->screen_date == p->date;
    int err = buf_puts(out, PORTFOLIO_CSV_HEADER);
    for (size_t i = 0; i < p->n && !err; i++) {
        const struct portfolio_row *r = &p->rows[i];
        err = buf_printf(out, "%s,%s", day, r->symbol);
        err = err ? err : put_money(out, r->qty);
        err = err ? err : put_money(out, r->avg_entry_price);
        err = err ? err : put_money(out, r->current_price);
        err = err ? err : put_money(out, r->market_value);
        err = err ? err : put_money(out, r->unrealized_pl);
        if (!err && isfinite(r->return_pct))
            /* + 0.0 turns a -0.0 into 0.0: the same return is the same bytes. */
            err = buf_printf(out, ",%.4f", r->return_pct + 0.0);
        else if (!err)
            err = buf_putc(out, ',');
        if (!err && ranked && r->rank > 0)
            err = buf_printf(out, ",%d\n", r->rank);
        else if (!err)
            err = buf_puts(out, ",\n");
    }
    return err;
}

static int field_money(const struct csv_field *f, int64_t *out)
{
    if (f->len == 0) {
        *out = TRADING_NONE;
        return ERR_OK;
    }
    return trading_decimal(f->ptr, f->len, out);
}

int portfolio_parse_snapshot(const char *name, const char *data, size_t len, struct portfolio *out,
                             struct diag *d)
{
    static const char *const cols[] = {
        "date",          "symbol",       "qty",           "avg_entry_price",
        "current_price", "market_value", "unrealized_pl", "unrealized_return_pct",
        "drawdown_rank"};
    enum { NCOLS = sizeof cols / sizeof cols[0] };
    memset(out, 0, sizeof *out);
    char *text = malloc(len + 1);
    if (!text)
        return diag_set(d, ERR_NOMEM, "%s: out of memory", name);
    memcpy(text, data, len);
    text[len] = '\0';
    struct csv_reader rd;
    csv_reader_init(&rd, text, len);
    struct csv_field f[NCOLS + 1];
    size_t nf, cap = 0;
    struct diag cd;
    int err = csv_next(&rd, f, NCOLS + 1, &nf, &cd);
    if (err == ERR_EOF) {
        err = diag_set(d, ERR_PARSE, "%s: empty, expected a header row", name);
        goto out;
    }
    if (err) {
        err = diag_set(d, ERR_PARSE, "%s: %s", name, cd.text);
        goto out;
    }
    int header_ok = nf == NCOLS;
    for (size_t i = 0; header_ok && i < NCOLS; i++)
        header_ok = f[i].len == strlen(cols[i]) && memcmp(f[i].ptr, cols[i], f[i].len) == 0;
    if (!header_ok) {
        err = diag_set(d, ERR_PARSE, "%s:1: expected the header %.*s", name,
                       (int)strlen(PORTFOLIO_CSV_HEADER) - 1, PORTFOLIO_CSV_HEADER);
        goto out;
    }
    while ((err = csv_next(&rd, f, NCOLS + 1, &nf, &cd)) == ERR_OK) {
        size_t line = rd.line;
        if (nf != NCOLS) {
            err = diag_set(d, ERR_PARSE, "%s:%zu: %zu fields, expected %d", name, line, nf,
                           (int)NCOLS);
            goto out;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            struct portfolio_row *v = realloc(out->rows, cap * sizeof *v);
            if (!v) {
                err = diag_set(d, ERR_NOMEM, "%s: out of memory", name);
                goto out;
            }
            out->rows = v;
        }
        struct portfolio_row *r = &out->rows[out->n];
        memset(r, 0, sizeof *r);
        int32_t date;
        const char *bad = NULL;
        if (date_parse(f[0].ptr, f[0].len, &date) || (out->n && date != out->date))
            bad = out->n ? "date (one date per file)" : "date";
        else if (!bar_symbol_valid(f[1].ptr, f[1].len))
            bad = "symbol";
        else if (field_money(&f[2], &r->qty))
            bad = "qty";
        else if (field_money(&f[3], &r->avg_entry_price))
            bad = "avg_entry_price";
        else if (field_money(&f[4], &r->current_price))
            bad = "current_price";
        else if (field_money(&f[5], &r->market_value))
            bad = "market_value";
        else if (field_money(&f[6], &r->unrealized_pl))
            bad = "unrealized_pl";
        if (!bad) {
            memcpy(r->symbol, f[1].ptr, f[1].len);
            r->symbol[f[1].len] = '\0';
            r->return_pct = (double)NAN;
            r->drawdown_pct = (double)NAN;
            int64_t v;
            if (f[7].len && trading_decimal(f[7].ptr, f[7].len, &v))
                bad = "unrealized_return_pct";
            else if (f[7].len)
                r->return_pct = (double)v / 1e6;
            if (!bad && f[8].len && (num_parse_int(f[8].ptr, f[8].len, &v) || v < 1 || v > 1000000))
                bad = "drawdown_rank";
            else if (!bad && f[8].len)
                r->rank = (int)v;
            if (!bad && out->n && strcmp(out->rows[out->n - 1].symbol, r->symbol) >= 0)
                bad = "symbol (rows sorted by symbol, one per symbol)";
        }
        if (bad) {
            char q[40];
            size_t col = 0;
            while (col < NCOLS && strncmp(cols[col], bad, strlen(cols[col])) != 0)
                col++;
            diag_quote(q, sizeof q, col < NCOLS ? f[col].ptr : "", col < NCOLS ? f[col].len : 0,
                       24);
            err = diag_set(d, ERR_PARSE, "%s:%zu: bad %s: '%s'", name, line, bad, q);
            goto out;
        }
        out->date = date;
        if (r->rank)
            out->screen_date = date;
        out->n++;
    }
    if (err == ERR_EOF)
        err = ERR_OK;
    else
        err = diag_set(d, ERR_PARSE, "%s: %s", name, cd.text);
out:
    free(text);
    if (err)
        portfolio_release(out);
    return err;
}

const char *portfolio_write_name(enum portfolio_write w)
{
    switch (w) {
    case PORTFOLIO_CREATED:
        return "created";
    case PORTFOLIO_UNCHANGED:
        return "unchanged";
    default:
        return "replaced";
    }
}

int portfolio_write_snapshot(struct objstore *os, const struct portfolio *p,
                             enum portfolio_write *outcome, struct diag *d)
{
    char key[OBJ_KEY_MAX];
    portfolio_snapshot_key(p->date, key);
    struct buf csv = BUF_INIT(PORTFOLIO_SNAPSHOT_MAX);
    struct buf old = BUF_INIT(PORTFOLIO_SNAPSHOT_MAX);
    int err = portfolio_snapshot_csv(p, &csv);
    if (err)
        err = diag_set(d, err, "%s: %s", key, err_str(err));
    for (int attempt = 0; !err; attempt++) {
        if (attempt == WRITE_ATTEMPTS) {
            err = diag_set(d, ERR_CONFLICT,
                           "%s: other writers kept changing it; gave up after %d attempts", key,
                           WRITE_ATTEMPTS);
            break;
        }
        char etag[OBJ_ETAG_MAX] = "";
        buf_reset(&old);
        err = objstore_get(os, key, &old, etag, d);
        if (err == ERR_NOTFOUND) {
            err = objstore_put(os, key, csv.data, csv.len, OBJ_PUT_CREATE, NULL, d);
            if (err == ERR_EXISTS) { /* another writer was first: compare with theirs */
                err = ERR_OK;
                continue;
            }
            *outcome = PORTFOLIO_CREATED;
            break;
        }
        if (err)
            break;
        if (old.len == csv.len && memcmp(old.data, csv.data, csv.len) == 0) {
            *outcome = PORTFOLIO_UNCHANGED;
            break;
        }
        err = objstore_put(os, key, csv.data, csv.len, OBJ_PUT_IF_MATCH, etag, d);
        if (err == ERR_PRECONDITION || err == ERR_NOTFOUND) {
            err = ERR_OK;
            continue;
        }
        *outcome = PORTFOLIO_REPLACED;
        break;
    }
    buf_release(&csv);
    buf_release(&old);
    return err;
}

static int int32_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int portfolio_snapshot_dates(struct objstore *os, int32_t **dates, size_t *n, struct diag *d)
{
    *dates = NULL;
    *n = 0;
    struct strvec keys = STRVEC_INIT;
    int err = objstore_list(os, PORTFOLIO_SNAPSHOT_PREFIX, &keys, d);
    if (!err && keys.n && !(*dates = malloc(keys.n * sizeof **dates)))
        err = diag_set(d, ERR_NOMEM, "out of memory");
    for (size_t i = 0; !err && i < keys.n; i++) {
        /* portfolio/snapshots/YYYY/YYYY-MM-DD.csv; anything else there is not ours */
        const char *k = keys.v[i] + strlen(PORTFOLIO_SNAPSHOT_PREFIX);
        int32_t date;
        char key[OBJ_KEY_MAX];
        if (strlen(k) != 19 || date_parse(k + 5, DATE_STRLEN, &date))
            continue;
        portfolio_snapshot_key(date, key);
        if (strcmp(key, keys.v[i]) == 0)
            (*dates)[(*n)++] = date;
    }
    strvec_release(&keys);
    if (err) {
        free(*dates);
        *dates = NULL;
        *n = 0;
        return err;
    }
    if (*n)
        qsort(*dates, *n, sizeof **dates, int32_cmp); /* *dates is NULL when nothing is listed */
    return ERR_OK;
}

/* ---- the sell signal ---- */

void portfolio_signal(const struct portfolio *p, double target_pct, struct portfolio_signal *out)
{
    memset(out, 0, sizeof *out);
    out->target_pct = target_pct;
    out->positions = p->n;
    out->average_pct = (double)NAN;
    /* Insertion into the best PORTFOLIO_TOP: highest return first, ties by symbol. */
    for (size_t i = 0; i < p->n; i++) {
        double r = p->rows[i].return_pct;
        if (!isfinite(r)) {
            out->unknown++;
            continue;
        }
        size_t at = out->ntop;
        while (at > 0) {
            const struct portfolio_row *o = &p->rows[out->top[at - 1]];
            if (o->return_pct > r ||
                (o->return_pct == r && strcmp(o->symbol, p->rows[i].symbol) < 0))
                break;
            at--;
        }
        if (at >= PORTFOLIO_TOP)
            continue;
        size_t last = out->ntop < PORTFOLIO_TOP ? out->ntop : PORTFOLIO_TOP - 1;
        memmove(&out->top[at + 1], &out->top[at], (last - at) * sizeof out->top[0]);
        out->top[at] = i;
        if (out->ntop < PORTFOLIO_TOP)
            out->ntop++;
    }
    if (out->ntop) {
        double sum = 0;
        for (size_t k = 0; k < out->ntop; k++)
            sum += p->rows[out->top[k]].return_pct;
        out->average_pct = sum / (double)out->ntop;
        out->reached = out->average_pct >= target_pct;
    }
}

int portfolio_parse_target(const char *s, double *out)
{
    int64_t v;
    if (!s || num_parse_fixed(s, strlen(s), &v) != ERR_OK)
        return ERR_PARSE;
    double x = (double)v / 1e6;
    if (!(x > -100.0) || x > 1e6)
        return ERR_INVALID;
    *out = x;
    return ERR_OK;
}

const char *portfolio_alert_name(enum portfolio_alert a)
{
    static const char *const names[] = {"none", "fire", "already", "reset"};
    return (unsigned)a < 4 ? names[a] : "unknown";
}

/* 1 when the marker says "fired"; anything else (armed, unreadable) is 0. */
static int marker_fired(const char *data, size_t len)
{
    struct jv *root;
    struct diag ignored;
    if (jv_parse(data, len, &root, &ignored) != ERR_OK)
        return 0;
    const char *state = jv_str(jv_get(root, "state"), NULL);
    int fired = state && strcmp(state, "fired") == 0;
    jv_free(root);
    return fired;
}

int portfolio_alert_update(struct objstore *os, const struct portfolio_signal *s, int32_t date,
                           enum portfolio_alert *out, struct diag *d)
{
    *out = PORTFOLIO_ALERT_NONE;
    char day[DATE_STRLEN + 1], text[200];
    date_format(date, day);
    int n =
        snprintf(text, sizeof text,
                 "{\"state\":\"%s\",\"date\":\"%s\",\"average_pct\":%.4f,\"target_pct\":%.4f}\n",
                 s->reached ? "fired" : "armed", day,
                 isfinite(s->average_pct) ? s->average_pct : 0.0, s->target_pct);
    struct buf b = BUF_INIT(4096);
    int err = ERR_OK;
    for (int attempt = 0;; attempt++) {
        if (attempt == WRITE_ATTEMPTS) {
            err = diag_set(d, ERR_CONFLICT,
                           "%s: other writers kept changing it; gave up after %d attempts",
                           PORTFOLIO_ALERT_KEY, WRITE_ATTEMPTS);
            break;
        }
        char etag[OBJ_ETAG_MAX] = "";
        buf_reset(&b);
        err = objstore_get(os, PORTFOLIO_ALERT_KEY, &b, etag, d);
        if (err && err != ERR_NOTFOUND)
            break;
        int exists = err == ERR_OK;
        int fired = exists && marker_fired(b.data ? b.data : "", b.len);
        err = ERR_OK;
        if (s->reached == fired || (!s->reached && !exists)) {
            *out = fired ? PORTFOLIO_ALERT_ALREADY : PORTFOLIO_ALERT_NONE;
            break;
        }
        err = objstore_put(os, PORTFOLIO_ALERT_KEY, text, (size_t)n,
                           exists ? OBJ_PUT_IF_MATCH : OBJ_PUT_CREATE, exists ? etag : NULL, d);
        if (err == ERR_EXISTS || err == ERR_PRECONDITION || (exists && err == ERR_NOTFOUND))
            continue; /* another writer changed it in between: look again */
        if (!err)
            *out = s->reached ? PORTFOLIO_ALERT_FIRE : PORTFOLIO_ALERT_RESET;
        break;
    }
    buf_release(&b);
    return err;
}
