/* fuzz_compacted.c - the bar store's reader of compacted months (store/barstore.h) on
 * arbitrary bytes: the key parser on the input as a key, and a whole read of a store holding
 * one compacted part whose content is the input (named by its real hash, so that the rows
 * are parsed, with a mask from the first 4 bytes).
 *
 * A read either fails with a diagnostic or hands on, in date order, only valid bars dated on
 * the days the mask names, by symbol within a day; reading day by day gives the same bars.
 */
#include "base/buf.h"
#include "base/date.h"
#include "codec/bar.h"
#include "store/barstore.h"
#include "store/objstore.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A store of one object. */
struct one {
    struct objstore base;
    char key[OBJ_KEY_MAX];
    const char *data;
    size_t len;
};

static int one_get(struct objstore *os, const char *key, struct buf *out, char *etag,
                   struct diag *d)
{
    (void)etag;
    struct one *o = (struct one *)os;
    if (strcmp(key, o->key) != 0)
        return diag_set(d, ERR_NOTFOUND, "no %s", key);
    int err = buf_append(out, o->data, o->len);
    return err ? diag_set(d, err, "too big") : ERR_OK;
}

static int one_put(struct objstore *os, const char *key, const void *data, size_t len,
                   enum obj_put_mode mode, const char *if_match, struct diag *d)
{
    (void)os, (void)key, (void)data, (void)len, (void)mode, (void)if_match;
    return diag_set(d, ERR_IO, "read only");
}

static int one_list(struct objstore *os, const char *prefix, struct strvec *keys, struct diag *d)
{
    struct one *o = (struct one *)os;
    if (strncmp(o->key, prefix, strlen(prefix)) == 0 && strvec_push(keys, o->key))
        return diag_set(d, ERR_NOMEM, "out of memory");
    return ERR_OK;
}

static int one_del(struct objstore *os, const char *key, struct diag *d)
{
    (void)os, (void)key;
    return diag_set(d, ERR_IO, "read only");
}

static void one_free(struct objstore *os)
{
    (void)os;
}

static const struct objstore_ops one_ops = {.scheme = "one",
                                            .get = one_get,
                                            .put = one_put,
                                            .list = one_list,
                                            .del = one_del,
                                            .free = one_free};

struct seen {
    int32_t month, last;
    uint32_t mask;
    size_t days, bars;
};

static int on_day(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    struct seen *s = ctx;
    CHECK(date > s->last);
    s->last = date;
    int32_t day = date - s->month;
    CHECK(day >= 0 && day < 32 && (s->mask >> day & 1));
    CHECK(n > 0);
    for (size_t i = 0; i < n; i++) {
        struct diag d;
        CHECK(bars[i].date == date);
        CHECK(bar_validate(&bars[i], &d) == ERR_OK);
        CHECK(!bars[i].provisional);
        CHECK(i == 0 || strcmp(bars[i - 1].symbol, bars[i].symbol) < 0);
    }
    s->days++;
    s->bars += n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The input as a key. */
    char key[OBJ_KEY_MAX];
    size_t kl = size < sizeof key - 1 ? size : sizeof key - 1;
    memcpy(key, data, kl);
    key[kl] = '\0';
    int32_t month;
    uint32_t mask;
    if (barstore_key_compacted(key, &month, &mask)) {
        CHECK(mask != 0);
        int y, m, dd;
        date_to_ymd(month, &y, &m, &dd);
        CHECK(dd == 1);
    }
    if (size < 4)
        return 0;
    /* The input as a compacted part of February 2024. */
    struct one o = {.base = {.ops = &one_ops}};
    snprintf(o.base.location, sizeof o.base.location, "fuzz");
    mask = ((uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
            (uint32_t)data[3] << 24) &
           0x1fffffffu;
    if (!mask)
        mask = 1;
    o.data = (const char *)data + 4;
    o.len = size - 4;
    month = date_from_ymd(2024, 2, 1);
    barstore_compacted_key(month, mask, o.data, o.len, o.key);
    CHECK(barstore_key_compacted(o.key, NULL, NULL));
    struct barstore *bs;
    struct diag d;
    CHECK(barstore_new(&o.base, &bs, &d) == ERR_OK);
    struct seen s = {.month = month, .last = INT32_MIN, .mask = mask};
    int err = barstore_scan(bs, INT32_MIN, INT32_MAX, on_day, &s, &d);
    CHECK(err == ERR_OK || d.text[0]);
    if (!err) {
        /* Every day of the mask, each read alone the same. */
        CHECK(s.days == (size_t)__builtin_popcount(mask));
        struct bar_index idx;
        CHECK(barstore_index(bs, INT32_MIN, INT32_MAX, &idx, &d) == ERR_OK);
        CHECK(idx.ndays == s.days);
        struct barvec v;
        barvec_init(&v);
        size_t bars = 0;
        for (size_t i = 0; i < idx.ndays; i++) {
            CHECK(barstore_read_day(bs, &idx, i, &v, &d) == ERR_OK);
            bars += v.n;
        }
        CHECK(bars == s.bars);
        barvec_release(&v);
        bar_index_release(&idx);
    }
    barstore_free(bs);
    return 0;
}
