/* sigv4-sign - sign requests described as JSON lines with aws/sigv4.h, for differential tests
 * against other signers (tests/node/sigv4-diff.mjs).
 *
 * Each input line is one object:
 *
 *   {"id": 7, "method": "GET", "host": "b.s3.amazonaws.com", "path": "/a%20b", "query": "x=1",
 *    "headers": [["X-Amz-Meta-A", " v "]], "body": "...", "payload_hash": "UNSIGNED-PAYLOAD",
 *    "region": "us-east-1", "service": "s3", "time": 1440938160, "rules": "s3",
 *    "credentials": {"access_key_id": "...", "secret_access_key": "...", "session_token": "..."},
 *    "presign": true, "expires": 3600}
 *
 * ("host" becomes a Host header unless the headers have one; "query", "headers", "body",
 * "payload_hash", "session_token", "presign" and "expires" are optional.)  Each output line is
 * {"id": 7, "ok": true, "signature": ..., "canonical_request": ..., "string_to_sign": ...,
 * "authorization": ..., "added_headers": [...]} for header signing, with "query" instead of
 * the last two when presigning, or {"id": 7, "ok": false, "error": "INVALID", "message": ...}.
 * The output holds the session token where the request would: it is for the test's eyes.
 */
#include "aws/sigv4.h"
#include "base/buf.h"
#include "base/err.h"
#include "codec/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/banned.h"

#define LINE_MAX_BYTES ((size_t)1 << 20)
#define HEADERS_MAX    64

static const char usage[] =
    "usage: sigv4-sign < requests.jsonl > results.jsonl\n\n"
    "Sign each request (one JSON object per line) with the project's SigV4 code and print one\n"
    "JSON result per line.  See the comment at the top of tests/fakes/cmd/sigv4-sign.c for the "
    "fields.\n";

static void put_str(struct buf *out, const char *key, const char *s, size_t n)
{
    buf_printf(out, ",\"%s\":\"", key);
    buf_json_escape(out, s, n);
    buf_putc(out, '"');
}

static const char *str_field(const struct jv *o, const char *key, const char *dflt)
{
    const char *s = jv_str(jv_get(o, key), NULL);
    return s ? s : dflt;
}

static int sign_one(const struct jv *req, struct buf *out, struct diag *d)
{
    const struct jv *creds = jv_get(req, "credentials");
    struct sigv4_creds c = {
        str_field(creds, "access_key_id", ""),
        str_field(creds, "secret_access_key", ""),
        str_field(creds, "session_token", NULL),
    };
    struct sigv4_params p = {
        .region = str_field(req, "region", ""),
        .service = str_field(req, "service", ""),
    };
    const char *rules = str_field(req, "rules", "default");
    if (strcmp(rules, "s3") == 0)
        p.rules = SIGV4_S3;
    else if (strcmp(rules, "default") != 0)
        return diag_set(d, ERR_INVALID, "rules must be \"s3\" or \"default\"");
    if (jv_int(jv_get(req, "time"), &p.time_s) != ERR_OK)
        return diag_set(d, ERR_INVALID, "time must be an integer (Unix seconds)");
    int presign = 0;
    if (jv_get(req, "presign") && jv_bool(jv_get(req, "presign"), &presign) != ERR_OK)
        return diag_set(d, ERR_INVALID, "presign must be a boolean");
    if (jv_get(req, "expires") && jv_int(jv_get(req, "expires"), &p.expires_s) != ERR_OK)
        return diag_set(d, ERR_INVALID, "expires must be an integer");

    struct sigv4_header h[HEADERS_MAX + 1];
    size_t nh = 0;
    const struct jv *hs = jv_get(req, "headers");
    int has_host = 0;
    for (size_t i = 0; i < jv_len(hs); i++) {
        const struct jv *pair = jv_at(hs, i);
        const char *name = jv_str(jv_at(pair, 0), NULL), *value = jv_str(jv_at(pair, 1), NULL);
        if (!name || !value || jv_len(pair) != 2)
            return diag_set(d, ERR_INVALID, "header %zu is not a [name, value] pair", i);
        if (nh == HEADERS_MAX)
            return diag_set(d, ERR_TOOBIG, "more than %d headers", HEADERS_MAX);
        has_host |= strcasecmp(name, "host") == 0;
        h[nh++] = (struct sigv4_header){name, value};
    }
    const char *host = str_field(req, "host", NULL);
    if (host && !has_host)
        h[nh++] = (struct sigv4_header){"Host", host};
    size_t body_len = 0;
    const char *body = jv_str(jv_get(req, "body"), &body_len);
    struct sigv4_request r = {
        .method = str_field(req, "method", ""),
        .path = str_field(req, "path", "/"),
        .query = str_field(req, "query", ""),
        .headers = h,
        .nheaders = nh,
        .payload_hash = str_field(req, "payload_hash", NULL),
        .body = body,
        .body_len = body ? body_len : 0,
    };

    struct buf creq = BUF_INIT(LINE_MAX_BYTES * 4), sts = BUF_INIT(LINE_MAX_BYTES * 4);
    struct buf query = BUF_INIT(LINE_MAX_BYTES * 4);
    struct sigv4_signed s;
    int err = presign ? sigv4_presign_canonical_request(&r, &p, &c, &creq, d)
                      : sigv4_canonical_request(&r, &p, &c, &creq, d);
    if (err == ERR_OK)
        err = sigv4_string_to_sign(creq.data, creq.len, &p, &sts, d);
    if (err == ERR_OK)
        err = presign ? sigv4_presign_query(&r, &p, &c, &query, d)
                      : sigv4_sign_headers(&r, &p, &c, &s, d);
    if (err == ERR_OK) {
        const char *sig = presign ? strstr(query.data, "X-Amz-Signature=") + 16 : s.signature;
        buf_puts(out, ",\"ok\":true");
        put_str(out, "signature", sig, strlen(sig));
        put_str(out, "canonical_request", creq.data, creq.len);
        put_str(out, "string_to_sign", sts.data, sts.len);
        if (presign) {
            put_str(out, "query", query.data, query.len);
        } else {
            put_str(out, "authorization", s.authorization, strlen(s.authorization));
            buf_puts(out, ",\"added_headers\":[");
            const char *added[] = {s.amz_date, s.content_sha256, s.security_token};
            int first = 1;
            for (size_t i = 0; i < 3; i++) {
                if (!added[i][0])
                    continue;
                buf_puts(out, first ? "\"" : ",\"");
                buf_json_escape(out, added[i], strlen(added[i]));
                buf_putc(out, '"');
                first = 0;
            }
            buf_putc(out, ']');
        }
    }
    buf_release(&creq);
    buf_release(&sts);
    buf_release(&query);
    return err;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        fputs(usage,
              strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    size_t lineno = 0;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        lineno++;
        struct buf out = BUF_INIT(LINE_MAX_BYTES * 16);
        struct diag d;
        diag_clear(&d);
        struct jv *req = NULL;
        int err =
            (size_t)n > LINE_MAX_BYTES
                ? diag_set(&d, ERR_TOOBIG, "line %zu is over %zu bytes", lineno, LINE_MAX_BYTES)
                : jv_parse(line, (size_t)n, &req, &d);
        int64_t id = (int64_t)lineno;
        if (req && jv_get(req, "id"))
            jv_int(jv_get(req, "id"), &id);
        buf_printf(&out, "{\"id\":%lld", (long long)id);
        if (err == ERR_OK)
            err = sign_one(req, &out, &d);
        if (err != ERR_OK) {
            buf_reset(&out);
            buf_printf(&out, "{\"id\":%lld,\"ok\":false,\"error\":\"%s\"", (long long)id,
                       err_name(err));
            put_str(&out, "message", d.text, strlen(d.text));
        }
        buf_puts(&out, "}\n");
        fwrite(out.data, 1, out.len, stdout);
        fflush(stdout);
        buf_release(&out);
        jv_free(req);
    }
    free(line);
    return ferror(stdin) ? 1 : 0;
}
