/* file.c - reading a whole file into a capped buffer. */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/banned.h"

#define READ_STEP 65536

int file_read(const char *path, struct buf *out, struct diag *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return diag_set(d, errno == ENOENT || errno == ENOTDIR ? ERR_NOTFOUND : ERR_IO,
                        "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    int err = ERR_OK;
    size_t room = out->max - out->len;
    if (fstat(fd, &st) != 0)
        err = diag_set(d, ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        err = diag_set(d, ERR_USAGE, "'%s' is a directory, expected a file", path);
    else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > room)
        err = diag_set(d, ERR_TOOBIG, "'%s' is %lld bytes, over the limit of %zu", path,
                       (long long)st.st_size, room);
    else if (S_ISREG(st.st_mode) && st.st_size > 0 && (err = buf_reserve(out, (size_t)st.st_size)))
        diag_set(d, err, "cannot read '%s': %s", path, err_str(err));
    while (!err) {
        char probe, *at = &probe;
        size_t want = 1; /* at the cap: one byte more says the file is over it */
        if (out->len < out->max) {
            size_t step = out->max - out->len < READ_STEP ? out->max - out->len : READ_STEP;
            if (out->cap < out->len + 2 && (err = buf_reserve(out, step)) != ERR_OK) {
                diag_set(d, err, "cannot read '%s': %s", path, err_str(err));
                break;
            }
            at = out->data + out->len;
            want = out->cap - 1 - out->len; /* buf keeps cap <= max + 1 */
        }
        ssize_t n = read(fd, at, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            err = diag_set(d, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
        else if (n == 0)
            break;
        else if (at == &probe)
            err = diag_set(d, ERR_TOOBIG, "'%s' is over the limit of %zu bytes", path, out->max);
        else
            out->len += (size_t)n;
    }
    if (out->data)
        out->data[out->len] = '\0';
    close(fd);
    return err;
}
