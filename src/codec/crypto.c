#include "codec/crypto.h"

#include <openssl/evp.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "base/banned.h"

void crypto_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
    unsigned int n = SHA256_LEN;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

/* ---- two messages at once ----
 *
 * With the SHA extensions a message's blocks are hashed one after another, each round waiting
 * for the one before: the unit that does the rounds could take a second message's rounds in
 * the gaps.  Two messages hashed side by side cost about what one costs alone. */

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

#define SHA_NI __attribute__((target("sha,sse4.1,ssse3")))

static const uint32_t sha256_k[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* One message's progress: its state as the rounds want it (ABEF and CDGH), its whole blocks
 * in place, then its last one or two blocks with the padding and the length. */
struct sha_msg {
    __m128i abef, cdgh;
    const uint8_t *data;
    size_t nfull, nblocks, next;
    uint8_t tail[128];
};

static void sha_msg_init(struct sha_msg *m, const void *data, size_t len)
{
    m->data = data;
    m->nfull = len / 64;
    size_t rest = len % 64, ntail = rest < 56 ? 1 : 2;
    memset(m->tail, 0, sizeof m->tail);
    if (rest)
        memcpy(m->tail, m->data + m->nfull * 64, rest);
    m->tail[rest] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        m->tail[ntail * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
    m->nblocks = m->nfull + ntail;
    m->next = 0;
}

static const uint8_t *sha_msg_block(const struct sha_msg *m, size_t i)
{
    return i < m->nfull ? m->data + 64 * i : m->tail + 64 * (i - m->nfull);
}

SHA_NI static void sha_state_in(struct sha_msg *m)
{
    /* H0..H7 as two vectors, then rearranged into ABEF and CDGH. */
    __m128i dcba = _mm_set_epi32(0xa54ff53a, 0x3c6ef372, (int)0xbb67ae85, 0x6a09e667);
    __m128i hgfe = _mm_set_epi32(0x5be0cd19, 0x1f83d9ab, (int)0x9b05688c, 0x510e527f);
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    m->abef = _mm_alignr_epi8(cdab, efgh, 8);
    m->cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
}

SHA_NI static void sha_state_out(const struct sha_msg *m, uint8_t out[SHA256_LEN])
{
    __m128i feba = _mm_shuffle_epi32(m->abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(m->cdgh, 0xB1);
    __m128i dcba = _mm_blend_epi16(feba, dchg, 0xF0);
    __m128i hgfe = _mm_alignr_epi8(dchg, feba, 8);
    /* The words big-endian, A first. */
    const __m128i swap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
    _mm_storeu_si128((__m128i *)(void *)out, _mm_shuffle_epi8(dcba, swap));
    _mm_storeu_si128((__m128i *)(void *)(out + 16), _mm_shuffle_epi8(hgfe, swap));
}

/* The 64 rounds of one block for each of n (1 or 2) messages, side by side. */
SHA_NI static inline __attribute__((always_inline)) void sha_blocks(struct sha_msg *const *m, int n)
{
    const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
    __m128i w[2][4], abef[2], cdgh[2], abef0[2], cdgh0[2];
    const uint8_t *blk[2];
    for (int j = 0; j < n; j++) {
        blk[j] = sha_msg_block(m[j], m[j]->next++);
        abef0[j] = abef[j] = m[j]->abef;
        cdgh0[j] = cdgh[j] = m[j]->cdgh;
    }
    /* Unrolled whole: the message words stay in registers. */
#pragma GCC unroll 16
    for (int g = 0; g < 16; g++) {
        __m128i k = _mm_load_si128((const __m128i *)(const void *)&sha256_k[4 * g]);
#pragma GCC unroll 2
        for (int j = 0; j < n; j++) {
            __m128i *x = w[j];
            if (g < 4) {
                x[g] = _mm_shuffle_epi8(
                    _mm_loadu_si128((const __m128i *)(const void *)(blk[j] + 16 * g)), swap);
            } else {
                /* W[t..t+3] from W[t-16..t-1]: sigma0 terms, W[t-7..t-4], sigma1 terms. */
                __m128i t = _mm_sha256msg1_epu32(x[g & 3], x[(g - 3) & 3]);
                t = _mm_add_epi32(t, _mm_alignr_epi8(x[(g - 1) & 3], x[(g - 2) & 3], 4));
                x[g & 3] = _mm_sha256msg2_epu32(t, x[(g - 1) & 3]);
            }
            __m128i wk = _mm_add_epi32(x[g & 3], k);
            cdgh[j] = _mm_sha256rnds2_epu32(cdgh[j], abef[j], wk);
            abef[j] = _mm_sha256rnds2_epu32(abef[j], cdgh[j], _mm_shuffle_epi32(wk, 0x0E));
        }
    }
    for (int j = 0; j < n; j++) {
        m[j]->abef = _mm_add_epi32(abef[j], abef0[j]);
        m[j]->cdgh = _mm_add_epi32(cdgh[j], cdgh0[j]);
    }
}

SHA_NI static void sha256_x2_ni(const void *a, size_t alen, const void *b, size_t blen,
                                uint8_t out_a[SHA256_LEN], uint8_t out_b[SHA256_LEN])
{
    struct sha_msg ma, mb;
    sha_msg_init(&ma, a, alen);
    sha_msg_init(&mb, b, blen);
    sha_state_in(&ma);
    sha_state_in(&mb);
    struct sha_msg *both[2] = {&ma, &mb};
    while (ma.next < ma.nblocks && mb.next < mb.nblocks)
        sha_blocks(both, 2);
    struct sha_msg *left = ma.next < ma.nblocks ? &ma : &mb;
    while (left->next < left->nblocks)
        sha_blocks(&left, 1);
    sha_state_out(&ma, out_a);
    sha_state_out(&mb, out_b);
}

/* 1 when the processor has the SHA extensions and the SSE levels they come with. */
static int have_sha_ni(void)
{
    static int have = -1; /* -1: not asked yet (asking twice gives the same answer) */
    int h = __atomic_load_n(&have, __ATOMIC_RELAXED);
    if (h < 0) {
        unsigned a, b, c, d;
        h = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSSE3) && (c & bit_SSE4_1) &&
            __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
        __atomic_store_n(&have, h, __ATOMIC_RELAXED);
    }
    return h;
}
#endif

void crypto_sha256_x2(const void *a, size_t alen, const void *b, size_t blen,
                      uint8_t out_a[SHA256_LEN], uint8_t out_b[SHA256_LEN])
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (have_sha_ni()) {
        sha256_x2_ni(a, alen, b, blen, out_a, out_b);
        return;
    }
#endif
    crypto_sha256(a, alen, out_a);
    crypto_sha256(b, blen, out_b);
}

void crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                        uint8_t out[SHA256_LEN])
{
    unsigned int n = SHA256_LEN;
    HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n);
}

void crypto_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

int crypto_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int crypto_hex_byte(const char *s, size_t n)
{
    int hi = n >= 2 ? crypto_hex_digit(s[0]) : -1;
    int lo = hi >= 0 ? crypto_hex_digit(s[1]) : -1;
    return lo >= 0 ? hi * 16 + lo : -1;
}

int crypto_secret_equal(const void *given, size_t given_len, const void *want, size_t want_len)
{
    if (!given || !want)
        return 0;
    uint8_t a[SHA256_LEN], b[SHA256_LEN];
    crypto_sha256(given, given_len, a);
    crypto_sha256(want, want_len, b);
    return CRYPTO_memcmp(a, b, SHA256_LEN) == 0;
}

int crypto_secret_streq(const char *given, const char *want)
{
    return given && want && crypto_secret_equal(given, strlen(given), want, strlen(want));
}

int crypto_base64_decode(const char *in, size_t len, uint8_t *out, size_t *out_len)
{
    /* The library decodes whole 4-character groups; it does not check the padding's place. */
    if (len % 4 != 0 || len > (size_t)INT32_MAX)
        return -1;
    size_t pad = 0;
    if (len >= 1 && in[len - 1] == '=')
        pad++;
    if (len >= 2 && in[len - 2] == '=')
        pad++;
    for (size_t i = 0; i < len - pad; i++)
        if (in[i] == '=')
            return -1;
    if (len == 0) {
        *out_len = 0;
        return 0;
    }
    int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    if (n < 0 || (size_t)n < pad)
        return -1;
    *out_len = (size_t)n - pad;
    return 0;
}

size_t crypto_base64_encode(const uint8_t *in, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return len < 0 ? 0 : (size_t)len;
}
