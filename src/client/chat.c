/* chat.c -- the client: stdin and the socket, two descriptors on one loop.
 *
 * Output to the server is buffered and written only when the socket is
 * writable; stdin is watched only while that buffer has room, so a server
 * that stops reading slows typing, never memory.  Before each wait, plan()
 * says what is worth watching now.  On a terminal, the line the user typed
 * is erased when the server echoes it back, so each message shows once. */
#include "client/chat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/loop.h"
#include "net/addr.h"
#include "net/sock.h"
#include "proto/frame.h"
#include "util/io.h"
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
    struct loop loop;
    struct loop_timer linger;       /* armed at our half-close */
    struct loop_timer stdin_ready;  /* stdin the backend cannot watch */
    int         fd;
    int         stdin_open;
    int         stdin_always_ready; /* a file, /dev/null under epoll */
    int         sent_eof;
    int         rc;                 /* run()'s result once stopped */
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

/* Our terminal or pipe: if it is gone there is no one to tell. */
static void
write_out(const char *p, size_t n)
{
    (void)io_write_all(STDOUT_FILENO, p, n);
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

/* Is line[0..len) the server's echo of what we typed: the same text (the
 * line chat), or "NICK: " and the same text (the chat profile)? */
static int
is_echo(const struct chat *ch, const char *line, size_t len)
{
    size_t pre;

    if (len == ch->echolen)
        return memcmp(line, ch->echo, len) == 0;
    if (len < ch->echolen + 3)
        return 0;
    pre = len - ch->echolen - 2;
    return memcmp(line + pre, ": ", 2) == 0 &&
           memcmp(line + pre + 2, ch->echo, ch->echolen) == 0 &&
           memchr(line, ' ', pre) == NULL;
}

/* Print server bytes in line mode, erasing our typed line before its
 * echo on a terminal. */
static void
print_lines(struct chat *ch, const char *p, size_t n)
{
    if (!ch->tty) {
        write_out(p, n);
        return;
    }
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) + 1 : n;

        if (ch->at_line_start && ch->echo_armed && nl != NULL &&
            is_echo(ch, p, len - 1)) {
            write_out("\x1b[1A\x1b[2K", 8);
            ch->echo_armed = 0;
        }
        write_out(p, len);
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
            write_out("\n", 1);
            ch->at_line_start = 1;
        } else if (f.type == 2) {
            if (!ch->cfg->quiet_acks)
                write_out("ok\n", 3);
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

static void
finish(struct chat *ch, int rc)
{
    ch->rc = rc;
    loop_stop(&ch->loop);
}

static void
on_sock(struct loop *l, int fd, int mask, void *arg)
{
    struct chat *ch = arg;

    (void)l;
    (void)fd;
    if (mask & LOOP_READ) {
        int r = read_sock(ch);

        if (r <= 0) {
            finish(ch, r);
            return;
        }
    }
    if ((mask & LOOP_WRITE) && write_sock(ch) == -1)
        finish(ch, -1);
}

static void
on_stdin(struct loop *l, int fd, int mask, void *arg)
{
    (void)l;
    (void)fd;
    (void)mask;
    read_stdin(arg);
}

static void
on_stdin_ready(struct loop *l, void *arg)
{
    (void)l;
    read_stdin(arg);
}

static void
on_linger(struct loop *l, void *arg)
{
    (void)l;
    finish(arg, 0);
}

/* Watch stdin (on != 0) or stop.  epoll refuses a regular file or
 * /dev/null (EPERM); such a descriptor is always ready, so a timer due at
 * once reads it instead, pass after pass, until it ends or our buffer
 * fills.  Returns 0, or -1 with errno. */
static int
watch_stdin(struct chat *ch, int on)
{
    if (!on) {
        loop_del(&ch->loop, STDIN_FILENO, LOOP_READ);
        loop_timer_stop(&ch->loop, &ch->stdin_ready);
        return 0;
    }
    if (!ch->stdin_always_ready) {
        if (loop_add(&ch->loop, STDIN_FILENO, LOOP_READ, on_stdin, ch) == 0)
            return 0;
        if (errno != EPERM)
            return -1;
        ch->stdin_always_ready = 1;
    }
    loop_timer_start(&ch->loop, &ch->stdin_ready, 0, 0, on_stdin_ready, ch);
    return 0;
}

/* Before each wait: watch stdin only while there is room for what it
 * brings, the socket for writing only while something waits to go.  Once
 * stdin has ended and all is sent, half-close and give the server
 * linger_ms to answer. */
static void
plan(struct loop *l, void *arg)
{
    struct chat *ch = arg;
    int rc;

    if (ch->out.len > 0)
        rc = loop_add(l, ch->fd, LOOP_WRITE, on_sock, ch);
    else {
        loop_del(l, ch->fd, LOOP_WRITE);
        rc = 0;
    }
    if (rc == -1 ||
        watch_stdin(ch, ch->stdin_open && ch->out.len < OUT_MAX) == -1) {
        errf(ch->err, "cannot wait for input: %s", strerror(errno));
        finish(ch, -1);
        return;
    }
    if (!ch->stdin_open && ch->out.len == 0 && !ch->sent_eof) {
        shutdown(ch->fd, SHUT_WR);  /* done sending; keep listening */
        ch->sent_eof = 1;
        loop_timer_start(l, &ch->linger, (uint64_t)ch->cfg->linger_ms, 0,
                         on_linger, ch);
    }
}

/* Serve stdin and the socket until the server closes, the linger after
 * our half-close is over, or something breaks.  Returns 0, or -1 with a
 * reason in ch->err. */
static int
run(struct chat *ch)
{
    if (loop_add(&ch->loop, ch->fd, LOOP_READ, on_sock, ch) == -1) {
        errf(ch->err, "cannot wait for the server: %s", strerror(errno));
        return -1;
    }
    loop_before_wait(&ch->loop, plan, ch);
    if (loop_run(&ch->loop) == -1) {
        errf(ch->err, "wait failed: %s", strerror(errno));
        return -1;
    }
    return ch->rc;
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
    loop_timer_init(&ch.linger);
    loop_timer_init(&ch.stdin_ready);
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
    if (loop_init(&ch.loop, cfg->backend != NULL ? cfg->backend : "poll",
                  err) == -1) {
        close(ch.fd);
        return 1;
    }
    if (cfg->packet)
        send_packet(&ch, 0, cfg->nick, strlen(cfg->nick));
    rc = run(&ch);
    if (rc == 0 && ch.out.len > 0 && !ch.sent_eof)
        fprintf(stderr, "chat: the server closed the connection\n");
    loop_fini(&ch.loop);
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
