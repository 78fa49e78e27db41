/* objstore.h - a flat namespace of immutable-by-convention objects: the storage interface.
 *
 * Keys are '/'-separated relative paths ("bars/2024/2024-11-22/part-ab12.csv").  Everything
 * above this layer speaks only this interface; a backend is a set of operations:
 * the local directory here, S3 in store/objstore_s3.c.
 *
 * Writes are atomic (a reader sees the whole old object or the whole new one) and may be
 * conditional, which is what makes concurrent writers safe:
 *   OBJ_PUT_CREATE    create only if absent (S3: If-None-Match: *) -> ERR_EXISTS otherwise
 *   OBJ_PUT_IF_MATCH  replace only if the current etag matches (S3: If-Match) ->
 *                     ERR_PRECONDITION otherwise (ERR_NOTFOUND if absent)
 *   OBJ_PUT_ALWAYS    create or replace
 */
#ifndef STORE_OBJSTORE_H
#define STORE_OBJSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/strvec.h"

#define OBJ_KEY_MAX      512
#define OBJ_ETAG_MAX     72
#define OBJ_LOCATION_MAX 512

enum obj_put_mode { OBJ_PUT_ALWAYS, OBJ_PUT_CREATE, OBJ_PUT_IF_MATCH };

struct objstore;

/* One request of objstore_batch and what became of it. */
enum obj_req_op { OBJ_REQ_GET, OBJ_REQ_PUT, OBJ_REQ_LIST };

struct objstore_req {
    enum obj_req_op op;
    const char *key;         /* GET, PUT; LIST: the prefix */
    struct buf *out;         /* GET: the object is appended (out's cap applies) */
    const void *data;        /* PUT */
    size_t len;              /* PUT */
    enum obj_put_mode mode;  /* PUT */
    const char *if_match;    /* PUT with OBJ_PUT_IF_MATCH */
    struct strvec *keys;     /* LIST: the keys are appended, sorted */
    char etag[OBJ_ETAG_MAX]; /* GET: the object's version tag; PUT: the new one's, when the
                                backend tells it ("" when not) */
    int err;                 /* what objstore_get, objstore_put or objstore_list gives alone */
    struct diag d;
};

/* Told about each object of objstore_get_many, in the order of the keys asked for; data
 * (NUL-terminated) is valid during the call only.  A non-zero return (with d set) stops the
 * batch and is what objstore_get_many returns. */
typedef int (*objstore_each_fn)(void *ctx, size_t i, char *data, size_t len, struct diag *d);

struct objstore_ops {
    const char *scheme;
    int (*get)(struct objstore *os, const char *key, struct buf *out, char *etag, struct diag *d);
    int (*put)(struct objstore *os, const char *key, const void *data, size_t len,
               enum obj_put_mode mode, const char *if_match, struct diag *d);
    int (*list)(struct objstore *os, const char *prefix, struct strvec *keys, struct diag *d);
    /* Optional (NULL: objstore_list_groups is ERR_UNSUPPORTED). */
    int (*list_groups)(struct objstore *os, const char *prefix, struct strvec *out, struct diag *d);
    /* Optional (NULL: one get after another); at most window requests in flight. */
    int (*get_many)(struct objstore *os, const char *const *keys, size_t n, size_t max,
                    size_t window, objstore_each_fn fn, void *ctx, struct diag *d);
    /* Optional (NULL: one request after another). */
    int (*batch)(struct objstore *os, struct objstore_req *reqs, size_t n, struct diag *d);
    int (*del)(struct objstore *os, const char *key, struct diag *d);
    int (*link)(struct objstore *os, const char *key, int64_t expires_s, struct buf *out,
                struct diag *d);
    /* Optional (NULL: one link after another). */
    int (*link_many)(struct objstore *os, const char *const *keys, size_t n, int64_t expires_s,
                     struct buf *urls, int *errs, struct diag *ds);
    /* Optional: remove what dead writers left under prefix (NULL: nothing to do). */
    void (*sweep)(struct objstore *os, const char *prefix);
    void (*free)(struct objstore *os);
    int64_t (*link_limit_ms)(struct objstore *os); /* optional: see objstore_link_limit_ms */
    int (*missing)(struct objstore *os);           /* optional: see objstore_missing */
};

struct objstore_held;

struct objstore {
    const struct objstore_ops *ops;
    char location[OBJ_LOCATION_MAX]; /* as the user wrote it, for messages */
    struct objstore_held *held;      /* objstore_prefetch's objects, objstore_keep_listing's
                                        listing; NULL: none */
};

/* Open a store by location: "s3://bucket/prefix", "file:///abs/dir" or a directory path.
 * A local directory that is not there yet is made by the first write, never by a read. */
int objstore_open(const char *location, struct objstore **out, struct diag *d);
void objstore_free(struct objstore *os);

/* Read a whole object into out (appended; out's cap applies: ERR_TOOBIG).  When etag is not
 * NULL it receives the object's version tag (OBJ_ETAG_MAX bytes).  ERR_NOTFOUND if absent. */
int objstore_get(struct objstore *os, const char *key, struct buf *out, char *etag, struct diag *d);
int objstore_put(struct objstore *os, const char *key, const void *data, size_t len,
                 enum obj_put_mode mode, const char *if_match, struct diag *d);
/* All keys starting with prefix, sorted. */
int objstore_list(struct objstore *os, const char *prefix, struct strvec *keys, struct diag *d);
int objstore_del(struct objstore *os, const char *key, struct diag *d);

/* Read n objects and hand each to fn in the order of keys, fetching several at once where
 * that saves time (S3: up to OBJSTORE_WINDOW requests in flight; a directory: one after
 * another).  Each object may be at most max bytes (ERR_TOOBIG); memory holds at most the
 * window's objects, however many keys there are.  An absent key is ERR_NOTFOUND, and the
 * first failure in key order stops the batch.  An object held by objstore_prefetch answers
 * from memory as objstore_get would. */
#define OBJSTORE_WINDOW 128
int objstore_get_many(struct objstore *os, const char *const *keys, size_t n, size_t max,
                      objstore_each_fn fn, void *ctx, struct diag *d);

/* objstore_get_many with at most window (1 to OBJSTORE_WINDOW) objects in flight or waiting
 * to be handed on: for big objects, a window that slides over all of them keeps as little in
 * memory as batches of that many, without waiting for each batch to end before the next
 * starts. */
int objstore_get_many_window(struct objstore *os, const char *const *keys, size_t n, size_t max,
                             size_t window, objstore_each_fn fn, void *ctx, struct diag *d);

/* objstore_get_many_window whose fn may keep an object's memory instead of copying it: own is
 * the buffer that holds data (own->data is data, or NULL when len is 0), which fn may take by
 * swapping its data, len and cap with those of a buffer of its own (whose memory the store then
 * uses and frees); own's max is the store's.  own is NULL when the object lives in memory fn
 * may not take (a backend's own transfer buffers): fn copies what it keeps. */
typedef int (*objstore_take_fn)(void *ctx, size_t i, char *data, size_t len, struct buf *own,
                                struct diag *d);
int objstore_get_many_take(struct objstore *os, const char *const *keys, size_t n, size_t max,
                           size_t window, objstore_take_fn fn, void *ctx, struct diag *d);

/* Carry out n independent requests (GETs with their etags, PUTs each with its own
 * condition, listings), several at once where that saves time: on S3 up to OBJSTORE_WINDOW
 * requests in flight, a listing's first pages together and its further pages one after
 * another; on a directory one after another.  Each request is exactly what objstore_get,
 * objstore_put or objstore_list does alone (the same conditions, atomicity and errors), its
 * outcome in its own err and d, and every one is carried out whatever becomes of the others,
 * in no promised order: a request must not depend on another of the same batch.  Returns the
 * first failure in the order of reqs (d as its; an absent object's GET is ERR_NOTFOUND), ERR_OK
 * when every request went well. */
int objstore_batch(struct objstore *os, struct objstore_req *reqs, size_t n, struct diag *d);

/* Read ahead: fetch the n objects (each at most max bytes) together, now, and hold them, so
 * that the next objstore_get of each key is answered from memory with what a GET gave at this
 * moment (its data and etag, or its absence).  Each held object answers one objstore_get
 * (the next reads the store again; a key given k times is read once and answers k reads); what
 * the held copy cannot answer exactly (a read whose buffer is too small, a GET that failed
 * otherwise) goes to the store.  A key still held unread from the call before keeps that copy
 * (it is not read again).  For code that is about
 * to read several objects one after another through functions that read one each (a report,
 * a bot reply); on a directory it does nothing.  A later call replaces what is held, and
 * objstore_prefetch_drop (or objstore_free) frees it.  Not for a store shared between
 * threads while objects are held. */
void objstore_prefetch(struct objstore *os, const char *const *keys, size_t n, size_t max);
void objstore_prefetch_drop(struct objstore *os);

/* Read your own writes: while on (max > 0), what this store writes (objstore_put,
 * objstore_batch's PUTs) with success, each object of at most max bytes, is kept and answers
 * every read of its key (objstore_get, objstore_get_many, objstore_batch's GETs;
 * objstore_prefetch does not read it again) with what was written and the etag the write gave,
 * as a read right after the write would have.  At most total bytes are kept: the oldest
 * copies make room for a new one.  The next write of the key, or its delete, drops it first
 * (a write that lost to another writer, ERR_PRECONDITION or ERR_EXISTS, keeps nothing: the
 * next read goes to the store and sees what that writer put); so does a read the copy cannot
 * answer (a buffer too small, an etag the write did not tell).  For one job whose later steps
 * read what its earlier steps wrote (the daily run's report reads its screen, closes and
 * history); what other writers change meanwhile is not seen by those reads, as if they had
 * come right after the write.  A call with max 0 stops and frees them (so does
 * objstore_free); another call with max > 0 drops what is kept.  On a directory it does
 * nothing.  Not for a store shared between threads. */
void objstore_keep_written(struct objstore *os, size_t max, size_t total);

/* Take over the copies another handle of the same store kept of its writes
 * (objstore_keep_written): each answers this store's reads of its key as if this store had
 * written it, within this store's limits (nothing when this store keeps no written copies).
 * For a job whose thread wrote through a handle of its own (objstore_reopen), once that thread
 * is done; from keeps nothing afterwards. */
void objstore_take_written(struct objstore *to, struct objstore *from);

/* Keep the listing of prefix (NULL: stop; one prefix at a time): once it has been listed, it
 * answers every listing of a prefix that starts with it from memory.  A write or a delete of
 * a key under it through this store (objstore_put, objstore_del, objstore_batch) adds or
 * removes that key in the kept listing (a write refused because the key exists adds it too);
 * one whose outcome is unknown (a failure of the request) makes the next listing read the
 * store again.  A listing of another prefix while the kept one has not been read yet reads
 * both at once.  For one job that lists the same objects at several steps (the daily run lists the
 * bar parts for its collection, its screen, its exports, its history and its backtest); what other
 * writers add meanwhile is not seen, as if the job had listed once and then made its own
 * changes.  Not for a store shared between threads. */
void objstore_keep_listing(struct objstore *os, const char *prefix);
/* objstore_keep_listing, except that the listing of prefix is never read along with another:
 * it is kept once the caller lists prefix itself (a command that lists the whole store
 * anyway, then parts of it). */
void objstore_keep_listing_when_listed(struct objstore *os, const char *prefix);

/* Forget the kept listing's keys (objstore_keep_listing still keeps the prefix): the next
 * listing reads the store.  For a reader that found a listed object gone (another process
 * compacted the store meanwhile). */
void objstore_listing_stale(struct objstore *os);

/* Read ahead a listing: the listing of prefix goes along with the store's next round of
 * requests (the next listing of another prefix, or batch of requests), in flight together, and is
 * held to answer the listings of exactly prefix with what the store gave at that moment, until a
 * write under prefix through this store or a call with NULL drops it (and every other;
 * objstore_free frees them).  Up to OBJSTORE_ALONG_MAX prefixes at once (more are not read ahead).
 * For code that is about to list one prefix and will list others soon after. */
#define OBJSTORE_ALONG_MAX 4
void objstore_list_along(struct objstore *os, const char *prefix);

/* While on (1), every listing reads the store, the kept listing answering none (it stays
 * kept); returns what it was.  For a check that must see what other writers did. */
int objstore_list_fresh(struct objstore *os, int on);

/* The listing of prefix (empty or ending in '/') one level deep, appended to out, sorted: each
 * key directly under prefix, and for the keys further down each next level's prefix
 * (prefix + name + '/') once.  Those keys as they are and objstore_list of each of those
 * prefixes, one after another, give what objstore_list(prefix) gives, so that a reader can
 * start on the first groups before the last are listed.  ERR_UNSUPPORTED where one listing
 * of the whole prefix is the cheaper way: on S3 (whose listing is paged ahead), and when a
 * listing kept by objstore_keep_listing answers prefix. */
int objstore_list_groups(struct objstore *os, const char *prefix, struct strvec *out,
                         struct diag *d);

/* The listings of n prefixes (objstore_batch), their keys appended to keys in the order of
 * the prefixes, as objstore_list of one prefix after another gives them.  The first failure
 * stops nothing but is returned. */
int objstore_list_many(struct objstore *os, const char *const *prefixes, size_t n,
                       struct strvec *keys, struct diag *d);

/* A link to download an object, appended to out: on S3 a presigned GET URL valid expires_s
 * seconds (anyone holding it can download the object until then), locally the file's
 * absolute path as a file:// URL.  ERR_NOTFOUND when the object does not exist. */
int objstore_link(struct objstore *os, const char *key, int64_t expires_s, struct buf *out,
                  struct diag *d);

/* objstore_link for n keys, the checks that they exist at once (S3: one HEAD each, in flight
 * together): urls[i] gets the link (appended), errs[i] and ds[i] what objstore_link gives for
 * keys[i] alone. */
void objstore_link_many(struct objstore *os, const char *const *keys, size_t n, int64_t expires_s,
                        struct buf *urls, int *errs, struct diag *ds);

/* Remove what writers that died left under prefix: on a directory, the temporary files nobody
 * holds (objstore_local.c says when one is stale); on S3 nothing (a PUT is whole or absent).
 * Best effort, never fails: writers call it for what they are about to write. */
void objstore_sweep(struct objstore *os, const char *prefix);

/* 1 when key is a valid object key: 1..OBJ_KEY_MAX-1 bytes of printable ASCII, no leading or
 * trailing '/', no empty, "." or ".." segment, no segment starting with '.' (reserved for
 * temporary files). */
int objstore_key_valid(const char *key);

/* The local backend (objstore_local.c). */
/* When links made now stop working at the latest, whatever their own expiry: Unix ms when
 * known (the signing credentials expire then), -1 when they are temporary with an unknown
 * expiration, 0 when nothing cuts them short. */
int64_t objstore_link_limit_ms(struct objstore *os);

/* 1 when the store is known not to exist at all (a local directory that is not there), not
 * merely to be empty; 0 otherwise.  For messages: "no bars yet" and "no such store" call for
 * different fixes. */
int objstore_missing(struct objstore *os);

/* Another handle on the same store (opened again from its location), for another thread: a
 * handle is not for threads to share.  It holds nothing of this one's (no objects read ahead,
 * kept listing or written copies). */
int objstore_reopen(const struct objstore *os, struct objstore **out, struct diag *d);

int objstore_local_open(const char *dir, struct objstore **out, struct diag *d);

/* The S3 backend (objstore_s3.c): location "s3://bucket" or "s3://bucket/prefix"; keys are
 * stored under "prefix/".  Credentials and region as the AWS CLI finds them (aws/creds.h;
 * us-east-1 when no region is configured), the endpoint from AWS_ENDPOINT_URL_S3 when set.
 * ERR_USAGE for a malformed location, ERR_AUTH when there are no credentials. */
int objstore_s3_open(const char *location, struct objstore **out, struct diag *d);

#endif
