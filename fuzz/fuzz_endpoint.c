/* fuzz_endpoint.c - the AWS endpoint URL parser (aws/endpoint.h) on arbitrary bytes, and the
 * signed request (aws/request.h) built on what it accepts.
 *
 * The input up to its first NUL is the URL (an environment variable holds no NUL).  What is
 * accepted must put back together into the input (scheme case and trailing slashes aside):
 * scheme http or https, a host without '/', '?', '#', '@', blanks or control characters, a
 * path that is empty or starts with '/', has no '?', '#', blanks or control characters and no
 * trailing '/'.  A
 * refusal is ERR_INVALID with a message that never quotes an input with an '@'.  A request signed
 * for an accepted endpoint goes to that host and path, with the host as its first header.
 */
#include "aws/endpoint.h"
#include "aws/request.h"
#include "base/err.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* No blanks, control characters, '?' or '#'; nor '@' in a host (user info). */
static int clean(const char *s, int host)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == '?' || *s == '#' ||
            (host && *s == '@'))
            return 0;
    return 1;
}

static void check_signed(const struct aws_endpoint *ep)
{
    static const struct sigv4_creds c = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                         NULL};
    struct aws_request r = {.method = "POST", .endpoint = ep, .path = "/x", .query = "a=1"};
    struct sigv4_params p = {
        .region = "us-east-1", .service = "ssm", .time_s = 1440938160, .rules = SIGV4_DEFAULT};
    struct aws_signed *s;
    struct diag d;
    diag_clear(&d);
    int err = aws_request_sign(&r, &p, &c, &s, &d);
    if (err) {
        CHECK(s == NULL && fuzz_diag_ok(&d));
        return;
    }
    char want[16 + AWS_ENDPOINT_HOST_MAX + AWS_ENDPOINT_PATH_MAX];
    snprintf(want, sizeof want, "%s://%s%s/x?a=1", ep->scheme, ep->host, ep->path);
    CHECKF(strcmp(buf_cstr(&s->url), want) == 0, "url %s, want %s\n", buf_cstr(&s->url), want);
    CHECK(strncmp(s->headers[0], "Host: ", 6) == 0 && strcmp(s->headers[0] + 6, ep->host) == 0);
    CHECK(s->nheaders == 3);
    aws_signed_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct aws_endpoint ep;
    struct diag d;
    diag_clear(&d);
    int err = aws_endpoint_parse(text, "E", &ep, &d);
    if (err) {
        CHECKF(err == ERR_INVALID, "unexpected error %s\n", err_name(err));
        CHECK(fuzz_diag_ok(&d));
        if (strchr(text, '@')) /* what may be user info is never quoted */
            CHECKF(strchr(d.text, '@') == NULL, "'@' quoted: %s\n", d.text);
        free(text);
        return 0;
    }
    CHECK(ep.custom == 1);
    CHECK(strcmp(ep.scheme, "http") == 0 || strcmp(ep.scheme, "https") == 0);
    CHECK(ep.host[0] && !strchr(ep.host, '/') && clean(ep.host, 1));
    CHECK(clean(ep.path, 0));
    size_t pl = strlen(ep.path);
    CHECK(pl == 0 || (ep.path[0] == '/' && ep.path[pl - 1] != '/'));
    /* Put back together: the input, scheme case and trailing slashes aside. */
    size_t sl = strlen(ep.scheme), hl = strlen(ep.host);
    CHECK(strncasecmp(text, ep.scheme, sl) == 0 && strncmp(text + sl, "://", 3) == 0);
    const char *rest = text + sl + 3;
    CHECK(strncmp(rest, ep.host, hl) == 0 && strncmp(rest + hl, ep.path, pl) == 0);
    CHECK(strspn(rest + hl + pl, "/") == strlen(rest + hl + pl));
    check_signed(&ep);
    free(text);
    return 0;
}
