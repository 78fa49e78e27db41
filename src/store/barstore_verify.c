/* barstore_verify.c - barstore_verify: every part read and checked, what is damaged or
 * disagrees reported. */
#include "store/barstore_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

struct verify_ctx {
    const struct barstore_verify_opts *o;
    struct barstore_verify_stats *st;
};

static void verify_damaged(void *ctx, const char *key, const char *why)
{
    struct verify_ctx *v = ctx;
    v->st->damaged++;
    if (v->o->on_damaged)
        v->o->on_damaged(v->o->ctx, key, why);
}

static void verify_disagree(void *ctx, const struct barstore_disagreement *x)
{
    struct verify_ctx *v = ctx;
    if (x->final_revised)
        v->st->final_revised++;
    else
        v->st->disagreements++;
    if (v->o->on_disagree)
        v->o->on_disagree(v->o->ctx, x);
}

static int verify_day(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    (void)date;
    (void)bars;
    struct barstore_verify_stats *st = ctx;
    st->days++;
    st->bars += n;
    return ERR_OK;
}

int barstore_verify(struct barstore *bs, const struct barstore_verify_opts *o,
                    struct barstore_verify_stats *st, struct diag *d)
{
    memset(st, 0, sizeof *st);
    struct verify_ctx v = {o, st};
    /* Read everything as a reader that skips damaged parts, with the hooks counting. */
    int keep_skip = bs->skip_damaged, keep_quiet = bs->quiet;
    barstore_disagree_fn keep_fn = bs->on_disagree;
    void *keep_ctx = bs->disagree_ctx;
    struct strvec keep_damaged = bs->damaged; /* verify reports every damaged part afresh */
    strvec_init(&bs->damaged);
    bs->skip_damaged = 1;
    bs->quiet = 1;
    bs->on_damaged = verify_damaged;
    /* The hooks point at this frame only until they are restored below, before it returns. */
    /* cppcheck-suppress autoVariables */
    bs->damaged_ctx = &v;
    bs->on_disagree = verify_disagree;
    /* cppcheck-suppress autoVariables */
    bs->disagree_ctx = &v;

    struct strvec all = STRVEC_INIT;
    int err = objstore_list(bs->os, "bars/", &all, d);
    /* Months with a compacted part and other parts (a late part, an interrupted compaction,
     * two compactions at once): they read right, a compaction merges them. */
    char month[MONTH_PREFIX_LEN + 1] = "";
    size_t in_month = 0;
    int compacted_month = 0;
    for (size_t i = 0; !err && i <= all.n; i++) {
        int32_t date;
        int c = i < all.n && bs_is_compacted(all.v[i]);
        int part = i < all.n && (c || bs_parse_part_key(all.v[i], &date));
        if (i < all.n && !part) {
            st->other++;
            continue;
        }
        if (i == all.n || strncmp(all.v[i], month, MONTH_PREFIX_LEN) != 0) {
            st->months_mixed += compacted_month && in_month > 1;
            if (i == all.n)
                break;
            memcpy(month, all.v[i], MONTH_PREFIX_LEN);
            in_month = 0;
            compacted_month = 0;
        }
        in_month++;
        compacted_month |= c;
        st->parts++;
        st->compacted += c;
    }
    strvec_release(&all);
    struct bar_index idx = {0};
    if (!err)
        err = barstore_index(bs, INT32_MIN, INT32_MAX, &idx, d);
    if (!err)
        err = barstore_scan_index(bs, &idx, verify_day, st, d);
    if (idx.days || idx.keys.v)
        bar_index_release(&idx);

    if (!err) {
        struct strvec keys = STRVEC_INIT;
        struct splitvec sv;
        splitvec_init(&sv);
        size_t *part_of = NULL;
        err = bs_read_split_parts(bs, &keys, &sv, &part_of, d);
        st->split_parts = keys.n;
        st->splits = sv.n;
        free(part_of);
        splitvec_release(&sv);
        strvec_release(&keys);
        if (!err) {
            /* The log as readers merge it: ratio disagreements and factor bounds. */
            splitvec_init(&sv);
            err = barstore_read_splits(bs, &sv, d);
            if (err == ERR_INVALID) {
                verify_damaged(&v, SPLITS_PREFIX, d->text);
                err = ERR_OK;
            }
            splitvec_release(&sv);
        }
    }

    strvec_release(&bs->damaged);
    bs->damaged = keep_damaged;
    bs->skip_damaged = keep_skip;
    bs->quiet = keep_quiet;
    bs->on_damaged = NULL;
    bs->damaged_ctx = NULL;
    bs->on_disagree = keep_fn;
    bs->disagree_ctx = keep_ctx;
    return err;
}
