/* secrets.h - the product's secrets and settings, from the environment or SSM Parameter Store.
 *
 * Each secret has an environment variable (the ecosystem's own name, so existing setups
 * work) and an SSM parameter (docs/configuration.md#ssm-parameters):
 *
 *     APCA_API_KEY_ID          /screener/alpaca/api_key
 *     APCA_API_SECRET_KEY      /screener/alpaca/secret_key
 *     TELEGRAM_BOT_TOKEN       /screener/telegram/bot_token
 *     TELEGRAM_WEBHOOK_SECRET  /screener/telegram/webhook_secret
 *     ENVIRONMENT              /screener/config/environment
 *
 * "/screener" is the default prefix: SCREENER_SSM_PREFIX gives a deployment its own
 * (SCREENER_SSM_PREFIX=/screener/prod reads /screener/prod/alpaca/api_key, ...), so that two
 * environments in one account need not share secrets.  A malformed prefix is refused
 * (ERR_USAGE) before SSM is asked.
 *
 * The environment wins (an empty variable counts as unset).  The secrets it does not have are
 * fetched from SSM in one GetParameters call (WithDecryption), but only when SSM is enabled:
 *
 *     SCREENER_SSM=1           enabled;  SCREENER_SSM=0  disabled, whatever else is set
 *     otherwise                enabled when running in Lambda (AWS_LAMBDA_FUNCTION_NAME is
 *                              set) or when AWS_ENDPOINT_URL_SSM names an endpoint
 *
 * so a local run needs no AWS at all.  SSM is reached at AWS_ENDPOINT_URL_SSM, else
 * AWS_ENDPOINT_URL (which alone does not enable SSM: it may be set for S3 only), else
 * https://ssm.<region>.amazonaws.com (aws/endpoint.h), with the credentials and region of
 * aws/creds.h (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION,
 * AWS_PROFILE).
 *
 * What was resolved is kept for the life of the process (a warm Lambda asks SSM once), and
 * every secret value is registered with log_add_secret (ENVIRONMENT is a setting, not a
 * secret: "prod" must not be redacted out of every log line).  Not thread-safe: resolve from
 * the main thread before starting others.
 */
#ifndef AWS_SECRETS_H
#define AWS_SECRETS_H

#include "base/err.h"

enum secret_id {
    SECRET_ALPACA_KEY_ID,
    SECRET_ALPACA_SECRET_KEY,
    SECRET_TELEGRAM_BOT_TOKEN,
    SECRET_TELEGRAM_WEBHOOK_SECRET,
    SECRET_ENVIRONMENT,
    SECRET_COUNT_
};

#define SECRET_BIT(id) (1u << (id))
#define SECRETS_ALPACA (SECRET_BIT(SECRET_ALPACA_KEY_ID) | SECRET_BIT(SECRET_ALPACA_SECRET_KEY))
#define SECRETS_TELEGRAM                                                                           \
    (SECRET_BIT(SECRET_TELEGRAM_BOT_TOKEN) | SECRET_BIT(SECRET_TELEGRAM_WEBHOOK_SECRET))
#define SECRETS_ALL ((1u << SECRET_COUNT_) - 1)

enum secret_source { SECRET_SOURCE_NONE, SECRET_SOURCE_ENV, SECRET_SOURCE_SSM };

#define SECRETS_PREFIX_DEFAULT "/screener"
#define SECRETS_PREFIX_MAX     1000

/* Whether p may be a prefix: "/" and segments of A-Z a-z 0-9 _ . -, no empty segment, no
 * trailing '/', not starting with "aws" or "ssm" (reserved by SSM), at most 13 levels. */
int secrets_prefix_valid(const char *p);

/* The prefix in force: $SCREENER_SSM_PREFIX when set and not empty, else the default.
 * ERR_USAGE (naming the variable) when it is malformed. */
int secrets_prefix(const char **out, struct diag *d);

/* "APCA_API_KEY_ID"; "/screener/alpaca/api_key" under the prefix in force (the buffer is
 * rewritten by the next call for the same id). */
const char *secret_env_name(enum secret_id id);
const char *secret_ssm_name(enum secret_id id);

/* Whether secrets_load would ask SSM (the rule above, read from the environment now). */
int secrets_ssm_enabled(void);

/* Resolve the secrets in want (a mask of SECRET_BIT()s): those already resolved are kept;
 * the rest come from the environment, then from one SSM call for all that are still
 * unknown.  A parameter SSM does not have is not an error here (see secrets_get).  Errors,
 * naming the parameters, never their values: ERR_AUTH (no AWS credentials or region, access
 * denied, signature refused), ERR_RATELIMIT / ERR_UNAVAILABLE / ERR_NETWORK / ERR_TIMEOUT
 * (SSM unreachable after retries), ERR_INVALID (a malformed endpoint or region), ERR_USAGE (a
 * malformed SCREENER_SSM_PREFIX), ERR_PARSE. Nothing is cached from a call that failed. */
int secrets_load(unsigned want, struct diag *d);

/* The value of a resolved secret: ERR_AUTH when it is set nowhere, with d naming the
 * variable and the parameter ("APCA_API_SECRET_KEY is not set and SSM parameter
 * /screener/alpaca/secret_key does not exist"), or saying how to enable SSM when it was
 * not asked.  *out is borrowed until secrets_reset. */
int secrets_get(enum secret_id id, const char **out, struct diag *d);

/* The value, or NULL when it is set nowhere or was not loaded. */
const char *secrets_value(enum secret_id id);
enum secret_source secrets_source(enum secret_id id);

/* Forget everything resolved (wiping the values), so the next load looks again. */
void secrets_reset(void);

#endif
