/* config.h -- what a chatd server does, as plain data.
 *
 * A profile is a named set of defaults for these fields; command-line flags
 * override them.  main() turns argv into a config (config_from_args) and
 * hands it to server_run(). */
#ifndef CHATD_CONFIG_H
#define CHATD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "server/console.h"
#include "util/err.h"
#include "util/version.h"

#define CONFIG_MAX_LISTEN 16
#define CONFIG_GREETING_MAX 4096        /* bytes of --greeting */
#define CONFIG_FLOOD_BURST  10          /* SPEC: 10 lines at once, */
#define CONFIG_FLOOD_RATE   5           /* then 5 a second */
#define CONFIG_FILE_MAX (64 * 1024)     /* bytes of a --config file */
#define CONFIG_FILE_LINES 256           /* options in it */

struct protocol;

enum framing_kind  { FRAMING_RAW, FRAMING_LINE, FRAMING_CRLF, FRAMING_PACKET };
enum route_kind    { ROUTE_NONE, ROUTE_SELF, ROUTE_OTHERS, ROUTE_ALL };
enum prefix   { PREFIX_NONE, PREFIX_ADDR, PREFIX_NICK };
enum overflow { OVERFLOW_DROP, OVERFLOW_DISCONNECT };
enum logfmt   { LOGFMT_EVENTS, LOGFMT_SINK, LOGFMT_TRACE, LOGFMT_QUIET };

struct config {
    const char   *profile;              /* borrowed: argv, the file or a
                                         * literal */
    const char   *listen[CONFIG_MAX_LISTEN];
    size_t        nlisten;
    size_t        file_listen;          /* listen lines in the --config
                                         * file */
    int           listen_flags;         /* --listen or PORT given: they
                                         * replace the file's lines */
    const char   *backend;              /* NULL: the best the OS has */
    enum framing_kind  framing;
    enum route_kind    route;
    enum prefix   prefix;
    const char   *greeting;             /* NULL or "": none */
    size_t        max_message;
    uint64_t      queue_limit;
    enum overflow on_overflow;
    unsigned      idle_timeout;         /* seconds, 0 = never */
    unsigned      max_clients;          /* 0 = as many as descriptors allow */
    enum logfmt   log;
    const char   *motd;                 /* --motd FILE, or NULL */
    const char   *tls_cert;             /* --tls-cert FILE (PEM chain) */
    const char   *tls_key;              /* --tls-key FILE (PEM) */
    const char   *oper;                 /* --oper NAME:PASSWORD, or NULL */
    const char   *node_name;            /* --node-name (the IRC server
                                         * name), or NULL */
    const char   *cluster;              /* --cluster redis://HOST:PORT, or
                                         * NULL: a node of its own */
    char          cluster_host[256];    /* ... its HOST and PORT */
    int           cluster_port;
    unsigned      cluster_expiry;       /* seconds a node's heartbeat and
                                         * its nicknames outlive it (15;
                                         * --cluster-expiry, for tests) */
    unsigned      flood_burst;          /* lines at once, then ... */
    unsigned      flood_rate;           /* ... a second: flood control of
                                         * the doors whose protocol asks
                                         * for it (IRC); 0 = off */
    /* Where it came from, to read it again on SIGHUP. */
    const char   *config_file;          /* --config FILE, or NULL */
    char         *file;                 /* owned: its text, which the
                                         * strings above may point into */
    int           argc;
    char        **argv;                 /* borrowed: main's */
    /* Set by profiles only. */
    const struct protocol *proto;       /* what the profile's doors speak */
    enum console_style     console;     /* what the console says */
    int                    backend_fixed; /* the profile allows no --backend */
    int                    pace;        /* stop reading a client whose own
                                         * queue is half full (the chats);
                                         * the echo exercises drop instead */
    int                    words;       /* "warning: " on console warnings */
};

/* Names, in enum order, NULL-terminated (for parse_enum and --help). */
extern const char *const config_framing_names[];
extern const char *const config_route_names[];
extern const char *const config_prefix_names[];
extern const char *const config_overflow_names[];
extern const char *const config_log_names[];

/* Fill cfg with the defaults of the named profile.  Returns 0, or -1 if
 * there is no such profile. */
int config_profile(struct config *cfg, const char *name);

enum config_result { CONFIG_RUN, CONFIG_EXIT_OK, CONFIG_USAGE };

/* Parse chatd's command line into cfg: the profile's defaults, then the
 * options of --config FILE (if given), then the flags, which win.
 * argv[0] named "chatsrv" means the line profile.  Returns CONFIG_RUN;
 * CONFIG_EXIT_OK after --help or --version (printed); CONFIG_USAGE with a
 * one-line reason in err ("FILE:LINE: why" for the file).  Call
 * config_free() after any of them. */
enum config_result config_from_args(struct config *cfg, int argc,
                                    char **argv, char err[ERR_LEN]);
/* Free what config_from_args() allocated (the file's text). */
void config_free(struct config *cfg);

/* Print the usage text to stream (a FILE *). */
void config_usage(void *stream);

/* The protocol of listen address text (a scheme such as "tcp://" names
 * it; none: the profile's own) and, in *rest, the address after the
 * scheme.  Returns NULL with a reason in err if the profile cannot serve
 * that scheme. */
const struct protocol *config_door(const struct config *cfg,
                                   const char *text, const char **rest,
                                   char err[ERR_LEN]);
/* True if listen address text names a TLS door (tls://, ircs://,
 * https://). */
int config_door_is_tls(const char *text);

/* The listen scheme a passed socket's FileDescriptorName= stands for
 * (name[0..len), not NUL-terminated): "line" and "tcp" the plain door
 * ("tcp://"), "irc", "http", "tls", "ircs" and "https" the doors of those
 * schemes.  Returns NULL for any other name. */
const char *config_fdname_scheme(const char *name, size_t len);
/* True if listen address text is of scheme (e.g. "irc://"): a text with
 * no scheme is "tcp://". */
int config_listen_is(const char *text, const char *scheme);

#endif
