/* replay.c - runs a fuzz target over saved inputs without libFuzzer.
 *
 * Linked with one fuzz_*.c by the main Makefile, so `make test` replays each corpus with the
 * ordinary compiler and, under SANITIZE=1, with ASan and UBSan.  Each argument is a file or a
 * directory of files; directories are read in byte order of the names so that runs are the
 * same everywhere.  A failing check aborts, and that is the failure signal; an argument that
 * cannot be read is an error too, so that a mistyped corpus path does not pass as "0 inputs".
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int verbose;

/* Run one regular file; the input is in a buffer of exactly its size, like libFuzzer's. */
static int replay_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "replay: '%s' is not a regular file\n", path);
        fclose(f);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *data = malloc(size ? size : 1);
    if (!data || (size && fread(data, 1, size, f) != size) || fgetc(f) != EOF) {
        fprintf(stderr, "replay: cannot read '%s' (changed while reading?)\n", path);
        free(data);
        fclose(f);
        return -1;
    }
    fclose(f);
    if (verbose)
        fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    ++*count;
    return 0;
}

/* strcmp, not alphasort: alphasort follows the locale's collation. */
static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay_dir(const char *dir, size_t *count)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, by_name);
    if (n < 0) {
        fprintf(stderr, "replay: cannot list '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    int status = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(dir) + 1 + strlen(names[i]->d_name) + 1;
        char *path = malloc(len);
        struct stat st;
        if (!path) {
            status = -1;
        } else {
            snprintf(path, len, "%s/%s", dir, names[i]->d_name);
            /* Subdirectories (and "." and "..") are skipped, as libFuzzer does. */
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && replay_file(path, count) != 0)
                status = -1;
        }
        free(path);
        free(names[i]);
    }
    free(names);
    return status;
}

int main(int argc, char **argv)
{
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "-v") == 0) {
        verbose = 1;
        first = 2;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: %s [-v] FILE-OR-DIRECTORY...\n", argv[0]);
        return 2;
    }
    size_t count = 0;
    int status = 0;
    for (int i = first; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: cannot open '%s': %s\n", argv[i], strerror(errno));
            status = 1;
        } else if (S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count) != 0
                                       : replay_file(argv[i], &count) != 0) {
            status = 1;
        }
    }
    printf("%zu inputs replayed\n", count);
    return status;
}
