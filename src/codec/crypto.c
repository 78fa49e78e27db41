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
