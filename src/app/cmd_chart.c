/* screener chart - one stock's chart as a PNG (report/chart.h). */
#include "app/app.h"
#include "report/chart.h"
#include "screen/screen.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

static const char help[] =
    "usage: screener chart SYMBOL [options]\n\n"
    "Draw a year of one stock's closes, split-adjusted, with its rolling peak (the highest\n"
    "high of the window) and the drawdown between them shaded; the symbol, the date and the\n"
    "last day's figures are written on the image.  The same picture as the bot's /chart.\n\n"
    "Options:\n"
    "      --date DATE          the last day (default: the latest stored day)\n"
    "      --window DAYS        calendar days of the peak window (default 180)\n"
    "      --out FILE           where the PNG goes (default SYMBOL.png; '-': standard output)\n"
    "      --font FILE          a TrueType font for the text (default $SCREENER_FONT, else\n"
    "                           " CHART_FONT_DEFAULT ")\n" APP_COMMON_HELP;

enum { OPT_DATE = OPT_FIRST_FREE_, OPT_WINDOW, OPT_OUT, OPT_FONT };

int cmd_chart(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"date", required_argument, NULL, OPT_DATE},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"out", required_argument, NULL, OPT_OUT},
        {"font", required_argument, NULL, OPT_FONT},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener chart");
    int32_t date = 0;
    long window = SCREEN_WINDOW_DEFAULT;
    char fontbuf[512];
    const char *out = NULL, *font = app_font_file(fontbuf, sizeof fontbuf);
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            return 0;
        case OPT_DATE:
            if ((rc = app_parse_date(&a, "--date", optarg, &date)))
                return rc;
            break;
        case OPT_WINDOW:
            if ((rc = app_parse_long(&a, "--window", optarg, 1, SCREEN_WINDOW_MAX, &window)))
                return rc;
            break;
        case OPT_OUT:
            out = optarg;
            break;
        case OPT_FONT:
            font = optarg;
            break;
        case '?':
            return app_usage_error(&a, "unknown or incomplete option");
        default:
            if ((rc = app_common_option(&a, opt, optarg)) != 0)
                return rc < 0 ? EXIT_USAGE : rc;
        }
    }
    if (optind >= argc)
        return app_usage_error(&a, "which stock? (screener chart SYMBOL)");
    if (optind + 1 < argc)
        return app_usage_error(&a, "unexpected argument '%s'", argv[optind + 1]);
    char symbol[BAR_SYMBOL_MAX + 1];
    const char *arg = argv[optind];
    size_t len = strlen(arg);
    if (len > BAR_SYMBOL_MAX)
        return app_usage_error(&a, "'%.20s...' is not a ticker", arg);
    for (size_t i = 0; i <= len; i++)
        symbol[i] = (char)toupper((unsigned char)arg[i]);
    if (!bar_symbol_valid(symbol, len))
        return app_usage_error(&a, "'%s' is not a ticker", arg);
    char path[BAR_SYMBOL_MAX + 8];
    if (!out) {
        snprintf(path, sizeof path, "%s.png", symbol);
        for (char *p = path; *p; p++)
            if (*p == '/')
                *p = '-';
        out = path;
    }

    struct diag d = {{0}};
    struct chart_series s = {0};
    struct buf png = BUF_INIT(CHART_MAX);
    int err = app_open_store(&a, &d);
    if (!err) {
        app_read_once(&a);
        err = chart_load(a.os, symbol, date, (int)window, &s, &d);
    }
    if (!err)
        err = chart_png(&s, font, &png, &d);
    if (err) {
        rc = app_fail(&a, err, &d);
    } else if (strcmp(out, "-") == 0) {
        rc = app_write_stdout(&a, png.data, png.len);
    } else {
        FILE *f = fopen(out, "wb");
        int ok = f && fwrite(png.data, 1, png.len, f) == png.len;
        int e = errno;
        if (f && fclose(f) != 0 && ok) {
            ok = 0;
            e = errno;
        }
        if (ok) {
            printf("wrote %s (%zu bytes, %zu days)\n", out, png.len, s.n);
            rc = 0;
        } else {
            fprintf(stderr, "%s: error: cannot write '%s': %s\n", a.prog, out, strerror(e));
            rc = EXIT_FAIL;
        }
    }
    chart_series_release(&s);
    buf_release(&png);
    app_release(&a);
    return rc;
}
