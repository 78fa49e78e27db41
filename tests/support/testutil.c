#include "testutil.h"
#include "base/date.h"
#include "base/file.h"
#include "net/http.h"
#include "sim/alpaca_sim.h"
#include "store/barstore.h"
#include "store/objstore.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *tu_mkdtemp(void)
{
    const char *tmp = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/screener-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    return strdup(dir);
}

void tu_rmrf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char child[4096];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            tu_rmrf(child);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

void tu_write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

char *tu_read_file(const char *path, size_t *len)
{
    struct buf b = BUF_INIT((size_t)1 << 30);
    struct diag d;
    int err = file_read(path, &b, &d);
    if (err == ERR_NOTFOUND)
        return NULL;
    if (err)
        fail_msg("%s", d.text);
    size_t n = 0;
    char *p = b.data ? buf_detach(&b, &n) : strdup("");
    assert_non_null(p);
    if (len)
        *len = n;
    return p;
}

const char *tu_path(const char *dir, const char *rel)
{
    static char bufs[4][4096];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, 4096, "%s/%s", dir, rel);
    return b;
}

static int64_t micro(double dollars)
{
    return (int64_t)(dollars * 1e6 + (dollars >= 0 ? 0.5 : -0.5));
}

int32_t tu_weekday_from(int32_t t)
{
    while (date_weekday(t) == 0 || date_weekday(t) == 6)
        t++;
    return t;
}

struct bar tu_bar(const char *symbol, const char *date, double open, double high, double low,
                  double close, int64_t volume)
{
    struct bar b;
    memset(&b, 0, sizeof b);
    snprintf(b.symbol, sizeof b.symbol, "%s", symbol);
    assert_int_equal(date_parse(date, strlen(date), &b.date), 0);
    b.open = micro(open);
    b.high = micro(high);
    b.low = micro(low);
    b.close = micro(close);
    b.volume = volume;
    b.vwap = BAR_NONE;
    b.trades = BAR_NONE;
    return b;
}

uint64_t tu_seed(const char *test)
{
    const char *env = getenv("TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ (uint64_t)getpid();
    printf("# %s: seed %llu (rerun with TEST_SEED=%llu)\n", test, (unsigned long long)seed,
           (unsigned long long)seed);
    return seed;
}

uint64_t tu_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double tu_uniform(uint64_t *s)
{
    return (double)(tu_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

static void world_open_store(struct tu_world *w)
{
    struct diag d;
    if (objstore_open(w->dir, &w->os, &d) || barstore_new(w->os, &w->bs, &d))
        fail_msg("store in %s: %s", w->dir, d.text);
}

void tu_world_start(struct tu_world *w, const struct alpaca_sim_opts *so)
{
    *w = (struct tu_world){0};
    struct diag d;
    int port;
    if (alpaca_sim_start(so, &w->sim, &port, &d))
        fail_msg("alpaca sim: %s", d.text);
    snprintf(w->url, sizeof w->url, "http://127.0.0.1:%d", port);
    w->n = alpaca_sim_nsymbols(w->sim);
    if (w->n > TU_WORLD_SYMBOLS)
        fail_msg("the simulator has %zu symbols, a test world at most %d", w->n, TU_WORLD_SYMBOLS);
    for (size_t i = 0; i < w->n; i++)
        w->symbols[i] = alpaca_sim_symbol(w->sim, i);
    if (http_client_new(NULL, &w->http, &d))
        fail_msg("http client: %s", d.text);
    w->dir = tu_mkdtemp();
    world_open_store(w);
}

void tu_world_renew_store(struct tu_world *w)
{
    barstore_free(w->bs);
    objstore_free(w->os);
    tu_rmrf(w->dir);
    world_open_store(w);
}

void tu_world_stop(struct tu_world *w)
{
    barstore_free(w->bs);
    objstore_free(w->os);
    http_client_free(w->http);
    alpaca_sim_stop(w->sim);
    tu_rmrf(w->dir);
    free(w->dir);
    *w = (struct tu_world){0};
}
