/* crypto.h - the hashes the project needs (the only file that includes OpenSSL), the
 * comparison of secrets, and hex digits both ways. */
#ifndef CODEC_CRYPTO_H
#define CODEC_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

void crypto_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
void crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                        uint8_t out[SHA256_LEN]);
/* Lower-case hex of n bytes into out (2n + 1 bytes with the NUL). */
void crypto_hex(const uint8_t *bytes, size_t n, char *out);

/* The value of one hex digit (0-9, a-f, A-F), or -1. */
int crypto_hex_digit(char c);

/* The byte that the two hex digits s[0] s[1] spell (the "XX" of a "%XX" escape), or -1 when
 * n < 2 or either is not a hex digit. */
int crypto_hex_byte(const char *s, size_t n);

/* Whether a secret that was given (a token, a password, a signature from a request) equals
 * the expected one, in time that tells nothing about where they differ or how long the
 * expected one is: both are hashed and the digests compared without an early exit.  given
 * NULL is never equal.  1 or 0. */
int crypto_secret_equal(const void *given, size_t given_len, const void *want, size_t want_len);
/* The same for C strings (given NULL: 0). */
int crypto_secret_streq(const char *given, const char *want);

/* Decode standard base64 (with '=' padding, no line breaks) into out, which holds at least
 * len / 4 * 3 bytes.  -1 for input that is not base64. */
int crypto_base64_decode(const char *in, size_t len, uint8_t *out, size_t *out_len);

/* Encode n bytes (at most 3 << 20) as standard base64 with '=' padding into out, which holds
 * at least (n + 2) / 3 * 4 + 1 bytes (NUL-terminated).  Returns the length written. */
size_t crypto_base64_encode(const uint8_t *in, size_t n, char *out);

#endif
