/* config.c -- profiles and the command line. */
#include "server/config.h"

#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "loop/loop.h"
#include "net/addr.h"
#include "util/parse.h"

const char *const config_framing_names[] = {"raw", "line", "crlf", "packet",
                                            NULL};
const char *const config_route_names[] = {"none", "self", "others", "all",
                                          NULL};
const char *const config_prefix_names[] = {"none", "addr", "nick", NULL};
const char *const config_overflow_names[] = {"drop", "disconnect", NULL};
const char *const config_log_names[] = {"events", "sink", "trace", "quiet",
                                        NULL};
const char *const config_profile_names[] = {
    "line", "sink-seq", "sink", "echo", "relay", "packet", "select-chat", NULL,
};

#define KIB 1024u
#define MIB (1024u * 1024u)

int
config_profile(struct config *cfg, const char *name)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->profile = name;
    cfg->framing = FRAMING_RAW;
    cfg->route = ROUTE_NONE;
    cfg->prefix = PREFIX_NONE;
    cfg->max_message = 64 * KIB;
    cfg->queue_limit = 1 * MIB;
    cfg->on_overflow = OVERFLOW_DROP;
    cfg->log = LOGFMT_EVENTS;
    cfg->listen[0] = "1234";
    cfg->nlisten = 1;
    if (strcmp(name, "line") == 0) {
        cfg->listen[0] = "3100";
        cfg->framing = FRAMING_LINE;
        cfg->route = ROUTE_ALL;
        cfg->greeting = "Welcome to chatd! Type a line and press Enter.";
        cfg->max_message = 1024;
        cfg->on_overflow = OVERFLOW_DISCONNECT;
    } else if (strcmp(name, "sink-seq") == 0) {
        cfg->log = LOGFMT_SINK;
        cfg->serial = 1;
        cfg->lab_console = 1;
    } else if (strcmp(name, "sink") == 0) {
        cfg->log = LOGFMT_SINK;
        cfg->lab_console = 1;
    } else if (strcmp(name, "echo") == 0) {
        cfg->log = LOGFMT_SINK;
        cfg->route = ROUTE_SELF;
        cfg->queue_limit = 2 * MIB;
        cfg->lab_console = 1;
    } else if (strcmp(name, "relay") == 0) {
        cfg->route = ROUTE_ALL;
        cfg->lab_console = 1;
    } else if (strcmp(name, "packet") == 0) {
        cfg->listen[0] = "unix:/tmp/soquette";
        cfg->framing = FRAMING_PACKET;
        cfg->route = ROUTE_ALL;
        cfg->prefix = PREFIX_NICK;
    } else if (strcmp(name, "select-chat") == 0) {
        cfg->nlisten = 0;               /* the port is required */
        cfg->listen[0] = NULL;
        cfg->framing = FRAMING_CRLF;
        cfg->route = ROUTE_OTHERS;
        cfg->backend = "select";
        cfg->backend_fixed = 1;
        cfg->select_trace = 1;
        cfg->max_message = 4 * KIB;
        cfg->log = LOGFMT_QUIET;
    } else {
        return -1;
    }
    return 0;
}

void
config_usage(void *stream)
{
    FILE *f = stream;
    const char *const *b;

    fprintf(f,
"usage: chatd [options] [PORT]\n"
"\n"
"  -p, --profile NAME     line (default), sink-seq, sink, echo, relay,\n"
"                         packet, select-chat\n"
"  -l, --listen ADDR      PORT, HOST:PORT, [IPV6]:PORT or unix:PATH;\n"
"                         repeatable (default: the profile's)\n"
"  -b, --backend NAME     event backend:");
    for (b = loop_backend_names; *b != NULL; b++)
        fprintf(f, " %s", *b);
    fprintf(f, " (default: %s)\n", loop_backend_names[0]);
    fprintf(f,
"      --framing NAME     raw, line, crlf, packet\n"
"      --route NAME       who receives a message: none, self, others, all\n"
"      --prefix NAME      before a forwarded message: none, addr, nick\n"
"      --greeting TEXT    sent to each client on connect (\"\" for none)\n"
"      --max-message N    longest message payload in bytes\n"
"      --queue-limit SIZE bound of one client's pending output (K, M)\n"
"      --on-overflow NAME drop or disconnect\n"
"      --idle-timeout S   close a client silent for S seconds (0: never)\n"
"      --max-clients N    refuse connections beyond N (0: no limit)\n"
"      --log NAME         console: events, sink, trace, quiet\n"
"  -h, --help             this text\n"
"      --version          the version\n"
"\n"
"chatsrv is chatd --profile line.  SIGINT or SIGTERM stop the server.\n");
}

enum {
    OPT_FRAMING = 256, OPT_ROUTE, OPT_PREFIX, OPT_GREETING, OPT_MAX_MESSAGE,
    OPT_QUEUE_LIMIT, OPT_ON_OVERFLOW, OPT_IDLE_TIMEOUT, OPT_MAX_CLIENTS,
    OPT_LOG, OPT_VERSION,
};

static const struct option long_opts[] = {
    {"profile", required_argument, NULL, 'p'},
    {"listen", required_argument, NULL, 'l'},
    {"backend", required_argument, NULL, 'b'},
    {"framing", required_argument, NULL, OPT_FRAMING},
    {"route", required_argument, NULL, OPT_ROUTE},
    {"prefix", required_argument, NULL, OPT_PREFIX},
    {"greeting", required_argument, NULL, OPT_GREETING},
    {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
    {"queue-limit", required_argument, NULL, OPT_QUEUE_LIMIT},
    {"on-overflow", required_argument, NULL, OPT_ON_OVERFLOW},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
    {"log", required_argument, NULL, OPT_LOG},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* First pass: only the profile, since it sets the defaults the other flags
 * override, wherever it stands on the line. */
static const char *
find_profile(int argc, char **argv)
{
    const char *name = "line";
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if ((strcmp(argv[i], "-p") == 0 || strcmp(argv[i], "--profile") == 0)
            && i + 1 < argc)
            name = argv[++i];
        else if (strncmp(argv[i], "--profile=", 10) == 0)
            name = argv[i] + 10;
        else if (strncmp(argv[i], "-p", 2) == 0 && argv[i][2] != '\0')
            name = argv[i] + 2;
    }
    return name;
}

static int
set_enum(int *field, const char *opt, const char *val,
         const char *const names[], char err[ERR_LEN])
{
    int v = parse_enum(val, names);
    char list[128] = "";
    size_t i;

    if (v >= 0) {
        *field = v;
        return 0;
    }
    for (i = 0; names[i] != NULL; i++) {
        strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
        strncat(list, names[i], sizeof(list) - strlen(list) - 1);
    }
    errf(err, "bad --%s '%s' (expected %s)", opt, val, list);
    return -1;
}

/* One option already known to getopt; returns 0 or -1 with err. */
static int
set_option(struct config *cfg, int opt, const char *val, char err[ERR_LEN])
{
    uint64_t u;
    long n;
    int e;

    switch (opt) {
    case 'p':
        return 0;                       /* done by find_profile() */
    case 'l':
        if (cfg->nlisten == CONFIG_MAX_LISTEN) {
            errf(err, "too many --listen (at most %d)", CONFIG_MAX_LISTEN);
            return -1;
        }
        cfg->listen[cfg->nlisten++] = val;
        return 0;
    case 'b':
        if (parse_enum(val, loop_backend_names) < 0) {
            errf(err, "bad --backend '%s' (this build has: %s%s%s%s%s)", val,
                 loop_backend_names[0], loop_backend_names[1] ? ", " : "",
                 loop_backend_names[1] ? loop_backend_names[1] : "",
                 loop_backend_names[2] ? ", " : "",
                 loop_backend_names[2] ? loop_backend_names[2] : "");
            return -1;
        }
        if (cfg->backend_fixed && strcmp(val, cfg->backend) != 0) {
            errf(err, "the %s profile runs on the %s backend only",
                 cfg->profile, cfg->backend);
            return -1;
        }
        cfg->backend = val;
        return 0;
    case OPT_FRAMING:
        if (set_enum(&e, "framing", val, config_framing_names, err) == -1)
            return -1;
        cfg->framing = (enum framing)e;
        return 0;
    case OPT_ROUTE:
        if (set_enum(&e, "route", val, config_route_names, err) == -1)
            return -1;
        cfg->route = (enum route)e;
        return 0;
    case OPT_PREFIX:
        if (set_enum(&e, "prefix", val, config_prefix_names, err) == -1)
            return -1;
        cfg->prefix = (enum prefix)e;
        return 0;
    case OPT_ON_OVERFLOW:
        if (set_enum(&e, "on-overflow", val, config_overflow_names, err) == -1)
            return -1;
        cfg->on_overflow = (enum overflow)e;
        return 0;
    case OPT_LOG:
        if (set_enum(&e, "log", val, config_log_names, err) == -1)
            return -1;
        cfg->log = (enum logfmt)e;
        return 0;
    case OPT_GREETING:
        if (strlen(val) > 4096) {
            errf(err, "--greeting is too long (at most 4096 bytes)");
            return -1;
        }
        cfg->greeting = val;
        return 0;
    case OPT_MAX_MESSAGE:
        if (parse_size(val, 1, 16 * MIB, &u) == -1) {
            errf(err, "bad --max-message '%s' (expected 1 to 16M)", val);
            return -1;
        }
        cfg->max_message = (size_t)u;
        return 0;
    case OPT_QUEUE_LIMIT:
        if (parse_size(val, 1, (uint64_t)1 << 40, &u) == -1) {
            errf(err, "bad --queue-limit '%s' (expected a size such as "
                 "64K or 1M)", val);
            return -1;
        }
        cfg->queue_limit = u;
        return 0;
    case OPT_IDLE_TIMEOUT:
        if (parse_long(val, 0, 86400 * 365, &n) == -1) {
            errf(err, "bad --idle-timeout '%s' (expected seconds, 0 for "
                 "never)", val);
            return -1;
        }
        cfg->idle_timeout = (unsigned)n;
        return 0;
    case OPT_MAX_CLIENTS:
        if (parse_long(val, 0, 100000000, &n) == -1) {
            errf(err, "bad --max-clients '%s' (expected a count, 0 for no "
                 "limit)", val);
            return -1;
        }
        cfg->max_clients = (unsigned)n;
        return 0;
    }
    errf(err, "unhandled option");
    return -1;
}

enum config_result
config_from_args(struct config *cfg, int argc, char **argv, char err[ERR_LEN])
{
    const char *profile = find_profile(argc, argv);
    int profile_listen = 1;
    int opt;

    if (strcmp(basename(argv[0]), "chatsrv") == 0)
        profile = "line";
    if (config_profile(cfg, profile) == -1) {
        errf(err, "unknown profile '%s' (expected line, sink-seq, sink, "
             "echo, relay, packet or select-chat)", profile);
        return CONFIG_USAGE;
    }
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":p:l:b:h", long_opts, NULL)) != -1) {
        if (opt == 'h') {
            config_usage(stdout);
            return CONFIG_EXIT_OK;
        }
        if (opt == OPT_VERSION) {
            printf("chatd %s\n", CHATD_VERSION);
            return CONFIG_EXIT_OK;
        }
        if (opt == '?') {
            if (optopt != 0)
                errf(err, "unknown option '-%c'", optopt);
            else
                errf(err, "unknown option '%s'", argv[optind - 1]);
            return CONFIG_USAGE;
        }
        if (opt == ':') {
            errf(err, "option '%s' needs a value", argv[optind - 1]);
            return CONFIG_USAGE;
        }
        if (opt == 'l' && profile_listen) {
            cfg->nlisten = 0;           /* flags replace the default */
            profile_listen = 0;
        }
        if (set_option(cfg, opt, optarg, err) == -1)
            return CONFIG_USAGE;
    }
    if (optind < argc) {
        if (optind + 1 < argc) {
            errf(err, "unexpected argument '%s'", argv[optind + 1]);
            return CONFIG_USAGE;
        }
        if (profile_listen)
            cfg->nlisten = 0;
        if (set_option(cfg, 'l', argv[optind], err) == -1)
            return CONFIG_USAGE;
    }
    if (cfg->nlisten == 0) {
        errf(err, "the %s profile needs a port: chatd --profile %s PORT",
             cfg->profile, cfg->profile);
        return CONFIG_USAGE;
    }
    for (opt = 0; opt < (int)cfg->nlisten; opt++) {
        struct addr a;

        if (addr_parse(cfg->listen[opt], ADDR_LISTEN, &a, err) == -1)
            return CONFIG_USAGE;
    }
    return CONFIG_RUN;
}
