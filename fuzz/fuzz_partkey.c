/* fuzz_partkey.c - the bar part key parser (store/barstore.h, barstore_key_parse) on
 * arbitrary bytes: a store's listing is outside input (anyone who may write to the bucket
 * names its objects).
 *
 * The whole input, up to its first NUL, is one key.  A key the parser accepts must be the key
 * the writer would give such a part: built again from what the parser read (the date, the
 * revision, provisional or the window) and the key's last segment, it must be the same bytes;
 * the date must be a real date and the key's year directory its year.  A key it refuses is
 * simply not a part.
 */
#include "base/date.h"
#include "check.h"
#include "store/barstore.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *key = malloc(size + 1);
    if (!key)
        return 0;
    memcpy(key, data, size);
    key[size] = '\0';
    struct barstore_key k;
    if (barstore_key_parse(key, &k)) {
        char day[DATE_STRLEN + 1], wday[DATE_STRLEN + 1] = "", again[8192];
        date_format(k.date, day);
        CHECKF(k.rev <= 999999u, "revision %u\n", k.rev);
        CHECKF(!(k.provisional && k.window != INT32_MAX), "provisional with a window: %s\n", key);
        const char *name = strrchr(key, '/');
        CHECK(name != NULL);
        name++;
        CHECKF(strncmp(name, "part-", 5) == 0 && strlen(name) > 9 &&
                   strcmp(name + strlen(name) - 4, ".csv") == 0,
               "last segment '%s' is not part-*.csv\n", name);
        if (k.window != INT32_MAX)
            date_format(k.window, wday);
        int n;
        if (key[21] != 'r') /* a plain part, revision 0 */
            n = snprintf(again, sizeof again, "bars/%.4s/%s/%s", day, day, name);
        else
            n = snprintf(again, sizeof again, "bars/%.4s/%s/rev-%06u%s%s%s/%s", day, day, k.rev,
                         k.provisional ? "-provisional" : "", wday[0] ? "-window-" : "", wday,
                         name);
        CHECK(n > 0 && (size_t)n < sizeof again);
        CHECKF(strcmp(again, key) == 0, "accepted '%s', which the writer would name '%s'\n", key,
               again);
    }
    free(key);
    return 0;
}
