/* chat.c -- main() of the client: flags to a chat_config, one chat_run(). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "client/chat.h"
#include "loop/loop.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/version.h"

#define usage_error(...) log_usage_error(usage_text, __VA_ARGS__)

static const char usage_text[] =
"usage: chat [--backend NAME] [ADDR]\n"
"       chat --packet --nick NAME [--quiet-acks] [ADDR]\n"
"\n"
"Sends each line of stdin to the chat server at ADDR and prints what it\n"
"sends back.  ADDR is PORT, HOST:PORT, [IPV6]:PORT or unix:PATH (default\n"
"127.0.0.1:3100, or unix:/tmp/soquette with --packet).  At the end of\n"
"stdin the client half-closes and prints until the server closes or 2 s\n"
"pass, so `printf 'hi\\n' | chat` shows the echo.\n"
"\n"
"  -b, --backend NAME  the event loop's backend, as chatd's (default poll)\n"
"      --packet        speak the packet profile's framing\n"
"  -n, --nick NAME     packet: the nickname to register (1-32 bytes)\n"
"  -q, --quiet-acks    packet: do not print 'ok' acknowledgements\n"
"  -h, --help, --version\n";

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
    struct chat_config cfg = {NULL, NULL, 0, NULL, 0, 2000};
    char err[ERR_LEN], names[64];
    int opt;

    log_set_program("chat");
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":b:n:qh", opts, NULL)) != -1) {
        switch (opt) {
        case 'b':
            if (parse_enum(optarg, loop_backend_names) == -1) {
                parse_enum_list(names, sizeof(names), loop_backend_names);
                return usage_error("bad --backend '%s' (expected %s)",
                                   optarg, names);
            }
            cfg.backend = optarg;
            break;
        case 'P': cfg.packet = 1; break;
        case 'n': cfg.nick = optarg; break;
        case 'q': cfg.quiet_acks = 1; break;
        case 'h': fputs(usage_text, stdout); return 0;
        case 'V': printf("chat %s\n", CHATD_VERSION); return 0;
        case ':':
            return usage_error("option '%s' needs a value",
                               argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind + 1 < argc)
        return usage_error("unexpected argument '%s'", argv[optind + 1]);
    cfg.addr = optind < argc ? argv[optind]
               : cfg.packet ? "unix:/tmp/soquette" : "127.0.0.1:3100";
    if (cfg.packet && (cfg.nick == NULL || cfg.nick[0] == '\0' ||
                       strlen(cfg.nick) > 32))
        return usage_error("--packet needs --nick NAME (1-32 bytes)");
    if (!cfg.packet && (cfg.nick != NULL || cfg.quiet_acks))
        return usage_error("--nick and --quiet-acks go with --packet");
    if (chat_run(&cfg, err) != 0) {
        fprintf(stderr, "chat: %s\n", err);
        return 1;
    }
    return 0;
}
