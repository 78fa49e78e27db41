/* creds_parse.c - the answers of the remote credential providers: STS's XML, the JSON of
 * credential_process, the container endpoint and instance metadata; their expiration times;
 * credential_process command lines.  No message quotes the input: it holds secrets. */
#include "aws/creds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/date.h"
#include "codec/json.h"
#include "codec/xml.h"

#include "base/banned.h"

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

int aws_creds_parse_time(const char *s, size_t n, int64_t *ms)
{
    *ms = 0;
    int32_t day;
    int hh, mm, ss;
    if (n < 20 || date_parse(s, 10, &day) != ERR_OK || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':' || !digits(s + 11, 2, &hh) || !digits(s + 14, 2, &mm) ||
        !digits(s + 17, 2, &ss) || hh > 23 || mm > 59 || ss > 60)
        return ERR_PARSE;
    size_t i = 19;
    int64_t frac_ms = 0;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (i - start < 3)
                frac_ms = frac_ms * 10 + (s[i] - '0');
            i++;
        }
        if (i == start || i - start > 9)
            return ERR_PARSE;
        for (size_t k = i - start; k < 3; k++)
            frac_ms *= 10;
    }
    int64_t offset_s = 0;
    if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return ERR_PARSE;
        offset_s = (s[i] == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
        i += 6;
    }
    if (i != n)
        return ERR_PARSE;
    *ms = ((int64_t)day * 86400 + hh * 3600 + mm * 60 + ss - offset_s) * 1000 + frac_ms;
    return ERR_OK;
}

/* Keys and tokens go into HTTP headers and query strings: printable ASCII, no spaces. */
static int printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

static int put_field(char *field, size_t cap, const char *name, const char *v, size_t n,
                     const char *what, struct diag *d)
{
    if (n == 0)
        return diag_set(d, ERR_PARSE, "%s: %s is empty", what, name);
    if (n >= cap)
        return diag_set(d, ERR_TOOBIG, "%s: %s is longer than %zu bytes", what, name, cap - 1);
    if (!printable(v, n))
        return diag_set(d, ERR_PARSE, "%s: %s holds characters a credential cannot have", what,
                        name);
    memcpy(field, v, n);
    field[n] = '\0';
    return ERR_OK;
}

static void wipe_keys(struct aws_creds *out)
{
    explicit_bzero(out->access_key_id, sizeof out->access_key_id);
    explicit_bzero(out->secret_access_key, sizeof out->secret_access_key);
    explicit_bzero(out->session_token, sizeof out->session_token);
    out->expiration_ms = 0;
}

/* A string member: ERR_OK with *v NULL when absent (and optional). */
static int json_member(const struct jv *root, const char *name, int required, const char **v,
                       size_t *n, const char *what, struct diag *d)
{
    *v = NULL;
    *n = 0;
    const struct jv *m = jv_get(root, name);
    if (!m || jv_is_null(m))
        return required ? diag_set(d, ERR_PARSE, "%s: no %s", what, name) : ERR_OK;
    if (!(*v = jv_str(m, n)))
        return diag_set(d, ERR_PARSE, "%s: %s is %s %s, expected a string", what, name,
                        jv_type(m) == JV_ARRAY || jv_type(m) == JV_OBJECT ? "an" : "a",
                        jv_type_name(jv_type(m)));
    return ERR_OK;
}

int aws_creds_parse_json(const char *text, size_t len, enum aws_creds_json_kind kind,
                         struct aws_creds *out, struct diag *d)
{
    const char *what = kind == AWS_CREDS_JSON_PROCESS     ? "credential_process output"
                       : kind == AWS_CREDS_JSON_CONTAINER ? "container credentials"
                                                          : "instance metadata credentials";
    wipe_keys(out);
    struct jv *root = NULL;
    struct diag jd;
    /* The parser's own message may quote the text: it is not passed on. */
    if (jv_parse(text, len, &root, &jd) != ERR_OK)
        return diag_set(d, ERR_PARSE, "%s: not valid JSON", what);
    int err = ERR_OK;
    const char *v;
    size_t n;
    if (jv_type(root) != JV_OBJECT) {
        err = diag_set(d, ERR_PARSE, "%s: not a JSON object", what);
        goto out;
    }
    if (kind == AWS_CREDS_JSON_PROCESS) {
        int64_t version;
        const struct jv *ver = jv_get(root, "Version");
        if (!ver) {
            err = diag_set(d, ERR_PARSE, "%s: no Version", what);
            goto out;
        }
        if (jv_int(ver, &version) != ERR_OK || version != 1) {
            err =
                diag_set(d, ERR_UNSUPPORTED, "%s: Version is not 1 (the only one there is)", what);
            goto out;
        }
    }
    if (kind == AWS_CREDS_JSON_IMDS) {
        if ((err = json_member(root, "Code", 0, &v, &n, what, d)) != ERR_OK)
            goto out;
        if (v && strcmp(v, "Success") != 0) {
            char q[80];
            diag_quote(q, sizeof q, v, n, 48);
            err = diag_set(d, ERR_AUTH, "%s: Code is '%s', not Success", what, q);
            goto out;
        }
    }
    const char *token_name = kind == AWS_CREDS_JSON_PROCESS ? "SessionToken" : "Token";
    int full = kind == AWS_CREDS_JSON_IMDS;
    if ((err = json_member(root, "AccessKeyId", 1, &v, &n, what, d)) != ERR_OK ||
        (err = put_field(out->access_key_id, sizeof out->access_key_id, "AccessKeyId", v, n, what,
                         d)) != ERR_OK)
        goto out;
    if ((err = json_member(root, "SecretAccessKey", 1, &v, &n, what, d)) != ERR_OK ||
        (err = put_field(out->secret_access_key, sizeof out->secret_access_key, "SecretAccessKey",
                         v, n, what, d)) != ERR_OK)
        goto out;
    if ((err = json_member(root, token_name, full, &v, &n, what, d)) != ERR_OK)
        goto out;
    if (v && (err = put_field(out->session_token, sizeof out->session_token, token_name, v, n, what,
                              d)) != ERR_OK)
        goto out;
    if ((err = json_member(root, "Expiration", full, &v, &n, what, d)) != ERR_OK)
        goto out;
    if (v && aws_creds_parse_time(v, n, &out->expiration_ms) != ERR_OK) {
        err = diag_set(d, ERR_PARSE, "%s: Expiration is not an ISO 8601 time", what);
        goto out;
    }
out:
    jv_free(root);
    if (err)
        wipe_keys(out);
    return err;
}

int aws_creds_parse_sts(const char *text, size_t len, struct aws_creds *out, struct diag *d)
{
    const char *what = "STS AssumeRoleWithWebIdentity";
    wipe_keys(out);
    struct xml_doc *doc = NULL;
    struct diag xd;
    if (xml_parse(text, len, &doc, &xd) != ERR_OK)
        return diag_set(d, ERR_PARSE, "%s: the answer is not valid XML", what);
    int err = ERR_OK;
    const struct xml_node *root = xml_root(doc);
    if (strcmp(xml_name(root), "ErrorResponse") == 0) {
        const struct xml_node *e = xml_child(root, "Error");
        const char *code = e ? xml_child_text(e, "Code", NULL) : NULL;
        const char *msg = e ? xml_child_text(e, "Message", NULL) : NULL;
        char qc[80], qm[300];
        diag_quote(qc, sizeof qc, code ? code : "", code ? strlen(code) : 0, 64);
        diag_quote(qm, sizeof qm, msg ? msg : "", msg ? strlen(msg) : 0, 256);
        err = diag_set(d, ERR_AUTH, "%s: %s%s%s", what, code ? qc : "an error without a Code",
                       msg ? ": " : "", msg ? qm : "");
        goto out;
    }
    if (strcmp(xml_name(root), "AssumeRoleWithWebIdentityResponse") != 0) {
        err = diag_set(d, ERR_PARSE, "%s: the answer is not an AssumeRoleWithWebIdentityResponse",
                       what);
        goto out;
    }
    const struct xml_node *res = xml_child(root, "AssumeRoleWithWebIdentityResult");
    const struct xml_node *c = res ? xml_child(res, "Credentials") : NULL;
    if (!c) {
        err = diag_set(d, ERR_PARSE, "%s: the answer has no Credentials", what);
        goto out;
    }
    static const char *const names[] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
                                        "Expiration"};
    char *fields[] = {out->access_key_id, out->secret_access_key, out->session_token, NULL};
    size_t caps[] = {sizeof out->access_key_id, sizeof out->secret_access_key,
                     sizeof out->session_token, 0};
    for (int i = 0; i < 4 && !err; i++) {
        size_t n;
        const char *v = xml_child_text(c, names[i], &n);
        if (!v)
            err = diag_set(d, ERR_PARSE, "%s: no Credentials/%s", what, names[i]);
        else if (fields[i])
            err = put_field(fields[i], caps[i], names[i], v, n, what, d);
        else if (aws_creds_parse_time(v, n, &out->expiration_ms) != ERR_OK)
            err = diag_set(d, ERR_PARSE, "%s: Expiration is not an ISO 8601 time", what);
    }
out:
    xml_free(doc);
    if (err)
        wipe_keys(out);
    return err;
}

int aws_creds_split_command(const char *cmd, struct strvec *argv, struct diag *d)
{
    size_t n = strlen(cmd);
    char *word = malloc(n + 1);
    if (!word)
        return diag_set(d, ERR_NOMEM, "out of memory");
    int err = ERR_OK;
    size_t i = 0;
    while (!err) {
        while (i < n && (cmd[i] == ' ' || cmd[i] == '\t' || cmd[i] == '\n'))
            i++;
        if (i >= n)
            break;
        size_t w = 0;
        while (!err && i < n && cmd[i] != ' ' && cmd[i] != '\t' && cmd[i] != '\n') {
            char ch = cmd[i++];
            if (ch == '\'') {
                const char *close = memchr(cmd + i, '\'', n - i);
                if (!close) {
                    err = diag_set(d, ERR_PARSE, "a single quote is not closed");
                    break;
                }
                memcpy(word + w, cmd + i, (size_t)(close - (cmd + i)));
                w += (size_t)(close - (cmd + i));
                i = (size_t)(close - cmd) + 1;
            } else if (ch == '"') {
                while (i < n && cmd[i] != '"') {
                    if (cmd[i] == '\\' && i + 1 < n && strchr("\\\"$`", cmd[i + 1]))
                        i++;
                    word[w++] = cmd[i++];
                }
                if (i >= n)
                    err = diag_set(d, ERR_PARSE, "a double quote is not closed");
                i++;
            } else if (ch == '\\') {
                if (i < n)
                    word[w++] = cmd[i++];
            } else {
                word[w++] = ch;
            }
        }
        if (!err && strvec_pushn(argv, word, w) != ERR_OK)
            err = diag_set(d, ERR_NOMEM, "out of memory");
    }
    free(word);
    if (!err && argv->n == 0)
        err = diag_set(d, ERR_PARSE, "the command is empty");
    return err;
}
