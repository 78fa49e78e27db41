/* alpaca_auth.c - the headers that authenticate a request to Alpaca's APIs. */
#include "codec/alpaca_auth.h"

#include <stdio.h>
#include <string.h>

#include "base/banned.h"

/* A header value as it is sent: 1..max bytes, no control characters, no space at either end
 * (HTTP would trim it, and the key would no longer be the key). */
static int value_ok(const char *v, size_t n)
{
    if (n == 0 || n > ALPACA_AUTH_VALUE_MAX || v[0] == ' ' || v[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return 0;
    return 1;
}

int alpaca_auth_init(struct alpaca_auth *a, const char *key_id, const char *secret_key,
                     struct diag *d)
{
    memset(a, 0, sizeof *a);
    if (!key_id || !*key_id || !secret_key || !*secret_key)
        return diag_set(d, ERR_AUTH,
                        "no Alpaca credentials: set APCA_API_KEY_ID and APCA_API_SECRET_KEY");
    if (!value_ok(key_id, strlen(key_id)))
        return diag_set(d, ERR_AUTH,
                        "APCA_API_KEY_ID is not a usable key id (1 to %d printable characters)",
                        ALPACA_AUTH_VALUE_MAX);
    if (!value_ok(secret_key, strlen(secret_key)))
        return diag_set(d, ERR_AUTH,
                        "APCA_API_SECRET_KEY is not a usable secret key (1 to %d printable "
                        "characters)",
                        ALPACA_AUTH_VALUE_MAX);
    snprintf(a->key_line, sizeof a->key_line, "%s: %s", ALPACA_KEY_ID_HEADER, key_id);
    snprintf(a->secret_line, sizeof a->secret_line, "%s: %s", ALPACA_SECRET_KEY_HEADER, secret_key);
    a->lines[0] = a->key_line;
    a->lines[1] = a->secret_line;
    return ERR_OK;
}

void alpaca_auth_release(struct alpaca_auth *a)
{
    explicit_bzero(a, sizeof *a);
}
