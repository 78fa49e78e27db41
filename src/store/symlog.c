#include "store/symlog.h"
#include "base/date.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

#define SYMLOG_MAX ((size_t)4 << 20)

/* Read every part, in name order; a change that contradicts one read before (the same symbol
 * and date, another new symbol: two writers racing with different facts) is left out and
 * counted, so the part first in name order wins for every reader, as for bars and splits. */
static int read_parts(struct barstore *bs, struct symchangevec *out, size_t *disagreements,
                      struct diag *d)
{
    struct objstore *os = barstore_objstore(bs);
    struct strvec keys = STRVEC_INIT;
    struct buf b = BUF_INIT(SYMLOG_MAX);
    struct symchangevec part;
    symchangevec_init(&part);
    *disagreements = 0;
    size_t base = out->n;
    int err = objstore_list(os, SYMLOG_PREFIX, &keys, d);
    if (!err && keys.n > 1)
        strvec_sort(&keys);
    for (size_t i = 0; i < keys.n && !err; i++) {
        buf_reset(&b);
        if ((err = objstore_get(os, keys.v[i], &b, NULL, d))) {
            diag_prefix_once(d, err, "store '%s'", os->location);
            break;
        }
        char why[160];
        if (!barstore_part_name_ok(keys.v[i], b.data ? b.data : "", b.len, why)) {
            err = diag_set(d, ERR_DAMAGED, "store '%s': symbol-change part %s is damaged: %s",
                           os->location, keys.v[i], why);
            break;
        }
        part.n = 0;
        err = symchangecsv_parse(keys.v[i], b.data ? b.data : (char *)"", b.len, &part, d);
        if (err) {
            diag_prefix_once(d, err, "store '%s'", os->location);
            break;
        }
        for (size_t k = 0; k < part.n && !err; k++) {
            const struct symchange *c = &part.v[k];
            int other = 0;
            for (size_t j = base; j < out->n && !other; j++)
                other = out->v[j].date == c->date &&
                        strcmp(out->v[j].old_symbol, c->old_symbol) == 0 &&
                        strcmp(out->v[j].new_symbol, c->new_symbol) != 0;
            if (other) {
                char day[DATE_STRLEN + 1];
                date_format(c->date, day);
                (*disagreements)++;
                log_warn("symbol-change parts disagree: the part first in name order wins",
                         LF_STR("store", os->location), LF_STR("symbol", c->old_symbol),
                         LF_STR("date", day), LF_STR("not_used", keys.v[i]));
                continue;
            }
            if (symchangevec_push(out, c))
                err = diag_set(d, ERR_NOMEM, "out of memory");
        }
    }
    if (!err)
        err = symchange_normalize(out, d);
    symchangevec_release(&part);
    buf_release(&b);
    strvec_release(&keys);
    return err;
}

void symlog_ahead(struct barstore *bs)
{
    struct barstore_kept_log *k = barstore_kept_symlog(bs);
    if (!k || !k->kept)
        objstore_list_along(barstore_objstore(bs), SYMLOG_PREFIX);
}

int symlog_read(struct barstore *bs, struct symchangevec *out, struct diag *d)
{
    struct barstore_kept_log *k = barstore_kept_symlog(bs);
    size_t base = out->n;
    int err = ERR_OK;
    if (k && k->kept) {
        for (size_t i = 0; i < k->v.n && !err; i++)
            if (symchangevec_push(out, &k->v.v[i]))
                err = diag_set(d, ERR_NOMEM, "out of memory");
        return err;
    }
    size_t disagreements;
    err = read_parts(bs, out, &disagreements, d);
    if (!err && k) { /* read once for the job (barstore_keep_splits) */
        k->v.n = 0;
        for (size_t i = base; i < out->n && !err; i++)
            if (symchangevec_push(&k->v, &out->v[i]))
                err = diag_set(d, ERR_NOMEM, "out of memory");
        k->kept = !err;
    }
    return err;
}

int symlog_verify(struct barstore *bs, size_t *changes, size_t *disagreements, struct diag *d)
{
    struct symchangevec v;
    symchangevec_init(&v);
    int err = read_parts(bs, &v, disagreements, d);
    *changes = v.n;
    symchangevec_release(&v);
    return err;
}

int symlog_write(struct barstore *bs, const struct symchange *v, size_t n, size_t *added,
                 struct diag *d)
{
    *added = 0;
    struct symchangevec have, all, add;
    symchangevec_init(&have);
    symchangevec_init(&all);
    symchangevec_init(&add);
    int err = symlog_read(bs, &have, d);
    for (size_t i = 0; i < n && !err; i++) {
        if (!symchange_valid(&v[i])) {
            err = diag_set(d, ERR_INVALID, "refusing an invalid symbol change '%.15s' -> '%.15s'",
                           v[i].old_symbol, v[i].new_symbol);
            break;
        }
        int known = 0;
        for (size_t k = 0; k < have.n && !known; k++)
            known = symchange_cmp(&have.v[k], &v[i]) == 0;
        for (size_t k = 0; k < add.n && !known; k++)
            known = symchange_cmp(&add.v[k], &v[i]) == 0;
        if (!known && symchangevec_push(&add, &v[i]))
            err = diag_set(d, ERR_NOMEM, "out of memory");
    }
    /* The log as it would be must still be consistent. */
    for (size_t i = 0; i < have.n && !err && add.n; i++)
        if (symchangevec_push(&all, &have.v[i]))
            err = diag_set(d, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < add.n && !err; i++)
        if (symchangevec_push(&all, &add.v[i]))
            err = diag_set(d, ERR_NOMEM, "out of memory");
    if (!err && add.n && (err = symchange_normalize(&all, d)))
        diag_prefix(d, err, "refusing the symbol changes (nothing written)");
    if (!err && add.n) {
        struct objstore *os = barstore_objstore(bs);
        if (add.n > 1)
            qsort(add.v, add.n, sizeof *add.v, symchange_cmp);
        objstore_sweep(os, SYMLOG_PREFIX);
        struct buf csv = BUF_INIT(SYMLOG_MAX);
        err = symchangecsv_write(&csv, add.v, add.n);
        if (!err) {
            char name[32], key[OBJ_KEY_MAX];
            barstore_part_name(csv.data, csv.len, name);
            snprintf(key, sizeof key, SYMLOG_PREFIX "%s", name);
            err = objstore_put(os, key, csv.data, csv.len, OBJ_PUT_CREATE, NULL, d);
            if (err == ERR_EXISTS)
                err = ERR_OK;
            else if (err)
                diag_prefix_once(d, err, "store '%s'", os->location);
        } else {
            diag_set(d, err, "building the symbol-change log: %s", err_str(err));
        }
        buf_release(&csv);
        if (!err)
            *added = add.n;
        struct barstore_kept_log *k = barstore_kept_symlog(bs);
        if (k) /* read again next time, with what was added */
            k->kept = 0;
    }
    symchangevec_release(&have);
    symchangevec_release(&all);
    symchangevec_release(&add);
    return err;
}

int symlog_read_splits(struct barstore *bs, int32_t as_of, struct splitvec *out, struct diag *d)
{
    struct symchangevec changes;
    symchangevec_init(&changes);
    int err = barstore_read_splits(bs, out, d);
    if (!err)
        err = symlog_read(bs, &changes, d);
    if (!err)
        symchange_map_splits(changes.v, changes.n, as_of, out);
    symchangevec_release(&changes);
    return err;
}
