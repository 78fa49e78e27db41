/* secrets.c - the product's secrets: environment first, then one SSM GetParameters call. */
#include "aws/secrets.h"

#include <stdlib.h>
#include <string.h>

#include "aws/creds.h"
#include "aws/endpoint.h"
#include "aws/ssm.h"
#include "base/buf.h"
#include "base/log.h"

#include "base/banned.h"

static const struct {
    const char *env;
    const char *ssm;
    int secret; /* registered with log_add_secret */
} table[SECRET_COUNT_] = {
    [SECRET_ALPACA_KEY_ID] = {"APCA_API_KEY_ID", "/screener/alpaca/api_key", 1},
    [SECRET_ALPACA_SECRET_KEY] = {"APCA_API_SECRET_KEY", "/screener/alpaca/secret_key", 1},
    [SECRET_TELEGRAM_BOT_TOKEN] = {"TELEGRAM_BOT_TOKEN", "/screener/telegram/bot_token", 1},
    [SECRET_TELEGRAM_WEBHOOK_SECRET] = {"TELEGRAM_WEBHOOK_SECRET",
                                        "/screener/telegram/webhook_secret", 1},
    [SECRET_ENVIRONMENT] = {"ENVIRONMENT", "/screener/config/environment", 0},
};

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

const char *secret_ssm_name(enum secret_id id)
{
    return (unsigned)id < SECRET_COUNT_ ? table[id].ssm : "";
}

static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
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
            names[n++] = table[i].ssm;

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
        const struct ssm_param *p = ssm_result_find(&r, table[i].ssm);
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
                        table[id].env, table[id].ssm);
    const char *flag = getenv("SCREENER_SSM");
    if (flag && strcmp(flag, "0") == 0)
        return diag_set(d, ERR_AUTH,
                        "%s is not set (SSM parameter %s was not read: SCREENER_SSM=0)",
                        table[id].env, table[id].ssm);
    return diag_set(d, ERR_AUTH,
                    "%s is not set (SSM parameter %s was not read: SSM is used in Lambda, with "
                    "SCREENER_SSM=1, or when AWS_ENDPOINT_URL_SSM is set)",
                    table[id].env, table[id].ssm);
}

const char *secrets_value(enum secret_id id)
{
    return (unsigned)id < SECRET_COUNT_ ? cache.value[id] : NULL;
}

enum secret_source secrets_source(enum secret_id id)
{
    return (unsigned)id < SECRET_COUNT_ ? cache.source[id] : SECRET_SOURCE_NONE;
}
