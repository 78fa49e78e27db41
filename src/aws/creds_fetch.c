/* creds_fetch.c - the credential providers that ask someone: STS for a web identity token, a
 * credential_process command, the container endpoint, EC2 instance metadata (IMDSv2).
 * Answers are parsed by creds_parse.c; no message quotes an answer, a token or a key. */
#include "aws/creds.h"
#include "aws/endpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "net/http.h"

#include "base/banned.h"

/* The largest web identity token STS takes is 20,000 characters; container tokens are short. */
#define TOKEN_FILE_MAX     ((size_t)32 << 10)
#define ANSWER_MAX         ((size_t)64 << 10)
#define STS_TIMEOUT_MS     5000
#define STS_ATTEMPTS       3
#define IMDS_TOKEN_TTL_S   "21600"
#define IMDS_DEFAULT       "http://169.254.169.254"
#define IMDS_DEFAULT_IPV6  "http://[fd00:ec2::254]"
#define CONTAINER_HOST_URL "http://169.254.170.2"

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

/* A small secret file (a token), trailing blanks and line ends removed. */
static int read_token_file(const char *path, const char *what, struct buf *out, struct diag *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return diag_set(d, ERR_AUTH, "%s: cannot open '%s': %s", what, path, strerror(errno));
    int err = ERR_OK;
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = diag_set(d, ERR_IO, "%s: cannot read '%s': %s", what, path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (buf_append(out, chunk, (size_t)n) != ERR_OK) {
            err = diag_set(d, ERR_TOOBIG, "%s: '%s' is over %zu bytes", what, path, out->max);
            break;
        }
    }
    explicit_bzero(chunk, sizeof chunk);
    close(fd);
    while (!err && out->len && strchr(" \t\r\n", out->data[out->len - 1]))
        out->data[--out->len] = '\0';
    if (!err && out->len == 0)
        err = diag_set(d, ERR_AUTH, "%s: '%s' is empty", what, path);
    if (!err && (memchr(out->data, '\n', out->len) || memchr(out->data, '\r', out->len) ||
                 memchr(out->data, '\0', out->len)))
        err = diag_set(d, ERR_AUTH, "%s: '%s' holds more than one line", what, path);
    return err;
}

static int expired_check(const struct aws_creds *c, const char *what, struct diag *d)
{
    if (c->expiration_ms && c->expiration_ms <= clock_wall_ms())
        return diag_set(d, ERR_AUTH, "%s: the credentials it gave have already expired", what);
    return ERR_OK;
}

/* "https://host/path?x" without the query (for messages). */
static void url_for_message(char *out, size_t cap, const char *url)
{
    size_t n = strcspn(url, "?#");
    snprintf(out, cap, "%.*s", (int)(n < 400 ? n : 400), url);
}

/* One HTTP exchange; the status is the caller's to judge.  The response must be released. */
static int exchange(struct http_client *http, const char *method, const char *url,
                    const char *const *headers, size_t nheaders, const char *body,
                    int64_t timeout_ms, const char *what, struct http_response *resp,
                    struct diag *d)
{
    struct http_request req = {
        .method = method,
        .url = url,
        .headers = headers,
        .nheaders = nheaders,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .timeout_ms = timeout_ms,
        .max_response = ANSWER_MAX,
    };
    struct diag hd;
    int err = http_do(http, &req, resp, &hd);
    if (err) {
        char u[420];
        url_for_message(u, sizeof u, url);
        return diag_set(d, err, "%s: %s %s: %s", what, method, u, hd.text);
    }
    return ERR_OK;
}

static int status_error(const char *what, const char *method, const char *url, long status,
                        struct diag *d)
{
    char u[420];
    url_for_message(u, sizeof u, url);
    int err = status >= 500                    ? ERR_UNAVAILABLE
              : status == 401 || status == 403 ? ERR_AUTH
              : status == 404                  ? ERR_NOTFOUND
              : status == 429                  ? ERR_RATELIMIT
                                               : ERR_INVALID;
    return diag_set(d, err, "%s: %s %s answered HTTP %ld", what, method, u, status);
}

/* ---- web identity: STS AssumeRoleWithWebIdentity ---- */

static int form_add(struct buf *b, const char *name, const char *value)
{
    if (buf_printf(b, "%s%s=", b->len ? "&" : "", name) != ERR_OK)
        return ERR_NOMEM;
    return http_url_encode(b, value, strlen(value), 0);
}

int aws_creds_from_web_identity(const char *token_file, const char *role_arn, const char *session,
                                const char *region, struct aws_creds *out, struct diag *d)
{
    const char *what = "web identity (STS AssumeRoleWithWebIdentity)";
    struct buf token = BUF_INIT(TOKEN_FILE_MAX);
    struct buf body = BUF_INIT(3 * TOKEN_FILE_MAX + 8192);
    struct buf url = BUF_INIT(2048);
    struct http_client *http = NULL;
    char session_buf[64];
    int err = read_token_file(token_file, "AWS_WEB_IDENTITY_TOKEN_FILE", &token, d);
    if (err)
        goto out;
    log_add_secret(buf_cstr(&token));
    if (!session || !session[0]) {
        snprintf(session_buf, sizeof session_buf, "screener-%lld", (long long)clock_wall_ms());
        session = session_buf;
    }
    /* AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else the region's STS (the global one
     * without a region), as the S3, SSM and Lambda clients resolve theirs. */
    char var[AWS_ENDPOINT_VAR_MAX];
    const char *custom = aws_endpoint_env("sts", var);
    struct aws_endpoint ep;
    if (custom || (region && region[0])) {
        if ((err = aws_endpoint_resolve("sts", region, custom, custom ? var : "STS endpoint", &ep,
                                        d)) != ERR_OK)
            goto out;
        err = buf_printf(&url, "%s://%s%s/", ep.scheme, ep.host, ep.path);
    } else {
        err = buf_puts(&url, "https://sts.amazonaws.com/");
    }
    if (!err)
        err = form_add(&body, "Action", "AssumeRoleWithWebIdentity");
    if (!err)
        err = form_add(&body, "Version", "2011-06-15");
    if (!err)
        err = form_add(&body, "RoleArn", role_arn);
    if (!err)
        err = form_add(&body, "RoleSessionName", session);
    if (!err)
        err = form_add(&body, "WebIdentityToken", buf_cstr(&token));
    if (err) {
        err = diag_set(d, ERR_TOOBIG, "%s: the request does not fit", what);
        goto out;
    }
    if ((err = http_client_new(NULL, &http, d)) != ERR_OK)
        goto out;
    static const char *const headers[] = {
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
        "Accept: text/xml",
    };
    /* Transient failures (5xx, timeouts, resets) are tried again, a little later each time. */
    for (int attempt = 1;; attempt++) {
        struct http_response resp = {0};
        err = exchange(http, "POST", buf_cstr(&url), headers, 2, buf_cstr(&body), STS_TIMEOUT_MS,
                       what, &resp, d);
        int transient = err == ERR_TIMEOUT || err == ERR_NETWORK;
        if (!err && resp.status == 200) {
            err = aws_creds_parse_sts(resp.body.data ? resp.body.data : "", resp.body.len, out, d);
        } else if (!err && resp.status >= 400 && resp.status < 500 && resp.body.len) {
            /* STS says why in an ErrorResponse; anything else is just the status. */
            err = aws_creds_parse_sts(resp.body.data, resp.body.len, out, d);
            if (err != ERR_AUTH)
                err = status_error(what, "POST", buf_cstr(&url), resp.status, d);
        } else if (!err) {
            transient = resp.status >= 500;
            err = status_error(what, "POST", buf_cstr(&url), resp.status, d);
        }
        wipe_buf(&resp.body);
        http_response_release(&resp);
        if (!err || !transient || attempt >= STS_ATTEMPTS)
            break;
        clock_sleep_ms(100 << attempt);
    }
    if (!err)
        err = expired_check(out, what, d);
    if (!err) {
        int n = snprintf(out->source, sizeof out->source, "web identity token for %s", role_arn);
        if (n < 0 || (size_t)n >= sizeof out->source)
            memcpy(out->source + sizeof out->source - 4, "...", 4);
    }
out:
    http_client_free(http);
    wipe_buf(&token);
    wipe_buf(&body);
    buf_release(&url);
    return err;
}

/* ---- credential_process ---- */

int aws_creds_from_process(const char *command, const char *where, struct aws_creds *out,
                           struct diag *d)
{
    char what[AWS_CREDS_SOURCE_MAX + 32];
    snprintf(what, sizeof what, "credential_process of %s", where);
    struct strvec argv = STRVEC_INIT;
    int err = aws_creds_split_command(command, &argv, d);
    if (err) {
        strvec_release(&argv);
        return diag_prefix(d, err, "%s", what);
    }
    char **args = calloc(argv.n + 1, sizeof *args);
    int fds[2] = {-1, -1};
    struct buf output = BUF_INIT(ANSWER_MAX);
    if (!args) {
        err = diag_set(d, ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(args, argv.v, argv.n * sizeof *args);
    if (pipe2(fds, O_CLOEXEC) != 0) {
        err = diag_set(d, ERR_INTERNAL, "%s: pipe: %s", what, strerror(errno));
        goto out;
    }
    pid_t pid = fork();
    if (pid < 0) {
        err = diag_set(d, ERR_INTERNAL, "%s: fork: %s", what, strerror(errno));
        goto out;
    }
    if (pid == 0) {
        /* stdout is the pipe; stdin and stderr stay the user's (it may ask for an MFA code). */
        if (dup2(fds[1], STDOUT_FILENO) < 0)
            _exit(126);
        execvp(args[0], args);
        _exit(127);
    }
    close(fds[1]);
    fds[1] = -1;
    char chunk[4096];
    int toobig = 0;
    for (;;) {
        ssize_t n = read(fds[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (!toobig && buf_append(&output, chunk, (size_t)n) != ERR_OK) {
            toobig = 1;
            kill(pid, SIGTERM);
        }
    }
    explicit_bzero(chunk, sizeof chunk);
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (toobig)
        err = diag_set(d, ERR_TOOBIG, "%s: printed more than %zu bytes", what, output.max);
    else if (w < 0)
        err = diag_set(d, ERR_INTERNAL, "%s: lost track of the process: %s", what, strerror(errno));
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        err = diag_set(d, ERR_AUTH, "%s: cannot run '%s'", what, args[0]);
    else if (!WIFEXITED(status))
        err = diag_set(d, ERR_AUTH, "%s: killed by signal %d", what, WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0)
        err = diag_set(d, ERR_AUTH, "%s: exited with status %d", what, WEXITSTATUS(status));
    else if ((err = aws_creds_parse_json(output.data ? output.data : "", output.len,
                                         AWS_CREDS_JSON_PROCESS, out, d)) != ERR_OK)
        diag_prefix(d, err, "%s", what);
    if (!err)
        err = expired_check(out, what, d);
    if (!err)
        snprintf(out->source, sizeof out->source, "%.*s", (int)sizeof out->source - 1, what);
out:
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    free(args);
    strvec_release(&argv);
    wipe_buf(&output);
    return err;
}

/* ---- container credentials ---- */

/* The hosts a plain-HTTP full URI may name: loopback and the container agents'. */
static int allowed_http_host(const char *url)
{
    const char *h = url + strlen("http://");
    size_t n = strcspn(h, "/?#");
    char host[256];
    if (n >= sizeof host)
        return 0;
    memcpy(host, h, n);
    host[n] = '\0';
    char *at = strrchr(host, '@');
    char *hp = at ? at + 1 : host;
    if (hp[0] == '[') {
        char *close = strchr(hp, ']');
        if (!close)
            return 0;
        *close = '\0';
        hp++;
        return strcmp(hp, "::1") == 0 || strcasecmp(hp, "fd00:ec2::23") == 0;
    }
    char *colon = strchr(hp, ':');
    if (colon)
        *colon = '\0';
    if (strcmp(hp, "169.254.170.2") == 0 || strcmp(hp, "169.254.170.23") == 0 ||
        strcasecmp(hp, "localhost") == 0)
        return 1;
    unsigned a, b, c, e;
    char tail;
    return sscanf(hp, "%u.%u.%u.%u%c", &a, &b, &c, &e, &tail) == 4 && a == 127 && b < 256 &&
           c < 256 && e < 256;
}

int aws_creds_container_url(char *out, size_t cap, struct diag *d)
{
    const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    int n;
    if (rel) {
        n = snprintf(out, cap, "%s%s%s", CONTAINER_HOST_URL, rel[0] == '/' ? "" : "/", rel);
    } else if (full) {
        if (strncasecmp(full, "https://", 8) != 0 &&
            !(strncasecmp(full, "http://", 7) == 0 && allowed_http_host(full)))
            return diag_set(d, ERR_INVALID,
                            "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https://, or http:// to "
                            "a loopback address or the container agent (169.254.170.2, "
                            "169.254.170.23, fd00:ec2::23)");
        n = snprintf(out, cap, "%s", full);
    } else {
        return ERR_NOTFOUND;
    }
    if (n < 0 || (size_t)n >= cap)
        return diag_set(d, ERR_INVALID, "the container credentials URI is too long");
    return ERR_OK;
}

/* AWS_METADATA_SERVICE_TIMEOUT (seconds, decimals allowed) and _NUM_ATTEMPTS. */
static int metadata_settings(int64_t *timeout_ms, int *attempts, struct diag *d)
{
    *timeout_ms = 1000;
    *attempts = 1;
    const char *t = env("AWS_METADATA_SERVICE_TIMEOUT");
    const char *a = env("AWS_METADATA_SERVICE_NUM_ATTEMPTS");
    if (t) {
        char *end;
        errno = 0;
        double s = strtod(t, &end);
        if (errno || *end || !(s > 0) || s > 3600)
            return diag_set(d, ERR_INVALID,
                            "AWS_METADATA_SERVICE_TIMEOUT must be a number of seconds (0 to "
                            "3600)");
        *timeout_ms = (int64_t)(s * 1000);
        if (*timeout_ms < 1)
            *timeout_ms = 1;
    }
    if (a) {
        char *end;
        long v = strtol(a, &end, 10);
        if (*end || v < 1 || v > 10)
            return diag_set(d, ERR_INVALID,
                            "AWS_METADATA_SERVICE_NUM_ATTEMPTS must be a whole number, 1 to 10");
        *attempts = (int)v;
    }
    return ERR_OK;
}

int aws_creds_from_container(struct aws_creds *out, struct diag *d)
{
    const char *what = "container credentials";
    char url[4096];
    int err = aws_creds_container_url(url, sizeof url, d);
    if (err == ERR_NOTFOUND)
        return diag_set(d, ERR_NOTFOUND,
                        "%s: neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI is set",
                        what);
    if (err)
        return err;
    int64_t timeout_ms;
    int attempts;
    if ((err = metadata_settings(&timeout_ms, &attempts, d)) != ERR_OK)
        return err;
    struct buf token = BUF_INIT(TOKEN_FILE_MAX);
    struct buf header = BUF_INIT(TOKEN_FILE_MAX + 64);
    struct http_client *http = NULL;
    const char *token_file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *token_env = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (token_file)
        err = read_token_file(token_file, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token, d);
    else if (token_env && (strchr(token_env, '\r') || strchr(token_env, '\n')))
        err = diag_set(d, ERR_INVALID, "AWS_CONTAINER_AUTHORIZATION_TOKEN holds a line break");
    else if (token_env)
        err = buf_puts(&token, token_env) ? diag_set(d, ERR_TOOBIG,
                                                     "AWS_CONTAINER_AUTHORIZATION_TOKEN is too "
                                                     "long")
                                          : ERR_OK;
    if (!err && token.len) {
        log_add_secret(buf_cstr(&token));
        err = buf_printf(&header, "Authorization: %s", buf_cstr(&token));
    }
    if (!err)
        err = http_client_new(NULL, &http, d);
    const char *headers[] = {buf_cstr(&header), "Accept: application/json"};
    for (int attempt = 1; !err; attempt++) {
        struct http_response resp = {0};
        err = exchange(http, "GET", url, header.len ? headers : headers + 1, header.len ? 2 : 1,
                       NULL, timeout_ms, what, &resp, d);
        int transient = err == ERR_TIMEOUT || err == ERR_NETWORK;
        if (!err && resp.status == 200) {
            err = aws_creds_parse_json(resp.body.data ? resp.body.data : "", resp.body.len,
                                       AWS_CREDS_JSON_CONTAINER, out, d);
        } else if (!err) {
            transient = resp.status >= 500;
            err = status_error(what, "GET", url, resp.status, d);
        }
        wipe_buf(&resp.body);
        http_response_release(&resp);
        if (!err || !transient || attempt >= attempts)
            break;
        err = ERR_OK;
    }
    if (!err)
        err = expired_check(out, what, d);
    if (!err) {
        char u[420];
        url_for_message(u, sizeof u, url);
        snprintf(out->source, sizeof out->source, "container credentials from %s", u);
    }
    http_client_free(http);
    wipe_buf(&token);
    wipe_buf(&header);
    return err;
}

/* ---- EC2 instance metadata, IMDSv2 ---- */

static int imds_once(struct http_client *http, const char *base, int64_t timeout_ms,
                     struct aws_creds *out, struct diag *d)
{
    const char *what = "EC2 instance metadata (IMDSv2)";
    struct buf url = BUF_INIT(4096);
    struct buf session = BUF_INIT(4096 + 64);
    char role[256] = "";
    struct http_response resp = {0};
    /* 1. a session token */
    int err = buf_printf(&url, "%s/latest/api/token", base);
    static const char *const ttl[] = {"X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL_S};
    if (!err)
        err = exchange(http, "PUT", buf_cstr(&url), ttl, 1, "", timeout_ms, what, &resp, d);
    if (!err && resp.status != 200)
        err = status_error(what, "PUT", buf_cstr(&url), resp.status, d);
    if (!err && (resp.body.len == 0 || resp.body.len > 4000 ||
                 strcspn(buf_cstr(&resp.body), "\r\n") != resp.body.len))
        err = diag_set(d, ERR_PARSE, "%s: the session token is empty, too long or not one line",
                       what);
    if (!err) {
        log_add_secret(buf_cstr(&resp.body));
        err = buf_printf(&session, "X-aws-ec2-metadata-token: %s", buf_cstr(&resp.body));
    }
    wipe_buf(&resp.body);
    http_response_release(&resp);
    const char *hdr[] = {buf_cstr(&session)};
    /* 2. the role's name */
    buf_reset(&url);
    if (!err)
        err = buf_printf(&url, "%s/latest/meta-data/iam/security-credentials/", base);
    if (!err)
        err = exchange(http, "GET", buf_cstr(&url), hdr, 1, NULL, timeout_ms, what, &resp, d);
    if (!err && resp.status == 404)
        err = diag_set(d, ERR_AUTH, "%s: the instance has no IAM role (instance profile)", what);
    else if (!err && resp.status != 200)
        err = status_error(what, "GET", buf_cstr(&url), resp.status, d);
    if (!err) {
        const char *b = resp.body.data ? resp.body.data : "";
        size_t n = strcspn(b, "\r\n");
        int ok = n > 0 && n < sizeof role;
        for (size_t i = 0; ok && i < n; i++)
            ok = (b[i] >= 'a' && b[i] <= 'z') || (b[i] >= 'A' && b[i] <= 'Z') ||
                 (b[i] >= '0' && b[i] <= '9') || strchr("+=,.@_-", b[i]);
        if (!ok)
            err = diag_set(d, ERR_PARSE, "%s: the role name is not an IAM role name", what);
        else
            memcpy(role, b, n);
    }
    wipe_buf(&resp.body);
    http_response_release(&resp);
    /* 3. its credentials */
    buf_reset(&url);
    if (!err)
        err = buf_printf(&url, "%s/latest/meta-data/iam/security-credentials/%s", base, role);
    if (!err)
        err = exchange(http, "GET", buf_cstr(&url), hdr, 1, NULL, timeout_ms, what, &resp, d);
    if (!err && resp.status != 200)
        err = status_error(what, "GET", buf_cstr(&url), resp.status, d);
    if (!err)
        err = aws_creds_parse_json(resp.body.data ? resp.body.data : "", resp.body.len,
                                   AWS_CREDS_JSON_IMDS, out, d);
    wipe_buf(&resp.body);
    http_response_release(&resp);
    if (!err)
        err = expired_check(out, what, d);
    if (!err)
        snprintf(out->source, sizeof out->source, "EC2 instance metadata, role %s", role);
    buf_release(&url);
    wipe_buf(&session);
    return err;
}

int aws_creds_from_imds(struct aws_creds *out, struct diag *d)
{
    const char *disabled = env("AWS_EC2_METADATA_DISABLED");
    if (disabled && strcasecmp(disabled, "true") == 0)
        return diag_set(d, ERR_NOTFOUND, "EC2 instance metadata: AWS_EC2_METADATA_DISABLED=true");
    const char *base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    if (!base)
        base = mode && strcasecmp(mode, "IPv6") == 0 ? IMDS_DEFAULT_IPV6 : IMDS_DEFAULT;
    if (strncasecmp(base, "http://", 7) != 0 && strncasecmp(base, "https://", 8) != 0)
        return diag_set(d, ERR_INVALID,
                        "AWS_EC2_METADATA_SERVICE_ENDPOINT must be an http:// or https:// URL");
    char trimmed[2048];
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    if (n >= sizeof trimmed)
        return diag_set(d, ERR_INVALID, "AWS_EC2_METADATA_SERVICE_ENDPOINT is too long");
    memcpy(trimmed, base, n);
    trimmed[n] = '\0';
    int64_t timeout_ms;
    int attempts;
    int err = metadata_settings(&timeout_ms, &attempts, d);
    struct http_client *http = NULL;
    if (!err)
        err = http_client_new(NULL, &http, d);
    for (int attempt = 1; !err; attempt++) {
        err = imds_once(http, trimmed, timeout_ms, out, d);
        int transient = err == ERR_TIMEOUT || err == ERR_NETWORK || err == ERR_UNAVAILABLE;
        if (!err || !transient || attempt >= attempts)
            break;
        err = ERR_OK;
    }
    http_client_free(http);
    return err;
}
