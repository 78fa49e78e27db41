/* creds_fake.c - STS, the container endpoint and IMDSv2 on 127.0.0.1 (creds_fake.h). */
#include "fakes/creds_fake.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "net/httpd.h"

#define IMDS_SESSION "IMDS-SESSION-TOKEN-fake-0123456789"
#define IMDS_ROLE    "screener-instance-role"

struct creds_fake {
    struct creds_fake_opts o;
    struct httpd *h;
    pthread_mutex_t lock;
    pthread_cond_t released;
    int stopping;
    enum creds_fake_mode mode;
    int mode_times;
    char expiration[64];
    struct creds_fake_stats st;
};

void creds_fake_set_mode(struct creds_fake *f, enum creds_fake_mode mode, int times)
{
    pthread_mutex_lock(&f->lock);
    f->mode = mode;
    f->mode_times = times;
    pthread_mutex_unlock(&f->lock);
}

void creds_fake_set_expiration(struct creds_fake *f, const char *iso)
{
    pthread_mutex_lock(&f->lock);
    snprintf(f->expiration, sizeof f->expiration, "%s", iso);
    pthread_mutex_unlock(&f->lock);
}

void creds_fake_stats(struct creds_fake *f, struct creds_fake_stats *out)
{
    pthread_mutex_lock(&f->lock);
    *out = f->st;
    pthread_mutex_unlock(&f->lock);
}

/* The mode for this request (counting it down); with the lock held. */
static enum creds_fake_mode take_mode(struct creds_fake *f)
{
    enum creds_fake_mode m = f->mode;
    if (m != CREDS_FAKE_OK && f->mode_times > 0 && --f->mode_times == 0)
        f->mode = CREDS_FAKE_OK;
    return m;
}

/* "2026-01-01T13:00:00Z" an hour earlier, for CREDS_FAKE_EXPIRED (hours only). */
static void hour_before(const char *iso, char *out, size_t cap)
{
    int y, mo, dd, h, mi, s;
    if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &dd, &h, &mi, &s) != 6 || h == 0) {
        snprintf(out, cap, "%s", "2001-01-01T00:00:00Z");
        return;
    }
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, dd, h - 1, mi, s);
}

static int form_value(const char *body, const char *name, char *out, size_t cap)
{
    return httpd_query_get(body, name, out, cap) == ERR_OK;
}

static void reply(struct httpd_response *r, int status, const char *type, const char *body)
{
    r->status = status;
    if (type)
        httpd_response_header(r, "Content-Type", type);
    buf_puts(&r->body, body);
}

static void handle(void *ctx, const struct httpd_request *req, struct httpd_response *r)
{
    struct creds_fake *f = ctx;
    pthread_mutex_lock(&f->lock);
    enum creds_fake_mode mode = take_mode(f);
    char exp[64];
    if (mode == CREDS_FAKE_EXPIRED)
        hour_before(f->expiration, exp, sizeof exp);
    else
        snprintf(exp, sizeof exp, "%s", f->expiration);
    int is_sts = strcmp(req->method, "POST") == 0 && strcmp(req->path, "/") == 0;
    int is_container = strcmp(req->method, "GET") == 0 && strcmp(req->path, "/creds") == 0;
    int is_token = strcmp(req->path, "/latest/api/token") == 0;
    int is_list = strcmp(req->path, "/latest/meta-data/iam/security-credentials/") == 0;
    int is_role = strcmp(req->path, "/latest/meta-data/iam/security-credentials/" IMDS_ROLE) == 0;
    f->st.sts += is_sts;
    f->st.container += is_container;
    f->st.imds_token += is_token;
    f->st.imds_role_list += is_list;
    f->st.imds_creds += is_role;
    if (mode == CREDS_FAKE_HANG) {
        while (!f->stopping)
            pthread_cond_wait(&f->released, &f->lock);
        pthread_mutex_unlock(&f->lock);
        r->action = HTTPD_DROP;
        return;
    }
    int issued = ++f->st.issued;
    char key[32];
    snprintf(key, sizeof key, "ASIAFAKE%04d", issued);
    const char *auth = httpd_request_header(req, "Authorization");
    snprintf(f->st.last_authorization, sizeof f->st.last_authorization, "%s", auth ? auth : "");
    pthread_mutex_unlock(&f->lock);

    if (mode == CREDS_FAKE_DROP) {
        r->action = HTTPD_DROP;
        return;
    }
    if (mode == CREDS_FAKE_500) {
        reply(r, 500, "text/plain", "Internal Server Error");
        return;
    }
    struct buf b = BUF_INIT(1 << 16);
    if (is_sts) {
        char action[64] = "", version[32] = "", arn[256] = "", session[128] = "";
        char token[4096] = "";
        form_value(req->body, "Action", action, sizeof action);
        form_value(req->body, "Version", version, sizeof version);
        form_value(req->body, "RoleArn", arn, sizeof arn);
        form_value(req->body, "RoleSessionName", session, sizeof session);
        form_value(req->body, "WebIdentityToken", token, sizeof token);
        const char *ct = httpd_request_header(req, "Content-Type");
        int complete = strcmp(action, "AssumeRoleWithWebIdentity") == 0 &&
                       strcmp(version, "2011-06-15") == 0 && strcmp(arn, f->o.role_arn) == 0 &&
                       session[0] && ct &&
                       strncmp(ct, "application/x-www-form-urlencoded", 33) == 0;
        pthread_mutex_lock(&f->lock);
        f->st.last_form_complete = complete;
        snprintf(f->st.last_session_name, sizeof f->st.last_session_name, "%s", session);
        pthread_mutex_unlock(&f->lock);
        if (mode == CREDS_FAKE_DENIED || strcmp(token, f->o.web_token) != 0 || !complete) {
            reply(r, 400, "text/xml",
                  "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
                  "  <Error>\n    <Type>Sender</Type>\n    <Code>InvalidIdentityToken</Code>\n"
                  "    <Message>Couldn't retrieve verification key from your identity provider"
                  "</Message>\n  </Error>\n  <RequestId>fake-0001</RequestId>\n"
                  "</ErrorResponse>\n");
        } else if (mode == CREDS_FAKE_MALFORMED) {
            reply(r, 200, "text/xml",
                  "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                  "<Credentials><AccessKeyId>ASIA</AccessKeyId></Credentials>");
        } else {
            buf_printf(&b,
                       "<AssumeRoleWithWebIdentityResponse "
                       "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
                       "  <AssumeRoleWithWebIdentityResult>\n"
                       "    <SubjectFromWebIdentityToken>system:serviceaccount:default:screener"
                       "</SubjectFromWebIdentityToken>\n"
                       "    <Audience>sts.amazonaws.com</Audience>\n"
                       "    <AssumedRoleUser>\n      <Arn>%s/%s</Arn>\n"
                       "      <AssumedRoleId>AROAFAKE:%s</AssumedRoleId>\n"
                       "    </AssumedRoleUser>\n    <Credentials>\n"
                       "      <SessionToken>%s</SessionToken>\n"
                       "      <SecretAccessKey>%s</SecretAccessKey>\n"
                       "      <Expiration>%s</Expiration>\n"
                       "      <AccessKeyId>%s</AccessKeyId>\n    </Credentials>\n"
                       "    <Provider>oidc.eks.amazonaws.com</Provider>\n"
                       "  </AssumeRoleWithWebIdentityResult>\n"
                       "  <ResponseMetadata>\n    <RequestId>fake-0002</RequestId>\n"
                       "  </ResponseMetadata>\n</AssumeRoleWithWebIdentityResponse>\n",
                       f->o.role_arn, session, session, f->o.session_token, f->o.secret, exp, key);
            reply(r, 200, "text/xml", buf_cstr(&b));
        }
    } else if (is_container) {
        if (mode == CREDS_FAKE_DENIED ||
            (f->o.container_token && (!auth || strcmp(auth, f->o.container_token) != 0))) {
            reply(r, 403, "application/json", "{\"code\":\"AccessDenied\"}");
        } else if (mode == CREDS_FAKE_MALFORMED) {
            reply(r, 200, "application/json", "{\"AccessKeyId\": \"ASIA\", \"SecretAccessKey\":");
        } else {
            buf_printf(&b,
                       "{\"RoleArn\":\"%s\",\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\","
                       "\"Token\":\"%s\",\"Expiration\":\"%s\"}",
                       f->o.role_arn, key, f->o.secret, f->o.session_token, exp);
            reply(r, 200, "application/json", buf_cstr(&b));
        }
    } else if (is_token) {
        const char *ttl = httpd_request_header(req, "X-aws-ec2-metadata-token-ttl-seconds");
        pthread_mutex_lock(&f->lock);
        f->st.last_ttl_header = ttl && atoi(ttl) > 0;
        pthread_mutex_unlock(&f->lock);
        if (strcmp(req->method, "PUT") != 0)
            reply(r, 405, NULL, "");
        else if (!ttl || atoi(ttl) <= 0)
            reply(r, 400, NULL, "");
        else
            reply(r, 200, "text/plain", IMDS_SESSION);
    } else if (is_list || is_role) {
        const char *tok = httpd_request_header(req, "X-aws-ec2-metadata-token");
        int ok = tok && strcmp(tok, IMDS_SESSION) == 0;
        pthread_mutex_lock(&f->lock);
        f->st.last_token_ok = ok;
        pthread_mutex_unlock(&f->lock);
        if (!ok || mode == CREDS_FAKE_DENIED)
            reply(r, 401, NULL, "");
        else if (is_list && mode == CREDS_FAKE_NO_ROLE)
            reply(r, 404, "text/html", "<html>Not Found</html>");
        else if (is_list)
            reply(r, 200, "text/plain", IMDS_ROLE);
        else if (mode == CREDS_FAKE_MALFORMED)
            reply(r, 200, "text/plain", "{\"Code\":\"Success\",\"AccessKeyId\":[1,2]}");
        else {
            buf_printf(&b,
                       "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : "
                       "\"2026-01-01T11:00:00Z\",\n  \"Type\" : \"AWS-HMAC\",\n"
                       "  \"AccessKeyId\" : \"%s\",\n  \"SecretAccessKey\" : \"%s\",\n"
                       "  \"Token\" : \"%s\",\n  \"Expiration\" : \"%s\"\n}",
                       key, f->o.secret, f->o.session_token, exp);
            reply(r, 200, "text/plain", buf_cstr(&b));
        }
    } else {
        reply(r, 404, "text/plain", "no such endpoint in the fake");
    }
    buf_release(&b);
}

int creds_fake_start(const struct creds_fake_opts *o, struct creds_fake **out, char *url,
                     size_t cap, struct diag *d)
{
    struct creds_fake *f = calloc(1, sizeof *f);
    if (!f)
        return diag_set(d, ERR_NOMEM, "out of memory");
    f->o = *o;
    if (!f->o.web_token)
        f->o.web_token = "eyJ.fake.web-token";
    if (!f->o.role_arn)
        f->o.role_arn = "arn:aws:iam::123456789012:role/screener";
    if (!f->o.secret)
        f->o.secret = "fake/secret/KEY+1";
    if (!f->o.session_token)
        f->o.session_token = "FAKE//SESSION+TOKEN=";
    snprintf(f->expiration, sizeof f->expiration, "%s",
             o->expiration ? o->expiration : "2026-01-01T13:00:00Z");
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->released, NULL);
    struct httpd_opts ho = {.port = 0, .handler = handle, .ctx = f};
    int port;
    int err = httpd_start(&ho, &f->h, &port, d);
    if (err) {
        free(f);
        return err;
    }
    snprintf(url, cap, "http://127.0.0.1:%d", port);
    *out = f;
    return ERR_OK;
}

void creds_fake_stop(struct creds_fake *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->stopping = 1;
    pthread_cond_broadcast(&f->released);
    pthread_mutex_unlock(&f->lock);
    httpd_stop(f->h);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->released);
    free(f);
}
