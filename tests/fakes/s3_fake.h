/* s3_fake.h - a fake S3 on 127.0.0.1 for what the npm stand-in (s3rver) cannot show: real
 * SigV4 verification, conditional writes exactly as S3 does them, paging and faults.
 *
 * It keeps buckets and objects in memory and speaks S3's REST wire format, path style
 * (/bucket/key) or virtual-hosted (Host: bucket.<anything>), with XML error bodies:
 *
 *   PUT /bucket                 CreateBucket (409 BucketAlreadyOwnedByYou when it exists)
 *   HEAD /bucket, DELETE /bucket
 *   PUT /bucket/key             PutObject: If-None-Match: * -> 412 PreconditionFailed when the
 *                               key exists; If-Match: <etag> -> 404 NoSuchKey when it does not,
 *                               412 when the ETag differs.  The check and the write are one
 *                               step under a lock, so racing writers behave as on S3.
 *   GET, HEAD /bucket/key       GetObject (ETag, Content-Length, Last-Modified), HeadObject
 *                               (404 without a body)
 *   DELETE /bucket/key          204 whether or not it existed
 *   GET /bucket?list-type=2     ListObjectsV2: prefix, delimiter (CommonPrefixes), max-keys,
 *                               start-after, continuation-token (opaque base64, so a client
 *                               that does not URL-encode it breaks), encoding-type=url
 *   GET /__fake/stats           the counters below as JSON (never authenticated), among them
 *                               inflight_max, the most requests served at once
 *   POST /__fake/latency?ms=N   set the latency added to every request (0 for none)
 *   POST /__fake/hold?key=K     hold every object GET whose path ends with K (e.g.
 *                               "bucket/results/screen/latest.csv") until the release below;
 *                               /__fake/stats' "held" counts those waiting now
 *   POST /__fake/release        let the held GETs go on (and hold nothing more)
 *   POST /__fake/reset          zero the counters and the request ordinal
 *   POST /__fake/advance?seconds=N   move the fake's clock forward (presigned URLs expire)
 *   POST /__fake/faults?spec=S  replace the faults (same form as --fault; "" for none) and
 *                               restart the ordinal at 0
 *
 * Every other request must be signed with SigV4 for the configured credentials: in headers
 * (Authorization, X-Amz-Date, X-Amz-Content-Sha256 matching the body, every x-amz-* header
 * signed, X-Amz-Security-Token when a session token is configured) or presigned in the query
 * (X-Amz-Algorithm ... X-Amz-Signature, not expired).  The signature is recomputed with
 * aws/sigv4.h from the request exactly as received; a mismatch is 403 SignatureDoesNotMatch
 * with StringToSign and CanonicalRequest in the body, as S3 answers.  The other refusals are
 * S3's too: InvalidAccessKeyId, InvalidToken, RequestTimeTooSkewed (15 minutes), AccessDenied
 * "Request has expired", XAmzContentSHA256Mismatch, AuthorizationHeaderMalformed.
 *
 * Time comes from the clock source (base/clock.h) plus the advance, so tests inject it.
 */
#ifndef FAKES_S3_FAKE_H
#define FAKES_S3_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "net/httpd.h"

/* Faults, by the ordinal of the request among those that are not /__fake/ ones (1, 2, ...).
 * Spec form: KIND@N or KIND@NxCOUNT. */
enum s3_fake_fault_kind {
    S3_FAKE_FAULT_503,       /* 503 SlowDown, nothing done */
    S3_FAKE_FAULT_500,       /* 500 InternalError, nothing done */
    S3_FAKE_FAULT_409,       /* 409 ConditionalRequestConflict, nothing done */
    S3_FAKE_FAULT_RESET,     /* the connection closed without an answer, nothing done */
    S3_FAKE_FAULT_LOST,      /* the request is carried out, then the connection is closed
                                without an answer (a write whose success the client never
                                hears about) */
    S3_FAKE_FAULT_TRUNCATE,  /* the answer cut off at half its Content-Length */
    S3_FAKE_FAULT_MALFORMED, /* a 200 list answer whose XML is cut in the middle */
    S3_FAKE_FAULT_COUNT_
};

struct s3_fake_fault {
    enum s3_fake_fault_kind kind;
    uint64_t first; /* ordinal of the first request hit, from 1 */
    uint64_t count;
};

/* "503@3", "reset@1x2", "lost@5". */
int s3_fake_fault_parse(const char *spec, struct s3_fake_fault *out, struct diag *d);
/* Several specs separated by commas ("" for none) into out (at most cap). */
int s3_fake_faults_parse(const char *specs, struct s3_fake_fault *out, size_t cap, size_t *n,
                         struct diag *d);
/* The kind's spec name ("503", "lost"). */
const char *s3_fake_fault_name(enum s3_fake_fault_kind kind);

/* The largest object one PUT can write to S3: 5 GiB. */
#define S3_FAKE_OBJECT_MAX ((size_t)5 << 30)

struct s3_fake_opts {
    const char *access_key_id;     /* default "AKIDFAKES3EXAMPLE" */
    const char *secret_access_key; /* default "fakeS3/Secret+Key/EXAMPLE0123456789abcdef" */
    const char *session_token;     /* when set, every signed request must carry it */
    const char *region;            /* default "us-east-1" */
    const char *const *buckets;    /* created at start */
    size_t nbuckets;
    size_t max_keys;     /* most keys in a list page, whatever max-keys asks; default 1000 */
    size_t max_object;   /* largest PUT body; default S3_FAKE_OBJECT_MAX */
    int skip_signatures; /* accept any request, signed or not (default: verify) */
    const struct s3_fake_fault *faults; /* copied */
    size_t nfaults;
    int port; /* s3_fake_start: 0 for an ephemeral port */
    /* Added to every request that is not a /__fake/ one, as a network round trip to S3 costs:
     * the request waits this long (through the clock source) before it is answered.  Each
     * connection has its own thread, so concurrent requests wait concurrently. */
    int64_t latency_ms;
    /* For tests of request overlap: hold each object GET until this many requests are in
     * flight at once
     * (or until overlap_wait_ms of real time passed, after which the gate stays open), so that
     * a client that overlaps its requests shows it deterministically.  0 or 1: no gate. */
    size_t overlap_gate;
    int64_t overlap_wait_ms; /* default 5000 */
};

void s3_fake_opts_default(struct s3_fake_opts *o);

struct s3_fake;

int s3_fake_new(const struct s3_fake_opts *o, struct s3_fake **out, struct diag *d);
void s3_fake_free(struct s3_fake *f);

/* The whole fake as an httpd handler (ctx is the struct s3_fake); thread-safe. */
void s3_fake_handle(void *ctx, const struct httpd_request *req, struct httpd_response *resp);

/* s3_fake_new, then serve on 127.0.0.1:o->port in background threads. */
int s3_fake_start(const struct s3_fake_opts *o, struct s3_fake **out, int *port, struct diag *d);
/* Stop serving and free.  NULL is a no-op. */
void s3_fake_stop(struct s3_fake *f);

/* Counts since start or the last reset; /__fake/ requests are not counted. */
struct s3_fake_stats {
    uint64_t requests;
    uint64_t gets, puts, heads, deletes, lists, presigned;
    uint64_t conditional_puts; /* with If-None-Match or If-Match */
    uint64_t precondition_failed;
    uint64_t signature_mismatches;
    uint64_t auth_failures; /* every 403 */
    uint64_t faults;        /* faults injected */
    uint64_t objects;       /* now, in all buckets */
    uint64_t inflight_max;  /* most requests being served at once */
    uint64_t held;          /* object GETs waiting at the hold now (s3_fake_hold) */
    uint64_t status[600];   /* answers by status (dropped connections not counted) */
};

void s3_fake_get_stats(struct s3_fake *f, struct s3_fake_stats *out);
void s3_fake_reset_stats(struct s3_fake *f);

/* Replace the faults and restart the ordinal at 0 (the next request is 1). */
int s3_fake_set_faults(struct s3_fake *f, const struct s3_fake_fault *faults, size_t n,
                       struct diag *d);

#define S3_FAKE_LATENCY_MAX_MS 60000

/* Change the latency added to each request (clamped to 0..S3_FAKE_LATENCY_MAX_MS). */
void s3_fake_set_latency(struct s3_fake *f, int64_t ms);

/* Set the overlap gate (s3_fake_opts.overlap_gate) and close it again: 0 or 1 for none. */
void s3_fake_set_overlap_gate(struct s3_fake *f, size_t n);
/* The same for the requests of the kinds given (S3_FAKE_GATE_*; the gate above holds object
 * GETs only), after letting the first `skip` of them through: a test can show that the later
 * requests of a client overlap when the first ones cannot (a listing's first page). */
#define S3_FAKE_GATE_GET  1u /* object GETs */
#define S3_FAKE_GATE_PUT  2u
#define S3_FAKE_GATE_LIST 4u
#define S3_FAKE_GATE_HEAD 8u
void s3_fake_set_overlap_gate_for(struct s3_fake *f, size_t n, unsigned kinds, size_t skip);

/* Hold every object GET whose path ends with key until s3_fake_release (or a minute of real
 * time: a failing test never hangs). */
void s3_fake_hold(struct s3_fake *f, const char *key);
void s3_fake_release(struct s3_fake *f);
/* Wait until n GETs wait at the hold: 1 then, 0 when the hold is lifted first or after half
 * the hold's limit of real time (a test that fails never hangs). */
int s3_fake_wait_held(struct s3_fake *f, size_t n);

/* Move the fake's clock forward by seconds (it only ever runs ahead of the clock source). */
void s3_fake_advance(struct s3_fake *f, int64_t seconds);

/* Read an object directly, bypassing HTTP (for tests): appended to out, etag (may be NULL)
 * with its quotes.  ERR_NOTFOUND when the bucket or key does not exist. */
int s3_fake_get_object(struct s3_fake *f, const char *bucket, const char *key, struct buf *out,
                       char *etag, size_t etag_cap);

#endif
