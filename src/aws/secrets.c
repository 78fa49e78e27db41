/* secrets.c - the product's secrets: environment first, then one SSM GetParameters call. */
#include "aws/secrets.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "aws/creds.h"
#include "aws/endpoint.h"
#include "aws/ssm.h"
#include "base/buf.h"
#include "base/log.h"

#include "base/banned.h"

static const struct {
    const char *env;
    const char *ssm; /* after the prefix */
    int secret;      /* registered with log_add_secret */
} table[SECRET_COUNT_] = {
    [SECRET_ALPACA_KEY_ID] = {"APCA_API_KEY_ID", "/alpaca/api_key", 1},
    [SECRET_ALPACA_SECRET_KEY] = {"APCA_API_SECRET_KEY", "/alpaca/secret_key", 1},
    [SECRET_TELEGRAM_BOT_TOKEN] = {"TELEGRAM_BOT_TOKEN", "/telegram/bot_token", 1},
    [SECRET_TELEGRAM_WEBHOOK_SECRET] = {"TELEGRAM_WEBHOOK_SECRET", "/telegram/webhook_secret", 1},
    [SECRET_ENVIRONMENT] = {"ENVIRONMENT", "/config/environment", 0},
};

/* The full names under the prefix in force (rebuilt by every secret_ssm_name call). */
static char full_name[SECRET_COUNT_][SECRETS_PREFIX_MAX + 32];

/* The process-wide cache. */
static struct {
    char *value[SECRET_COUNT_];
    enum secret_source source[SECRET_COUNT_];
    unsigned resolved;  /* looked up: in value[], or known to be set nowhere */
    unsigned ssm_asked; /* SSM was asked and does not have it */
} cache;

const char *secret_env_name(enum secret_id id)
{
    return (unsigned)id < SECRET_COUNT_ ? table[id].env : "";
}

static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int secrets_prefix_valid(const char *p)
{
    size_t n = strlen(p), levels = 0;
    if (n < 2 || n > SECRETS_PREFIX_MAX || p[0] != '/' || p[n - 1] == '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '/') {
            if (p[i + 1] == '/')
                return 0;
            levels++;
        } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '_' || c == '.' || c == '-')) {
            return 0;
        }
    }
    /* SSM reserves names starting with "aws" or "ssm"; a name has at most 15 levels, and
     * the secrets add two. */
    if (strncasecmp(p + 1, "aws", 3) == 0 || strncasecmp(p + 1, "ssm", 3) == 0)
        return 0;
    return levels + 2 <= 15;
}

int secrets_prefix(const char **out, struct diag *d)
{
    const char *p = env_value("SCREENER_SSM_PREFIX");
    *out = SECRETS_PREFIX_DEFAULT;
    if (!p)
        return ERR_OK;
    if (!secrets_prefix_valid(p)) {
        char q[80];
        diag_quote(q, sizeof q, p, strlen(p), 64);
        return diag_set(d, ERR_USAGE,
                        "SCREENER_SSM_PREFIX '%s' is not an SSM parameter path: '/' and name "
                        "segments of A-Z a-z 0-9 _ . - (not starting with aws or ssm), no "
                        "trailing '/', at most 13 levels, e.g. /screener/prod",
                        q);
    }
    *out = p;
    return ERR_OK;
}

const char *secret_ssm_name(enum secret_id id)
{
    if ((unsigned)id >= SECRET_COUNT_)
        return "";
    const char *prefix;
    struct diag d;
    if (secrets_prefix(&prefix, &d) != ERR_OK)
        prefix = getenv("SCREENER_SSM_PREFIX"); /* for messages only: secrets_load refuses it */
    snprintf(full_name[id], sizeof full_name[id], "%s%s", prefix, table[id].ssm);
    return full_name[id];
}

int secrets_ssm_enabled(void)
{
    const char *flag = getenv("SCREENER_SSM");
    if (flag && strcmp(flag, "1") == 0)
        return 1;
    if (flag && strcmp(flag, "0") == 0)
        return 0;
    return env_value("AWS_LAMBDA_FUNCTION_NAME") || env_value("AWS_ENDPOINT_URL_SSM");
}

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void secrets_reset(void)
{
    for (int i = 0; i < SECRET_COUNT_; i++)
        wipe_free(cache.value[i]);
    memset(&cache, 0, sizeof cache);
}

static int keep(enum secret_id id, const char *value, enum secret_source source)
{
    char *copy = strdup(value);
    if (!copy)
        return ERR_NOMEM;
    wipe_free(cache.value[id]);
    cache.value[id] = copy;
    cache.source[id] = source;
    cache.resolved |= SECRET_BIT(id);
    if (table[id].secret)
        log_add_secret(copy);
    return ERR_OK;
}

/* One GetParameters call for the secrets in ask. */
static int load_from_ssm(unsigned ask, struct diag *d)
{
    const char *names[SECRET_COUNT_];
    size_t n = 0;
    for (int i = 0; i < SECRET_COUNT_; i++)
        if (ask & SECRET_BIT(i))
            names[n++] = secret_ssm_name((enum secret_id)i);

    struct aws_creds creds;
    int err = aws_creds_load(&creds, d);
    if (err)
        return diag_prefix(d, err, "SSM parameters %s%s", names[0], n > 1 ? " and others" : "");
    char var[AWS_ENDPOINT_VAR_MAX];
    const char *endpoint = aws_endpoint_env("ssm", var);
    if (!creds.region[0])
        err = diag_set(d, ERR_AUTH,
                       "SSM parameters %s%s: no AWS region (set AWS_REGION or a profile region)",
                       names[0], n > 1 ? " and others" : "");
    struct aws_endpoint ep;
    if (!err && endpoint)
        err = aws_endpoint_parse(endpoint, var, &ep, d); /* a message naming the variable */
    struct ssm_result r = {0};
    if (!err) {
        struct ssm_opts o;
        ssm_opts_default(&o);
        o.endpoint = endpoint;
        o.region = creds.region;
        o.creds = aws_creds_sigv4(&creds);
        err = ssm_get_parameters(&o, names, n, &r, d);
    }
    for (int i = 0; !err && i < SECRET_COUNT_; i++) {
        if (!(ask & SECRET_BIT(i)))
            continue;
        const struct ssm_param *p = ssm_result_find(&r, secret_ssm_name((enum secret_id)i));
        if (p && p->value[0]) {
            err = keep((enum secret_id)i, p->value, SECRET_SOURCE_SSM);
            if (err)
                diag_set(d, err, "out of memory");
        } else {
            cache.resolved |= SECRET_BIT(i);
            cache.ssm_asked |= SECRET_BIT(i);
        }
    }
    ssm_result_release(&r);
    aws_creds_release(&creds);
    return err;
}

int secrets_load(unsigned want, struct diag *d)
{
    unsigned unresolved = want & SECRETS_ALL & ~cache.resolved, ask = 0;
    size_t from_env = 0, from_ssm = 0;
    for (int i = 0; i < SECRET_COUNT_; i++) {
        if (!(unresolved & SECRET_BIT(i)))
            continue;
        const char *v = env_value(table[i].env);
        if (v) {
            if (keep((enum secret_id)i, v, SECRET_SOURCE_ENV) != ERR_OK)
                return diag_set(d, ERR_NOMEM, "out of memory");
            from_env++;
        } else {
            ask |= SECRET_BIT(i);
        }
    }
    const char *prefix;
    if (ask && secrets_ssm_enabled() && secrets_prefix(&prefix, d) != ERR_OK)
        return ERR_USAGE;
    if (ask && !secrets_ssm_enabled()) {
        cache.resolved |= ask; /* set nowhere we may look */
        ask = 0;
    }
    if (ask) {
        int err = load_from_ssm(ask, d);
        if (err)
            return err;
        for (int i = 0; i < SECRET_COUNT_; i++)
            from_ssm += (ask & SECRET_BIT(i)) && cache.source[i] == SECRET_SOURCE_SSM;
    }
    if (unresolved)
        log_info("secrets resolved", LF_INT("from_environment", from_env),
                 LF_INT("from_ssm", from_ssm), LF_BOOL("ssm_asked", ask != 0));
    return ERR_OK;
}

int secrets_get(enum secret_id id, const char **out, struct diag *d)
{
    *out = NULL;
    if ((unsigned)id >= SECRET_COUNT_)
        return diag_set(d, ERR_INTERNAL, "unknown secret %d", (int)id);
    if (!(cache.resolved & SECRET_BIT(id))) {
        int err = secrets_load(SECRET_BIT(id), d);
        if (err)
            return err;
    }
    if (cache.value[id]) {
        *out = cache.value[id];
        return ERR_OK;
    }
    if (cache.ssm_asked & SECRET_BIT(id))
        return diag_set(d, ERR_AUTH, "%s is not set and SSM parameter %s does not exist",
                        table[id].env, secret_ssm_name(id));
    const char *flag = getenv("SCREENER_SSM");
    if (flag && strcmp(flag, "0") == 0)
        return diag_set(d, ERR_AUTH,
                        "%s is not set (SSM parameter %s was not read: SCREENER_SSM=0)",
                        table[id].env, secret_ssm_name(id));
    return diag_set(d, ERR_AUTH,
                    "%s is not set (SSM parameter %s was not read: SSM is used in Lambda, with "
                    "SCREENER_SSM=1, or when AWS_ENDPOINT_URL_SSM is set)",
                    table[id].env, secret_ssm_name(id));
}

const char *secrets_value(enum secret_id id)
{
    return (unsigned)id < SECRET_COUNT_ ? cache.value[id] : NULL;
}

enum secret_source secrets_source(enum secret_id id)
{
    return (unsigned)id < SECRET_COUNT_ ? cache.source[id] : SECRET_SOURCE_NONE;
}
