/* crypto.h - the hashes the project needs (the only file that includes OpenSSL). */
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

/* Decode standard base64 (with '=' padding, no line breaks) into out, which holds at least
 * len / 4 * 3 bytes.  -1 for input that is not base64. */
int crypto_base64_decode(const char *in, size_t len, uint8_t *out, size_t *out_len);

#endif
