/* addr.h -- the address forms every chatd binary accepts.
 *
 *   PORT            0.0.0.0:PORT for a listener, 127.0.0.1:PORT for a client
 *   HOST:PORT       IPv4 literal or a host name (resolved, first answer)
 *   [IPV6]:PORT     IPv6 literal
 *   unix:PATH       Unix stream socket
 *
 * addr_parse() only splits and checks the text; numeric forms are filled in
 * at once, names are resolved by addr_resolve().  addr_format() writes the
 * text form of a socket address ("127.0.0.1:54321", "[::1]:5555",
 * "unix:/tmp/s"). */
#ifndef CHATD_ADDR_H
#define CHATD_ADDR_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util/err.h"

#define ADDR_HOST_LEN 256
#define ADDR_TEXT_LEN (ADDR_HOST_LEN + 8)  /* "host:65535", "unix:" + path */

enum addr_use { ADDR_LISTEN, ADDR_CONNECT };

struct addr {
    int       family;           /* AF_INET, AF_INET6, AF_UNIX */
    socklen_t len;              /* of the sockaddr in u */
    union {
        struct sockaddr         sa;
        struct sockaddr_in      in;
        struct sockaddr_in6     in6;
        struct sockaddr_un      un;
        struct sockaddr_storage ss;
    } u;
    int  resolved;              /* 0 while host still needs addr_resolve() */
    int  port;                  /* TCP port, or -1 for unix */
    char host[ADDR_HOST_LEN];   /* the host as written (unresolved names) */
    char text[ADDR_TEXT_LEN];   /* canonical text, e.g. "0.0.0.0:3100" */
};

/* Parse s into *a.  A bare PORT means all interfaces for ADDR_LISTEN and
 * the loopback for ADDR_CONNECT.  Numeric hosts are filled in completely;
 * a host name leaves a->resolved == 0 for addr_resolve().  Returns 0, or -1
 * with a one-line reason in err.  Pure: no I/O, no allocation. */
int addr_parse(const char *s, enum addr_use use, struct addr *a,
               char err[ERR_LEN]);

/* Resolve a->host if addr_parse() left it unresolved (getaddrinfo, first
 * IPv4 or IPv6 answer).  Returns 0, or -1 with a reason in err. */
int addr_resolve(struct addr *a, char err[ERR_LEN]);

/* addr_parse() then addr_resolve(). */
int addr_get(const char *s, enum addr_use use, struct addr *a,
             char err[ERR_LEN]);

/* True if a and b (both resolved) are the same socket address: family,
 * IP address and port, or Unix path. */
int addr_same(const struct addr *a, const struct addr *b);

/* Write the text form of sa into buf (size len, NUL-terminated):
 * "1.2.3.4:5", "[::1]:5", "unix:PATH", or "unix" for an unnamed peer.
 * Returns buf. */
char *addr_format(const struct sockaddr *sa, socklen_t salen, char *buf,
                  size_t len);

#endif
