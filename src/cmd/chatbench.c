/* chatbench.c -- the load generator: flags in, bench_run() out, one line
 * (or one JSON object) of figures on stdout.
 *
 * Exit status: 0 when the run happened (losses are figures, not failures),
 * 1 if it could not run (nobody could connect; the reason on stderr), 2
 * for a usage error. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/wire.h"
#include "bench/report.h"
#include "net/addr.h"
#include "net/sock.h"
#include "util/err.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/version.h"

#define CLIENTS_MAX         1000000L
#define THREADS_MAX         64
#define PENDING_DEFAULT     200         /* under Redis's default backlog
                                         * (511) */
#define LINE_SIZE_MAX       1024        /* chatd cuts longer lines */
#define CHAT_SIZE_MAX       300         /* the chat profile cuts what would
                                         * not fit one IRC line, prefix and
                                         * all: 300 fits any nick and room */
#define IRC_SIZE_MAX        300         /* what fits one 512-byte IRC line
                                         * with any server's prefix */
#define ROOM_MAX            50          /* '#' and 1-49 characters */
#define SIZE_MAX_BYTES      (1u << 20)

static const char usage_text[] =
    "usage: chatbench [--clients N] [--publishers M] [--rate R|--max]\n"
    "                 [--size B] [--duration S] [--warmup S] [--slow K]\n"
    "                 [--protocol line|chat|redis|nats|irc|ws] [--pid PID]\n"
    "                 [--tls] [--json]\n"
    "                 ADDR [ADDR...]\n"
    "\n"
    "Open N clients to a chat or pub/sub server, have M of them publish\n"
    "timestamped messages, and measure what every client receives.\n"
    "Several ADDRs (the nodes of a chatd cluster) share the clients and the\n"
    "publishers round-robin; latency is then also told apart for receivers\n"
    "on the publisher's node (same-node) and on another (cross-node).\n"
    "  -c, --clients N       subscribers (default 100)\n"
    "  -p, --publishers M    how many of them also publish (default 1; 0 for\n"
    "                        an idle run that only connects)\n"
    "  -r, --rate R          messages per second, all publishers together\n"
    "                        (default 1000)\n"
    "  -m, --max             publish as fast as the server confirms, with at\n"
    "                        most --window messages in flight per publisher\n"
    "  -w, --window W        in-flight bound for --max (default 64)\n"
    "  -s, --size B          payload bytes, 35 or more (default 64)\n"
    "  -d, --duration S      measured window in seconds (default 5)\n"
    "      --warmup S        publishing before the window (default 1)\n"
    "      --drain S         after it, wait for late deliveries until none\n"
    "                        has come for S seconds (default 2)\n"
    "      --connect-timeout S  give up joining after this (default 60)\n"
    "      --connecting N    handshakes in flight at once, per event loop\n"
    "                        (default 200; fewer for a server with a short\n"
    "                        listen backlog: ngIRCd's is 10)\n"
    "  -k, --slow K          K more clients that subscribe and never read\n"
    "  -P, --protocol NAME   line (chatd, default), chat (chatd --profile chat:\n"
    "                        nicknames b0, b1, ... in one room), redis\n"
    "                        (pub/sub), nats, irc (any IRC server: nicknames\n"
    "                        bench0, bench1, ... in one channel; a sender is\n"
    "                        not owed its own messages), ws (chat over\n"
    "                        WebSocket: GET /ws, then chat's lines, one per\n"
    "                        text frame; ADDR is chatd's http:// listener)\n"
    "      --channel NAME    Redis channel or NATS subject (default chatbench)\n"
    "      --room NAME       the room of --protocol chat or ws, the channel\n"
    "                        of --protocol irc (default #bench)\n"
    "      --irc-oper NAME:PASS  publishers become IRC operators and set user\n"
    "                        mode +F before joining (ngIRCd lifts its flood\n"
    "                        control only for +F)\n"
    "      --tls             TLS over TCP (line, chat, irc, redis); the server's\n"
    "                        certificate is NOT checked, for a test server's\n"
    "                        self-signed one\n"
    "      --pid PID[,PID...]  the server's processes (repeatable: the\n"
    "                        nodes, Redis): report each one's CPU time, per\n"
    "                        delivery, and memory, and their sum (Linux /proc)\n"
    "  -t, --threads T       event loops (default 1)\n"
    "  -j, --json            one JSON object instead of the human line\n"
    "  -v, --verbose         progress on stderr\n"
    "  -h, --help            show this and exit\n"
    "  -V, --version         show the version and exit\n"
    "ADDR is PORT, HOST:PORT, [IPV6]:PORT or unix:PATH; up to 16 of them.\n";

#define usage_error(...) log_usage_error(usage_text, __VA_ARGS__)

/* A number of seconds (decimals allowed) in [0, max].  Returns 0 or -1. */
static int
parse_seconds(const char *s, double max, double *out)
{
    char *end;
    double v;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

enum {
    OPT_WARMUP = 256, OPT_DRAIN, OPT_CONNECT_TIMEOUT, OPT_CHANNEL, OPT_ROOM,
    OPT_PID, OPT_CONNECTING, OPT_IRC_OPER, OPT_TLS
};

static const struct option opts[] = {
    { "clients",         required_argument, NULL, 'c' },
    { "publishers",      required_argument, NULL, 'p' },
    { "rate",            required_argument, NULL, 'r' },
    { "max",             no_argument,       NULL, 'm' },
    { "window",          required_argument, NULL, 'w' },
    { "size",            required_argument, NULL, 's' },
    { "duration",        required_argument, NULL, 'd' },
    { "warmup",          required_argument, NULL, OPT_WARMUP },
    { "drain",           required_argument, NULL, OPT_DRAIN },
    { "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
    { "connecting",      required_argument, NULL, OPT_CONNECTING },
    { "irc-oper",        required_argument, NULL, OPT_IRC_OPER },
    { "slow",            required_argument, NULL, 'k' },
    { "protocol",        required_argument, NULL, 'P' },
    { "channel",         required_argument, NULL, OPT_CHANNEL },
    { "room",            required_argument, NULL, OPT_ROOM },
    { "pid",             required_argument, NULL, OPT_PID },
    { "tls",             no_argument,       NULL, OPT_TLS },
    { "threads",         required_argument, NULL, 't' },
    { "json",            no_argument,       NULL, 'j' },
    { "verbose",         no_argument,       NULL, 'v' },
    { "help",            no_argument,       NULL, 'h' },
    { "version",         no_argument,       NULL, 'V' },
    { NULL, 0, NULL, 0 },
};

/* What the command line says beside the bench_cfg. */
struct cli {
    int         json;           /* --json */
    int         rate_given;     /* --rate, which --max excludes */
    const char *channel;        /* --channel (redis, nats) */
    const char *room;           /* --room (chat, irc, ws) */
};

/* Is s a chat room name: '#' and 1-49 characters without space, comma,
 * ':' or control characters? */
static int
room_is_valid(const char *s)
{
    size_t n = strlen(s), i;

    if (n < 2 || n > ROOM_MAX || s[0] != '#')
        return 0;
    for (i = 1; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == ' ' ||
            s[i] == ',' || s[i] == ':')
            return 0;
    return 1;
}

/* --pid PID[,PID...]: add each to cfg->pids.  Returns -1 if fine, or 2
 * after a usage error. */
static int
take_pids(const char *arg, struct bench_cfg *cfg)
{
    char one[32];
    const char *p = arg, *comma;
    size_t len;
    long n;

    for (;;) {
        comma = strchr(p, ',');
        len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= sizeof(one))
            return usage_error("bad --pid '%s'", arg);
        memcpy(one, p, len);
        one[len] = '\0';
        if (parse_long(one, 1, 1L << 30, &n) == -1)
            return usage_error("bad --pid '%s'", arg);
        if (cfg->npids == BENCH_PIDS_MAX)
            return usage_error("more than %d --pid processes",
                               BENCH_PIDS_MAX);
        cfg->pids[cfg->npids++] = (pid_t)n;
        if (comma == NULL)
            return -1;
        p = comma + 1;
    }
}

/* Turn one option into cfg or cli.  Returns -1 if it was fine, or an exit
 * code (0 after --help or --version, 2 for a usage error). */
static int
take_option(int ch, const char *arg, const char *opt, struct bench_cfg *cfg,
            struct cli *cli)
{
    long n;
    int k;

    switch (ch) {
    case 'c':
        if (parse_long(arg, 1, CLIENTS_MAX, &n) == -1)
            return usage_error("bad --clients '%s' (expected 1-%ld)", arg,
                               CLIENTS_MAX);
        cfg->clients = n;
        break;
    case 'p':
        if (parse_long(arg, 0, WIRE_PUB_MAX + 1L, &n) == -1)
            return usage_error("bad --publishers '%s' (expected 0-%ld)", arg,
                               WIRE_PUB_MAX + 1L);
        cfg->publishers = n;
        break;
    case 'r':
        if (parse_seconds(arg, 1e9, &cfg->rate) == -1 || cfg->rate <= 0)
            return usage_error("bad --rate '%s' (messages per second)", arg);
        cli->rate_given = 1;
        break;
    case 'm':
        cfg->max = 1;
        break;
    case 'w':
        if (parse_long(arg, 1, 1000000, &n) == -1)
            return usage_error("bad --window '%s' (expected 1-1000000)", arg);
        cfg->window = n;
        break;
    case 's':
        if (parse_long(arg, WIRE_PAYLOAD_MIN, SIZE_MAX_BYTES, &n) == -1)
            return usage_error("bad --size '%s' (expected %d-%u bytes)", arg,
                               WIRE_PAYLOAD_MIN, SIZE_MAX_BYTES);
        cfg->size = (size_t)n;
        break;
    case 'd':
        if (parse_seconds(arg, 86400, &cfg->duration_s) == -1)
            return usage_error("bad --duration '%s' (seconds)", arg);
        break;
    case OPT_WARMUP:
        if (parse_seconds(arg, 86400, &cfg->warmup_s) == -1)
            return usage_error("bad --warmup '%s' (seconds)", arg);
        break;
    case OPT_DRAIN:
        if (parse_seconds(arg, 86400, &cfg->drain_s) == -1)
            return usage_error("bad --drain '%s' (seconds)", arg);
        break;
    case OPT_CONNECT_TIMEOUT:
        if (parse_seconds(arg, 86400, &cfg->connect_s) == -1)
            return usage_error("bad --connect-timeout '%s' (seconds)", arg);
        break;
    case OPT_CONNECTING:
        if (parse_long(arg, 1, 100000, &n) == -1)
            return usage_error("bad --connecting '%s' (expected 1-100000)",
                               arg);
        cfg->pending = (int)n;
        break;
    case OPT_IRC_OPER:
        if (strchr(arg, ':') == NULL || *arg == ':' ||
            strpbrk(arg, " \r\n") != NULL || strlen(arg) > 200)
            return usage_error("bad --irc-oper '%s' (expected NAME:PASS)",
                               arg);
        cfg->irc_oper = arg;
        break;
    case 'k':
        if (parse_long(arg, 0, CLIENTS_MAX, &n) == -1)
            return usage_error("bad --slow '%s' (expected 0-%ld)", arg,
                               CLIENTS_MAX);
        cfg->slow = n;
        break;
    case 'P':
        if ((k = parse_enum(arg, wire_names)) == -1)
            return usage_error("unknown protocol '%s' (expected line, chat, "
                               "redis, nats, irc or ws)", arg);
        cfg->wire = (enum wire_kind)k;
        break;
    case OPT_CHANNEL:
        if (*arg == '\0' || strlen(arg) > 200 || strpbrk(arg, " \t\r\n"))
            return usage_error("bad --channel '%s'", arg);
        cli->channel = arg;
        break;
    case OPT_ROOM:
        if (!room_is_valid(arg))
            return usage_error("bad --room '%s' (expected # and 1-49 "
                               "characters, no space, comma or colon)", arg);
        cli->room = arg;
        break;
    case OPT_PID:
        return take_pids(arg, cfg);
    case OPT_TLS:
        cfg->tls = 1;
        break;
    case 't':
        if (parse_long(arg, 1, THREADS_MAX, &n) == -1)
            return usage_error("bad --threads '%s' (expected 1-%d)", arg,
                               THREADS_MAX);
        cfg->threads = (int)n;
        break;
    case 'j':
        cli->json = 1;
        break;
    case 'v':
        cfg->verbose = 1;
        break;
    case 'h':
        fputs(usage_text, stdout);
        return 0;
    case 'V':
        puts("chatbench " CHATD_VERSION);
        return 0;
    case ':':
        return usage_error("option '%s' needs a value", opt);
    default:
        return usage_error("unknown option '%s'", opt);
    }
    return -1;
}

/* Check the options against each other.  Returns -1 if they agree, or 2
 * after a usage error. */
static int
check_config(const struct bench_cfg *cfg, int rate_given)
{
    if (cfg->max && rate_given)
        return usage_error("give --rate or --max, not both");
    if (cfg->publishers > cfg->clients)
        return usage_error("--publishers (%ld) is more than --clients (%ld)",
                           cfg->publishers, cfg->clients);
    if (cfg->wire == WIRE_LINE && cfg->size > LINE_SIZE_MAX)
        return usage_error("--size %zu: a line server cuts payloads over "
                           "%d bytes", cfg->size, LINE_SIZE_MAX);
    if ((cfg->wire == WIRE_CHAT || cfg->wire == WIRE_WS) &&
        cfg->size > CHAT_SIZE_MAX)
        return usage_error("--size %zu: the chat profile cuts messages over "
                           "%d bytes", cfg->size, CHAT_SIZE_MAX);
    /* A NATS server begins in plain text (INFO) and upgrades after. */
    if (cfg->tls && cfg->wire == WIRE_NATS)
        return usage_error("--tls is not for --protocol nats");
    if (cfg->irc_oper != NULL && cfg->wire != WIRE_IRC)
        return usage_error("--irc-oper is for --protocol irc");
    if (cfg->wire == WIRE_IRC && cfg->size > IRC_SIZE_MAX)
        return usage_error("--size %zu: IRC servers cut messages over %d "
                           "bytes", cfg->size, IRC_SIZE_MAX);
    /* Without echo, --max needs a second client to confirm a publisher's
     * messages. */
    if (cfg->wire == WIRE_IRC && cfg->max && cfg->publishers > 0 &&
        cfg->clients < 2)
        return usage_error("--protocol irc --max needs --clients 2 or more "
                           "(IRC does not echo a sender's own messages)");
    return -1;
}

int
main(int argc, char **argv)
{
    static struct bench_result res;     /* 180 KiB of histograms */
    struct bench_cfg cfg;
    struct cli cli = { 0, 0, "chatbench", "#bench" };
    char err[ERR_LEN], opt[64];
    int ch, rc;

    log_set_program("chatbench");
    memset(&cfg, 0, sizeof(cfg));
    cfg.wire = WIRE_LINE;
    cfg.clients = 100;
    cfg.publishers = 1;
    cfg.rate = 1000;
    cfg.window = 64;
    cfg.size = 64;
    cfg.duration_s = 5;
    cfg.warmup_s = 1;
    cfg.drain_s = 2;
    cfg.connect_s = 60;
    cfg.pending = PENDING_DEFAULT;
    cfg.threads = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":c:p:r:mw:s:d:k:P:t:jvhV", opts,
                             NULL)) != -1) {
        if (strncmp(argv[optind - 1], "--", 2) == 0)
            snprintf(opt, sizeof(opt), "%s", argv[optind - 1]);
        else
            snprintf(opt, sizeof(opt), "-%c", optopt ? optopt : ch);
        rc = take_option(ch, optarg, opt, &cfg, &cli);
        if (rc != -1)
            return rc;
    }
    if (optind == argc)
        return usage_error("no address to connect to");
    if (argc - optind > BENCH_TARGETS_MAX)
        return usage_error("more than %d addresses", BENCH_TARGETS_MAX);
    if ((rc = check_config(&cfg, cli.rate_given)) != -1)
        return rc;
    cfg.channel = cfg.wire == WIRE_CHAT || cfg.wire == WIRE_IRC ||
                  cfg.wire == WIRE_WS ? cli.room : cli.channel;
    for (; optind < argc; optind++)
        if (addr_get(argv[optind], ADDR_CONNECT,
                     &cfg.targets[cfg.ntargets++], err) == -1)
            return usage_error("%s", err);
    sock_ignore_sigpipe();
    if (bench_run(&cfg, &res, err) == -1) {
        log_warnx("%s", err);
        return 1;
    }
    if (cli.json)
        report_json(stdout, &cfg, &res);
    else
        report_human(stdout, &cfg, &res);
    return 0;
}
