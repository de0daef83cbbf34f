/* listen_env.c -- LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES, parsed.
 *
 * The rules are sd_listen_fds_with_names()'s (systemd's sd-daemon(3)),
 * written again here so that chatd needs no libsystemd: the variables are
 * for us only when LISTEN_PID is our pid (a child that inherited them must
 * not take its parent's sockets), and names, when given, come one per
 * descriptor. */
#include "util/listen_env.h"

#include <limits.h>
#include <string.h>

#include "util/parse.h"

/* A number's text for a message: at most 32 bytes, each one that is not
 * printable ASCII shown as '?', so the message stays one line. */
static const char *
shown(const char *text, char buf[33])
{
    size_t i;

    for (i = 0; i < 32 && text[i] != '\0'; i++)
        buf[i] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
    buf[i] = '\0';
    return buf;
}

int
listen_env_parse(const char *pid_text, const char *fds_text,
                 const char *names_text, long pid, struct listen_env_fd out[],
                 size_t max, char err[ERR_LEN])
{
    const char *p;
    char buf[33];
    long want, n;
    size_t i, len;

    if (pid_text == NULL || fds_text == NULL)
        return 0;
    if (parse_long(pid_text, 1, LONG_MAX, &want) == -1) {
        errf(err, "bad LISTEN_PID '%s' (expected a process id)",
             shown(pid_text, buf));
        return -1;
    }
    if (want != pid)
        return 0;
    if (max > LISTEN_ENV_MAX)
        max = LISTEN_ENV_MAX;
    if (parse_long(fds_text, 0, LONG_MAX, &n) == -1) {
        errf(err, "bad LISTEN_FDS '%s' (expected a count)",
             shown(fds_text, buf));
        return -1;
    }
    if ((unsigned long)n > max) {
        errf(err, "LISTEN_FDS %ld: more descriptors than the %zu taken", n,
             max);
        return -1;
    }
    for (i = 0, p = names_text; i < (size_t)n; i++) {
        out[i].fd = LISTEN_ENV_FD_START + (int)i;
        out[i].name = "";
        out[i].namelen = 0;
        if (names_text == NULL)
            continue;
        if (p == NULL) {
            errf(err, "LISTEN_FDNAMES has %zu name(s) for %ld descriptors", i,
                 n);
            return -1;
        }
        len = strcspn(p, ":");
        if (len > LISTEN_ENV_NAME_MAX) {
            errf(err, "LISTEN_FDNAMES: name %zu is longer than %d bytes", i + 1,
                 LISTEN_ENV_NAME_MAX);
            return -1;
        }
        out[i].name = p;
        out[i].namelen = len;
        p = p[len] == ':' ? p + len + 1 : NULL;
    }
    if (names_text != NULL && n > 0 && p != NULL) {
        errf(err, "LISTEN_FDNAMES has more names than the %ld descriptors", n);
        return -1;
    }
    for (i = 0; i < (size_t)n; i++) {
        size_t j;

        for (j = 0; j < out[i].namelen; j++)
            if ((unsigned char)out[i].name[j] < 0x20 ||
                out[i].name[j] == 0x7f) {
                errf(err,
                     "LISTEN_FDNAMES: name %zu has a control "
                     "character",
                     i + 1);
                return -1;
            }
    }
    return (int)n;
}
