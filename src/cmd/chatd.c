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

    int rc = 0;

    log_set_program("chatd");
    log_detect_journal();
    switch (config_from_args(&cfg, argc, argv, err)) {
    case CONFIG_EXIT_OK:
        break;
    case CONFIG_USAGE:
        log_err("%s", err);
        config_usage(stderr);
        rc = 2;
        break;
    case CONFIG_RUN:
        if (server_run(&cfg, err) != 0) {
            log_err("%s", err);
            rc = 1;
        }
        break;
    }
    config_free(&cfg);
    return rc;
}
