/* chatd.c -- main(): flags to a config, one server_run(), an exit code. */
#include <stdio.h>

#include "server/config.h"
#include "server/server.h"
#include "util/log.h"

int
main(int argc, char **argv)
{
    char err[ERR_LEN];
    struct config cfg;

    log_set_program("chatd");
    switch (config_from_args(&cfg, argc, argv, err)) {
    case CONFIG_EXIT_OK:
        return 0;
    case CONFIG_USAGE:
        fprintf(stderr, "chatd: %s\n", err);
        config_usage(stderr);
        return 2;
    case CONFIG_RUN:
        break;
    }
    if (server_run(&cfg, err) != 0) {
        fprintf(stderr, "chatd: %s\n", err);
        return 1;
    }
    return 0;
}
