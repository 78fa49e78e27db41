/* lambda-glibc-compat.c - linked into the Lambda binary only (make lambda).
 *
 * Debian 12's static cairo, pixman, fontconfig and expat were compiled against glibc 2.36;
 * Lambda's provided.al2023 runtime has glibc 2.34.  Two of their calls bind to symbol
 * versions newer than that: hypot (a new x86-64 version in 2.35, the same function) and
 * arc4random_buf (new in 2.36; expat seeds its hash salt with it).  The link wraps both
 * (-Wl,--wrap=...): hypot goes to the old version, arc4random_buf to getrandom (glibc 2.25),
 * so the binary needs nothing above 2.34 and scripts/lambda-package.sh can check that it
 * does not. */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

double hypot_glibc_2_2_5(double x, double y);
__asm__(".symver hypot_glibc_2_2_5, hypot@GLIBC_2.2.5");

double __wrap_hypot(double x, double y);
void __wrap_arc4random_buf(void *buf, size_t n);

double __wrap_hypot(double x, double y)
{
    return hypot_glibc_2_2_5(x, y);
}

void __wrap_arc4random_buf(void *buf, size_t n)
{
    /* arc4random_buf cannot fail; neither may this (the kernel's pool is ready long before a
     * Lambda function starts, so a failure here is a broken system). */
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            abort();
        }
        p += got;
        n -= (size_t)got;
    }
}
