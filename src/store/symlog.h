/* symlog.h - the symbol-change log: symbols/part-<hash>.csv, append-only facts beside the
 * split log (docs/definitions.md#symbol-changes).
 *
 * Each part is named by the hash of its content (as bar and split parts are), written
 * create-if-absent, never edited; reading checks every part against its name.  A damaged part
 * fails the read naming it (ERR_DAMAGED): a symbol change left out silently would split a
 * company's history in two.
 */
#ifndef STORE_SYMLOG_H
#define STORE_SYMLOG_H

#include <stddef.h>

#include "codec/symchange.h"
#include "store/barstore.h"

#define SYMLOG_PREFIX "symbols/"

/* The whole log, sorted (symchange_cmp), repeats merged.  Two parts that change one symbol on
 * one date to different symbols (two writers racing) still read: the part first in name order
 * wins for every reader, and the disagreement is logged. */
int symlog_read(struct barstore *bs, struct symchangevec *out, struct diag *d);

/* The log will be read soon: its listing goes along with the store's next listing
 * (objstore_list_along; barstore_splits_ahead(bs, 0) drops it). */
void symlog_ahead(struct barstore *bs);

/* Read the whole log as symlog_read does, counting its changes and its disagreements. */
int symlog_verify(struct barstore *bs, size_t *changes, size_t *disagreements, struct diag *d);

/* Add changes; those already stored are no-ops (*added counts the others).  An invalid change
 * (bad ticker, a symbol changed to itself) is ERR_INVALID and one that contradicts a stored
 * change ERR_CONFLICT; nothing is written then. */
int symlog_write(struct barstore *bs, const struct symchange *v, size_t n, size_t *added,
                 struct diag *d);

/* The split log (barstore_read_splits) with each fact under the name its company has on as_of
 * (SYMCHANGE_BAR_DATE: on the fact's ex-date), sorted by symbol and ex_date: what a reader
 * that names companies as of one date applies to their bars. */
int symlog_read_splits(struct barstore *bs, int32_t as_of, struct splitvec *out, struct diag *d);

#endif
