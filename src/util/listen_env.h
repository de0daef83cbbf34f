/* listen_env.h -- the listening sockets a service manager passes.
 *
 * systemd (and systemd-socket-activate, and others that speak the same
 * protocol) starts a server with its listening sockets already open, as
 * descriptors 3, 4, ... and describes them in three environment
 * variables: LISTEN_PID (the process they are for), LISTEN_FDS (how many)
 * and LISTEN_FDNAMES (their FileDescriptorName=s, colon-separated).
 * listen_env_parse() reads those texts and nothing else: no I/O, no
 * globals, no allocation, so it can be unit-tested and fuzzed; checking
 * the descriptors themselves is sock_take_listener()'s job. */
#ifndef CHATD_LISTEN_ENV_H
#define CHATD_LISTEN_ENV_H

#include <stddef.h>

#include "util/err.h"

#define LISTEN_ENV_FD_START 3       /* the first passed descriptor */
#define LISTEN_ENV_MAX      64      /* more is a mistake, not a server */
#define LISTEN_ENV_NAME_MAX 255     /* systemd's FileDescriptorName= limit */

struct listen_env_fd {
    int         fd;
    const char *name;   /* points INTO the LISTEN_FDNAMES text; not
                         * NUL-terminated; "" (namelen 0) when unnamed */
    size_t      namelen;
};

/* The descriptors that pid was passed, from the texts of LISTEN_PID,
 * LISTEN_FDS and LISTEN_FDNAMES (each NULL when unset).  Returns how many
 * (0 when LISTEN_PID or LISTEN_FDS is unset, or LISTEN_PID names another
 * process: they are not ours), filling out[0..n) in descriptor order; or
 * -1 with a one-line reason in err when a text is malformed: a number
 * that is not one, more than max (at most LISTEN_ENV_MAX) descriptors,
 * as many names as descriptors missing, a name longer than
 * LISTEN_ENV_NAME_MAX or with a control character. */
int listen_env_parse(const char *pid_text, const char *fds_text,
                     const char *names_text, long pid,
                     struct listen_env_fd out[], size_t max,
                     char err[ERR_LEN]);

#endif
