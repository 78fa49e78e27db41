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

size_t num_format_int(int64_t v, char out[24])
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t o = 0;
    if (v < 0)
        out[o++] = '-';
    while (n)
        out[o++] = tmp[--n];
    out[o] = '\0';
    return o;
}

size_t num_format_fixed(int64_t v, char out[NUM_FIXED_STRMAX])
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t ip = u / NUM_FIXED_SCALE;
    uint64_t frac = u % NUM_FIXED_SCALE;
    size_t o = 0;
    if (v < 0)
        out[o++] = '-';
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    while (n)
        out[o++] = tmp[--n];
    if (frac) {
        char f[NUM_FIXED_DECIMALS];
        for (int k = NUM_FIXED_DECIMALS - 1; k >= 0; k--) {
            f[k] = (char)('0' + frac % 10);
            frac /= 10;
        }
        size_t len = NUM_FIXED_DECIMALS;
        while (f[len - 1] == '0')
            len--;
        out[o++] = '.';
        memcpy(out + o, f, len);
        o += len;
    }
    out[o] = '\0';
    return o;
}
