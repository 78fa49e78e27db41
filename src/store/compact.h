/* compact.h - compaction of closed history (docs/definitions.md#compaction).
 *
 * A closed month of day partitions is merged into one immutable part named by its content,
 * bars/YYYY/YYYY-MM/days-<mask>/part-<hash>.csv (store/barstore.h), holding for every
 * symbol-day exactly the bar readers get (its latest revision; the racing writers' winner),
 * by date then symbol.  Then the parts it merged are deleted, one by one, and only those.
 *
 * Why this is safe at every instant, with no other object to coordinate:
 *   - the compacted part is written (create-if-absent) before any part is deleted;
 *   - a reader merges a compacted part with whatever parts of its days are still there, as
 *     revision 0 first in order: a part not yet deleted holds either the same bar (no
 *     disagreement) or a higher revision of it, equal to the compacted one; the parts are
 *     deleted lowest revision first, so a superseded bar never outlives the bar that
 *     superseded it;
 *   - a part written meanwhile (a late bar, a backfill) is not deleted: it is read as before;
 *   - two compactors at once write the same object when they read the same parts (the same
 *     content, the same name), else two compacted parts that merge as above, until the next
 *     compaction merges them into one;
 *   - a crash leaves a state of the above; a rerun merges the compacted part with what is
 *     left, gets the same content (so the same name) and deletes the rest.
 *
 * Only closed months are compacted: every day of the month before the settle window (the
 * last COMPACT_SETTLE_DAYS trading days up to the last final day), and no bar of it
 * provisional.  A month whose parts disagree on a bar, or that holds a damaged part, is left
 * as it is and reported.
 */
#ifndef STORE_COMPACT_H
#define STORE_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "store/barstore.h"
#include "store/objstore.h"

/* Trading days, counted back from the last final day, that are never compacted: more than
 * the collector fetches again (3) and the revisions it may write. */
#define COMPACT_SETTLE_DAYS 10

/* Not started with less than this left before the deadline (a month is one read, one write
 * and ~21 deletes). */
#define COMPACT_MONTH_MIN_MS 3000

/* The first day of the window that is not compacted at the instant now_ms: months that end
 * before it are closed. */
int32_t compact_closed_before(int64_t now_ms);

enum compact_outcome {
    COMPACT_DONE,         /* written (or found written) and its parts retired */
    COMPACT_DRY_RUN,      /* would be compacted */
    COMPACT_DISAGREEMENT, /* left as it is: parts disagree on a bar */
    COMPACT_DAMAGED,      /* left as it is: a damaged part */
    COMPACT_PROVISIONAL,  /* left as it is: a bar is still provisional */
    COMPACT_CHANGED,      /* left as it is: a part went away while it was read (another
                             compaction); the next run sees the new state */
};

const char *compact_outcome_name(enum compact_outcome o);

struct compact_month {
    int32_t month; /* its first day */
    enum compact_outcome outcome;
    size_t parts;   /* parts merged (compacted ones included) */
    size_t retired; /* of them deleted now */
    size_t days, bars;
    size_t bytes;          /* of the compacted part */
    char key[OBJ_KEY_MAX]; /* the compacted part ("" when none) */
    char why[DIAG_MAX];    /* for a month left as it is */
};

struct compact_opts {
    int32_t closed_before; /* compact_closed_before(now) */
    size_t max_months;     /* months compacted (or tried) at most; 0: every one */
    int64_t deadline_ms;   /* wall clock (base/clock.h); 0: none */
    int dry_run;           /* read and report, write and delete nothing */
    void (*on_month)(void *ctx, const struct compact_month *m);
    void *ctx;
};

struct compact_stats {
    size_t months_closed;    /* closed months with more than one part */
    size_t months_compacted; /* (or that would be, in a dry run) */
    size_t months_skipped;   /* left as they are (disagreement, damage, provisional, changed) */
    size_t months_left;      /* not reached: max_months or the deadline; the next run */
    size_t parts_merged, parts_retired;
    size_t bytes_written;
};

/* Compact the closed months of bs (on os), oldest first.  Returns an error only when the
 * store cannot be listed, read or written (I/O, permissions); a month left as it is is told
 * through on_month and counted. */
int barstore_compact(struct objstore *os, struct barstore *bs, const struct compact_opts *o,
                     struct compact_stats *st, struct diag *d);

#endif
