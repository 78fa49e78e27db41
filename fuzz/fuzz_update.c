/* fuzz_update.c - what the bot takes from Telegram, on arbitrary bytes: the Update parser
 * (bot/update.h), the API Gateway event that carries it in Lambda (aws/apigw.h), and the
 * message splitter and HTML escaper (bot/format.h) on the same bytes as text.
 *
 * An update is parsed or refused with a message; a parsed command is a valid command name
 * with trimmed, bounded arguments; every chunk of a split is within the limit, and the chunks
 * hold the whole text; escaped text has no markup left.
 */
#include "aws/apigw.h"
#include "bot/format.h"
#include "bot/update.h"
#include "check.h"

#include <stdint.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    struct tg_update u;
    struct diag d = {{0}};
    int err = tg_update_parse(text, size, &u, &d);
    if (err) {
        CHECK(err == ERR_PARSE);
        CHECK(d.text[0] != '\0');
        CHECK(u.kind == TG_UPDATE_IGNORED);
    } else if (u.kind == TG_UPDATE_MESSAGE) {
        CHECK(strnlen(u.chat_type, sizeof u.chat_type) < sizeof u.chat_type);
        for (const char *p = u.command; *p; p++)
            CHECK((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
        size_t n = strnlen(u.args, sizeof u.args);
        CHECK(n <= TG_ARGS_MAX);
        CHECK(n == 0 || (!blank(u.args[0]) && !blank(u.args[n - 1])));
        CHECK(!u.command[0] || u.is_command);
    }

    /* The same bytes as an API Gateway event: parsed with a bounded header and body, or
     * refused with a message. */
    struct apigw_request req;
    err = apigw_parse(text, size, "X-Telegram-Bot-Api-Secret-Token", &req, &d);
    if (err) {
        CHECK(err == ERR_PARSE || err == ERR_TOOBIG);
        CHECK(d.text[0] != '\0');
        CHECK(req.body == NULL);
    } else {
        CHECK(req.version == 1 || req.version == 2);
        CHECK(req.body && req.body_len <= APIGW_BODY_MAX && req.body[req.body_len] == '\0');
        CHECK(strnlen(req.header, sizeof req.header) < sizeof req.header);
        apigw_request_release(&req);
    }
    free(text);

    struct strvec v = STRVEC_INIT;
    size_t limit = 64 + size % 200;
    CHECK(fmt_split((const char *)data, size, limit, &v) == 0);
    size_t bytes = 0;
    for (size_t i = 0; i < v.n; i++) {
        size_t n = strlen(v.v[i]);
        CHECK(fmt_utf16_len(v.v[i], n) <= limit);
        bytes += n;
    }
    /* Cuts lose at most the newlines where they fall; reopened <pre> tags add bytes. */
    if (!memchr(data, '<', size) && !memchr(data, '\0', size))
        CHECK(bytes <= size);
    strvec_release(&v);

    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct buf b = BUF_INIT((size_t)1 << 24);
    CHECK(fmt_html(&b, s) == 0);
    CHECK(!strchr(buf_cstr(&b), '<') && !strchr(buf_cstr(&b), '>'));
    buf_release(&b);
    free(s);
    return 0;
}
