/* fanout.c -- the ceiling: a bare line fan-out server, for `make bench`.
 *
 * It does nothing but what any broadcast server must: read each pass's
 * complete lines into one buffer and send that buffer to every client,
 * keeping what a full socket did not take.  No framing limits, no
 * console, no policies.  chatd's server CPU per delivery is compared with
 * this program's on the same load (SPEC: at most 1.3x).  Not installed;
 * bench/run.sh builds it as build/fanout.
 *
 *   fanout PORT            listen on 127.0.0.1:PORT */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXFD     65536
#define READ_MAX  (64 * 1024)
#define LINE_MAX_ (4 * 1024)
#define BACKLOG_MAX (1024 * 1024)

struct client {
    int    on;
    char   part[LINE_MAX_];     /* a partial line */
    size_t plen;
    char  *out;                 /* what the socket did not take */
    size_t olen, ocap;
};

static struct client *clients[MAXFD];
static char *pass;
static size_t passlen, passcap;
static int ep;

static void
drop(int fd)
{
    struct client *c = clients[fd];

    clients[fd] = NULL;
    close(fd);
    free(c->out);
    free(c);
}

static void
append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n > *cap) {
        *cap = (*len + n) * 2;
        *buf = realloc(*buf, *cap);
        if (*buf == NULL)
            abort();
    }
    memcpy(*buf + *len, data, n);
    *len += n;
}

static void
on_read(int fd)
{
    struct client *c = clients[fd];
    static char rbuf[READ_MAX];
    ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);
    char *p = rbuf, *nl;

    if (n <= 0) {
        if (n < 0 && errno == EAGAIN)
            return;
        drop(fd);
        return;
    }
    /* Complete lines join the pass; a tail waits in part. */
    while ((nl = memchr(p, '\n', (size_t)(rbuf + n - p))) != NULL) {
        size_t len = (size_t)(nl + 1 - p);

        if (c->plen > 0) {
            append(&pass, &passlen, &passcap, c->part, c->plen);
            c->plen = 0;
        }
        append(&pass, &passlen, &passcap, p, len);
        p = nl + 1;
    }
    if (p < rbuf + n && c->plen + (size_t)(rbuf + n - p) <= LINE_MAX_) {
        memcpy(c->part + c->plen, p, (size_t)(rbuf + n - p));
        c->plen += (size_t)(rbuf + n - p);
    }
}

static void
want_write(int fd, int on)
{
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0),
                             .data.fd = fd};

    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void
on_write(int fd)
{
    struct client *c = clients[fd];
    ssize_t n = send(fd, c->out, c->olen, MSG_NOSIGNAL);

    if (n < 0) {
        if (errno != EAGAIN)
            drop(fd);
        return;
    }
    memmove(c->out, c->out + n, c->olen - (size_t)n);
    c->olen -= (size_t)n;
    if (c->olen == 0)
        want_write(fd, 0);
}

/* The pass's lines to every client: one send each. */
static void
fan_out(int maxfd)
{
    int fd;

    for (fd = 0; fd <= maxfd; fd++) {
        struct client *c = clients[fd];
        ssize_t n = 0;

        if (c == NULL)
            continue;
        if (c->olen == 0) {
            n = send(fd, pass, passlen, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno != EAGAIN) {
                drop(fd);
                continue;
            }
            if (n < 0)
                n = 0;
            if ((size_t)n == passlen)
                continue;
            want_write(fd, 1);
        }
        if (c->olen + passlen - (size_t)n > BACKLOG_MAX) {
            drop(fd);
            continue;
        }
        append(&c->out, &c->olen, &c->ocap, pass + n, passlen - (size_t)n);
    }
    passlen = 0;
}

int
main(int argc, char **argv)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    struct epoll_event evs[1024], ev = {.events = EPOLLIN};
    int lfd, one = 1, maxfd = 0, i, n;

    if (argc != 2) {
        fprintf(stderr, "usage: fanout PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    sin.sin_port = htons((unsigned short)atoi(argv[1]));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
        listen(lfd, 4096) == -1) {
        perror("fanout: listen");
        return 1;
    }
    ep = epoll_create1(0);
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    fprintf(stderr, "fanout: listening on 127.0.0.1:%s\n", argv[1]);
    for (;;) {
        n = epoll_wait(ep, evs, 1024, -1);
        for (i = 0; i < n; i++) {
            int fd = evs[i].data.fd;

            if (fd == lfd) {
                int c;

                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (c >= MAXFD) {
                        close(c);
                        continue;
                    }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one,
                               sizeof(one));
                    /* A greeting, so a line client knows it is in. */
                    (void)!send(c, "Welcome to fanout\n", 18, MSG_NOSIGNAL);
                    clients[c] = calloc(1, sizeof(struct client));
                    ev.data.fd = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                    if (c > maxfd)
                        maxfd = c;
                }
                continue;
            }
            if (clients[fd] != NULL && (evs[i].events & EPOLLOUT))
                on_write(fd);
            if (clients[fd] != NULL &&
                (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                on_read(fd);
        }
        if (passlen > 0)
            fan_out(maxfd);
    }
}
