/* config.c -- profiles and the command line. */
#include "server/config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop/loop.h"
#include "net/addr.h"
#include "server/chat_line.h"
#include "server/irc_door.h"
#include "server/lab.h"
#include "server/packet_chat.h"
#include "server/select_chat.h"
#include "server/web_door.h"
#include "util/compat.h"
#include "util/parse.h"
#include "util/xmalloc.h"

const char *const config_framing_names[] = {"raw", "line", "crlf", "packet",
                                            NULL};
const char *const config_route_names[] = {"none", "self", "others", "all",
                                          NULL};
const char *const config_prefix_names[] = {"none", "addr", "nick", NULL};
const char *const config_overflow_names[] = {"drop", "disconnect", NULL};
const char *const config_log_names[] = {"events", "sink", "trace", "quiet",
                                        NULL};
#define KIB 1024u
#define MIB (1024u * 1024u)

/* A profile: the defaults it gives the options, and what it speaks. */
struct profile {
    const char            *name;
    const char            *listen[3];   /* {NULL}: a port is required */
    enum framing_kind           framing;
    enum route_kind             route;
    enum prefix            prefix;
    const char            *greeting;
    size_t                 max_message;
    uint64_t               queue_limit;
    enum overflow          on_overflow;
    enum logfmt            log;
    const struct protocol *proto;
    enum console_style     console;
    const char            *backend;     /* set: the only backend allowed */
    int                    pace;        /* slow a sender that does not read */
    int                    words;       /* console warnings say "warning:"
                                         * (the exercises' stderr stays) */
};

static const struct profile profiles[] = {
    {"line", {"3100"}, FRAMING_LINE, ROUTE_ALL, PREFIX_NONE,
     "Welcome to chatd! Type a line and press Enter.", 1 * KIB, 1 * MIB,
     OVERFLOW_DISCONNECT, LOGFMT_EVENTS, &proto_lab, CONSOLE_EVENTS, NULL, 1,
     0},
    {"chat", {"3100", "irc://6667", "http://8080"}, FRAMING_CRLF, ROUTE_ALL, PREFIX_NICK, NULL, 4 * KIB,
     1 * MIB, OVERFLOW_DISCONNECT, LOGFMT_EVENTS, &proto_chat_line,
     CONSOLE_HUB, NULL, 1, 1},
    {"sink-seq", {"1234"}, FRAMING_RAW, ROUTE_NONE, PREFIX_NONE, NULL,
     64 * KIB, 1 * MIB, OVERFLOW_DROP, LOGFMT_SINK, &proto_serial,
     CONSOLE_SERIAL, NULL, 0, 0},
    {"sink", {"1234"}, FRAMING_RAW, ROUTE_NONE, PREFIX_NONE, NULL, 64 * KIB,
     1 * MIB, OVERFLOW_DROP, LOGFMT_SINK, &proto_lab, CONSOLE_LAB, NULL, 0, 0},
    {"echo", {"1234"}, FRAMING_RAW, ROUTE_SELF, PREFIX_NONE, NULL, 64 * KIB,
     2 * MIB, OVERFLOW_DROP, LOGFMT_SINK, &proto_lab, CONSOLE_LAB, NULL, 0, 0},
    {"relay", {"1234"}, FRAMING_RAW, ROUTE_ALL, PREFIX_NONE, NULL, 64 * KIB,
     1 * MIB, OVERFLOW_DROP, LOGFMT_EVENTS, &proto_lab, CONSOLE_LAB, NULL, 0, 0},
    {"packet", {"unix:/tmp/soquette"}, FRAMING_PACKET, ROUTE_ALL,
     PREFIX_NICK, NULL, 64 * KIB, 1 * MIB, OVERFLOW_DROP, LOGFMT_EVENTS,
     &proto_packet, CONSOLE_EVENTS, NULL, 1, 0},
    {"select-chat", {NULL}, FRAMING_CRLF, ROUTE_OTHERS, PREFIX_NONE, NULL,
     4 * KIB, 1 * MIB, OVERFLOW_DROP, LOGFMT_QUIET, &proto_select,
     CONSOLE_SELECT, "select", 0, 0},
};

int
config_profile(struct config *cfg, const char *name)
{
    const struct profile *p = NULL;
    size_t i;

    for (i = 0; i < ARRAY_LEN(profiles); i++)
        if (strcmp(profiles[i].name, name) == 0)
            p = &profiles[i];
    if (p == NULL)
        return -1;
    memset(cfg, 0, sizeof(*cfg));
    cfg->profile = p->name;
    for (cfg->nlisten = 0; cfg->nlisten < ARRAY_LEN(p->listen) &&
                           p->listen[cfg->nlisten] != NULL;
         cfg->nlisten++)
        cfg->listen[cfg->nlisten] = p->listen[cfg->nlisten];
    cfg->framing = p->framing;
    cfg->route = p->route;
    cfg->prefix = p->prefix;
    cfg->greeting = p->greeting;
    cfg->max_message = p->max_message;
    cfg->queue_limit = p->queue_limit;
    cfg->on_overflow = p->on_overflow;
    cfg->log = p->log;
    cfg->proto = p->proto;
    cfg->console = p->console;
    cfg->backend = p->backend;
    cfg->backend_fixed = p->backend != NULL;
    cfg->pace = p->pace;
    cfg->words = p->words;
    cfg->flood_burst = CONFIG_FLOOD_BURST;
    cfg->flood_rate = CONFIG_FLOOD_RATE;
    cfg->cluster_expiry = 15;
    return 0;
}

/* "a, b or c": the profile names, for messages and --help. */
static void
profile_list(char *buf, size_t len, const char *last_sep)
{
    size_t i;

    buf[0] = '\0';
    for (i = 0; i < ARRAY_LEN(profiles); i++) {
        const char *sep = i == 0                        ? ""
                          : i + 1 == ARRAY_LEN(profiles) ? last_sep
                                                         : ", ";

        strncat(buf, sep, len - strlen(buf) - 1);
        strncat(buf, profiles[i].name, len - strlen(buf) - 1);
    }
}

static const struct {
    const char *scheme;
    const struct protocol *proto;       /* NULL: the profile's own */
    const char *profile;                /* the only profile serving it */
    int tls;                            /* the same over TLS */
} schemes[] = {
    {"tcp://", NULL, NULL, 0},
    {"irc://", &proto_irc, "chat", 0},
    {"http://", &proto_web, "chat", 0},
    /* TLS sits under the protocol; the two chats are where it is meant
     * (the exercises stay plain: their consoles talk of descriptors). */
    {"tls://", NULL, "chat", 1},
    {"tls://", NULL, "line", 1},
    {"ircs://", &proto_irc, "chat", 1},
    {"https://", &proto_web, "chat", 1},
};

int
config_door_is_tls(const char *text)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(schemes); i++)
        if (strncmp(text, schemes[i].scheme, strlen(schemes[i].scheme)) == 0)
            return schemes[i].tls;
    return 0;
}

const char *
config_fdname_scheme(const char *name, size_t len)
{
    static const char *const names[][2] = {
        {"line", "tcp://"}, {"tcp", "tcp://"},   {"irc", "irc://"},
        {"http", "http://"}, {"tls", "tls://"},  {"ircs", "ircs://"},
        {"https", "https://"},
    };
    size_t i;

    for (i = 0; i < ARRAY_LEN(names); i++)
        if (strlen(names[i][0]) == len && memcmp(names[i][0], name, len) == 0)
            return names[i][1];
    return NULL;
}

int
config_listen_is(const char *text, const char *scheme)
{
    if (strstr(text, "://") == NULL)
        return strcmp(scheme, "tcp://") == 0;
    return strncmp(text, scheme, strlen(scheme)) == 0;
}

const struct protocol *
config_door(const struct config *cfg, const char *text, const char **rest,
            char err[ERR_LEN])
{
    const char *sep = strstr(text, "://");
    size_t i;

    *rest = text;
    if (sep == NULL)
        return cfg->proto;
    for (i = 0; i < ARRAY_LEN(schemes); i++)
        if (strncmp(text, schemes[i].scheme, strlen(schemes[i].scheme))
                == 0 &&
            (schemes[i].profile == NULL ||
             strcmp(schemes[i].profile, cfg->profile) == 0)) {
            *rest = text + strlen(schemes[i].scheme);
            return schemes[i].proto != NULL ? schemes[i].proto : cfg->proto;
        }
    errf(err, "the %s profile cannot serve '%.*s' (tcp:// always; tls:// "
         "with the line and chat profiles; irc://, ircs://, http:// and "
         "https:// with --profile chat)", cfg->profile,
         (int)(sep - text + 3), text);
    return NULL;
}

void
config_usage(void *stream)
{
    FILE *f = stream;
    const char *const *b;
    size_t i, col = 25;

    fprintf(f,
"usage: chatd [options] [PORT]\n"
"\n"
"  -p, --profile NAME     line (the default), chat (the full server), or an\n"
"                         exercise; all of them:\n"
"                        ");
    for (i = 0; i < ARRAY_LEN(profiles); i++) {
        if (col + strlen(profiles[i].name) + 2 > 78) {
            fprintf(f, "\n                        ");
            col = 25;
        }
        fprintf(f, " %s%s", profiles[i].name,
                i + 1 < ARRAY_LEN(profiles) ? "," : "\n");
        col += strlen(profiles[i].name) + 2;
    }
    fprintf(f,
"  -l, --listen ADDR      PORT, HOST:PORT, [IPV6]:PORT or unix:PATH, with\n"
"                         tcp:// before it if you like, or irc:// or\n"
"                         http:// for the chat profile's IRC and web\n"
"                         doors; tls://, ircs:// (6697 by convention) and\n"
"                         https:// are the same over TLS (tls:// with the\n"
"                         line and chat profiles); repeatable (default:\n"
"                         the profile's: chat listens on 3100, irc://6667\n"
"                         and http://8080)\n");
    fprintf(f,
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
"      --motd FILE        message of the day, shown on joining (chat)\n"
"      --tls-cert FILE    PEM certificate (chain) of the TLS doors\n"
"      --tls-key FILE     PEM private key of the TLS doors; SIGHUP reads\n"
"                         both again (new clients get the new pair)\n"
"      --oper NAME:PASSWORD  an IRC operator's name and password (chat)\n"
"      --node-name NAME   this server's name (IRC, cluster; default chatd,\n"
"                         in a cluster the host name and pid)\n"
"      --cluster URL      redis://HOST:PORT: share rooms, nicknames and\n"
"                         messages with the other chatd nodes on that Redis\n"
"      --config FILE      read options from FILE: one 'name value' a line,\n"
"                         the long names without --; '#' comments; the\n"
"                         flags win; SIGHUP reads it again\n"
"      --flood-burst N    IRC door: a client sending more than N lines at\n"
"                         once is read more slowly, nothing dropped\n"
"                         (default 10; 0: no flood control)\n"
"      --flood-rate N     IRC door: ... and more than N lines a second\n"
"                         after that (default 5; 0: no flood control)\n"
"  -h, --help             this text\n"
"      --version          the version\n"
"\n"
"chatsrv is chatd --profile line.  SIGINT or SIGTERM stop the server.\n"
"Try: chatd --profile chat, then nc localhost 3100 and type /help.\n");
}

enum {
    OPT_FRAMING = 256, OPT_ROUTE, OPT_PREFIX, OPT_GREETING, OPT_MAX_MESSAGE,
    OPT_QUEUE_LIMIT, OPT_ON_OVERFLOW, OPT_IDLE_TIMEOUT, OPT_MAX_CLIENTS,
    OPT_LOG, OPT_MOTD, OPT_NODE_NAME, OPT_OPER, OPT_FLOOD_BURST,
    OPT_FLOOD_RATE, OPT_CONFIG, OPT_VERSION, OPT_TLS_CERT, OPT_TLS_KEY,
    OPT_CLUSTER, OPT_CLUSTER_EXPIRY,
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
    {"motd", required_argument, NULL, OPT_MOTD},
    {"node-name", required_argument, NULL, OPT_NODE_NAME},
    {"oper", required_argument, NULL, OPT_OPER},
    {"flood-burst", required_argument, NULL, OPT_FLOOD_BURST},
    {"flood-rate", required_argument, NULL, OPT_FLOOD_RATE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"cluster", required_argument, NULL, OPT_CLUSTER},
    /* Hidden, for tests: how soon a dead node's users are gone. */
    {"cluster-expiry", required_argument, NULL, OPT_CLUSTER_EXPIRY},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* First pass: the value of option -s/--long (the last one given), or
 * NULL, wherever it stands on the line: the profile sets the defaults the
 * other flags override, and the config file comes in between. */
static const char *
find_flag(int argc, char **argv, char s, const char *lng)
{
    const char *val = NULL;
    size_t n = strlen(lng);
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (((s != 0 && argv[i][0] == '-' && argv[i][1] == s &&
              argv[i][2] == '\0') ||
             (strncmp(argv[i], "--", 2) == 0 &&
              strcmp(argv[i] + 2, lng) == 0)) &&
            i + 1 < argc)
            val = argv[++i];
        else if (strncmp(argv[i], "--", 2) == 0 &&
                 strncmp(argv[i] + 2, lng, n) == 0 && argv[i][2 + n] == '=')
            val = argv[i] + 3 + n;
        else if (s != 0 && argv[i][0] == '-' && argv[i][1] == s &&
                 argv[i][2] != '\0')
            val = argv[i] + 2;
    }
    return val;
}

static int
set_enum(int *field, const char *opt, const char *val,
         const char *const names[], char err[ERR_LEN])
{
    int v = parse_enum(val, names);
    char list[128];

    if (v >= 0) {
        *field = v;
        return 0;
    }
    parse_enum_list(list, sizeof(list), names);
    errf(err, "bad --%s '%s' (expected %s)", opt, val, list);
    return -1;
}

/* --cluster redis://HOST:PORT ([V6]:PORT too) into cfg. */
static int
cluster_url(struct config *cfg, const char *val, char err[ERR_LEN])
{
    const char *host = val + sizeof("redis://") - 1, *colon, *end;
    size_t hlen;
    long port;

    if (strncmp(val, "redis://", sizeof("redis://") - 1) != 0)
        goto bad;
    colon = strrchr(host, ':');
    if (colon == NULL || parse_long(colon + 1, 1, 65535, &port) == -1)
        goto bad;
    end = colon;
    if (host[0] == '[' && colon > host && colon[-1] == ']') {
        host++;
        end--;
    }
    hlen = (size_t)(end - host);
    if (hlen == 0 || hlen >= sizeof(cfg->cluster_host) ||
        strcspn(host, " /[]@") < hlen)
        goto bad;
    memcpy(cfg->cluster_host, host, hlen);
    cfg->cluster_host[hlen] = '\0';
    cfg->cluster_port = (int)port;
    cfg->cluster = val;
    return 0;
bad:
    errf(err, "bad --cluster '%s' (expected redis://HOST:PORT)", val);
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
    case OPT_CONFIG:
        return 0;                       /* done by config_from_args() */
    case 'l':
        if (cfg->nlisten == CONFIG_MAX_LISTEN) {
            errf(err, "too many --listen (at most %d)", CONFIG_MAX_LISTEN);
            return -1;
        }
        cfg->listen[cfg->nlisten++] = val;
        return 0;
    case 'b':
        if (set_enum(&e, "backend", val, loop_backend_names, err) == -1)
            return -1;
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
        cfg->framing = (enum framing_kind)e;
        return 0;
    case OPT_ROUTE:
        if (set_enum(&e, "route", val, config_route_names, err) == -1)
            return -1;
        cfg->route = (enum route_kind)e;
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
    case OPT_MOTD:
        cfg->motd = val;
        return 0;
    case OPT_TLS_CERT:
        cfg->tls_cert = val;
        return 0;
    case OPT_TLS_KEY:
        cfg->tls_key = val;
        return 0;
    case OPT_OPER:
        if (strchr(val, ':') == NULL || val[0] == ':' ||
            val[strlen(val) - 1] == ':' || strpbrk(val, " \t\r\n") != NULL) {
            errf(err, "bad --oper '%s' (NAME:PASSWORD, no spaces)", val);
            return -1;
        }
        cfg->oper = val;
        return 0;
    case OPT_NODE_NAME:
        if (val[0] == '\0' || strlen(val) > 63 ||
            strcspn(val, " :,!@*?\t\r\n") != strlen(val)) {
            errf(err, "bad --node-name '%s' (1-63 characters, no spaces or "
                 "any of : , ! @ * ?)", val);
            return -1;
        }
        cfg->node_name = val;
        return 0;
    case OPT_CLUSTER:
        return cluster_url(cfg, val, err);
    case OPT_CLUSTER_EXPIRY:
        if (parse_long(val, 2, 3600, &n) == -1) {
            errf(err, "bad --cluster-expiry '%s' (seconds, 2 to 3600)", val);
            return -1;
        }
        cfg->cluster_expiry = (unsigned)n;
        return 0;
    case OPT_FLOOD_BURST:
    case OPT_FLOOD_RATE:
        if (parse_long(val, 0, 1000000, &n) == -1) {
            errf(err, "bad --%s '%s' (expected a number of lines, 0 to "
                 "1000000; 0 turns flood control off)",
                 opt == OPT_FLOOD_BURST ? "flood-burst" : "flood-rate", val);
            return -1;
        }
        if (opt == OPT_FLOOD_BURST)
            cfg->flood_burst = (unsigned)n;
        else
            cfg->flood_rate = (unsigned)n;
        return 0;
    case OPT_GREETING:
        if (strlen(val) > CONFIG_GREETING_MAX) {
            errf(err, "--greeting is too long (at most %d bytes)",
                 CONFIG_GREETING_MAX);
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

/* The option a config file's name stands for (a long option that takes
 * a value, but --config itself), or 0. */
static int
file_option(const char *name)
{
    const struct option *o;

    if (strcmp(name, "config") == 0)
        return 0;
    for (o = long_opts; o->name != NULL; o++)
        if (o->has_arg == required_argument && strcmp(o->name, name) == 0)
            return o->val;
    return 0;
}

/* Read path into cfg->file (owned) and cut it into lines of "name value":
 * names[i] and vals[i] point into it.  '#' starts a comment at the start
 * of a line or after a blank; a value may be put in double quotes, which
 * keep a '#' and blanks ("" is the empty value).  Returns the number of lines with an option, or -1
 * with err ("FILE:LINE: why"). */
static int
read_config(struct config *cfg, const char *path, char *names[],
            char *vals[], int lines[], int max, char err[ERR_LEN])
{
    FILE *f = fopen(path, "r");
    char *p, *end;
    int n = 0, line = 0;
    size_t len;

    if (f == NULL) {
        errf(err, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    cfg->file = xmalloc(CONFIG_FILE_MAX + 1);
    len = fread(cfg->file, 1, CONFIG_FILE_MAX + 1, f);
    fclose(f);
    if (len > CONFIG_FILE_MAX) {
        errf(err, "%s: longer than %d bytes", path, CONFIG_FILE_MAX);
        return -1;
    }
    cfg->file[len] = '\0';
    for (p = cfg->file; *p != '\0'; p = end) {
        char *name, *val, *q;

        line++;
        end = p + strcspn(p, "\n");
        if (*end == '\n')
            *end++ = '\0';
        name = p + strspn(p, " \t\r");
        if (*name == '\0' || *name == '#')
            continue;
        val = name + strcspn(name, " \t\r");
        if (*val != '\0')
            *val++ = '\0';
        val += strspn(val, " \t\r");
        if (*val == '"') {                      /* "a value # with this" */
            q = strchr(++val, '"');
            if (q == NULL) {
                errf(err, "%s:%d: no closing quote", path, line);
                return -1;
            }
            *q++ = '\0';
            q += strspn(q, " \t\r");
            if (*q != '\0' && *q != '#') {
                errf(err, "%s:%d: text after the closing quote", path, line);
                return -1;
            }
        } else {
            for (q = val; (q = strchr(q, '#')) != NULL; q++)
                if (q == val || q[-1] == ' ' || q[-1] == '\t') {
                    *q = '\0';
                    break;
                }
            len = strlen(val);
            while (len > 0 && strchr(" \t\r", val[len - 1]) != NULL)
                val[--len] = '\0';
        }
        if (file_option(name) == 0) {
            errf(err, "%s:%d: unknown option '%s'", path, line, name);
            return -1;
        }
        if (n == max) {
            errf(err, "%s:%d: more than %d options", path, line, max);
            return -1;
        }
        names[n] = name;
        vals[n] = val;
        lines[n++] = line;
    }
    return n;
}

/* The options of the config file, between the profile's defaults and the
 * command line.  A --listen in the file replaces the profile's. */
static int
apply_config(struct config *cfg, char *names[], char *vals[], int lines[],
             int n, char err[ERR_LEN])
{
    char why[ERR_LEN];
    int i, listened = 0;

    for (i = 0; i < n; i++) {
        int opt = file_option(names[i]);

        if (opt == 'l' && !listened++)
            cfg->nlisten = 0;
        if (opt == 'l')
            cfg->file_listen++;
        if (set_option(cfg, opt, vals[i], why) == -1) {
            errf(err, "%s:%d: %s", cfg->config_file, lines[i], why);
            return -1;
        }
    }
    return 0;
}

void
config_free(struct config *cfg)
{
    free(cfg->file);
    cfg->file = NULL;
}

enum config_result
config_from_args(struct config *cfg, int argc, char **argv, char err[ERR_LEN])
{
    const char *profile = find_flag(argc, argv, 'p', "profile");
    const char *file = find_flag(argc, argv, 0, "config");
    char *names[CONFIG_FILE_LINES], *vals[CONFIG_FILE_LINES];
    int lines[CONFIG_FILE_LINES], nfile = 0, i;
    int profile_listen = 1;
    int opt;

    char *file_text = NULL;

    memset(cfg, 0, sizeof(*cfg));
    if (file != NULL) {
        struct config tmp;

        memset(&tmp, 0, sizeof(tmp));
        nfile = read_config(&tmp, file, names, vals, lines, CONFIG_FILE_LINES,
                            err);
        if (nfile == -1) {
            config_free(&tmp);
            return CONFIG_USAGE;
        }
        for (i = 0; i < nfile && profile == NULL; i++)
            if (strcmp(names[i], "profile") == 0)
                profile = vals[i];
        file_text = tmp.file;
    }
    if (profile == NULL || strcmp(basename(argv[0]), "chatsrv") == 0)
        profile = "line";
    if (config_profile(cfg, profile) == -1) {
        char list[160];

        cfg->file = file_text;
        profile_list(list, sizeof(list), " or ");
        errf(err, "unknown profile '%s' (expected %s)", profile, list);
        return CONFIG_USAGE;
    }
    cfg->file = file_text;
    cfg->argc = argc;
    cfg->argv = argv;
    cfg->config_file = file;
    if (file != NULL && apply_config(cfg, names, vals, lines, nfile, err) == -1)
        return CONFIG_USAGE;
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
            cfg->listen_flags = 1;
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
        cfg->listen_flags = 1;
        if (set_option(cfg, 'l', argv[optind], err) == -1)
            return CONFIG_USAGE;
    }
    if (cfg->nlisten == 0) {
        errf(err, "the %s profile needs a port: chatd --profile %s PORT",
             cfg->profile, cfg->profile);
        return CONFIG_USAGE;
    }
    for (opt = 0; opt < (int)cfg->nlisten; opt++) {
        const char *rest;
        struct addr a;

        if (config_door(cfg, cfg->listen[opt], &rest, err) == NULL ||
            addr_parse(rest, ADDR_LISTEN, &a, err) == -1)
            return CONFIG_USAGE;
        if (config_door_is_tls(cfg->listen[opt]) &&
            (cfg->tls_cert == NULL || cfg->tls_key == NULL)) {
            errf(err, "%s needs %s FILE", cfg->listen[opt],
                 cfg->tls_cert == NULL ? "--tls-cert" : "--tls-key");
            return CONFIG_USAGE;
        }
    }
    return CONFIG_RUN;
}
