/* echod.c -- the concurrent echo server: flags in, echo_run() out.
 *
 * Exit status: 0 after SIGINT or SIGTERM, 1 if the server could not start
 * (the reason on stderr), 2 for a usage error. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo/echo.h"
#include "net/addr.h"
#include "util/err.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/version.h"

static const char usage_text[] =
    "usage: echod [--model fork|thread|prefork|event] [--workers N] "
    "PORT|ADDR\n"
    "       echod [options] --listen ADDR\n"
    "\n"
    "Echo every byte back to its sender, one of four ways:\n"
    "  -m, --model fork      a child process per connection (default)\n"
    "  -m, --model thread    a thread per connection\n"
    "  -m, --model prefork   N processes started up front, all accepting\n"
    "  -m, --model event     one non-blocking event loop\n"
    "  -w, --workers N       prefork: processes (default: 2 per core)\n"
    "  -l, --listen ADDR     PORT, HOST:PORT, [IPV6]:PORT or unix:PATH\n"
    "  -h, --help            show this and exit\n"
    "  -V, --version         show the version and exit\n";

#define usage_error(...) log_usage_error(usage_text, __VA_ARGS__)

/* Turn argv into cfg.  Returns -1 to go on, or the exit code: 0 after
 * --help or --version, 2 after a usage error (already printed). */
static int
parse_args(int argc, char **argv, struct echo_config *cfg)
{
    static const struct option opts[] = {
        { "model",   required_argument, NULL, 'm' },
        { "workers", required_argument, NULL, 'w' },
        { "listen",  required_argument, NULL, 'l' },
        { "help",    no_argument,       NULL, 'h' },
        { "version", no_argument,       NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *opt;
    long n;
    int ch, m;

    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":m:w:l:hV", opts, NULL)) != -1) {
        opt = argv[optind - 1];
        switch (ch) {
        case 'm':
            if ((m = parse_enum(optarg, echo_model_names)) == -1)
                return usage_error("unknown model '%s' (expected fork, "
                                   "thread, prefork or event)", optarg);
            cfg->model = (enum echo_model)m;
            break;
        case 'w':
            if (parse_long(optarg, 1, ECHO_WORKERS_MAX, &n) == -1)
                return usage_error("bad --workers '%s' (expected 1-%d)",
                                   optarg, ECHO_WORKERS_MAX);
            cfg->workers = (int)n;
            break;
        case 'l':
            if (cfg->listen != NULL)
                return usage_error("give one address");
            cfg->listen = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        case 'V':
            puts("echod " CHATD_VERSION);
            return 0;
        case ':':               /* then the option is the last word */
            if (strncmp(opt, "--", 2) == 0)
                return usage_error("option '%s' needs a value", opt);
            return usage_error("option '-%c' needs a value", optopt);
        default:                /* optopt is 0 for a long option */
            if (optopt == 0)
                return usage_error("unknown option '%s'", opt);
            return usage_error("unknown option '-%c'", optopt);
        }
    }
    if (optind < argc) {
        if (cfg->listen != NULL || optind + 1 < argc)
            return usage_error("give one address");
        cfg->listen = argv[optind];
    }
    if (cfg->listen == NULL)
        return usage_error("no address to listen on");
    if (cfg->workers != 0 && cfg->model != ECHO_PREFORK)
        return usage_error("--workers is for --model prefork only");
    return -1;
}

int
main(int argc, char **argv)
{
    struct echo_config cfg = { NULL, ECHO_FORK, 0 };
    char err[ERR_LEN];
    struct addr a;
    int rc;

    log_set_program("echod");
    if ((rc = parse_args(argc, argv, &cfg)) != -1)
        return rc;
    /* Syntax is the user's mistake (2); a name that does not resolve or
     * a port that is taken is the system's answer (1). */
    if (addr_parse(cfg.listen, ADDR_LISTEN, &a, err) == -1)
        return usage_error("%s", err);
    if (echo_run(&cfg, err) == -1) {
        log_warnx("%s", err);
        return 1;
    }
    return 0;
}
