#include "aws/creds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/endpoint.h"
#include "base/buf.h"
#include "base/file.h"
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
        "role_arn",      "credential_process",      "sso_session",
        "sso_start_url", "web_identity_token_file", "credential_source",
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
    int err = ERR_OK;
    if (!from_cred || !from_conf) {
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
    } else {
        err = load_profile(cred_path[0] ? cred_path : NULL, profile, 0, from_cred, d);
        if (err != ERR_OK)
            goto out;
        /* The credentials file wins, setting by setting, as in the AWS CLI. */
        const struct aws_creds_profile *k = from_cred->access_key_id[0] ? from_cred : from_conf;
        const struct aws_creds_profile *s = from_cred->secret_access_key[0] ? from_cred : from_conf;
        const struct aws_creds_profile *t = from_cred->session_token[0] ? from_cred : from_conf;
        const char *where = k == from_cred ? cred_path : conf_path;
        char files[4200];
        describe_files(files, sizeof files, cred_path, conf_path);
        const char *unsupported =
            from_cred->unsupported[0] ? from_cred->unsupported : from_conf->unsupported;
        if (!from_cred->found && !from_conf->found) {
            if (profile_set)
                err = diag_set(d, ERR_AUTH,
                               "no AWS credentials: AWS_PROFILE is '%s' but no such profile is "
                               "in %s",
                               profile, files);
            else
                err = diag_set(d, ERR_AUTH,
                               "no AWS credentials: looked for AWS_ACCESS_KEY_ID and "
                               "AWS_SECRET_ACCESS_KEY in the environment and for profile "
                               "'default' in %s (set AWS_PROFILE for another profile)",
                               files);
            goto out;
        }
        if (!k->access_key_id[0] && unsupported[0]) {
            err = diag_set(d, ERR_AUTH,
                           "profile '%s' in %s gets its credentials through %s, which is not "
                           "supported: give it aws_access_key_id and aws_secret_access_key, or "
                           "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                           profile, files, unsupported);
            goto out;
        }
        if (!k->access_key_id[0] || !s->secret_access_key[0]) {
            err = diag_set(d, ERR_AUTH, "profile '%s' in %s has no %s", profile, files,
                           !k->access_key_id[0] && !s->secret_access_key[0]
                               ? "aws_access_key_id and aws_secret_access_key"
                           : !k->access_key_id[0] ? "aws_access_key_id"
                                                  : "aws_secret_access_key");
            goto out;
        }
        memcpy(c->access_key_id, k->access_key_id, sizeof c->access_key_id);
        memcpy(c->secret_access_key, s->secret_access_key, sizeof c->secret_access_key);
        memcpy(c->session_token, t->session_token, sizeof c->session_token);
        describe_profile(c->source, sizeof c->source, profile, where);
    }

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
    register_secrets(c);
    log_debug("aws credentials loaded", LF_STR("source", c->source), LF_STR("region", c->region),
              LF_STR("region_source", c->region_source),
              LF_BOOL("temporary", c->session_token[0] != '\0'));
out:
    if (from_cred)
        explicit_bzero(from_cred, sizeof *from_cred);
    if (from_conf)
        explicit_bzero(from_conf, sizeof *from_conf);
    free(from_cred);
    free(from_conf);
    if (err != ERR_OK)
        aws_creds_release(c);
    return err;
}

void aws_creds_release(struct aws_creds *c)
{
    explicit_bzero(c->access_key_id, sizeof c->access_key_id);
    explicit_bzero(c->secret_access_key, sizeof c->secret_access_key);
    explicit_bzero(c->session_token, sizeof c->session_token);
}

struct sigv4_creds aws_creds_sigv4(const struct aws_creds *c)
{
    return (struct sigv4_creds){c->access_key_id, c->secret_access_key, c->session_token};
}
