/* alpaca_auth.h - the headers that authenticate a request to Alpaca's APIs.
 *
 * The Market Data API (the collector), the Trading API (the brokerage account) and the asset
 * list all take the key pair as two headers, APCA-API-KEY-ID and APCA-API-SECRET-KEY; the
 * simulator checks the same two.  Pure: the caller registers the secret with the log's
 * redaction (log_add_secret) and wipes the lines when the request has copied them.
 */
#ifndef CODEC_ALPACA_AUTH_H
#define CODEC_ALPACA_AUTH_H

#include "base/err.h"

#define ALPACA_KEY_ID_HEADER     "APCA-API-KEY-ID"
#define ALPACA_SECRET_KEY_HEADER "APCA-API-SECRET-KEY"
/* Longest key id or secret accepted (Alpaca's are 20 and 40 characters). */
#define ALPACA_AUTH_VALUE_MAX 256

struct alpaca_auth {
    char key_line[sizeof ALPACA_KEY_ID_HEADER + 2 + ALPACA_AUTH_VALUE_MAX];
    char secret_line[sizeof ALPACA_SECRET_KEY_HEADER + 2 + ALPACA_AUTH_VALUE_MAX];
    const char *lines[2]; /* the two "Name: value" lines above, for a header list */
};

/* Fill a with the two header lines for key_id and secret_key.  ERR_AUTH ("no Alpaca
 * credentials: set APCA_API_KEY_ID and APCA_API_SECRET_KEY") when either is NULL or empty, and
 * also when either is longer than ALPACA_AUTH_VALUE_MAX or holds a byte that cannot go into a
 * header (a control character, a space at either end): the message names the variable, never
 * the value. */
int alpaca_auth_init(struct alpaca_auth *a, const char *key_id, const char *secret_key,
                     struct diag *d);

/* Wipe the lines (they hold the secret). */
void alpaca_auth_release(struct alpaca_auth *a);

#endif
