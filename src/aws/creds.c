#include "aws/creds.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/endpoint.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/clock.h"
#include "base/log.h"

#include "base/banned.h"

/* ---- the INI format ---- */

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && is_blank(**s))
        ++*s;
    while (*e > *s && is_blank((*e)[-1]))
        --*e;
}

/* The messages quote no text of the file: a malformed line may well be a pasted secret. */
int aws_creds_ini_parse(const char *text, size_t len, aws_creds_ini_fn fn, void *ctx,
                        struct diag *d)
{
    const char *p = text, *end = text + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    const char *section = NULL;
    size_t section_len = 0, entry_indent = 0, line = 0;
    int have_entry = 0;
    while (p < end) {
        line++;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
        const char *next = eol ? eol + 1 : end;
        if (n && p[n - 1] == '\r')
            n--;
        const char *e = p + n;
        if (memchr(p, '\0', n))
            return diag_set(d, ERR_PARSE, "line %zu: a NUL byte", line);
        const char *s = p;
        while (s < e && is_blank(*s))
            s++;
        size_t indent = (size_t)(s - p);
        p = next;
        if (s == e || *s == '#' || *s == ';')
            continue;
        /* A section line is one even when indented, so that a stray indent can never put
         * one profile's keys into another. */
        if (*s != '[' && indent > 0 && have_entry && indent > entry_indent)
            continue; /* continues the entry above (a nested block): not ours */
        if (*s == '[') {
            const char *close = memchr(s, ']', (size_t)(e - s));
            if (!close)
                return diag_set(d, ERR_PARSE, "line %zu: '[' without a closing ']'", line);
            const char *after = close + 1;
            while (after < e && is_blank(*after))
                after++;
            if (after < e && *after != '#' && *after != ';')
                return diag_set(d, ERR_PARSE, "line %zu: text after the section's ']'", line);
            const char *ns = s + 1, *ne = close;
            trim(&ns, &ne);
            if (ns == ne)
                return diag_set(d, ERR_PARSE, "line %zu: an empty section name", line);
            section = ns;
            section_len = (size_t)(ne - ns);
            have_entry = 0;
            struct aws_creds_ini_entry entry = {section, section_len, NULL, 0, NULL, 0, line};
            int err = fn(ctx, &entry);
            if (err != ERR_OK)
                return err;
            continue;
        }
        const char *delim = s;
        while (delim < e && *delim != '=' && *delim != ':')
            delim++;
        if (delim == e)
            return diag_set(d, ERR_PARSE,
                            "line %zu: expected 'name = value', '[section]' or a comment", line);
        const char *ks = s, *ke = delim;
        trim(&ks, &ke);
        if (ks == ke)
            return diag_set(d, ERR_PARSE, "line %zu: a value without a name", line);
        if (!section)
            return diag_set(d, ERR_PARSE, "line %zu: a setting before any [section]", line);
        const char *vs = delim + 1, *ve = e;
        for (const char *c = vs; c < ve; c++)
            if ((*c == '#' || *c == ';') && c > vs && is_blank(c[-1])) {
                ve = c;
                break;
            }
        trim(&vs, &ve);
        have_entry = 1;
        entry_indent = indent;
        struct aws_creds_ini_entry entry = {
            section, section_len, ks, (size_t)(ke - ks), vs, (size_t)(ve - vs), line,
        };
        int err = fn(ctx, &entry);
        if (err != ERR_OK)
            return err;
    }
    return ERR_OK;
}

struct lookup {
    const char *profile;
    int config_file;
    int in_profile;
    struct aws_creds_profile *out;
    struct diag *d;
};

static int section_is(const char *s, size_t n, const char *profile, int config_file)
{
    size_t pn = strlen(profile);
    if (!config_file || (strcmp(profile, "default") == 0 && n == 7 && memcmp(s, "default", 7) == 0))
        return n == pn && memcmp(s, profile, n) == 0;
    if (n < 8 || memcmp(s, "profile", 7) != 0 || !is_blank(s[7]))
        return 0;
    s += 8;
    n -= 8;
    while (n && is_blank(*s))
        s++, n--;
    return n == pn && memcmp(s, profile, n) == 0;
}

static int key_is(const struct aws_creds_ini_entry *e, const char *name)
{
    return e->key_len == strlen(name) && strncasecmp(e->key, name, e->key_len) == 0;
}

static int take(const struct aws_creds_ini_entry *e, const char *name, char *field, size_t cap,
                struct diag *d)
{
    if (e->value_len >= cap)
        return diag_set(d, ERR_TOOBIG, "line %zu: %s is longer than %zu bytes", e->line, name,
                        cap - 1);
    memcpy(field, e->value, e->value_len);
    field[e->value_len] = '\0';
    return ERR_OK;
}

static int on_entry(void *ctx, const struct aws_creds_ini_entry *e)
{
    struct lookup *l = ctx;
    if (!e->key) {
        l->in_profile = section_is(e->section, e->section_len, l->profile, l->config_file);
        l->out->found |= l->in_profile;
        return ERR_OK;
    }
    if (!l->in_profile)
        return ERR_OK;
    struct aws_creds_profile *o = l->out;
    static const char *const unsupported[] = {
        "source_profile",
        "credential_source",
        "sso_session",
        "sso_start_url",
    };
    if (key_is(e, "aws_access_key_id"))
        return take(e, "aws_access_key_id", o->access_key_id, sizeof o->access_key_id, l->d);
    if (key_is(e, "aws_secret_access_key"))
        return take(e, "aws_secret_access_key", o->secret_access_key, sizeof o->secret_access_key,
                    l->d);
    if (key_is(e, "aws_session_token"))
        return take(e, "aws_session_token", o->session_token, sizeof o->session_token, l->d);
    if (key_is(e, "region"))
        return take(e, "region", o->region, sizeof o->region, l->d);
    if (key_is(e, "credential_process"))
        return take(e, "credential_process", o->credential_process, sizeof o->credential_process,
                    l->d);
    if (key_is(e, "role_arn"))
        return take(e, "role_arn", o->role_arn, sizeof o->role_arn, l->d);
    if (key_is(e, "web_identity_token_file"))
        return take(e, "web_identity_token_file", o->web_identity_token_file,
                    sizeof o->web_identity_token_file, l->d);
    if (key_is(e, "role_session_name"))
        return take(e, "role_session_name", o->role_session_name, sizeof o->role_session_name,
                    l->d);
    for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
        if (key_is(e, unsupported[i]) && !o->unsupported[0])
            snprintf(o->unsupported, sizeof o->unsupported, "%s", unsupported[i]);
    return ERR_OK;
}

int aws_creds_ini_profile(const char *text, size_t len, const char *profile, int config_file,
                          struct aws_creds_profile *out, struct diag *d)
{
    memset(out, 0, sizeof *out);
    struct lookup l = {profile, config_file, 0, out, d};
    int err = aws_creds_ini_parse(text, len, on_entry, &l, d);
    if (err != ERR_OK)
        explicit_bzero(out, sizeof *out);
    return err;
}

/* ---- loading ---- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

static void wipe_buf(struct buf *b)
{
    if (b->data)
        explicit_bzero(b->data, b->cap);
    buf_release(b);
}

/* A profile from one file; ERR_OK with found = 0 when the file does not exist. */
static int load_profile(const char *path, const char *profile, int config_file,
                        struct aws_creds_profile *out, struct diag *d)
{
    memset(out, 0, sizeof *out);
    if (!path)
        return ERR_OK;
    struct buf text = BUF_INIT(AWS_CREDS_FILE_MAX);
    int err = file_read(path, &text, d);
    if (err == ERR_NOTFOUND) {
        diag_clear(d);
        err = ERR_OK;
    } else if (err == ERR_USAGE) {
        err = ERR_IO; /* a directory: the file cannot be read, as creds.h says */
    } else if (err == ERR_OK) {
        err = aws_creds_ini_profile(buf_cstr(&text), text.len, profile, config_file, out, d);
        if (err != ERR_OK)
            diag_prefix(d, err, "%s", path);
    }
    wipe_buf(&text);
    return err;
}

/* "~/x" with $HOME, the way the AWS CLI reads these variables. */
static int file_path(const char *var, const char *home, const char *dflt, char *out, size_t cap)
{
    const char *v = env(var);
    int n;
    if (v && v[0] == '~' && v[1] == '/' && home)
        n = snprintf(out, cap, "%s%s", home, v + 1);
    else if (v)
        n = snprintf(out, cap, "%s", v);
    else if (home)
        n = snprintf(out, cap, "%s/%s", home, dflt);
    else
        n = snprintf(out, cap, "%s", "");
    return n >= 0 && (size_t)n < cap;
}

static int copy_env(char *field, size_t cap, const char *name, const char *value, struct diag *d)
{
    size_t n = strlen(value);
    if (n >= cap)
        return diag_set(d, ERR_INVALID, "%s is longer than %zu bytes", name, cap - 1);
    memcpy(field, value, n + 1);
    return ERR_OK;
}

/* Never print these: the secret, the token, and the token as it appears in presigned URLs. */
static void register_secrets(const struct aws_creds *c)
{
    log_add_secret(c->secret_access_key);
    if (c->session_token[0]) {
        log_add_secret(c->session_token);
        struct buf enc = BUF_INIT(3 * AWS_CREDS_TOKEN_MAX);
        if (sigv4_uri_encode(&enc, c->session_token, strlen(c->session_token), 0) == ERR_OK)
            log_add_secret(buf_cstr(&enc));
        wipe_buf(&enc);
    }
}

/* "profile 'x' in /path", cut with "..." if it does not fit (it is only a message). */
static void describe_profile(char *out, size_t cap, const char *profile, const char *path)
{
    int n = snprintf(out, cap, "profile '%s' in %s", profile, path);
    if (n >= 0 && (size_t)n >= cap && cap > 4)
        memcpy(out + cap - 4, "...", 4);
}

static void describe_files(char *out, size_t cap, const char *cred_path, const char *conf_path)
{
    if (cred_path[0] && conf_path[0])
        snprintf(out, cap, "%s or %s", cred_path, conf_path);
    else if (cred_path[0] || conf_path[0])
        snprintf(out, cap, "%s", cred_path[0] ? cred_path : conf_path);
    else
        snprintf(out, cap, "%s", "~/.aws (HOME is not set)");
}

/* ---- temporary credentials kept for the process ---- */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int have;
    char key[AWS_CREDS_SOURCE_MAX * 4];
    struct aws_creds c;
} cache;

void aws_creds_cache_reset(void)
{
    pthread_mutex_lock(&cache_lock);
    explicit_bzero(&cache, sizeof cache);
    pthread_mutex_unlock(&cache_lock);
}

static void take_keys(struct aws_creds *to, const struct aws_creds *from)
{
    memcpy(to->access_key_id, from->access_key_id, sizeof to->access_key_id);
    memcpy(to->secret_access_key, from->secret_access_key, sizeof to->secret_access_key);
    memcpy(to->session_token, from->session_token, sizeof to->session_token);
    memcpy(to->source, from->source, sizeof to->source);
    to->expiration_ms = from->expiration_ms;
}

/* The cache key: which provider with which settings (cut short if it must be). */
static void __attribute__((format(printf, 2, 3))) set_key(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, AWS_CREDS_SOURCE_MAX * 4, fmt, ap);
    va_end(ap);
}

/* What one provider needs to run. */
struct provider {
    enum { P_WEB_IDENTITY, P_PROCESS, P_CONTAINER, P_IMDS } kind;
    const char *a, *b, *c, *region;
};

static int run_provider(const struct provider *p, struct aws_creds *out, struct diag *d)
{
    switch (p->kind) {
    case P_WEB_IDENTITY:
        return aws_creds_from_web_identity(p->a, p->b, p->c, p->region, out, d);
    case P_PROCESS:
        return aws_creds_from_process(p->a, p->b, out, d);
    case P_CONTAINER:
        return aws_creds_from_container(out, d);
    default:
        return aws_creds_from_imds(out, d);
    }
}

/* The kept credentials of the same provider while they are good for more than the refresh
 * window (or have no expiration); else fetch, keep and use them; a failed refresh keeps the
 * old ones while they have not expired.  The lock is never held across the fetch. */
static int fetch_kept(const struct provider *p, const char *key, struct aws_creds *c,
                      struct diag *d)
{
    int64_t now = clock_wall_ms();
    pthread_mutex_lock(&cache_lock);
    int same = cache.have && strcmp(cache.key, key) == 0;
    if (same &&
        (cache.c.expiration_ms == 0 || cache.c.expiration_ms - now > AWS_CREDS_REFRESH_MS)) {
        take_keys(c, &cache.c);
        pthread_mutex_unlock(&cache_lock);
        return ERR_OK;
    }
    pthread_mutex_unlock(&cache_lock);

    struct aws_creds *fresh = calloc(1, sizeof *fresh);
    if (!fresh)
        return diag_set(d, ERR_NOMEM, "out of memory");
    int err = run_provider(p, fresh, d);
    pthread_mutex_lock(&cache_lock);
    if (!err) {
        register_secrets(fresh);
        take_keys(c, fresh);
        explicit_bzero(&cache, sizeof cache);
        cache.have = 1;
        snprintf(cache.key, sizeof cache.key, "%s", key);
        take_keys(&cache.c, fresh);
    } else if (cache.have && strcmp(cache.key, key) == 0 && cache.c.expiration_ms > now) {
        log_warn("aws credentials: the refresh failed; the current ones are kept until they "
                 "expire",
                 LF_STR("source", cache.c.source), LF_STR("error", d->text),
                 LF_INT("expires_in_s", (cache.c.expiration_ms - now) / 1000));
        take_keys(c, &cache.c);
        err = ERR_OK;
    }
    pthread_mutex_unlock(&cache_lock);
    explicit_bzero(fresh, sizeof *fresh);
    free(fresh);
    return err;
}

int aws_creds_load(struct aws_creds *c, struct diag *d)
{
    memset(c, 0, sizeof *c);
    const char *home = env("HOME");
    const char *profile = env("AWS_PROFILE");
    int profile_set = profile != NULL;
    if (!profile)
        profile = "default";
    char cred_path[2048], conf_path[2048];
    if (!file_path("AWS_SHARED_CREDENTIALS_FILE", home, ".aws/credentials", cred_path,
                   sizeof cred_path) ||
        !file_path("AWS_CONFIG_FILE", home, ".aws/config", conf_path, sizeof conf_path))
        return diag_set(d, ERR_INVALID,
                        "the path of the AWS credentials or config file is too "
                        "long");

    struct aws_creds_profile *from_cred = calloc(1, sizeof *from_cred);
    struct aws_creds_profile *from_conf = calloc(1, sizeof *from_conf);
    char *key_buf = malloc(AWS_CREDS_SOURCE_MAX * 4);
    int err = ERR_OK;
    if (!from_cred || !from_conf || !key_buf) {
        err = diag_set(d, ERR_NOMEM, "%s", err_str(ERR_NOMEM));
        goto out;
    }

    const char *key = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
    const char *region = env("AWS_REGION"), *region_var = "AWS_REGION";
    if (!region) {
        region = env("AWS_DEFAULT_REGION");
        region_var = "AWS_DEFAULT_REGION";
    }
    if ((key != NULL) != (secret != NULL)) {
        err = diag_set(d, ERR_AUTH, "%s is set in the environment but %s is not",
                       key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                       key ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
        goto out;
    }
    /* The config file is read only when something is needed from it. */
    if (!key || !region) {
        err = load_profile(conf_path[0] ? conf_path : NULL, profile, 1, from_conf, d);
        if (err != ERR_OK)
            goto out;
    }

    /* The region first: STS is asked in it. */
    if (region) {
        if (strlen(region) >= sizeof c->region || !aws_region_valid(region)) {
            char q[80];
            diag_quote(q, sizeof q, region, strlen(region), 64);
            err = diag_set(d, ERR_INVALID, "%s '%s' is not an AWS region name", region_var, q);
            goto out;
        }
        snprintf(c->region, sizeof c->region, "%s", region);
        snprintf(c->region_source, sizeof c->region_source, "%s", region_var);
    } else if (from_conf->region[0]) {
        if (!aws_region_valid(from_conf->region)) {
            char q[80];
            diag_quote(q, sizeof q, from_conf->region, strlen(from_conf->region), 64);
            err = diag_set(d, ERR_INVALID,
                           "%s: the region '%s' of profile '%s' is not an AWS "
                           "region name",
                           conf_path, q, profile);
            goto out;
        }
        memcpy(c->region, from_conf->region, sizeof c->region);
        describe_profile(c->region_source, sizeof c->region_source, profile, conf_path);
    }

    if (key) {
        const char *token = env("AWS_SESSION_TOKEN");
        err = copy_env(c->access_key_id, sizeof c->access_key_id, "AWS_ACCESS_KEY_ID", key, d);
        if (err == ERR_OK)
            err = copy_env(c->secret_access_key, sizeof c->secret_access_key,
                           "AWS_SECRET_ACCESS_KEY", secret, d);
        if (err == ERR_OK && token)
            err =
                copy_env(c->session_token, sizeof c->session_token, "AWS_SESSION_TOKEN", token, d);
        if (err != ERR_OK)
            goto out;
        snprintf(c->source, sizeof c->source, "%s", "environment");
        register_secrets(c);
        goto loaded;
    }

    err = load_profile(cred_path[0] ? cred_path : NULL, profile, 0, from_cred, d);
    if (err != ERR_OK)
        goto out;
    char files[4200];
    describe_files(files, sizeof files, cred_path, conf_path);
    /* The credentials file wins, setting by setting, as in the AWS CLI. */
#define PICK(field) (from_cred->field[0] ? from_cred : from_conf)
    const struct aws_creds_profile *k = PICK(access_key_id), *s = PICK(secret_access_key);
    const struct aws_creds_profile *t = PICK(session_token), *proc = PICK(credential_process);
    const struct aws_creds_profile *arn = PICK(role_arn), *wif = PICK(web_identity_token_file);
    const struct aws_creds_profile *sess = PICK(role_session_name);
#undef PICK
    int found = from_cred->found || from_conf->found;

    /* 2. a web identity token: the environment's, else the profile's */
    const char *token_file = env("AWS_WEB_IDENTITY_TOKEN_FILE"), *role = env("AWS_ROLE_ARN");
    const char *session = env("AWS_ROLE_SESSION_NAME");
    if ((token_file != NULL) != (role != NULL)) {
        err = diag_set(d, ERR_AUTH, "%s is set in the environment but %s is not",
                       token_file ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN",
                       token_file ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE");
        goto out;
    }
    if (!token_file && wif->web_identity_token_file[0] && arn->role_arn[0]) {
        token_file = wif->web_identity_token_file;
        role = arn->role_arn;
        session = sess->role_session_name[0] ? sess->role_session_name : NULL;
    }
    if (token_file) {
        struct provider p = {P_WEB_IDENTITY, token_file, role, session, c->region};
        set_key(key_buf, "web identity|%s|%s|%s", token_file, role, c->region);
        err = fetch_kept(&p, key_buf, c, d);
        goto loaded;
    }

    /* 3. the profile: static keys, else credential_process */
    if (k->access_key_id[0] || s->secret_access_key[0]) {
        if (!k->access_key_id[0] || !s->secret_access_key[0]) {
            err = diag_set(d, ERR_AUTH, "profile '%s' in %s has no %s", profile, files,
                           !k->access_key_id[0] ? "aws_access_key_id" : "aws_secret_access_key");
            goto out;
        }
        memcpy(c->access_key_id, k->access_key_id, sizeof c->access_key_id);
        memcpy(c->secret_access_key, s->secret_access_key, sizeof c->secret_access_key);
        memcpy(c->session_token, t->session_token, sizeof c->session_token);
        describe_profile(c->source, sizeof c->source, profile,
                         k == from_cred ? cred_path : conf_path);
        register_secrets(c);
        goto loaded;
    }
    if (proc->credential_process[0]) {
        char where[AWS_CREDS_SOURCE_MAX];
        describe_profile(where, sizeof where, profile, proc == from_cred ? cred_path : conf_path);
        struct provider p = {P_PROCESS, proc->credential_process, where, NULL, NULL};
        set_key(key_buf, "process|%s|%s", where, proc->credential_process);
        err = fetch_kept(&p, key_buf, c, d);
        goto loaded;
    }
    const char *unsupported = arn->role_arn[0]            ? "role_arn"
                              : from_cred->unsupported[0] ? from_cred->unsupported
                                                          : from_conf->unsupported;
    if (unsupported[0]) {
        err = diag_set(d, ERR_AUTH,
                       "profile '%s' in %s gets its credentials through %s, which is not "
                       "supported: give it aws_access_key_id and aws_secret_access_key or a "
                       "credential_process (for SSO: credential_process = aws configure "
                       "export-credentials --profile NAME --format process), or set "
                       "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                       profile, files, unsupported);
        goto out;
    }
    if (profile_set) {
        if (!found)
            err = diag_set(d, ERR_AUTH,
                           "no AWS credentials: AWS_PROFILE is '%s' but no such profile is "
                           "in %s",
                           profile, files);
        else
            err = diag_set(d, ERR_AUTH,
                           "profile '%s' in %s has no aws_access_key_id and "
                           "aws_secret_access_key, nor a credential_process",
                           profile, files);
        goto out;
    }

    /* 4. the container endpoint */
    char url[4096];
    err = aws_creds_container_url(url, sizeof url, d);
    if (err == ERR_OK) {
        struct provider p = {P_CONTAINER, NULL, NULL, NULL, NULL};
        set_key(key_buf, "container|%s", url);
        err = fetch_kept(&p, key_buf, c, d);
        goto loaded;
    }
    if (err != ERR_NOTFOUND)
        goto out;

    /* 5. EC2 instance metadata */
    const char *off = env("AWS_EC2_METADATA_DISABLED");
    if (off && strcasecmp(off, "true") == 0) {
        err = diag_set(d, ERR_AUTH,
                       "no AWS credentials: looked for AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY and a web identity token in the environment, for "
                       "profile 'default' in %s (set AWS_PROFILE for another profile), for "
                       "container credentials (not configured) and instance metadata "
                       "(AWS_EC2_METADATA_DISABLED=true)",
                       files);
        goto out;
    }
    {
        const char *ep = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        struct provider p = {P_IMDS, NULL, NULL, NULL, NULL};
        set_key(key_buf, "imds|%s", ep ? ep : "");
        err = fetch_kept(&p, key_buf, c, d);
        if (err)
            diag_prefix(d, ERR_AUTH,
                        "no AWS credentials: none in the environment, no web identity token, "
                        "no profile 'default' in %s (set AWS_PROFILE for another profile), no "
                        "container credentials, and the instance metadata failed",
                        files);
        err = err ? ERR_AUTH : ERR_OK;
    }

loaded:
    if (err)
        goto out;
    log_debug("aws credentials loaded", LF_STR("source", c->source), LF_STR("region", c->region),
              LF_STR("region_source", c->region_source),
              LF_BOOL("temporary", c->session_token[0] != '\0'),
              LF_INT("expires_in_s",
                     c->expiration_ms ? (c->expiration_ms - clock_wall_ms()) / 1000 : -1));
out:
    if (from_cred)
        explicit_bzero(from_cred, sizeof *from_cred);
    if (from_conf)
        explicit_bzero(from_conf, sizeof *from_conf);
    free(from_cred);
    free(from_conf);
    free(key_buf);
    if (err != ERR_OK)
        aws_creds_release(c);
    return err;
}

void aws_creds_release(struct aws_creds *c)
{
    explicit_bzero(c->access_key_id, sizeof c->access_key_id);
    explicit_bzero(c->secret_access_key, sizeof c->secret_access_key);
    explicit_bzero(c->session_token, sizeof c->session_token);
    c->expiration_ms = 0;
}

struct sigv4_creds aws_creds_sigv4(const struct aws_creds *c)
{
    return (struct sigv4_creds){c->access_key_id, c->secret_access_key, c->session_token};
}
