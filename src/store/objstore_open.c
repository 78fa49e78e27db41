/* objstore_open.c - a store by its location: the one place that knows every backend, so that
 * the generic layer (objstore.c) and the backends each depend only on the interface. */
#include "store/objstore.h"

#include <string.h>

#include "base/banned.h"

int objstore_open(const char *location, struct objstore **out, struct diag *d)
{
    if (strncmp(location, "s3://", 5) == 0)
        return objstore_s3_open(location, out, d);
    if (strncmp(location, "file://", 7) == 0)
        location += 7;
    if (!*location)
        return diag_set(d, ERR_USAGE, "store location is empty");
    return objstore_local_open(location, out, d);
}

int objstore_reopen(const struct objstore *os, struct objstore **out, struct diag *d)
{
    return objstore_open(os->location, out, d);
}
