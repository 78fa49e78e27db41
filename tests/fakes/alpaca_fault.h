/* alpaca_fault.h - the Alpaca simulator's faults, for the tests: failures injected into bars
 * and trading requests by ordinal, and symbols whose bars never come.  A fault set plugs into
 * the simulator through its hooks (sim/alpaca_sim.h), which know nothing of faults:
 *
 *   struct alpaca_fault_set *fs;
 *   alpaca_fault_set_new(&fo, &fs, &d);
 *   so.hooks = alpaca_fault_set_hooks(fs);      (fs must outlive the simulator)
 *   alpaca_sim_start(&so, &sim, &port, &d);
 *
 * With the hooks the simulator also serves POST /__sim/trading-fault: set the trading fault
 * (a spec, see below; an empty body: none), which restarts the trading ordinal from 1.
 *
 * A bars request's fault applies at step 5 of the simulator's order (alpaca_sim.h): the status
 * faults replace the answer; the data faults (neverending and after) change the middle bar of
 * a page that has bars; malformed and truncate cut a 200 answer; slow holds the normal answer
 * slow_ms.  A trading request's fault (the trading ordinal) works alike.
 */
#ifndef FAKES_ALPACA_FAULT_H
#define FAKES_ALPACA_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "sim/alpaca_sim.h"

/* Faults injected into bars requests by ordinal.  Spec form: KIND@N or KIND@NxCOUNT. */
enum alpaca_fault_kind {
    ALPACA_FAULT_429,         /* 429 {"message":"too many requests."}, Retry-After: 1 */
    ALPACA_FAULT_500,         /* 500 with a JSON error */
    ALPACA_FAULT_502,         /* 502 with nginx's HTML page */
    ALPACA_FAULT_503,         /* 503 with nginx's HTML page */
    ALPACA_FAULT_SLOW,        /* the normal answer, after slow_ms */
    ALPACA_FAULT_RESET,       /* the connection closed without a response */
    ALPACA_FAULT_TRUNCATE,    /* the normal answer cut off at half its Content-Length */
    ALPACA_FAULT_MALFORMED,   /* 200 with syntactically broken JSON */
    ALPACA_FAULT_HTML403,     /* 403 with nginx's HTML page */
    ALPACA_FAULT_NEVERENDING, /* next_page_token is the token of this very page */
    ALPACA_FAULT_WRONGTYPE,   /* one bar has "o":"abc" */
    ALPACA_FAULT_BADPRICE,    /* one bar has "c":0 */
    ALPACA_FAULT_HIGHLOW,     /* one bar has h < l */
    ALPACA_FAULT_DUPTIME,     /* one bar repeats the timestamp of its symbol's previous bar */
    ALPACA_FAULT_COUNT_
};

struct alpaca_fault {
    enum alpaca_fault_kind kind;
    uint64_t first; /* ordinal of the first bars request hit, from 1 */
    uint64_t count; /* requests first .. first + count - 1 */
};

/* "500@3", "slow@1x2", "neverending@2x1000".  The data faults (neverending and after) apply
 * only to a page that has bars; the others replace the answer. */
int alpaca_fault_parse(const char *spec, struct alpaca_fault *out, struct diag *d);

/* The kind's spec name ("429", "slow", "duptime"). */
const char *alpaca_fault_name(enum alpaca_fault_kind kind);

/* Faults of the trading endpoints, by the ordinal of trading requests.  Spec form: KIND
 * (every request), KIND@N or KIND@NxCOUNT. */
enum alpaca_fault_trading_kind {
    ALPACA_FAULT_TRADING_401,       /* 401 {"code":40110000,"message":"request is not
                                       authorized"} */
    ALPACA_FAULT_TRADING_403,       /* 403 {"message":"forbidden."} */
    ALPACA_FAULT_TRADING_429,       /* 429 with Retry-After: 1 */
    ALPACA_FAULT_TRADING_500,       /* 500 with a JSON error */
    ALPACA_FAULT_TRADING_503,       /* 503 with nginx's HTML page */
    ALPACA_FAULT_TRADING_MALFORMED, /* 200 with broken JSON */
    ALPACA_FAULT_TRADING_MISSING,   /* the money fields (equity, last_equity, cash,
                                       buying_power, portfolio_value; a position's prices,
                                       values and P/L) left out */
    ALPACA_FAULT_TRADING_NULLS,     /* the same fields null (and the history's equity) */
    ALPACA_FAULT_TRADING_GARBAGE,   /* the same fields "abc" */
    ALPACA_FAULT_TRADING_COUNT_
};

struct alpaca_fault_trading {
    enum alpaca_fault_trading_kind kind;
    uint64_t first, count; /* trading requests first .. first + count - 1, from 1 */
};

/* "401", "nulls", "500@1x2". */
int alpaca_fault_trading_parse(const char *spec, struct alpaca_fault_trading *out, struct diag *d);
const char *alpaca_fault_trading_name(enum alpaca_fault_trading_kind kind);

struct alpaca_fault_opts {
    const struct alpaca_fault *faults; /* copied */
    size_t nfaults;
    const struct alpaca_fault_trading *trading; /* copied */
    size_t ntrading;
    const char *const *missing; /* symbols whose bars are never returned; copied */
    size_t nmissing;
    int64_t slow_ms; /* the slow fault's delay; default 15000 */
};

void alpaca_fault_opts_default(struct alpaca_fault_opts *o);

struct alpaca_fault_set;

int alpaca_fault_set_new(const struct alpaca_fault_opts *o, struct alpaca_fault_set **out,
                         struct diag *d);
void alpaca_fault_set_free(struct alpaca_fault_set *fs);

/* The hooks that apply the set to a simulator (struct alpaca_sim_opts.hooks). */
struct alpaca_sim_hooks alpaca_fault_set_hooks(struct alpaca_fault_set *fs);

/* Replace the trading faults (n == 0: none); the trading ordinal starts again from 1. */
int alpaca_fault_set_trading(struct alpaca_fault_set *fs, const struct alpaca_fault_trading *f,
                             size_t n, struct diag *d);

#endif
