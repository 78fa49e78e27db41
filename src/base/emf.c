#include "base/emf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

#define EMF_LINE_MAX (256 * 1024)

static FILE *emf_stream;

void emf_set_stream(FILE *stream)
{
    emf_stream = stream;
}

static int put_str(struct buf *b, const char *s)
{
    int err = buf_putc(b, '"');
    if (!err)
        err = buf_json_escape(b, s, strlen(s));
    if (!err)
        err = buf_putc(b, '"');
    return err;
}

int emf_format(struct buf *out, const char *ns, const struct emf_dim *dims, size_t ndims,
               const struct emf_metric *metrics, size_t nmetrics, int64_t timestamp_ms)
{
    if (ndims > EMF_DIMS_MAX || nmetrics > 100 || nmetrics == 0)
        return ERR_INVALID;
    int err =
        buf_printf(out, "{\"_aws\":{\"Timestamp\":%lld,\"CloudWatchMetrics\":[{\"Namespace\":",
                   (long long)timestamp_ms);
    err = err ? err : put_str(out, ns);
    err = err ? err : buf_puts(out, ",\"Dimensions\":[[");
    for (size_t i = 0; i < ndims && !err; i++) {
        if (i)
            err = buf_putc(out, ',');
        err = err ? err : put_str(out, dims[i].name);
    }
    err = err ? err : buf_puts(out, "]],\"Metrics\":[");
    size_t written = 0;
    for (size_t i = 0; i < nmetrics && !err; i++) {
        if (!isfinite(metrics[i].value))
            continue;
        if (written++)
            err = buf_putc(out, ',');
        err = err ? err : buf_puts(out, "{\"Name\":");
        err = err ? err : put_str(out, metrics[i].name);
        err = err ? err : buf_puts(out, ",\"Unit\":");
        err = err ? err : put_str(out, metrics[i].unit ? metrics[i].unit : "None");
        err = err ? err : buf_putc(out, '}');
    }
    err = err ? err : buf_puts(out, "]}]}");
    for (size_t i = 0; i < ndims && !err; i++) {
        err = buf_putc(out, ',');
        err = err ? err : put_str(out, dims[i].name);
        err = err ? err : buf_putc(out, ':');
        err = err ? err : put_str(out, dims[i].value);
    }
    for (size_t i = 0; i < nmetrics && !err; i++) {
        if (!isfinite(metrics[i].value))
            continue;
        err = buf_putc(out, ',');
        err = err ? err : put_str(out, metrics[i].name);
        err = err ? err : buf_printf(out, ":%.17g", metrics[i].value);
    }
    err = err ? err : buf_puts(out, "}\n");
    return err;
}

const char *emf_environment(void)
{
    const char *e = getenv("ENVIRONMENT");
    return e && *e ? e : "dev";
}

int emf_emit(const char *ns, const struct emf_dim *dims, size_t ndims,
             const struct emf_metric *metrics, size_t nmetrics)
{
    /* The caller's dimensions and Environment, in the one dimension set. */
    struct emf_dim all[EMF_DIMS_MAX];
    if (ndims >= EMF_DIMS_MAX)
        return ERR_INVALID;
    if (ndims)
        memcpy(all, dims, ndims * sizeof *dims);
    all[ndims].name = EMF_DIM_ENVIRONMENT;
    all[ndims].value = emf_environment();
    struct buf b = BUF_INIT(EMF_LINE_MAX);
    int err = emf_format(&b, ns, all, ndims + 1, metrics, nmetrics, clock_wall_ms());
    if (!err) {
        FILE *out = emf_stream ? emf_stream : log_stream();
        fwrite(b.data, 1, b.len, out);
        fflush(out);
    }
    buf_release(&b);
    return err;
}

int emf_emit_business(const struct emf_metric *metrics, size_t nmetrics)
{
    static const struct emf_dim dims[] = {{"Strategy", "Contrarian"}, {"Universe", "Russell1000"}};
    return emf_emit(EMF_NS_BUSINESS, dims, 2, metrics, nmetrics);
}
