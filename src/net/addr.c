/* addr.c -- parse and format PORT, HOST:PORT, [IPV6]:PORT and unix:PATH. */
#include "net/addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "util/parse.h"

static int
parse_port(const char *s, int *port)
{
    long v;

    if (parse_long(s, 0, 65535, &v) == -1)
        return -1;
    *port = (int)v;
    return 0;
}

static int
parse_unix(const char *path, struct addr *a, char err[ERR_LEN])
{
    size_t n = strlen(path);

    if (n == 0) {
        errf(err, "empty unix socket path in 'unix:'");
        return -1;
    }
    if (n >= sizeof(a->u.un.sun_path)) {
        errf(err, "unix socket path too long (%zu bytes, at most %zu): %s", n,
             sizeof(a->u.un.sun_path) - 1, path);
        return -1;
    }
    a->family = AF_UNIX;
    a->u.un.sun_family = AF_UNIX;
    memcpy(a->u.un.sun_path, path, n + 1);
    a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    a->port = -1;
    a->resolved = 1;
    snprintf(a->text, sizeof(a->text), "unix:%s", path);
    return 0;
}

/* Fill a from a numeric host; 1 if host was numeric, 0 if it is a name. */
static int
fill_numeric(struct addr *a, const char *host, int port)
{
    if (inet_pton(AF_INET, host, &a->u.in.sin_addr) == 1) {
        a->family = AF_INET;
        a->u.in.sin_family = AF_INET;
        a->u.in.sin_port = htons((uint16_t)port);
        a->len = sizeof(a->u.in);
    } else if (inet_pton(AF_INET6, host, &a->u.in6.sin6_addr) == 1) {
        a->family = AF_INET6;
        a->u.in6.sin6_family = AF_INET6;
        a->u.in6.sin6_port = htons((uint16_t)port);
        a->len = sizeof(a->u.in6);
    } else {
        return 0;
    }
    a->resolved = 1;
    addr_format(&a->u.sa, a->len, a->text, sizeof(a->text));
    return 1;
}

int
addr_parse(const char *s, enum addr_use use, struct addr *a,
           char err[ERR_LEN])
{
    char host[ADDR_HOST_LEN];
    const char *colon, *portstr;
    size_t hlen;

    memset(a, 0, sizeof(*a));
    if (s == NULL || *s == '\0') {
        errf(err, "empty address");
        return -1;
    }
    if (strncmp(s, "unix:", 5) == 0)
        return parse_unix(s + 5, a, err);
    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || close[1] != ':') {
            errf(err, "bad address '%s' (expected [IPV6]:PORT)", s);
            return -1;
        }
        hlen = (size_t)(close - s - 1);
        portstr = close + 2;
        if (hlen == 0 || hlen >= sizeof(host)) {
            errf(err, "bad IPv6 address in '%s'", s);
            return -1;
        }
        memcpy(host, s + 1, hlen);
        host[hlen] = '\0';
        if (parse_port(portstr, &a->port) == -1) {
            errf(err, "bad port in '%s' (expected 0-65535)", s);
            return -1;
        }
        if (inet_pton(AF_INET6, host, &a->u.in6.sin6_addr) != 1) {
            errf(err, "bad IPv6 address in '%s'", s);
            return -1;
        }
        fill_numeric(a, host, a->port);
        return 0;
    }
    colon = strrchr(s, ':');
    if (colon == NULL) {
        if (parse_port(s, &a->port) == -1) {
            errf(err, "bad address '%s' (expected PORT, HOST:PORT, "
                 "[IPV6]:PORT or unix:PATH)", s);
            return -1;
        }
        fill_numeric(a, use == ADDR_LISTEN ? "0.0.0.0" : "127.0.0.1",
                     a->port);
        return 0;
    }
    if (strchr(s, ':') != colon) {
        errf(err, "bad address '%s' (write IPv6 as [IPV6]:PORT)", s);
        return -1;
    }
    hlen = (size_t)(colon - s);
    if (parse_port(colon + 1, &a->port) == -1) {
        errf(err, "bad port in '%s' (expected 0-65535)", s);
        return -1;
    }
    if (hlen == 0 || hlen >= sizeof(host)) {
        errf(err, "bad host in '%s'", s);
        return -1;
    }
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    if (strcmp(host, "*") == 0)
        strcpy(host, "0.0.0.0");
    if (fill_numeric(a, host, a->port))
        return 0;
    /* A name: check its characters now, resolve later. */
    if (strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789.-_") != hlen) {
        errf(err, "bad host name in '%s'", s);
        return -1;
    }
    memcpy(a->host, host, hlen + 1);
    snprintf(a->text, sizeof(a->text), "%s:%d", host, a->port);
    return 0;
}

int
addr_resolve(struct addr *a, char err[ERR_LEN])
{
    struct addrinfo hints, *res;
    char port[16];
    int rc;

    if (a->resolved)
        return 0;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    snprintf(port, sizeof(port), "%d", a->port);
    rc = getaddrinfo(a->host, port, &hints, &res);
    if (rc == EAI_BADFLAGS || rc == EAI_NONAME) {
        hints.ai_flags = AI_NUMERICSERV;    /* loopback-only machines */
        rc = getaddrinfo(a->host, port, &hints, &res);
    }
    if (rc != 0) {
        errf(err, "cannot resolve '%s': %s", a->host, gai_strerror(rc));
        return -1;
    }
    memcpy(&a->u.ss, res->ai_addr, res->ai_addrlen);
    a->len = res->ai_addrlen;
    a->family = res->ai_family;
    a->resolved = 1;
    freeaddrinfo(res);
    addr_format(&a->u.sa, a->len, a->text, sizeof(a->text));
    return 0;
}

int
addr_get(const char *s, enum addr_use use, struct addr *a, char err[ERR_LEN])
{
    if (addr_parse(s, use, a, err) == -1)
        return -1;
    return addr_resolve(a, err);
}

char *
addr_format(const struct sockaddr *sa, socklen_t salen, char *buf,
            size_t len)
{
    char host[INET6_ADDRSTRLEN];

    if (len == 0)
        return buf;
    buf[0] = '\0';
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else if (sa->sa_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t off = offsetof(struct sockaddr_un, sun_path);

        if (salen > off && un->sun_path[0] != '\0')
            snprintf(buf, len, "unix:%.*s", (int)(salen - off),
                     un->sun_path);
        else
            snprintf(buf, len, "unix");
    } else {
        snprintf(buf, len, "?");
    }
    return buf;
}

int
addr_same(const struct addr *a, const struct addr *b)
{
    if (a->family != b->family)
        return 0;
    switch (a->family) {
    case AF_INET:
        return a->u.in.sin_port == b->u.in.sin_port &&
               a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
    case AF_INET6:
        return a->u.in6.sin6_port == b->u.in6.sin6_port &&
               memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr,
                      sizeof(a->u.in6.sin6_addr)) == 0;
    case AF_UNIX:
        return strncmp(a->u.un.sun_path, b->u.un.sun_path,
                       sizeof(a->u.un.sun_path)) == 0;
    }
    return 0;
}
