/* chat.c -- the client's loop.
 *
 * Output to the server is buffered and written only when the socket is
 * writable; stdin is read only while that buffer has room, so a server
 * that stops reading slows typing, never memory.  On a terminal, the line
 * the user typed is erased when the server echoes it back, so each message
 * shows once. */
#include "client/chat.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/addr.h"
#include "net/sock.h"
#include "proto/frame.h"
#include "util/clock.h"
#include "util/xmalloc.h"

#define OUT_MAX      (256 * 1024)   /* stop reading stdin past this */
#define IN_MAX       (1024 * 1024)  /* longest packet we accept */
#define LINE_MAX_OUT (64 * 1024)    /* packet mode: longest stdin line */
#define ECHO_MAX     1024

struct buf {
    char  *data;
    size_t len, cap;
};

struct chat {
    const struct chat_config *cfg;
    int         fd;
    int         stdin_open;
    int         sent_eof;
    int         tty;                /* stdin and stdout are terminals */
    int         got_error;
    int         at_line_start;      /* what we printed ended with LF */
    struct buf  out;                /* bytes for the server */
    struct buf  in;                 /* bytes from the server, unparsed */
    struct buf  line;               /* packet mode: the stdin line so far */
    char        echo[ECHO_MAX];     /* tty: the last line sent */
    size_t      echolen;
    int         echo_armed;
    char        err[ERR_LEN];
};

static void
buf_append(struct buf *b, const void *p, size_t n)
{
    b->data = xgrow(b->data, &b->cap, b->len + n, 1);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void
buf_consume(struct buf *b, size_t n)
{
    if (n == 0)
        return;
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

static void
write_out(struct chat *ch, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, p, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
    (void)ch;
}

static void
send_packet(struct chat *ch, int type, const char *p, size_t n)
{
    char hdr[PACKET_HEADER_LEN];

    packet_header(hdr, type, n);
    buf_append(&ch->out, hdr, sizeof(hdr));
    buf_append(&ch->out, p, n);
}

/* Remember a line we sent, so its echo can replace the typed copy. */
static void
arm_echo(struct chat *ch, const char *p, size_t n)
{
    if (!ch->tty || n > ECHO_MAX)
        return;
    memcpy(ch->echo, p, n);
    ch->echolen = n;
    ch->echo_armed = 1;
}

/* stdin bytes: as they are (line mode), or one packet per line. */
static void
from_stdin(struct chat *ch, const char *p, size_t n, int eof)
{
    size_t i, start = 0;

    if (!ch->cfg->packet) {
        buf_append(&ch->out, p, n);
        for (i = 0; i < n; i++)
            if (p[i] == '\n') {
                arm_echo(ch, p + start, i - start);
                start = i + 1;
            }
        return;
    }
    for (i = 0; i < n; i++) {
        if (p[i] == '\n' || ch->line.len + (i - start) >= LINE_MAX_OUT) {
            buf_append(&ch->line, p + start, i - start);
            send_packet(ch, 1, ch->line.data, ch->line.len);
            ch->line.len = 0;
            start = p[i] == '\n' ? i + 1 : i;
        }
    }
    buf_append(&ch->line, p + start, n - start);
    if (eof && ch->line.len > 0) {
        send_packet(ch, 1, ch->line.data, ch->line.len);
        ch->line.len = 0;
    }
}

/* Print server bytes in line mode, erasing our typed line before its
 * echo on a terminal. */
static void
print_lines(struct chat *ch, const char *p, size_t n)
{
    if (!ch->tty) {
        write_out(ch, p, n);
        return;
    }
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) + 1 : n;

        if (ch->at_line_start && ch->echo_armed && nl != NULL &&
            len - 1 == ch->echolen && memcmp(p, ch->echo, ch->echolen) == 0) {
            write_out(ch, "\x1b[1A\x1b[2K", 8);
            ch->echo_armed = 0;
        }
        write_out(ch, p, len);
        ch->at_line_start = nl != NULL;
        p += len;
        n -= len;
    }
}

/* Parse and print the packets in ch->in.  Returns -1 on a framing error. */
static int
print_packets(struct chat *ch)
{
    size_t off = 0, used;
    struct frame f;
    enum frame_status st;

    while ((st = packet_next(ch->in.data + off, ch->in.len - off, IN_MAX, &f,
                             &used)) == FRAME_OK) {
        off += used;
        if (f.type == 1) {
            print_lines(ch, f.data, f.len);
            write_out(ch, "\n", 1);
            ch->at_line_start = 1;
        } else if (f.type == 2) {
            if (!ch->cfg->quiet_acks)
                write_out(ch, "ok\n", 3);
        } else if (f.type == 3) {
            fprintf(stderr, "chat: server error: %.*s\n", (int)f.len, f.data);
            errf(ch->err, "the server refused us");
            ch->got_error = 1;
        } else {
            fprintf(stderr, "chat: ignored a packet of unknown type %d\n",
                    f.type);
        }
    }
    buf_consume(&ch->in, off);
    if (st == FRAME_BAD) {
        errf(ch->err, "bad packet from the server: %s", f.why);
        return -1;
    }
    return 0;
}

/* Wait for stdin and the socket; sets *rin, *rsock, *wsock. */
static int
wait_io(struct chat *ch, int timeout_ms, int *rin, int *rsock, int *wsock)
{
    int want_in = ch->stdin_open && ch->out.len < OUT_MAX;
    int want_out = ch->out.len > 0;
    int n;

    *rin = *rsock = *wsock = 0;
    if (ch->cfg->use_select) {
        fd_set r, w;
        struct timeval tv, *tp = NULL;

        if (ch->fd >= FD_SETSIZE) {
            errno = EMFILE;
            return -1;
        }
        FD_ZERO(&r);
        FD_ZERO(&w);
        if (want_in)
            FD_SET(STDIN_FILENO, &r);
        FD_SET(ch->fd, &r);
        if (want_out)
            FD_SET(ch->fd, &w);
        if (timeout_ms >= 0) {
            tv.tv_sec = timeout_ms / 1000;
            tv.tv_usec = (timeout_ms % 1000) * 1000;
            tp = &tv;
        }
        n = select(ch->fd + 1, &r, &w, NULL, tp);
        if (n > 0) {
            *rin = want_in && FD_ISSET(STDIN_FILENO, &r);
            *rsock = FD_ISSET(ch->fd, &r);
            *wsock = FD_ISSET(ch->fd, &w);
        }
    } else {
        struct pollfd p[2];

        p[0].fd = ch->fd;
        p[0].events = (short)(POLLIN | (want_out ? POLLOUT : 0));
        p[1].fd = want_in ? STDIN_FILENO : -1;
        p[1].events = POLLIN;
        p[0].revents = p[1].revents = 0;
        n = poll(p, 2, timeout_ms);
        if (n > 0) {
            *rsock = (p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
            *wsock = (p[0].revents & (POLLOUT | POLLERR)) != 0;
            *rin = (p[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
        }
    }
    if (n == -1 && errno == EINTR)
        n = 0;
    return n;
}

/* Read stdin once. */
static void
read_stdin(struct chat *ch)
{
    char b[16384];
    ssize_t n = read(STDIN_FILENO, b, sizeof(b));

    if (n > 0) {
        from_stdin(ch, b, (size_t)n, 0);
        return;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    from_stdin(ch, b, 0, 1);
    ch->stdin_open = 0;
}

/* Read the socket once.  Returns 1 while open, 0 when the server closed,
 * -1 on an error (in ch->err). */
static int
read_sock(struct chat *ch)
{
    char b[65536];
    ssize_t n = sock_recv(ch->fd, b, sizeof(b));

    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 1;
        errf(ch->err, "connection lost: %s", strerror(errno));
        return -1;
    }
    if (n == 0)
        return 0;
    if (!ch->cfg->packet) {
        print_lines(ch, b, (size_t)n);
        return 1;
    }
    if (ch->in.len + (size_t)n > IN_MAX + PACKET_HEADER_LEN) {
        errf(ch->err, "the server sent a packet that is too long");
        return -1;
    }
    buf_append(&ch->in, b, (size_t)n);
    return print_packets(ch) == -1 ? -1 : 1;
}

static int
write_sock(struct chat *ch)
{
    ssize_t n = sock_send(ch->fd, ch->out.data, ch->out.len);

    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        errf(ch->err, "connection lost: %s", strerror(errno));
        return -1;
    }
    buf_consume(&ch->out, (size_t)n);
    return 0;
}

static int
run(struct chat *ch)
{
    uint64_t deadline = 0;

    for (;;) {
        int rin, rsock, wsock, timeout = -1, n;

        if (!ch->stdin_open && ch->out.len == 0 && !ch->sent_eof) {
            shutdown(ch->fd, SHUT_WR);  /* done sending; keep listening */
            ch->sent_eof = 1;
            deadline = clock_ms() + (uint64_t)ch->cfg->linger_ms;
        }
        if (ch->sent_eof) {
            uint64_t now = clock_ms();

            if (now >= deadline)
                return 0;
            timeout = (int)(deadline - now);
        }
        n = wait_io(ch, timeout, &rin, &rsock, &wsock);
        if (n < 0) {
            errf(ch->err, "wait failed: %s", strerror(errno));
            return -1;
        }
        if (rsock) {
            int r = read_sock(ch);

            if (r <= 0)
                return r;
        }
        if (wsock && write_sock(ch) == -1)
            return -1;
        if (rin)
            read_stdin(ch);
    }
}

int
chat_run(const struct chat_config *cfg, char err[ERR_LEN])
{
    struct chat ch;
    struct addr a;
    int rc;

    memset(&ch, 0, sizeof(ch));
    ch.cfg = cfg;
    ch.stdin_open = 1;
    ch.at_line_start = 1;
    ch.tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    sock_ignore_sigpipe();
    if (addr_get(cfg->addr, ADDR_CONNECT, &a, err) == -1)
        return 1;
    ch.fd = sock_connect(&a, err);
    if (ch.fd == -1)
        return 1;
    if (sock_set_nonblock(ch.fd, 1) == -1) {
        errf(err, "cannot set non-blocking mode: %s", strerror(errno));
        close(ch.fd);
        return 1;
    }
    if (cfg->packet)
        send_packet(&ch, 0, cfg->nick, strlen(cfg->nick));
    rc = run(&ch);
    if (rc == 0 && ch.out.len > 0 && !ch.sent_eof)
        fprintf(stderr, "chat: the server closed the connection\n");
    close(ch.fd);
    free(ch.out.data);
    free(ch.in.data);
    free(ch.line.data);
    if (rc < 0 || ch.got_error) {
        memcpy(err, ch.err, ERR_LEN);
        return 1;
    }
    return 0;
}
