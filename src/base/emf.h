/* emf.h - CloudWatch Embedded Metric Format: metrics as one JSON log line.
 *
 * In Lambda, CloudWatch turns such lines into metrics with no API call and no IAM permission.
 * The project's namespaces and dimensions (docs/definitions.md#metrics) are spelled here once.
 */
#ifndef BASE_EMF_H
#define BASE_EMF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"

#define EMF_NS_BUSINESS    "StockScreener/Business"
#define EMF_NS_PERFORMANCE "StockScreener/Performance"

/* Every line emf_emit() writes carries this dimension, valued $ENVIRONMENT (default "dev"),
 * in its dimension set: the alarms filter on it, so that deployments stay apart. */
#define EMF_DIM_ENVIRONMENT "Environment"
#define EMF_DIMS_MAX        30

struct emf_dim {
    const char *name;
    const char *value;
};

struct emf_metric {
    const char *name;
    const char *unit; /* "Count", "Percent", "Count/Second", "Milliseconds", ... */
    double value;
};

/* Format one EMF document (a single line ending in '\n') into out.  At most EMF_DIMS_MAX dimensions
 * and 100 metrics; non-finite values are left out (CloudWatch rejects them). */
int emf_format(struct buf *out, const char *ns, const struct emf_dim *dims, size_t ndims,
               const struct emf_metric *metrics, size_t nmetrics, int64_t timestamp_ms);

/* Where emf_emit() writes: the log stream by default; stdout under Lambda. */
void emf_set_stream(FILE *stream);

/* $ENVIRONMENT, or "dev" when it is unset or empty. */
const char *emf_environment(void);

/* Format with the current time, the dimensions and Environment, and write the line. */
int emf_emit(const char *ns, const struct emf_dim *dims, size_t ndims,
             const struct emf_metric *metrics, size_t nmetrics);

/* The business metric with the project's standard dimensions (Strategy, Universe). */
int emf_emit_business(const struct emf_metric *metrics, size_t nmetrics);

#endif
