/* main.c - `screener`: one binary, one table of subcommands. */
#include "app/app.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/banned.h"

#ifndef SCREENER_VERSION
#define SCREENER_VERSION "dev"
#endif

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"demo", cmd_demo, "run the whole job offline on a generated sample market"},
    {"collect", cmd_collect, "fetch daily bars for the universe from Alpaca into the store"},
    {"universe", cmd_universe, "fetch or show the universe (iShares Russell 1000 holdings)"},
    {"import", cmd_import, "load bars (and split facts) from CSV files into the store"},
    {"screen", cmd_screen, "rank stocks by 180-day drawdown or one-day drop"},
    {"backtest", cmd_backtest, "replay the strategy over the stored history; parameter grids"},
    {"verify", cmd_verify, "check every part of the store against its content hash"},
    {"fsck", cmd_verify, "the same as verify"},
    {"compact", cmd_compact, "merge each closed month of the store into one part"},
    {"report", cmd_report, "write the HTML report of a screened date (charts, sortable)"},
    {"chart", cmd_chart, "draw one stock's year: closes, rolling peak, drawdown (PNG)"},
    {"portfolio", cmd_portfolio, "the Alpaca account's positions and where they rank; snapshots"},
    {"account", cmd_account, "the Alpaca account's equity, cash, buying power and day P/L"},
    {"monitor", cmd_monitor, "the sell signal: the top 5 positions against the profit target"},
    {"serve", cmd_serve, "serve the Telegram bot's webhook on a local HTTP server"},
    {"poll", cmd_poll, "run the Telegram bot by long polling (no public URL needed)"},
    {"bot", cmd_bot, "register the bot's commands and webhook with Telegram"},
    {"presign", cmd_presign, "print a download URL for an S3 object, valid for a while"},
    {"invoke", cmd_invoke, "run a Lambda handler locally on an event file"},
    {"lambda", cmd_lambda, "the AWS Lambda runtime loop (what bootstrap runs)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: screener <command> [options]\n\n"
                 "A contrarian stock screener for US large caps: keeps daily bars as\n"
                 "append-only CSV and ranks the universe by how far each stock has fallen.\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n'screener <command> --help' describes a command.\n\n"
            "Exit codes: 0 ok, 1 failure (I/O, internal), 2 bad command line, 3 bad data,\n"
            "4 conflicting bars refused, 5 nothing to work on (empty store, date not stored,\n"
            "an input file that is not there), 6 incomplete (requests still failing after\n"
            "retries; a rerun completes), 7 credentials or configuration missing or refused.\n");
}

int main(int argc, char **argv)
{
    /* A closed pipe (`screener screen | head`) is a normal end, not a crash. */
    signal(SIGPIPE, SIG_IGN);
    /* Shipped as the Lambda package's `bootstrap`, the binary is the runtime itself. */
    const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
    base = base ? base + 1 : argc > 0 ? argv[0] : "";
    if (strcmp(base, "bootstrap") == 0)
        return cmd_lambda(argc, argv);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("screener %s\n", SCREENER_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "screener: '%s' is not a command. See 'screener --help'.\n", name);
    return EXIT_USAGE;
}
