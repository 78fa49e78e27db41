#include "codec/num.h"
#include "base/err.h"

#include <string.h>

#include "base/banned.h"

int num_parse_fixed(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    uint64_t ip = 0;
    size_t idigits = 0;
    int overflow = 0; /* reported after the syntax is known to be right */
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, idigits++) {
        if (ip > (UINT64_MAX - 9) / 10)
            overflow = 1;
        else
            ip = ip * 10 + (uint64_t)(s[i] - '0');
    }
    uint64_t frac = 0;
    size_t fdigits = 0;
    int round_up = 0;
    if (i < n && s[i] == '.') {
        i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, fdigits++) {
            if (fdigits < NUM_FIXED_DECIMALS)
                frac = frac * 10 + (uint64_t)(s[i] - '0');
            else if (fdigits == NUM_FIXED_DECIMALS)
                round_up = s[i] >= '5';
        }
    }
    if (i != n || idigits + fdigits == 0)
        return ERR_PARSE;
    if (overflow)
        return ERR_INVALID;
    for (size_t k = fdigits; k < NUM_FIXED_DECIMALS; k++)
        frac *= 10;
    if (ip > (uint64_t)INT64_MAX / NUM_FIXED_SCALE)
        return ERR_INVALID;
    uint64_t v = ip * NUM_FIXED_SCALE + frac + (uint64_t)round_up;
    if (v > (uint64_t)INT64_MAX)
        return ERR_INVALID;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return ERR_OK;
}

int num_parse_int(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    uint64_t v = 0;
    size_t digits = 0;
    int invalid = 0; /* reported after the syntax is known to be right */
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        uint64_t digit = (uint64_t)(s[i] - '0');
        if (v > ((uint64_t)INT64_MAX - digit) / 10)
            invalid = 1;
        else
            v = v * 10 + digit;
    }
    if (digits == 0)
        return ERR_PARSE;
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (s[i] != '0')
                invalid = 1; /* a fraction where a count belongs */
    }
    if (i != n)
        return ERR_PARSE;
    if (invalid)
        return ERR_INVALID;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return ERR_OK;
}

/* "00".."99": two digits per division, for the formatters below, which write every price
 * and volume of the exports (a year of bars for each symbol, every run). */
static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                     "25262728293031323334353637383940414243444546474849"
                                     "50515253545556575859606162636465666768697071727374"
                                     "75767778798081828384858687888990919293949596979899";

/* u in decimal at out, without a terminator; returns its length (1 to 20). */
static size_t format_u64(uint64_t u, char *out)
{
    size_t n = 1;
    for (uint64_t p = 10; n < 20 && u >= p; p *= 10)
        n++;
    char *at = out + n;
    while (u >= 100) {
        unsigned d = (unsigned)(u % 100) * 2;
        u /= 100;
        *--at = digit_pairs[d + 1];
        *--at = digit_pairs[d];
    }
    if (u >= 10) {
        *--at = digit_pairs[u * 2 + 1];
        *--at = digit_pairs[u * 2];
    } else {
        *--at = (char)('0' + u);
    }
    return n;
}

size_t num_format_int(int64_t v, char out[24])
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t o = 0;
    if (v < 0)
        out[o++] = '-';
    o += format_u64(u, out + o);
    out[o] = '\0';
    return o;
}

size_t num_format_fixed(int64_t v, char out[NUM_FIXED_STRMAX])
{
    _Static_assert(NUM_FIXED_DECIMALS == 6, "the fraction is written as three pairs of digits");
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t ip = u / NUM_FIXED_SCALE;
    unsigned frac = (unsigned)(u % NUM_FIXED_SCALE);
    size_t o = 0;
    if (v < 0)
        out[o++] = '-';
    o += format_u64(ip, out + o);
    if (frac) {
        out[o++] = '.';
        const unsigned pairs[3] = {frac / 10000, frac / 100 % 100, frac % 100};
        for (int k = 0; k < 3; k++) {
            out[o++] = digit_pairs[pairs[k] * 2];
            out[o++] = digit_pairs[pairs[k] * 2 + 1];
        }
        while (out[o - 1] == '0') /* the fewest decimals that keep the value */
            o--;
    }
    out[o] = '\0';
    return o;
}

size_t num_format_4dp(int64_t v, char out[NUM_FIXED_STRMAX])
{
    /* Below 1e15 millionths the double v / 1e6 is within a fifth of a millionth of the exact
     * value, so it rounds as the exact value does unless that lies halfway. */
    if (v < 0 || v >= 1000000000000000 || v % 100 == 50)
        return 0;
    uint64_t q = (uint64_t)v / 100 + ((uint64_t)v % 100 > 50); /* ten-thousandths */
    size_t o = format_u64(q / 10000, out);
    unsigned f = (unsigned)(q % 10000);
    out[o++] = '.';
    out[o++] = digit_pairs[f / 100 * 2];
    out[o++] = digit_pairs[f / 100 * 2 + 1];
    out[o++] = digit_pairs[f % 100 * 2];
    out[o++] = digit_pairs[f % 100 * 2 + 1];
    out[o] = '\0';
    return o;
}
