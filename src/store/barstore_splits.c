/* barstore_splits.c - the split log: splits/part-<hash>.csv, append-only like the bars. */
#include "store/barstore_int.h"
#include "base/date.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

struct split_origin {
    struct split s;
    size_t part;
};

static int split_origin_cmp(const void *pa, const void *pb)
{
    const struct split_origin *a = pa, *b = pb;
    int c = split_cmp(&a->s, &b->s);
    return c ? c : (a->part > b->part) - (a->part < b->part);
}

/* Read the split parts, each checked against its name; facts in read order, with the index of
 * their part in keys.  The parts are fetched together (objstore_get_many). */
struct split_read {
    struct barstore *bs;
    const struct strvec *keys;
    struct splitvec *out;
    size_t **part_of, cap;
    int failed; /* the error is the callback's, not a GET's */
};

static int split_part(void *ctx, size_t i, char *data, size_t len, struct diag *d)
{
    struct split_read *sr = ctx;
    struct barstore *bs = sr->bs;
    const struct strvec *keys = sr->keys;
    struct splitvec *out = sr->out;
    char why[160];
    size_t before = out->n;
    int err;
    if (!barstore_part_name_ok(keys->v[i], data, len, why)) {
        diag_set(d, ERR_DAMAGED, "store '%s': split part %s is damaged: %s", bs->os->location,
                 keys->v[i], why);
        err = bs_damaged(bs, keys->v[i], ERR_DAMAGED, d);
    } else if ((err = splitcsv_parse(keys->v[i], data, len, out, d)) != ERR_OK &&
               err != ERR_NOMEM) {
        out->n = before;
        err = bs_damaged(bs, keys->v[i], err, d);
    } else if (!err && out->n > sr->cap) {
        sr->cap = out->n * 2;
        size_t *v = realloc(*sr->part_of, sr->cap * sizeof *v);
        if (v)
            *sr->part_of = v;
        else
            err = diag_set(d, ERR_NOMEM, "out of memory");
    }
    for (size_t k = before; !err && k < out->n; k++)
        (*sr->part_of)[k] = i;
    sr->failed = err != ERR_OK;
    return err;
}

int bs_read_split_parts(struct barstore *bs, struct strvec *keys, struct splitvec *out,
                        size_t **part_of, struct diag *d)
{
    int err = objstore_list(bs->os, SPLITS_PREFIX, keys, d);
    struct split_read sr = {bs, keys, out, part_of, 0, 0};
    if (!err)
        err = objstore_get_many(bs->os, (const char *const *)keys->v, keys->n, SPLITS_MAX,
                                split_part, &sr, d);
    if (err && !sr.failed)
        diag_prefix_once(d, err, "store '%s'", bs->os->location);
    return err;
}

int barstore_read_splits(struct barstore *bs, struct splitvec *out, struct diag *d)
{
    if (bs->splits_kept) {
        for (size_t i = 0; i < bs->splits.n; i++)
            if (splitvec_push(out, &bs->splits.v[i]) != ERR_OK)
                return diag_set(d, ERR_NOMEM, "out of memory");
        return ERR_OK;
    }
    struct strvec keys = STRVEC_INIT;
    size_t *part_of = NULL;
    size_t base = out->n;
    int err = bs_read_split_parts(bs, &keys, out, &part_of, d);
    struct split_origin *o = NULL;
    size_t n = out->n - base;
    if (!err && n) {
        o = malloc(n * sizeof *o);
        if (!o)
            err = diag_set(d, ERR_NOMEM, "out of memory");
    }
    if (!err && n) {
        for (size_t i = 0; i < n; i++)
            o[i] = (struct split_origin){out->v[base + i], part_of[base + i]};
        qsort(o, n, sizeof *o, split_origin_cmp);
        size_t w = base;
        for (size_t i = 0; i < n; i++) {
            if (w > base && split_cmp(&out->v[w - 1], &o[i].s) == 0) {
                const struct split *a = &out->v[w - 1], *b = &o[i].s;
                if (a->new_rate != b->new_rate || a->old_rate != b->old_rate) {
                    /* Two writers racing: the part first in name order wins, as for bars. */
                    char day[DATE_STRLEN + 1];
                    date_format(b->ex_date, day);
                    bs->disagreements++;
                    if (!bs->quiet)
                        log_warn("split parts disagree on a ratio: the part first in name order "
                                 "wins",
                                 LF_STR("store", bs->os->location), LF_STR("symbol", b->symbol),
                                 LF_STR("ex_date", day), LF_STR("not_used", keys.v[o[i].part]));
                    if (bs->on_disagree) {
                        struct barstore_disagreement x = {.symbol = b->symbol,
                                                          .date = b->ex_date,
                                                          .field = "ratio",
                                                          .winner_key = "",
                                                          .loser_key = keys.v[o[i].part]};
                        for (size_t k = i; k-- > 0;)
                            if (split_cmp(&o[k].s, b) == 0)
                                x.winner_key = keys.v[o[k].part];
                        bs->on_disagree(bs->disagree_ctx, &x);
                    }
                }
                continue;
            }
            out->v[w++] = o[i].s;
        }
        out->n = w;
        err = split_check_log(out->v + base, out->n - base, d);
        if (err)
            diag_prefix_once(d, err, "store '%s'", bs->os->location);
    }
    if (!err && bs->keep_splits) {
        bs->splits.n = 0;
        for (size_t i = base; i < out->n && !err; i++)
            if ((err = splitvec_push(&bs->splits, &out->v[i])) != ERR_OK)
                diag_set(d, err, "out of memory");
        bs->splits_kept = !err;
    }
    free(o);
    free(part_of);
    strvec_release(&keys);
    return err;
}

int barstore_write_splits(struct barstore *bs, const struct split *s, size_t n, size_t *added,
                          struct diag *d)
{
    struct splitvec have, add;
    splitvec_init(&have);
    splitvec_init(&add);
    *added = 0;
    int err = barstore_read_splits(bs, &have, d);
    for (size_t i = 0; i < n && !err; i++) {
        if (!split_factor_ok(&s[i]) || !bar_symbol_valid(s[i].symbol, strlen(s[i].symbol))) {
            err = diag_set(d, ERR_INVALID,
                           "refusing an invalid split for '%s' (a factor must be within 1/%g and "
                           "%g)",
                           s[i].symbol, SPLIT_FACTOR_MAX, SPLIT_FACTOR_MAX);
            break;
        }
        const struct split *found =
            have.n ? bsearch(&s[i], have.v, have.n, sizeof *have.v, split_cmp) : NULL;
        const struct split *dup = NULL;
        for (size_t k = 0; k < add.n && !dup; k++)
            if (split_cmp(&add.v[k], &s[i]) == 0)
                dup = &add.v[k];
        const struct split *other = found ? found : dup;
        if (other) {
            if (other->new_rate != s[i].new_rate || other->old_rate != s[i].old_rate) {
                char day[DATE_STRLEN + 1];
                date_format(s[i].ex_date, day);
                err = diag_set(d, ERR_CONFLICT,
                               "split %s %s is already recorded with a different ratio",
                               s[i].symbol, day);
            }
            continue;
        }
        err = splitvec_push(&add, &s[i]);
    }
    if (!err && add.n) {
        qsort(add.v, add.n, sizeof *add.v, split_cmp);
        /* The log as it would be: every symbol's factors must still multiply within bounds. */
        struct splitvec all;
        splitvec_init(&all);
        for (size_t i = 0; i < have.n && !err; i++)
            err = splitvec_push(&all, &have.v[i]);
        for (size_t i = 0; i < add.n && !err; i++)
            err = splitvec_push(&all, &add.v[i]);
        if (err) {
            diag_set(d, err, "out of memory");
        } else {
            qsort(all.v, all.n, sizeof *all.v, split_cmp);
            err = split_check_log(all.v, all.n, d);
            if (err)
                diag_prefix(d, err, "refusing the split facts (nothing written)");
        }
        splitvec_release(&all);
    }
    if (!err && add.n) {
        bs->splits_kept = 0; /* the log changes: read it again next time */
        objstore_sweep(bs->os, SPLITS_PREFIX);
        struct buf csv = BUF_INIT(SPLITS_MAX);
        err = splitcsv_write(&csv, add.v, add.n);
        if (!err) {
            char name[32], key[OBJ_KEY_MAX];
            barstore_part_name(csv.data, csv.len, name);
            snprintf(key, sizeof key, SPLITS_PREFIX "%s", name);
            err = objstore_put(bs->os, key, csv.data, csv.len, OBJ_PUT_CREATE, NULL, d);
            if (err == ERR_EXISTS)
                err = ERR_OK;
        } else {
            diag_set(d, err, "building the split log: %s", err_str(err));
        }
        buf_release(&csv);
        if (!err)
            *added = add.n;
    }
    splitvec_release(&have);
    splitvec_release(&add);
    return err;
}
