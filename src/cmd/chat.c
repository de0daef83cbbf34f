/* chat.c -- main() of the client: flags to a chat_config, one chat_run(). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "client/chat.h"

#define CHAT_VERSION "0.1.0"

static void
usage(FILE *f)
{
    fprintf(f,
"usage: chat [--backend poll|select] [ADDR]\n"
"       chat --packet --nick NAME [--quiet-acks] [ADDR]\n"
"\n"
"Sends each line of stdin to the chat server at ADDR and prints what it\n"
"sends back.  ADDR is PORT, HOST:PORT, [IPV6]:PORT or unix:PATH (default\n"
"127.0.0.1:3100, or unix:/tmp/soquette with --packet).  At the end of\n"
"stdin the client half-closes and prints until the server closes or 2 s\n"
"pass, so `printf 'hi\\n' | chat` shows the echo.\n"
"\n"
"  -b, --backend NAME  wait with poll (default) or select\n"
"      --packet        speak the packet profile's framing\n"
"  -n, --nick NAME     packet: the nickname to register (1-32 bytes)\n"
"  -q, --quiet-acks    packet: do not print 'ok' acknowledgements\n"
"  -h, --help, --version\n");
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"backend", required_argument, NULL, 'b'},
        {"packet", no_argument, NULL, 'P'},
        {"nick", required_argument, NULL, 'n'},
        {"quiet-acks", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct chat_config cfg = {NULL, 0, 0, NULL, 0, 2000};
    char err[ERR_LEN];
    int opt;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":b:n:qh", opts, NULL)) != -1) {
        switch (opt) {
        case 'b':
            if (strcmp(optarg, "poll") != 0 && strcmp(optarg, "select") != 0) {
                fprintf(stderr, "chat: bad --backend '%s' (expected poll or "
                        "select)\n", optarg);
                usage(stderr);
                return 2;
            }
            cfg.use_select = strcmp(optarg, "select") == 0;
            break;
        case 'P': cfg.packet = 1; break;
        case 'n': cfg.nick = optarg; break;
        case 'q': cfg.quiet_acks = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("chat %s\n", CHAT_VERSION); return 0;
        case ':':
            fprintf(stderr, "chat: option '%s' needs a value\n",
                    argv[optind - 1]);
            usage(stderr);
            return 2;
        default:
            fprintf(stderr, "chat: unknown option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind + 1 < argc) {
        fprintf(stderr, "chat: unexpected argument '%s'\n", argv[optind + 1]);
        usage(stderr);
        return 2;
    }
    cfg.addr = optind < argc ? argv[optind]
               : cfg.packet ? "unix:/tmp/soquette" : "127.0.0.1:3100";
    if (cfg.packet && (cfg.nick == NULL || cfg.nick[0] == '\0' ||
                       strlen(cfg.nick) > 32)) {
        fprintf(stderr, "chat: --packet needs --nick NAME (1-32 bytes)\n");
        usage(stderr);
        return 2;
    }
    if (!cfg.packet && (cfg.nick != NULL || cfg.quiet_acks)) {
        fprintf(stderr, "chat: --nick and --quiet-acks go with --packet\n");
        usage(stderr);
        return 2;
    }
    if (chat_run(&cfg, err) != 0) {
        fprintf(stderr, "chat: %s\n", err);
        return 1;
    }
    return 0;
}
