#include "codec/barcsv.h"
#include "codec/num.h"
#include "base/date.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "base/banned.h"

static const char *const col_names[BARCSV_NCOLS] = {
    "symbol", "date", "open", "high", "low", "close", "volume", "vwap", "trades",
};

/* The header lacks column c: say so, with what the file most likely is when it can be told
 * (text in UTF-16, fields not separated by commas, one stock's bars without its symbol). */
static int header_lacks(const struct barcsv_reader *r, struct diag *d, const char *data, size_t len,
                        const struct csv_field *f, size_t n, int c)
{
    const char *hint = "";
    if (len >= 2 &&
        ((data[0] == '\xFF' && data[1] == '\xFE') || (data[0] == '\xFE' && data[1] == '\xFF')))
        hint = "; the file is UTF-16 text: save it as UTF-8";
    else if (n == 1 && memchr(f[0].ptr, ';', f[0].len))
        hint = "; the header is one field with ';' in it: fields must be separated by commas";
    else if (n == 1 && memchr(f[0].ptr, '\t', f[0].len))
        hint = "; the header is one field with tabs in it: fields must be separated by commas";
    else if (c == BARCSV_SYMBOL && r->col[BARCSV_DATE] >= 0)
        hint = "; a file of one stock's bars (as Yahoo Finance and Stooq export them) needs a "
               "symbol column added";
    return diag_set(d, ERR_PARSE,
                    "%s:%zu: header lacks column '%s' (need at least "
                    "symbol,date,open,high,low,close,volume)%s",
                    r->name, r->csv.line, col_names[c], hint);
}

int barcsv_reader_init(struct barcsv_reader *r, const char *name, char *data, size_t len,
                       struct diag *d)
{
    struct csv_field f[BARCSV_MAX_FIELDS];
    size_t n;
    r->name = name;
    csv_reader_init(&r->csv, data, len);
    csv_reader_one_line(&r->csv); /* no bar field holds a line break */
    /* A UTF-8 byte order mark, as spreadsheets write it, is not part of the first name. */
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        r->csv.p += 3;
    int err = csv_next(&r->csv, f, BARCSV_MAX_FIELDS, &n, d);
    if (err == ERR_EOF)
        return diag_set(d, ERR_PARSE, "%s: empty file, expected a header row", name);
    if (err)
        return diag_prefix(d, ERR_PARSE, "%s", name);
    for (int c = 0; c < BARCSV_NCOLS; c++)
        r->col[c] = -1;
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < BARCSV_NCOLS; c++) {
            if (csv_field_is(&f[i], col_names[c])) {
                if (r->col[c] >= 0)
                    return diag_set(d, ERR_PARSE, "%s:%zu: column '%s' appears twice", name,
                                    r->csv.line, col_names[c]);
                r->col[c] = (int)i;
            }
        }
    }
    for (int c = 0; c <= BARCSV_VOLUME; c++) {
        if (r->col[c] < 0)
            return header_lacks(r, d, data, len, f, n, c);
    }
    r->ncols = n;
    r->have_last_date = 0;
    r->canonical = n == BARCSV_NCOLS;
    for (int c = 0; c < BARCSV_NCOLS && r->canonical; c++)
        r->canonical = r->col[c] == c;
    return ERR_OK;
}

void barcsv_reader_refill(struct barcsv_reader *r, char *data, size_t len, size_t line)
{
    csv_reader_init(&r->csv, data, len);
    csv_reader_one_line(&r->csv);
    r->csv.line = line - 1;
    r->csv.next_line = line;
}

size_t barcsv_line(const struct barcsv_reader *r)
{
    return r->csv.line;
}

static int bad_field(struct barcsv_reader *r, struct diag *d, int err, int col,
                     const struct csv_field *f, const char *expected)
{
    char q[64];
    diag_quote(q, sizeof q, f->ptr, f->len, 40);
    return diag_set(d, err, "%s:%zu: field '%s': expected %s, got '%s'", r->name, r->csv.line,
                    col_names[col], expected, q);
}

/* A number refused: not one at all (ERR_PARSE), or one out of range (ERR_INVALID), which is
 * said, since the text alone looks right. */
static int bad_number(struct barcsv_reader *r, struct diag *d, int err, int col,
                      const struct csv_field *f, const char *expected, const char *invalid)
{
    if (err != ERR_INVALID)
        return bad_field(r, d, err, col, f, expected);
    char q[64];
    diag_quote(q, sizeof q, f->ptr, f->len, 40);
    return diag_set(d, err, "%s:%zu: field '%s': expected %s, got '%s': %s", r->name, r->csv.line,
                    col_names[col], expected, q, invalid);
}

static int price(struct barcsv_reader *r, const struct csv_field *f, int col, int64_t *out,
                 struct diag *d)
{
    int err = num_parse_fixed(f->ptr, f->len, out);
    if (err)
        return bad_number(r, d, err, col, f, "a decimal price", "too large");
    return ERR_OK;
}

static int count(struct barcsv_reader *r, const struct csv_field *f, int col, int64_t *out,
                 struct diag *d)
{
    int err = num_parse_int(f->ptr, f->len, out);
    if (err)
        return bad_number(r, d, err, col, f, "a whole number",
                          memchr(f->ptr, '.', f->len) ? "it has a fraction" : "too large");
    return ERR_OK;
}

/* A price as the canonical writer prints it ("12", "12.5", "0.000001") followed by stop:
 * parsed while scanning.  Anything else (a sign, more than 6 decimals, 13 or more integer
 * digits) returns 0 and leaves the row to the general path. */
static int fast_fixed(const char **pp, const char *end, char stop, int64_t *out)
{
    /* Unsigned: a long run of digits wraps harmlessly before the length check rejects it. */
    const char *p = *pp;
    uint64_t ip = 0;
    const char *start = p;
    while (p < end && *p >= '0' && *p <= '9')
        ip = ip * 10 + (uint64_t)(*p++ - '0');
    size_t idigits = (size_t)(p - start);
    if (idigits > 12)
        return 0;
    uint64_t frac = 0;
    size_t fdigits = 0;
    if (p < end && *p == '.') {
        const char *f = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            frac = frac * 10 + (uint64_t)(*p++ - '0');
        fdigits = (size_t)(p - f);
        if (fdigits == 0 || fdigits > NUM_FIXED_DECIMALS)
            return 0;
    }
    if (idigits + fdigits == 0 || p >= end || *p != stop)
        return 0;
    static const uint64_t scale[] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    *out = (int64_t)(ip * NUM_FIXED_SCALE + frac * scale[fdigits]);
    *pp = p + 1;
    return 1;
}

/* A whole number of at most 18 digits followed by stop. */
static int fast_int(const char **pp, const char *end, char stop, int64_t *out)
{
    const char *p = *pp, *start = p;
    uint64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9')
        v = v * 10 + (uint64_t)(*p++ - '0');
    if (p == start || p - start > 18 || p >= end || *p != stop)
        return 0;
    *out = (int64_t)v;
    *pp = p + 1;
    return 1;
}

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the 8-byte loads below read the first byte of memory as the lowest"
#endif

/* With at least FAST_SLACK bytes left, a row is read eight bytes at a time: a row that the fast
 * path accepts is far shorter, and one it gives up on is given up within that many bytes. */
#define FAST_SLACK 256

static uint64_t load8(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* How many of the 8 bytes of v (in memory order) are ASCII digits before the first that is not. */
static unsigned digits8(uint64_t v)
{
    const uint64_t hi = 0xF0F0F0F0F0F0F0F0ull;
    /* A byte is a digit when it and the byte plus 6 both have 3 as the high nibble.  A carry
     * out of a byte (0xFA and up, not a digit) only reaches bytes after it. */
    uint64_t nd = ((v & hi) | (((v + 0x0606060606060606ull) & hi) >> 4)) ^ 0x3333333333333333ull;
    return nd ? (unsigned)__builtin_ctzll(nd) / 8 : 8;
}

/* The value of the first n (1..8) digits of v. */
static uint64_t value8(uint64_t v, unsigned n)
{
    v = (v << (8 * (8 - n))) & 0x0F0F0F0F0F0F0F0Full; /* as if led by zeros */
    /* Neighbouring digits, then pairs, then fours combined by one multiply each: the lower
     * byte (the earlier digit) times 10, 100, 10000 plus the higher one, in the upper half. */
    v = ((v * (1 + (10 << 8))) >> 8) & 0x00FF00FF00FF00FFull;
    v = ((v * (1 + (100 << 16))) >> 16) & 0x0000FFFF0000FFFFull;
    return (v * (1 + (10000ull << 32))) >> 32;
}

/* fast_fixed for a row with FAST_SLACK bytes left: the same prices accepted, the same values. */
static int fast_fixed8(const char **pp, const char *end, char stop, int64_t *out)
{
    const char *p = *pp;
    uint64_t v = load8(p);
    unsigned ni = digits8(v);
    if (ni == 8)
        return fast_fixed(pp, end, stop, out); /* eight integer digits or more: rare */
    uint64_t ip = ni ? value8(v, ni) : 0, frac = 0;
    unsigned nf = 0;
    p += ni;
    if (*p == '.') {
        v = load8(++p);
        nf = digits8(v);
        if (nf == 0 || nf > NUM_FIXED_DECIMALS)
            return 0;
        frac = value8(v, nf);
        p += nf;
    }
    if (ni + nf == 0 || *p != stop)
        return 0;
    static const uint64_t scale[] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    *out = (int64_t)(ip * NUM_FIXED_SCALE + frac * scale[nf]);
    *pp = p + 1;
    return 1;
}

/* The digits at p (at most 16 looked at), with FAST_SLACK bytes left: their count (16 meaning
 * "16 or more": the caller takes the long way) and value. */
static unsigned digits16(const char *p, uint64_t *out)
{
    uint64_t v = load8(p);
    unsigned n = digits8(v);
    if (n < 8) {
        *out = n ? value8(v, n) : 0;
        return n;
    }
    uint64_t w = load8(p + 8);
    unsigned m = digits8(w);
    if (m == 8)
        return 16;
    static const uint64_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
    *out = value8(v, 8) * pow10[m] + (m ? value8(w, m) : 0);
    return 8 + m;
}

/* fast_int for a row with FAST_SLACK bytes left. */
static int fast_int8(const char **pp, const char *end, char stop, int64_t *out)
{
    uint64_t v;
    unsigned n = digits16(*pp, &v);
    if (n == 16)
        return fast_int(pp, end, stop, out);
    if (n == 0 || (*pp)[n] != stop)
        return 0;
    *out = (int64_t)v;
    *pp += n + 1;
    return 1;
}

/* The numeric fields of a canonical row, open to trades, with FAST_SLACK bytes left, field
 * after field; 1 with p at the newline that ends the row (the data goes on), or 0. */
static int fast_fields8(const char **pp, const char *end, struct bar *b)
{
    const char *p = *pp;
    if (!fast_fixed8(&p, end, ',', &b->open) || !fast_fixed8(&p, end, ',', &b->high) ||
        !fast_fixed8(&p, end, ',', &b->low) || !fast_fixed8(&p, end, ',', &b->close) ||
        !fast_int8(&p, end, ',', &b->volume))
        return 0;
    if (*p == ',')
        p++;
    else if (!fast_fixed8(&p, end, ',', &b->vwap))
        return 0;
    uint64_t v;
    unsigned n = digits16(p, &v);
    if (n == 16 || p[n] != '\n')
        return 0;
    if (n)
        b->trades = (int64_t)v;
    *pp = p + n;
    return 1;
}

#ifdef __SSE2__
/* The number the n (1..13) digits of a price at f make, the dot at f[k] left out (k <= 7;
 * k == n: no dot).  The bytes after the dot move down one place to close the gap, so that
 * "204.09" is read as 20409 in one conversion instead of 204 and 9 in two. */
static inline __attribute__((always_inline)) uint64_t price_digits(const char *f, unsigned k,
                                                                   unsigned n)
{
    uint64_t before = (1ull << (8 * k)) - 1;
    uint64_t v = (load8(f) & before) | (load8(f + 1) & ~before);
    if (n <= 8)
        return value8(v, n);
    static const uint64_t pow10[] = {1, 10, 100, 1000, 10000, 100000};
    return value8(v, 8) * pow10[n - 8] + value8(load8(f + 9), n - 8);
}

/* The number the n (1..15) digits at f make. */
static inline __attribute__((always_inline)) uint64_t count_digits(const char *f, unsigned n)
{
    if (n <= 8)
        return value8(load8(f), n);
    static const uint64_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};
    return value8(load8(f), 8) * pow10[n - 8] + value8(load8(f + 8), n - 8);
}

/* fast_fields8 for the numeric fields at once, when they fit in the 64 bytes at p with the
 * newline that ends them.
 *
 * fast_fields8 waits for each field's digit count before it can look at the next field.
 * Here one pass over the 64 bytes marks the commas, the dots and the bytes that are digits,
 * commas or dots; every field's bounds follow from the marks, and the fields are converted
 * independently of each other.  Only rows fast_fields8 reads the same way are accepted (no
 * price of 8 or more integer digits, counts of at most 15 digits); for any other row this
 * returns 0 with b untouched, and fast_fields8 reads it and judges it.  On 1, *pp is at the
 * newline. */
static int fast_fields64(const char **pp, struct bar *b)
{
    const char *p = *pp;
    uint64_t comma = 0, dot = 0, ok = 0;
    for (int i = 0; i < 4; i++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
        __m128i c = _mm_cmpeq_epi8(x, _mm_set1_epi8(','));
        __m128i t = _mm_cmpeq_epi8(x, _mm_set1_epi8('.'));
        /* A digit is a byte whose distance above '0' is at most 9, unsigned. */
        __m128i z = _mm_sub_epi8(x, _mm_set1_epi8('0'));
        __m128i g = _mm_cmpeq_epi8(_mm_min_epu8(z, _mm_set1_epi8(9)), z);
        comma |= (uint64_t)(uint16_t)_mm_movemask_epi8(c) << (16 * i);
        dot |= (uint64_t)(uint16_t)_mm_movemask_epi8(t) << (16 * i);
        ok |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(c, t), g))
              << (16 * i);
    }
    /* The row ends at the first byte that is none of those: it must be the newline, with
     * exactly the six commas of seven fields before it. */
    if (ok == ~0ull)
        return 0;
    unsigned nl = (unsigned)__builtin_ctzll(~ok);
    if (p[nl] != '\n')
        return 0;
    comma &= (1ull << nl) - 1;
    unsigned at[8]; /* field i is p[at[i] .. at[i + 1] - 1), then its comma or the newline */
    at[0] = 0;
#pragma GCC unroll 6
    for (int i = 1; i < 7; i++) {
        if (!comma)
            return 0;
        at[i] = (unsigned)__builtin_ctzll(comma) + 1;
        comma &= comma - 1;
    }
    if (comma)
        return 0;
    at[7] = nl + 1;

    /* The prices (vwap may be empty): at most one dot, 0 to 7 integer digits, 1 to 6
     * decimals after a dot. */
    static const uint64_t scale[] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    static const int field[] = {0, 1, 2, 3, 5};
    int64_t price[5];
#pragma GCC unroll 5
    for (int j = 0; j < 5; j++) {
        unsigned i = (unsigned)field[j], len = at[i + 1] - at[i] - 1;
        uint64_t dots = (dot >> at[i]) & ((1ull << len) - 1);
        unsigned ni = len, nf = 0;
        if (dots) {
            ni = (unsigned)__builtin_ctzll(dots);
            nf = len - ni - 1;
            if ((dots & (dots - 1)) || nf == 0 || nf > NUM_FIXED_DECIMALS)
                return 0;
        }
        if (ni > 7)
            return 0;
        if (len)
            price[j] = (int64_t)(price_digits(p + at[i], ni, ni + nf) * scale[nf]);
        else if (i == 5)
            price[j] = BAR_NONE;
        else
            return 0;
    }
    /* volume and trades: 1 to 15 digits, trades may be empty */
    unsigned nv = at[5] - at[4] - 1, nt = at[7] - at[6] - 1;
    if (((dot >> at[4]) & ((1ull << nv) - 1)) || ((dot >> at[6]) & ((1ull << nt) - 1)) || nv == 0 ||
        nv > 15 || nt > 15)
        return 0;
    b->open = price[0];
    b->high = price[1];
    b->low = price[2];
    b->close = price[3];
    b->vwap = price[4];
    b->volume = (int64_t)count_digits(p + at[4], nv);
    b->trades = nt ? (int64_t)count_digits(p + at[6], nt) : BAR_NONE;
    *pp = p + nl;
    return 1;
}
#else
/* Elsewhere fast_fields8 reads every row. */
static int fast_fields64(const char **pp, struct bar *b)
{
    return 0;
}
#endif

/* The length of the symbol at p that a comma ends, or 0 when p does not start with one that
 * bar_symbol_valid takes. */
static size_t symbol_len(const char *p, const char *end)
{
#ifdef __SSE2__
    if (end - p >= 16) {
        /* A valid symbol has at most BAR_SYMBOL_MAX (15) bytes, none a comma: its comma is the
         * first in the 16 bytes at p.  The bytes before it are checked all at once. */
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        unsigned comma = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(',')));
        __m128i u = _mm_sub_epi8(x, _mm_set1_epi8('A')), g = _mm_sub_epi8(x, _mm_set1_epi8('0'));
        __m128i alnum = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(u, _mm_set1_epi8(25)), u),
                                     _mm_cmpeq_epi8(_mm_min_epu8(g, _mm_set1_epi8(9)), g));
        __m128i punct = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('.')),
                                                  _mm_cmpeq_epi8(x, _mm_set1_epi8('-'))),
                                     _mm_cmpeq_epi8(x, _mm_set1_epi8('/')));
        /* . - / anywhere but first */
        unsigned ok =
            (unsigned)_mm_movemask_epi8(alnum) | ((unsigned)_mm_movemask_epi8(punct) & ~1u);
        if (!comma)
            return 0;
        unsigned len = (unsigned)__builtin_ctz(comma), want = (1u << len) - 1;
        return len && (ok & want) == want ? len : 0;
    }
#endif
    const char *sym = p;
    while (p < end && *p != ',' && *p != '"' && *p != '\n' && *p != '\r')
        p++;
    size_t len = (size_t)(p - sym);
    if (p >= end || *p != ',' || len == 0 || len > BAR_SYMBOL_MAX || !bar_symbol_valid(sym, len))
        return 0;
    return len;
}

/* b->symbol = the len bytes at sym.  With 16 bytes there (the symbol's and more), they are
 * copied as one 16-byte store with the bytes from len on cleared: the readers of the symbol
 * (bar_symkey_of) load it 8 bytes at a time, which a run of narrower stores just before
 * would hold up. */
static void set_symbol(struct bar *b, const char *sym, size_t len, const char *end)
{
#ifdef __SSE2__
    _Static_assert(sizeof b->symbol == 16, "one 16-byte store fills the symbol");
    if (end - sym >= 16) {
        const __m128i at = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)sym);
        __m128i keep = _mm_cmpgt_epi8(_mm_set1_epi8((char)len), at);
        _mm_storeu_si128((__m128i *)(void *)b->symbol, _mm_and_si128(x, keep));
        return;
    }
#endif
    memcpy(b->symbol, sym, len);
    b->symbol[len] = '\0';
}

/* One row of a canonical file (the store's own parts) in a single pass.  Returns 1 with b
 * filled and the reader past the row, or 0 with nothing consumed: the general path then
 * reads the row and judges it, so both paths accept and reject exactly the same rows. */
static int fast_row(struct barcsv_reader *r, struct bar *b)
{
    const char *p = r->csv.p, *end = r->csv.end;
    const char *sym = p;
    size_t len = symbol_len(p, end);
    if (!len)
        return 0;
    p += len + 1;
    if (end - p < DATE_STRLEN + 1 || p[DATE_STRLEN] != ',')
        return 0;
    if (r->have_last_date && memcmp(p, r->last_date_text, DATE_STRLEN) == 0) {
        b->date = r->last_date;
    } else {
        if (date_parse(p, DATE_STRLEN, &b->date))
            return 0;
        memcpy(r->last_date_text, p, DATE_STRLEN);
        r->last_date = b->date;
        r->have_last_date = 1;
    }
    p += DATE_STRLEN + 1;
    b->vwap = BAR_NONE;
    b->trades = BAR_NONE;
    if (end - sym >= FAST_SLACK) {
        if (!fast_fields64(&p, b) && !fast_fields8(&p, end, b))
            return 0;
    } else {
        if (!fast_fixed(&p, end, ',', &b->open) || !fast_fixed(&p, end, ',', &b->high) ||
            !fast_fixed(&p, end, ',', &b->low) || !fast_fixed(&p, end, ',', &b->close) ||
            !fast_int(&p, end, ',', &b->volume))
            return 0;
        if (p < end && *p == ',')
            p++;
        else if (!fast_fixed(&p, end, ',', &b->vwap))
            return 0;
        /* The last field ends at a newline or at the end of the data. */
        const char *t = p;
        uint64_t v = 0;
        while (p < end && *p >= '0' && *p <= '9')
            v = v * 10 + (uint64_t)(*p++ - '0');
        if (p - t > 18 || (p < end && *p != '\n'))
            return 0;
        if (p > t)
            b->trades = (int64_t)v;
    }
    if (!bar_valid(b))
        return 0;
    set_symbol(b, sym, len, end);
    r->csv.line = r->csv.next_line++;
    r->csv.p = (char *)(p < end ? p + 1 : p);
    return 1;
}

int barcsv_next(struct barcsv_reader *r, struct bar *b, struct diag *d)
{
    if (r->canonical && fast_row(r, b))
        return ERR_OK;
    struct csv_field f[BARCSV_MAX_FIELDS];
    size_t n;
    int err = csv_next(&r->csv, f, BARCSV_MAX_FIELDS, &n, d);
    if (err == ERR_EOF)
        return err;
    b->symbol[0] = '\0';
    b->date = BARCSV_NO_DATE;
    if (err)
        return diag_prefix(d, err, "%s", r->name);
    if (n != r->ncols)
        return diag_set(d, ERR_PARSE, "%s:%zu: expected %zu fields as in the header, got %zu",
                        r->name, r->csv.line, r->ncols, n);

    const struct csv_field *sym = &f[r->col[BARCSV_SYMBOL]];
    if (!bar_symbol_valid(sym->ptr, sym->len))
        return bad_field(r, d, ERR_INVALID, BARCSV_SYMBOL, sym,
                         "a ticker of 1-15 characters A-Z 0-9 . - /");
    memcpy(b->symbol, sym->ptr, sym->len);
    b->symbol[sym->len] = '\0';

    const struct csv_field *day = &f[r->col[BARCSV_DATE]];
    int32_t date;
    if (date_parse(day->ptr, day->len, &date))
        return bad_field(r, d, ERR_PARSE, BARCSV_DATE, day, "a date YYYY-MM-DD");
    b->date = date;

    if ((err = price(r, &f[r->col[BARCSV_OPEN]], BARCSV_OPEN, &b->open, d)) ||
        (err = price(r, &f[r->col[BARCSV_HIGH]], BARCSV_HIGH, &b->high, d)) ||
        (err = price(r, &f[r->col[BARCSV_LOW]], BARCSV_LOW, &b->low, d)) ||
        (err = price(r, &f[r->col[BARCSV_CLOSE]], BARCSV_CLOSE, &b->close, d)) ||
        (err = count(r, &f[r->col[BARCSV_VOLUME]], BARCSV_VOLUME, &b->volume, d)))
        return err;
    b->vwap = BAR_NONE;
    b->trades = BAR_NONE;
    if (r->col[BARCSV_VWAP] >= 0 && f[r->col[BARCSV_VWAP]].len &&
        (err = price(r, &f[r->col[BARCSV_VWAP]], BARCSV_VWAP, &b->vwap, d)))
        return err;
    if (r->col[BARCSV_TRADES] >= 0 && f[r->col[BARCSV_TRADES]].len &&
        (err = count(r, &f[r->col[BARCSV_TRADES]], BARCSV_TRADES, &b->trades, d)))
        return err;
    if ((err = bar_validate(b, d)))
        return diag_prefix(d, err, "%s:%zu: %s", r->name, r->csv.line, b->symbol);
    return ERR_OK;
}

int barcsv_write_header(struct buf *out)
{
    return buf_puts(out, BARCSV_HEADER);
}

int barcsv_write_row(struct buf *out, const struct bar *b)
{
    char line[BAR_SYMBOL_MAX + 1 + DATE_STRLEN + 1 + 6 * NUM_FIXED_STRMAX + 2 * 24];
    size_t n = strlen(b->symbol);
    memcpy(line, b->symbol, n);
    line[n++] = ',';
    date_format(b->date, line + n);
    n += DATE_STRLEN;
    const int64_t prices[] = {b->open, b->high, b->low, b->close};
    for (int i = 0; i < 4; i++) {
        line[n++] = ',';
        n += num_format_fixed(prices[i], line + n);
    }
    line[n++] = ',';
    n += num_format_int(b->volume, line + n);
    line[n++] = ',';
    if (b->vwap != BAR_NONE)
        n += num_format_fixed(b->vwap, line + n);
    line[n++] = ',';
    if (b->trades != BAR_NONE)
        n += num_format_int(b->trades, line + n);
    line[n++] = '\n';
    return buf_append(out, line, n);
}
