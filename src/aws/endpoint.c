/* endpoint.c - where requests to an AWS service go. */
#include "aws/endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/banned.h"

int aws_region_valid(const char *region)
{
    size_t n = region ? strlen(region) : 0;
    return n > 0 && n < AWS_REGION_MAX &&
           strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

const char *aws_endpoint_env(const char *service, char var[AWS_ENDPOINT_VAR_MAX])
{
    /* The service's own variable: AWS_ENDPOINT_URL_ + the service id in upper case. */
    char name[AWS_ENDPOINT_VAR_MAX];
    size_t n = sizeof AWS_ENDPOINT_ENV;
    memcpy(name, AWS_ENDPOINT_ENV "_", n);
    for (const char *s = service; *s && n + 1 < sizeof name; s++)
        name[n++] = *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s == '-' ? '_' : *s;
    name[n] = '\0';
    const char *v = env_value(name);
    if (!v) {
        v = env_value(AWS_ENDPOINT_ENV);
        memcpy(name, AWS_ENDPOINT_ENV, sizeof AWS_ENDPOINT_ENV);
    }
    if (var)
        memcpy(var, v ? name : "", v ? strlen(name) + 1 : 1);
    return v;
}

static int bad_char(char c)
{
    return (unsigned char)c <= 0x20 || (unsigned char)c >= 0x7f;
}

int aws_endpoint_parse(const char *url, const char *what, struct aws_endpoint *out, struct diag *d)
{
    memset(out, 0, sizeof *out);
    out->custom = 1;
    const char *rest = NULL;
    if (url && strncasecmp(url, "https://", 8) == 0) {
        memcpy(out->scheme, "https", 6);
        rest = url + 8;
    } else if (url && strncasecmp(url, "http://", 7) == 0) {
        memcpy(out->scheme, "http", 5);
        rest = url + 7;
    }
    size_t hlen = rest ? strcspn(rest, "/?#") : 0;
    if (rest && memchr(rest, '@', hlen))
        /* Not quoted: user info may hold a password. */
        return diag_set(d, ERR_INVALID,
                        "%s is not a URL of the form http[s]://HOST[:PORT][/PATH] (it has user "
                        "info)",
                        what);
    int ok = rest && hlen > 0 && hlen < sizeof out->host;
    for (size_t i = 0; ok && i < hlen; i++)
        ok = !bad_char(rest[i]);
    const char *path = ok ? rest + hlen : "";
    size_t plen = strlen(path);
    while (plen && path[plen - 1] == '/')
        plen--;
    ok = ok && plen < sizeof out->path;
    for (size_t i = 0; ok && i < plen; i++)
        ok = !bad_char(path[i]) && path[i] != '?' && path[i] != '#';
    if (!ok && url && strchr(url, '@'))
        /* Not quoted either: whatever the shape, the part before an '@' may be a password. */
        return diag_set(d, ERR_INVALID,
                        "%s is not a URL of the form http[s]://HOST[:PORT][/PATH] (not quoted: it "
                        "may hold user info)",
                        what);
    if (!ok) {
        char q[160];
        diag_quote(q, sizeof q, url ? url : "", url ? strlen(url) : 0, 120);
        return diag_set(d, ERR_INVALID,
                        "%s '%s' is not a URL of the form http[s]://HOST[:PORT][/PATH]", what, q);
    }
    memcpy(out->host, rest, hlen);
    out->host[hlen] = '\0';
    memcpy(out->path, path, plen);
    out->path[plen] = '\0';
    return ERR_OK;
}

int aws_endpoint_resolve(const char *service, const char *region, const char *url, const char *what,
                         struct aws_endpoint *out, struct diag *d)
{
    if (url && *url)
        return aws_endpoint_parse(url, what, out, d);
    memset(out, 0, sizeof *out);
    if (!aws_region_valid(region)) {
        char q[80];
        diag_quote(q, sizeof q, region ? region : "", region ? strlen(region) : 0, 64);
        return diag_set(d, ERR_INVALID, "'%s' is not an AWS region (such as us-east-1)", q);
    }
    memcpy(out->scheme, "https", 6);
    int n = snprintf(out->host, sizeof out->host, "%s.%s.amazonaws.com", service, region);
    if (n < 0 || (size_t)n >= sizeof out->host)
        return diag_set(d, ERR_INVALID, "the %s host name for region '%s' is too long", service,
                        region);
    return ERR_OK;
}
