/* fuzz_addr.c -- libFuzzer harness for addr_parse and addr_format.
 *
 * The input, cut at its first NUL, is an address text, parsed both for a
 * listener and for a client.  Checked, beyond "no crash":
 *   - a failure leaves a one-line, NUL-terminated reason in err;
 *   - a success is self-consistent (family, length, port, resolved, text)
 *     and round-trips: its text parses again to the very same address,
 *     with the same text;
 *   - addr_parse allocates nothing and never reads past the string.
 * The same bytes are also read as a socket address for addr_format(): its
 * output is NUL-terminated, fits the buffer it was given, and an IP
 * address reads back through addr_parse(). */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/addr.h"

#include "fuzz_util.h"

static int
parse(const char *s, enum addr_use use, struct addr *a, char *err)
{
    int rc;

    memset(a, 0xa5, sizeof(*a));        /* addr_parse must set it all */
    memset(err, 'E', ERR_LEN);
    counting = 1;
    rc = addr_parse(s, use, a, err);
    counting = 0;
    CHECK(allocs == 0);
    CHECK(rc == 0 || rc == -1);
    if (rc == -1) {
        size_t n = strnlen(err, ERR_LEN);

        CHECK(n > 0 && n < ERR_LEN);
        CHECK(memchr(err, '\n', n) == NULL || strchr(s, '\n') != NULL);
    }
    return rc;
}

static int
host_chars_ok(const char *h)
{
    return h[0] != '\0' &&
           strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789.-_") == strlen(h);
}

static void
check_parsed(const char *s, enum addr_use use, const struct addr *a)
{
    char text[ADDR_TEXT_LEN], err[ERR_LEN];
    struct addr b;

    CHECK(strnlen(a->text, sizeof(a->text)) < sizeof(a->text));
    CHECK(strnlen(a->host, sizeof(a->host)) < sizeof(a->host));
    switch (a->family) {
    case AF_UNIX:
        CHECK(strncmp(s, "unix:", 5) == 0);
        CHECK(a->resolved == 1 && a->port == -1);
        CHECK(strcmp(a->u.un.sun_path, s + 5) == 0);
        CHECK(a->len == offsetof(struct sockaddr_un, sun_path) +
                        strlen(s + 5) + 1);
        CHECK(strncmp(a->text, "unix:", 5) == 0 &&
              strcmp(a->text + 5, s + 5) == 0);
        break;
    case AF_INET:
    case AF_INET6:
        CHECK(a->resolved == 1 && a->port >= 0 && a->port <= 65535);
        CHECK(a->u.sa.sa_family == a->family);
        CHECK(a->len == (a->family == AF_INET ? sizeof(a->u.in)
                                              : sizeof(a->u.in6)));
        CHECK(ntohs(a->family == AF_INET ? a->u.in.sin_port
                                         : a->u.in6.sin6_port) == a->port);
        addr_format(&a->u.sa, a->len, text, sizeof(text));
        CHECK(strcmp(text, a->text) == 0);
        break;
    default:                            /* a host name, for addr_resolve */
        CHECK(a->family == 0 && a->resolved == 0);
        CHECK(a->port >= 0 && a->port <= 65535);
        CHECK(host_chars_ok(a->host));
        break;
    }
    /* The text reads back as the same address, and is a fixed point. */
    CHECK(parse(a->text, use, &b, err) == 0);
    CHECK(b.family == a->family && b.len == a->len && b.port == a->port);
    CHECK(b.resolved == a->resolved);
    CHECK(memcmp(&b.u, &a->u, sizeof(a->u)) == 0);
    CHECK(strcmp(b.host, a->host) == 0 && strcmp(b.text, a->text) == 0);
}

/* The same bytes as a socket address, formatted into a buffer of a size
 * the input also picks. */
static void
check_format(const uint8_t *data, size_t size)
{
    static const int families[] = { AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC };
    struct sockaddr_storage ss;
    size_t blen, salen, n;
    char *buf, err[ERR_LEN];
    struct addr a;

    if (size < 2)
        return;
    blen = data[0] % (ADDR_TEXT_LEN + 8);
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, data + 2, size - 2 < sizeof(ss) ? size - 2 : sizeof(ss));
    ss.ss_family = (sa_family_t)families[data[1] % 4];
    switch (ss.ss_family) {
    case AF_INET:  salen = sizeof(struct sockaddr_in);  break;
    case AF_INET6: salen = sizeof(struct sockaddr_in6); break;
    default:       /* accept() may give a unix length anywhere up to this */
        salen = data[1] / 4 % (sizeof(struct sockaddr_un) + 1);
        if (salen < offsetof(struct sockaddr_un, sun_path))
            salen = offsetof(struct sockaddr_un, sun_path);
        break;
    }
    buf = malloc(blen > 0 ? blen : 1);              /* exact size, for ASan */
    CHECK(buf != NULL);
    buf[0] = 'x';
    CHECK(addr_format((struct sockaddr *)&ss, (socklen_t)salen, buf, blen) ==
          buf);
    if (blen == 0) {
        CHECK(buf[0] == 'x');
        free(buf);
        return;
    }
    n = strnlen(buf, blen);
    CHECK(n < blen);
    if (ss.ss_family == AF_UNSPEC)
        CHECK(strncmp(buf, "?", blen - 1) == 0);
    if (blen >= ADDR_TEXT_LEN &&
        (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
        CHECK(parse(buf, ADDR_CONNECT, &a, err) == 0);
        CHECK(a.family == ss.ss_family && strcmp(a.text, buf) == 0);
        if (a.family == AF_INET)
            CHECK(memcmp(&a.u.in.sin_addr,
                         &((struct sockaddr_in *)&ss)->sin_addr, 4) == 0 &&
                  a.u.in.sin_port == ((struct sockaddr_in *)&ss)->sin_port);
        else
            CHECK(memcmp(&a.u.in6.sin6_addr,
                         &((struct sockaddr_in6 *)&ss)->sin6_addr, 16) == 0 &&
                  a.u.in6.sin6_port == ((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[ERR_LEN];
    struct addr a;
    char *s;

    fuzz_hook_allocs();
    s = malloc(size + 1);               /* exact size: overreads show */
    CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    s = realloc(s, strlen(s) + 1);      /* end the block at the first NUL */
    CHECK(s != NULL);
    if (parse(s, ADDR_LISTEN, &a, err) == 0)
        check_parsed(s, ADDR_LISTEN, &a);
    if (parse(s, ADDR_CONNECT, &a, err) == 0)
        check_parsed(s, ADDR_CONNECT, &a);
    free(s);
    check_format(data, size);
    return 0;
}
