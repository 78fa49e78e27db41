/* sigcheck.c - checking AWS Signature Version 4 on requests (see sigcheck.h). */
#include "fakes/sigcheck.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "aws/sigv4.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/date.h"
#include "codec/crypto.h"

#include "base/banned.h"

#define MAX_SKEW_S 900

static int refuse(struct sigcheck_refusal *why, int status, const char *type, const char *msg)
{
    why->status = status;
    snprintf(why->type, sizeof why->type, "%s", type);
    snprintf(why->msg, sizeof why->msg, "%s", msg);
    return -1;
}

static const char bad_signature[] =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

/* "20260101T000000Z" -> Unix seconds. */
static int parse_amz_date(const char *s, int64_t *out)
{
    if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return -1;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9'))
            return -1;
    char day[11];
    snprintf(day, sizeof day, "%.4s-%.2s-%.2s", s, s + 4, s + 6);
    int32_t days;
    if (date_parse(day, 10, &days) != ERR_OK)
        return -1;
    int h = (s[9] - '0') * 10 + (s[10] - '0'), m = (s[11] - '0') * 10 + (s[12] - '0'),
        sec = (s[13] - '0') * 10 + (s[14] - '0');
    if (h > 23 || m > 59 || sec > 60)
        return -1;
    *out = (int64_t)days * 86400 + h * 3600 + m * 60 + sec;
    return 0;
}

/* Copy "key=value" out of the comma-separated Authorization parameters. */
static int auth_param(const char *params, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    const char *p = params;
    while (*p) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, ",");
        if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t vlen = n - klen - 1;
            while (vlen && p[klen + 1 + vlen - 1] == ' ')
                vlen--;
            if (vlen >= cap)
                return -1;
            memcpy(out, p + klen + 1, vlen);
            out[vlen] = '\0';
            return 0;
        }
        p += n;
    }
    return -1;
}

#define MAX_SIGNED 32

int sigcheck_verify(const struct httpd_request *req, const struct sigcheck_keys *k,
                    struct sigcheck_refusal *why)
{
    const char *auth = httpd_request_header(req, "Authorization");
    if (!auth)
        return refuse(why, 403, "MissingAuthenticationTokenException",
                      "Missing Authentication Token");
    if (strncmp(auth, "AWS4-HMAC-SHA256 ", 17) != 0)
        return refuse(why, 400, "IncompleteSignatureException",
                      "Authorization header requires the AWS4-HMAC-SHA256 algorithm");
    char cred[300], signed_list[1024], sig[80];
    if (auth_param(auth + 17, "Credential", cred, sizeof cred) ||
        auth_param(auth + 17, "SignedHeaders", signed_list, sizeof signed_list) ||
        auth_param(auth + 17, "Signature", sig, sizeof sig))
        return refuse(why, 400, "IncompleteSignatureException",
                      "Authorization header requires 'Credential', 'SignedHeaders' and "
                      "'Signature' parameters");
    /* AKID/YYYYMMDD/region/service/aws4_request */
    char *part[5], *save = cred;
    for (int i = 0; i < 5; i++) {
        part[i] = save;
        char *slash = strchr(save, '/');
        if (i < 4) {
            if (!slash)
                return refuse(why, 400, "IncompleteSignatureException",
                              "Credential must have the form KEY/DATE/REGION/SERVICE/"
                              "aws4_request");
            *slash = '\0';
            save = slash + 1;
        } else if (slash) {
            return refuse(why, 400, "IncompleteSignatureException",
                          "Credential has too many parts");
        }
    }
    if (!crypto_secret_streq(part[0], k->key_id))
        return refuse(why, 400, "UnrecognizedClientException",
                      "The security token included in the request is invalid.");
    const char *token = httpd_request_header(req, "X-Amz-Security-Token");
    if ((k->token && !crypto_secret_streq(token, k->token)) || (!k->token && token))
        return refuse(why, 400, "UnrecognizedClientException",
                      "The security token included in the request is invalid.");
    if (strcmp(part[3], k->service) != 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "Credential should be scoped to correct service: '%s'.",
                 k->service);
        return refuse(why, 400, "InvalidSignatureException", msg);
    }
    if (strcmp(part[2], k->region) != 0)
        return refuse(why, 400, "InvalidSignatureException",
                      "Credential should be scoped to a valid region.");
    if (strcmp(part[4], "aws4_request") != 0)
        return refuse(why, 400, "InvalidSignatureException",
                      "Credential should be scoped with a valid terminator: 'aws4_request'.");
    const char *amz_date = httpd_request_header(req, "X-Amz-Date");
    int64_t t;
    if (parse_amz_date(amz_date, &t) != 0)
        return refuse(why, 400, "IncompleteSignatureException",
                      "X-Amz-Date must be a date of the form YYYYMMDD'T'HHMMSS'Z'");
    if (strlen(part[1]) != 8 || strncmp(part[1], amz_date, 8) != 0)
        return refuse(why, 400, "InvalidSignatureException",
                      "Date in Credential scope does not match YYYYMMDD from X-Amz-Date.");
    int64_t now = clock_wall_ms() / 1000;
    if (t < now - MAX_SKEW_S || t > now + MAX_SKEW_S)
        return refuse(why, 400, "InvalidSignatureException",
                      "Signature expired or not yet current: the request time is more than 15 "
                      "minutes away from the server time.");

    /* The headers the client says it signed, as received. */
    struct sigv4_header hs[MAX_SIGNED];
    char names[MAX_SIGNED][64];
    size_t nh = 0;
    for (const char *p = signed_list; *p;) {
        size_t n = strcspn(p, ";");
        if (n == 0 || n >= sizeof names[0])
            return refuse(why, 400, "IncompleteSignatureException", "SignedHeaders is malformed");
        size_t found = 0;
        for (size_t i = 0; i < req->nheaders; i++) {
            const char *line = req->headers[i];
            if (strncasecmp(line, p, n) != 0 || line[n] != ':')
                continue;
            if (nh == MAX_SIGNED)
                return refuse(why, 400, "IncompleteSignatureException", "too many signed headers");
            memcpy(names[nh], p, n);
            names[nh][n] = '\0';
            const char *v = line + n + 1;
            hs[nh].name = names[nh];
            hs[nh].value = v + strspn(v, " \t");
            nh++;
            found++;
        }
        if (!found)
            return refuse(why, 400, "InvalidSignatureException", bad_signature);
        p += n;
        if (*p == ';')
            p++;
    }
    struct sigv4_request sr = {
        .method = req->method,
        .path = req->path,
        .query = req->query,
        .headers = hs,
        .nheaders = nh,
        .body = req->body,
        .body_len = req->body_len,
    };
    struct sigv4_params sp = {
        .region = part[2], .service = part[3], .time_s = t, .rules = SIGV4_DEFAULT};
    struct sigv4_creds creds = {.access_key_id = part[0], .secret_access_key = k->secret};
    struct buf creq = BUF_INIT(1 << 20), sts = BUF_INIT(1 << 16);
    struct diag d;
    int err = sigv4_canonical_request(&sr, &sp, &creds, &creq, &d);
    if (!err)
        err = sigv4_string_to_sign(creq.data, creq.len, &sp, &sts, &d);
    int match = 0;
    if (!err) {
        uint8_t key[32];
        char want[65];
        sigv4_signing_key(k->secret, part[1], part[2], part[3], key);
        sigv4_signature(key, sts.data, sts.len, want);
        match = crypto_secret_streq(sig, want);
    }
    buf_release(&creq);
    buf_release(&sts);
    if (err)
        return refuse(why, 400, "IncompleteSignatureException", d.text);
    if (!match)
        return refuse(why, 400, "InvalidSignatureException", bad_signature);
    return 0;
}
