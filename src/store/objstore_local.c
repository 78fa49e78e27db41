/* objstore_local.c - the object store on a local directory.
 *
 * Atomicity comes from the file system: an object is written to a temporary file in its
 * final directory, fsync'ed, then linked (create-if-absent) or renamed (replace) into place,
 * and the directory is fsync'ed.  A crash leaves either the old object or the new one, plus at
 * worst a ".tmp." file that listings ignore.  Conditional replaces serialize on a lock file.
 *
 * Leftover temporary files: a writer holds an flock on its temporary file from the moment it
 * creates it until the file is linked and unlinked, and the kernel drops the lock when the
 * writer dies, however it dies.  The first put into a directory (per process), and a writer's
 * objstore_sweep of a prefix, remove the ".tmp." files there that nobody holds a lock on and
 * that are older than TMP_STALE_S, the age covering the instant between a writer's create and
 * its flock.  A live writer's file is never touched.
 *
 * Keys never leave the root: a symbolic link anywhere below the root (a directory of the key's
 * path or the object itself) is refused with ERR_INVALID, files are opened with O_NOFOLLOW,
 * and listings do not descend into links.  The root itself may be a link (the operator's
 * choice of directory).
 */
#include "store/objstore.h"
#include "base/log.h"
#include "codec/crypto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/banned.h"

#define TMP_STALE_S    60
#define SWEPT_DIRS_MAX 4096

struct local {
    struct objstore base;
    char root[OBJ_LOCATION_MAX];
    int fsync; /* 0 only under SCREENER_TEST_NO_FSYNC=1: tests that write thousands of files */
    char real[PATH_MAX]; /* the root with its links resolved, for reads (empty: unknown) */
    struct strvec swept; /* directories already cleaned of stale temporary files */
};

static int sync_fd(const struct local *l, int fd)
{
    return l->fsync ? fsync(fd) : 0;
}

/* The path of key, after checking that no part of it below the root is a symbolic link (parts
 * that do not exist yet are fine: they will be created as directories). */
static int path_of(struct local *l, const char *key, char *out, struct diag *d)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", l->root, key);
    if (n < 0 || n >= PATH_MAX)
        return diag_set(d, ERR_TOOBIG, "store '%s': path for '%s' is too long", l->root, key);
    size_t root_len = strlen(l->root);
    for (char *p = out + root_len + 1;; p++) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        struct stat st;
        int rc = lstat(out, &st);
        int link = rc == 0 && S_ISLNK(st.st_mode);
        if (slash)
            *slash = '/';
        if (link)
            return diag_set(d, ERR_INVALID,
                            "store '%s': '%s' leads through a symbolic link; objects must stay "
                            "inside the store directory",
                            l->root, key);
        if (rc != 0 || !slash)
            return ERR_OK; /* the rest does not exist yet */
        p = slash;
    }
}

static int sys_err(struct diag *d, const char *what, const char *path, int e)
{
    int err = e == ENOENT ? ERR_NOTFOUND : e == ENOMEM ? ERR_NOMEM : ERR_IO;
    return diag_set(d, err, "cannot %s '%s': %s", what, path, strerror(e));
}

static int fsync_dir(const struct local *l, const char *dir, struct diag *d)
{
    if (!l->fsync)
        return ERR_OK;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return sys_err(d, "open directory", dir, errno);
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0 && e != EINVAL)
        return sys_err(d, "sync directory", dir, e);
    return ERR_OK;
}

/* mkdir -p for the store's root. */
static int make_root(const struct local *l, struct diag *d)
{
    char path[PATH_MAX];
    size_t n = strlen(l->root);
    memcpy(path, l->root, n);
    path[n] = '/';
    path[n + 1] = '\0';
    for (char *p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return sys_err(d, "create store directory", path, errno);
        *p = '/';
    }
    return ERR_OK;
}

/* mkdir -p for the directory part of path, syncing each parent that gained an entry. */
static int make_parents(const struct local *l, char *path, size_t root_len, struct diag *d)
{
    for (char *p = path + root_len + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        int rc = mkdir(path, 0755);
        int e = errno;
        if (rc == 0) {
            char *slash = strrchr(path, '/');
            *slash = '\0';
            int err = fsync_dir(l, path, d);
            *slash = '/';
            if (err) {
                *p = '/';
                return err;
            }
        } else if (e != EEXIST) {
            int err = sys_err(d, "create directory", path, e);
            *p = '/';
            return err;
        }
        *p = '/';
    }
    return ERR_OK;
}

/* Read the whole of fd, an object's file (opened without blocking, so that a FIFO or a device
 * put in the store never holds the reader: anything but a regular file is refused).  An object
 * is replaced whole (a new file linked or renamed into place), never written in place: a short
 * read that gave the whole size is the end, and the read that would return 0 is saved.  A file
 * that grows past out->max while it is read is an error, never a silent cut. */
static int read_fd(int fd, const char *path, struct buf *out, struct diag *d)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return sys_err(d, "stat", path, errno);
    if (!S_ISREG(st.st_mode))
        return diag_set(d, ERR_INVALID, "'%s' is not a regular file", path);
    if ((size_t)st.st_size > out->max - out->len)
        return diag_set(d, ERR_TOOBIG, "'%s' is %lld bytes, over the limit of %zu", path,
                        (long long)st.st_size, out->max - out->len);
    int err = buf_reserve(out, (size_t)st.st_size);
    if (err)
        return diag_set(d, err, "cannot read '%s': %s", path, err_str(err));
    size_t start = out->len, size = (size_t)st.st_size;
    for (;;) {
        size_t room = out->cap - 1 - out->len;
        if (room == 0 && out->len < out->max) {
            if ((err = buf_reserve(out, 4096)) != ERR_OK)
                return diag_set(d, err, "cannot read '%s': %s", path, err_str(err));
            room = out->cap - 1 - out->len;
        }
        char probe;
        int full = out->len == out->max || room == 0;
        ssize_t n = full ? read(fd, &probe, 1) : read(fd, out->data + out->len, room);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return sys_err(d, "read", path, errno);
        }
        if (n == 0)
            break;
        if (full)
            return diag_set(d, ERR_TOOBIG, "'%s' grew past the limit of %zu bytes while read", path,
                            out->max);
        out->len += (size_t)n;
        if ((size_t)n < room && out->len - start == size)
            break;
    }
    out->data[out->len] = '\0';
    return ERR_OK;
}

static void etag_of(const char *data, size_t len, char *etag)
{
    uint8_t h[SHA256_LEN];
    crypto_sha256(data, len, h);
    crypto_hex(h, 16, etag);
}

/* Open key for reading in one system call that refuses a symbolic link anywhere on the way
 * (what path_of checks below the root with a stat of every directory; the root's own links
 * were resolved when the store was opened); -1 when that fails for any reason, or the kernel
 * lacks openat2: the caller then takes the long way, which says why. */
static int open_beneath(const struct local *l, const char *key)
{
#ifdef SYS_openat2
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", l->real, key);
    if (!l->real[0] || n < 0 || n >= (int)sizeof path)
        return -1;
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
                           .resolve = RESOLVE_NO_SYMLINKS};
    return (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
#else
    (void)l;
    (void)key;
    return -1;
#endif
}

static int local_get(struct objstore *os, const char *key, struct buf *out, char *etag,
                     struct diag *d)
{
    struct local *l = (struct local *)os;
    char path[PATH_MAX];
    int n = snprintf(path, PATH_MAX, "%s/%s", l->root, key);
    int fd = n > 0 && n < PATH_MAX ? open_beneath(l, key) : -1;
    int err = ERR_OK;
    if (fd < 0) {
        if ((err = path_of(l, key, path, d)))
            return err;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    }
    if (fd < 0)
        return errno == ELOOP
                   ? diag_set(d, ERR_INVALID, "store '%s': '%s' is a symbolic link", l->root, key)
                   : sys_err(d, "open", path, errno);
    size_t start = out->len;
    err = read_fd(fd, path, out, d);
    close(fd);
    if (!err && etag)
        etag_of(out->data ? out->data + start : "", out->len - start, etag);
    return err;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One counter for the process: two stores open on one directory (or threads) never pick the
 * same temporary name. */
static unsigned long tmp_counter;

/* Create and fill a temporary file next to path, locked (see the top of the file); returns
 * its descriptor in *fd, to be closed by the caller once the file is linked and unlinked. */
static int write_temp(struct local *l, const char *path, char *tmp, const void *data, size_t len,
                      int *fd_out, struct diag *d)
{
    const char *slash = strrchr(path, '/');
    int n = snprintf(tmp, PATH_MAX, "%.*s/.tmp.%s.%ld.%lu", (int)(slash - path), path, slash + 1,
                     (long)getpid(), __atomic_add_fetch(&tmp_counter, 1, __ATOMIC_RELAXED));
    if (n < 0 || n >= PATH_MAX)
        return diag_set(d, ERR_TOOBIG, "temporary path for '%s' is too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return sys_err(d, "create", tmp, errno);
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            int err = sys_err(d, "lock", tmp, errno);
            unlink(tmp);
            close(fd);
            return err;
        }
    }
    if (write_all(fd, data, len) != 0 || sync_fd(l, fd) != 0) {
        int err = sys_err(d, "write", tmp, errno);
        unlink(tmp);
        close(fd);
        return err;
    }
    *fd_out = fd;
    return ERR_OK;
}

/* Remove the stale temporary files of dir (see the top of the file).  Best effort: a failure
 * leaves a file for the next writer and is only logged. */
static void sweep_dir(struct local *l, const char *dir)
{
    for (size_t i = 0; i < l->swept.n; i++)
        if (strcmp(l->swept.v[i], dir) == 0)
            return;
    if (l->swept.n < SWEPT_DIRS_MAX && strvec_push(&l->swept, dir) != ERR_OK)
        return;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return;
    DIR *dp = fdopendir(dfd);
    if (!dp) {
        close(dfd);
        return;
    }
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        if (strncmp(e->d_name, ".tmp.", 5) != 0)
            continue;
        int fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            continue; /* gone meanwhile: its writer finished */
        struct stat st, again;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime >= TMP_STALE_S &&
            flock(fd, LOCK_EX | LOCK_NB) == 0 &&
            fstatat(dfd, e->d_name, &again, AT_SYMLINK_NOFOLLOW) == 0 &&
            again.st_ino == st.st_ino && again.st_dev == st.st_dev) {
            if (unlinkat(dfd, e->d_name, 0) == 0)
                log_info("removed a temporary file left by a writer that died", LF_STR("dir", dir),
                         LF_STR("file", e->d_name), LF_INT("bytes", st.st_size));
        }
        close(fd); /* drops our lock, if we took it */
    }
    closedir(dp);
}

static int lock_store(struct local *l, struct diag *d)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/.lock", l->root);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -sys_err(d, "open lock", path, errno);
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            int err = sys_err(d, "lock", path, errno);
            close(fd);
            return -err;
        }
    }
    return fd;
}

static int local_put(struct objstore *os, const char *key, const void *data, size_t len,
                     enum obj_put_mode mode, const char *if_match, struct diag *d)
{
    struct local *l = (struct local *)os;
    char path[PATH_MAX], tmp[PATH_MAX];
    int tmpfd = -1;
    int err = path_of(l, key, path, d);
    if (!err)
        err = write_temp(l, path, tmp, data, len, &tmpfd, d);
    if (err == ERR_NOTFOUND) {
        /* The directory is new: create it (and sync its parents), then write. */
        err = make_root(l, d);
        if (!err)
            err = make_parents(l, path, strlen(l->root), d);
        if (!err)
            err = write_temp(l, path, tmp, data, len, &tmpfd, d);
    }
    if (err)
        return err;

    int lockfd = -1;
    if (mode == OBJ_PUT_IF_MATCH) {
        lockfd = lock_store(l, d);
        if (lockfd < 0) {
            unlink(tmp);
            close(tmpfd);
            return -lockfd;
        }
        struct buf cur = BUF_INIT((size_t)1 << 34);
        char etag[OBJ_ETAG_MAX];
        err = local_get(os, key, &cur, etag, d);
        buf_release(&cur);
        if (!err && strcmp(etag, if_match) != 0)
            err = diag_set(d, ERR_PRECONDITION, "'%s' changed since it was read", key);
    }
    if (!err) {
        if (mode == OBJ_PUT_CREATE) {
            if (link(tmp, path) != 0)
                err = errno == EEXIST ? diag_set(d, ERR_EXISTS, "'%s' already exists", key)
                                      : sys_err(d, "link", path, errno);
        } else if (rename(tmp, path) != 0) {
            err = sys_err(d, "rename into", path, errno);
        }
    }
    unlink(tmp); /* after link, or after a failure; a no-op after rename */
    if (close(tmpfd) != 0 && !err)
        err = sys_err(d, "close", tmp, errno);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    if (!err)
        err = fsync_dir(l, path, d);
    if (lockfd >= 0)
        close(lockfd); /* releases the flock */
    sweep_dir(l, path);
    return err;
}

/* Readings of one directory after the first, looking for subdirectories made meanwhile. */
#define WALK_REREADS 16

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One reading of the directory open as fd (rel, rel_len bytes, empty or ending in '/'), from
 * its start, with getdents64: the files whose key starts with prefix go to keys (when keys is
 * not NULL), the subdirectories where the prefix can still match and that are not in seen
 * (sorted) to subs, as "name/". */
static int read_dir(const char *root, int fd, char *rel, size_t rel_len, const char *prefix,
                    struct strvec *keys, const struct strvec *seen, struct strvec *subs,
                    struct diag *d)
{
    _Alignas(struct dirent64) char ents[8192];
    size_t plen = strlen(prefix);
    int err = ERR_OK;
    while (!err) {
        ssize_t got = getdents64(fd, ents, sizeof ents);
        if (got <= 0) {
            if (got < 0) {
                char path[PATH_MAX];
                snprintf(path, sizeof path, "%s/%.*s", root, (int)rel_len, rel);
                err = sys_err(d, "list", path, errno);
            }
            break;
        }
        for (size_t off = 0; off < (size_t)got && !err;) {
            const struct dirent64 *e = (const struct dirent64 *)(ents + off);
            off += e->d_reclen;
            if (e->d_name[0] == '.' || e->d_type == DT_LNK)
                continue; /* temporary files; a link may lead anywhere: not an object */
            size_t nl = strlen(e->d_name);
            if (rel_len + nl + 2 >= OBJ_KEY_MAX)
                continue;
            size_t len = rel_len;
            memcpy(rel + len, e->d_name, nl);
            len += nl;
            rel[len] = '\0';
            /* Only descend where the prefix can still match. */
            size_t cmp = len < plen ? len : plen;
            if (memcmp(rel, prefix, cmp) != 0)
                continue;
            int is_dir = e->d_type == DT_DIR;
            if (e->d_type == DT_UNKNOWN) {
                struct stat st;
                if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISLNK(st.st_mode))
                    continue;
                is_dir = S_ISDIR(st.st_mode);
            }
            if (!is_dir) {
                if (keys && len >= plen && (err = strvec_pushn(keys, rel, len)) != ERR_OK)
                    diag_set(d, err, "listing '%s': %s", root, err_str(err));
                continue;
            }
            char name[NAME_MAX + 2];
            memcpy(name, e->d_name, nl);
            memcpy(name + nl, "/", 2);
            const char *k = name;
            if (seen->n && bsearch(&k, seen->v, seen->n, sizeof *seen->v, cmp_str))
                continue;
            if ((err = strvec_pushn(subs, name, nl + 1)) != ERR_OK)
                diag_set(d, err, "listing '%s': %s", root, err_str(err));
        }
    }
    return err;
}

/* The keys under the directory open as fd, which is rel (rel_len bytes, empty or ending in
 * '/'), that start with prefix; fd is closed.  Each directory is opened relative to its parent
 * and read whole with getdents64: a store's thousands of day directories cost four system
 * calls each and no path lookup from the root.
 *
 * A listing is no snapshot, and a compaction retires a month's day parts (in directories
 * YYYY-MM-DD/) once their compacted part (in YYYY-MM/) is written.  So the subdirectories are
 * walked in key order, as S3 lists keys, the month's days before the month: a day found
 * emptied means its compacted part was there already.  And a directory holding
 * subdirectories is read again after they are walked, and the ones made meanwhile (a month's
 * first compacted part) are walked too, until a reading finds none: a compacted part written
 * after the directory was first read, for days emptied before they were walked, is found. */
static int walk(const char *root, int fd, char *rel, size_t rel_len, const char *prefix,
                struct strvec *keys, struct diag *d)
{
    struct strvec seen = STRVEC_INIT, subs = STRVEC_INIT;
    int err = ERR_OK;
    for (int round = 0; !err && round <= WALK_REREADS; round++) {
        if (round && lseek(fd, 0, SEEK_SET) != 0) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%.*s", root, (int)rel_len, rel);
            err = sys_err(d, "list", path, errno);
            break;
        }
        /* Files only at the first reading: one made later is a writer's at the same time. */
        err = read_dir(root, fd, rel, rel_len, prefix, round ? NULL : keys, &seen, &subs, d);
        if (err || subs.n == 0)
            break;
        strvec_sort(&subs);
        for (size_t i = 0; i < subs.n && !err; i++) {
            size_t nl = strlen(subs.v[i]) - 1;
            memcpy(rel + rel_len, subs.v[i], nl + 1); /* "name/" */
            rel[rel_len + nl + 1] = '\0';
            rel[rel_len + nl] = '\0';
            int sub = openat(fd, rel + rel_len, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            rel[rel_len + nl] = '/';
            if (sub < 0) {
                /* Gone meanwhile, or now a link: nothing to list. */
                if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP) {
                    char path[PATH_MAX];
                    snprintf(path, sizeof path, "%s/%.*s", root, (int)(rel_len + nl), rel);
                    err = sys_err(d, "list", path, errno);
                }
                continue;
            }
            err = walk(root, sub, rel, rel_len + nl + 1, prefix, keys, d);
        }
        for (size_t i = 0; i < subs.n && !err; i++) {
            err = strvec_push(&seen, subs.v[i]);
            if (err)
                diag_set(d, err, "listing '%s': %s", root, err_str(err));
        }
        strvec_sort(&seen);
        strvec_release(&subs);
        strvec_init(&subs);
    }
    strvec_release(&subs);
    strvec_release(&seen);
    close(fd);
    return err;
}

static int local_list(struct objstore *os, const char *prefix, struct strvec *keys, struct diag *d)
{
    struct local *l = (struct local *)os;
    char rel[OBJ_KEY_MAX];
    /* Start at the deepest directory named by the prefix. */
    const char *slash = strrchr(prefix, '/');
    size_t start = slash ? (size_t)(slash - prefix) + 1 : 0;
    if (start >= sizeof rel)
        return diag_set(d, ERR_TOOBIG, "list prefix is too long");
    memcpy(rel, prefix, start);
    rel[start] = '\0';
    if (start > 0) {
        /* The directory listed must not be reached through a link either. */
        char path[PATH_MAX];
        rel[start - 1] = '\0';
        int err = path_of(l, rel, path, d);
        rel[start - 1] = '/';
        if (err)
            return err;
    }
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", l->root, rel);
    if (n < 0 || n >= (int)sizeof path)
        return diag_set(d, ERR_TOOBIG, "path under '%s' is too long", l->root);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? ERR_OK : sys_err(d, "list", path, errno);
    size_t before = keys->n;
    int err = walk(l->root, fd, rel, start, prefix, keys, d);
    if (!err && keys->n - before > 1) {
        struct strvec tail = {keys->v + before, keys->n - before, keys->n - before};
        strvec_sort(&tail);
    }
    return err;
}

/* One directory's entries: its files as keys, its directories as prefixes ("name/"); what walk
 * would find below, one level at a time. */
static int local_list_groups(struct objstore *os, const char *prefix, struct strvec *out,
                             struct diag *d)
{
    struct local *l = (struct local *)os;
    size_t plen = strlen(prefix);
    char path[PATH_MAX];
    if (plen) {
        char rel[OBJ_KEY_MAX];
        if (plen >= sizeof rel)
            return diag_set(d, ERR_TOOBIG, "list prefix is too long");
        memcpy(rel, prefix, plen - 1);
        rel[plen - 1] = '\0';
        int err = path_of(l, rel, path, d); /* not reached through a link either */
        if (err)
            return err;
    } else {
        snprintf(path, sizeof path, "%s", l->root);
    }
    DIR *dir = opendir(path);
    if (!dir)
        return errno == ENOENT || errno == ENOTDIR ? ERR_OK : sys_err(d, "list", path, errno);
    size_t before = out->n;
    int err = ERR_OK;
    struct dirent *e;
    char key[OBJ_KEY_MAX];
    while (!err && (e = readdir(dir)) != NULL) {
        size_t nl = strlen(e->d_name);
        if (e->d_name[0] == '.' || plen + nl + 2 >= OBJ_KEY_MAX || e->d_type == DT_LNK)
            continue; /* as walk: temporary files, links, keys too long */
        int is_dir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN) {
            struct stat st;
            char full[PATH_MAX + 256];
            snprintf(full, sizeof full, "%s/%s", path, e->d_name);
            if (lstat(full, &st) != 0 || S_ISLNK(st.st_mode))
                continue;
            is_dir = S_ISDIR(st.st_mode);
        }
        memcpy(key, prefix, plen);
        memcpy(key + plen, e->d_name, nl);
        if (is_dir)
            key[plen + nl++] = '/';
        if ((err = strvec_pushn(out, key, plen + nl)) != ERR_OK)
            diag_set(d, err, "listing '%s': %s", l->root, err_str(err));
    }
    closedir(dir);
    if (!err && out->n - before > 1) {
        struct strvec tail = {out->v + before, out->n - before, out->n - before};
        strvec_sort(&tail);
    }
    return err;
}

static int local_del(struct objstore *os, const char *key, struct diag *d)
{
    struct local *l = (struct local *)os;
    char path[PATH_MAX];
    int err = path_of(l, key, path, d);
    if (err)
        return err;
    if (unlink(path) != 0)
        return sys_err(d, "delete", path, errno);
    *strrchr(path, '/') = '\0';
    return fsync_dir(l, path, d);
}

static void local_free(struct objstore *os)
{
    struct local *l = (struct local *)os;
    strvec_release(&l->swept);
    free(os);
}

static int local_link(struct objstore *os, const char *key, int64_t expires_s, struct buf *out,
                      struct diag *d)
{
    struct local *l = (struct local *)os;
    char path[PATH_MAX], abs[PATH_MAX];
    int err = path_of(l, key, path, d);
    if (err)
        return err;
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return diag_set(d, ERR_INVALID, "store '%s': '%s' is not a regular file", l->root, key);
    if (!realpath(path, abs)) {
        if (errno == ENOENT)
            return diag_set(d, ERR_NOTFOUND, "store '%s': no object '%s'", l->root, key);
        return sys_err(d, "resolve", path, errno);
    }
    return buf_printf(out, "file://%s", abs) ? diag_set(d, ERR_NOMEM, "out of memory") : ERR_OK;
}

/* Sweep every directory under the deepest directory named by prefix. */
static void sweep_tree(struct local *l, char *path, size_t len, int depth)
{
    sweep_dir(l, path);
    if (depth > 8)
        return;
    DIR *dp = opendir(path);
    if (!dp)
        return;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t nl = strlen(e->d_name);
        if (len + 1 + nl + 1 > PATH_MAX)
            continue;
        int is_dir = e->d_type == DT_DIR;
        path[len] = '/';
        memcpy(path + len + 1, e->d_name, nl + 1);
        if (e->d_type == DT_UNKNOWN) {
            struct stat st;
            is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        }
        if (is_dir)
            sweep_tree(l, path, len + 1 + nl, depth + 1);
        path[len] = '\0';
    }
    closedir(dp);
}

static void local_sweep(struct objstore *os, const char *prefix)
{
    struct local *l = (struct local *)os;
    char path[PATH_MAX];
    const char *slash = strrchr(prefix, '/');
    int n =
        snprintf(path, sizeof path, "%s/%.*s", l->root, slash ? (int)(slash - prefix) : 0, prefix);
    if (n < 0 || n >= (int)sizeof path)
        return;
    while (n > 0 && path[n - 1] == '/')
        path[--n] = '\0';
    sweep_tree(l, path, (size_t)n, 0);
}

static int local_missing(struct objstore *os)
{
    struct stat st;
    return stat(((struct local *)os)->root, &st) != 0 && errno == ENOENT;
}

static const struct objstore_ops local_ops = {
    .sweep = local_sweep,
    .scheme = "file",
    .get = local_get,
    .put = local_put,
    .list = local_list,
    .list_groups = local_list_groups,
    .del = local_del,
    .link = local_link,
    .missing = local_missing,
    .free = local_free,
};

int objstore_local_open(const char *dir, struct objstore **out, struct diag *d)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 0 || n >= OBJ_LOCATION_MAX)
        return diag_set(d, ERR_USAGE, "store directory '%s' is empty or too long", dir);
    struct local *l = calloc(1, sizeof *l);
    if (!l)
        return diag_set(d, ERR_NOMEM, "out of memory");
    memcpy(l->root, dir, n);
    l->root[n] = '\0';
    memcpy(l->base.location, dir, n);
    l->base.location[n] = '\0';
    l->base.ops = &local_ops;
    strvec_init(&l->swept);
    const char *nosync = getenv("SCREENER_TEST_NO_FSYNC");
    l->fsync = !(nosync && strcmp(nosync, "1") == 0);
    /* A store that is not there yet is made by its first write (make_root), never by a read:
     * a mistyped --store given to a reader leaves no directory behind. */
    struct stat st;
    if (stat(l->root, &st) != 0 ? errno != ENOENT : !S_ISDIR(st.st_mode)) {
        free(l);
        return diag_set(d, ERR_IO, "store '%s' is not a directory", dir);
    }
    if (!realpath(l->root, l->real))
        l->real[0] = '\0'; /* reads take the long way (open_beneath) */
    *out = &l->base;
    return ERR_OK;
}
