/* sock.h -- socket calls with the hard parts done once.
 *
 * Every descriptor made here is non-blocking and close-on-exec (except
 * sock_connect(), which gives a blocking one to simple clients).  Listeners
 * have SO_REUSEADDR; a Unix listener replaces a stale socket file but
 * refuses a path a live server answers on.  This is the one file with an
 * #ifdef per syscall variant. */
#ifndef CHATD_SOCK_H
#define CHATD_SOCK_H

#include <stddef.h>
#include <sys/types.h>

#include "net/addr.h"
#include "util/err.h"

#define SOCK_BACKLOG 4096

/* Listen on a (resolved).  Returns the fd, or -1 with a one-line reason in
 * err, e.g. "cannot listen on 0.0.0.0:3100: Address already in use".
 * For a TCP port 0, a->text is updated to the port the kernel chose. */
int sock_listen(struct addr *a, int backlog, char err[ERR_LEN]);

/* Adopt fd, a socket the service manager passed already listening
 * (listen_env.h): check that it is a listening stream socket, make it
 * non-blocking and close-on-exec, and fill *a with the address it is bound
 * to.  Returns 0, or -1 with a one-line reason in err, e.g. "descriptor 3
 * is not a listening stream socket (a datagram socket)". */
int sock_take_listener(int fd, struct addr *a, char err[ERR_LEN]);

/* Accept one connection on lfd: non-blocking and close-on-exec.  The peer's
 * text form goes into peer (size peerlen) if peer is not NULL.  Returns
 * the fd, or -1 with errno (EAGAIN: none pending; EINTR is retried). */
int sock_accept(int lfd, char *peer, size_t peerlen);

/* Shedding at EMFILE.  Out of descriptors, a listener stays readable and
 * accept() keeps failing, so a loop would spin and the waiting client would
 * hang.  Keeping one spare descriptor lets us accept that client and close
 * it at once: it learns at once, the listener quiets down.
 *
 * Open a spare descriptor (/dev/null, close-on-exec), numbered FD_SETSIZE or
 * above when the limit allows, so it never takes a number select() could
 * have used for a client.  Returns the fd, or -1 with errno. */
int sock_spare_open(void);

/* True if err, an accept(2) error, means the process or the system is out
 * of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), rather than
 * that one client went away. */
int sock_is_shortage(int err);

/* Accept one connection on the non-blocking listener lfd, as sock_accept().
 * On a shortage (sock_is_shortage), it sheds: it closes *spare, accepts the
 * pending connection with the freed slot, closes that at once and opens a
 * new spare into *spare.  Returns the new fd, or -1 with errno:
 *   EAGAIN/EWOULDBLOCK  nothing pending;
 *   a shortage          one pending connection was shed, or, if *spare is
 *                       -1 afterwards, none could be (no spare, or no new
 *                       one): the listener may stay readable, so the caller
 *                       should stop accepting for a moment;
 *   anything else       that connection failed before we got it
 *                       (ECONNABORTED...): the next one may not.
 * Logging and counting the shortage is the caller's.  *spare is the
 * caller's to close. */
int sock_accept_or_shed(int lfd, int *spare, char *peer, size_t peerlen);

/* Connect to a (resolved), blocking.  Returns the fd (close-on-exec), or -1
 * with a reason in err, e.g. "cannot connect to 127.0.0.1:3100:
 * Connection refused". */
int sock_connect(const struct addr *a, char err[ERR_LEN]);

/* Make fd non-blocking (on != 0) or blocking.  Returns 0 or -1 (errno). */
int sock_set_nonblock(int fd, int on);
/* Disable Nagle's algorithm on a TCP socket, so a small message is sent at
 * once; harmless (and ignored) on a Unix socket. */
void sock_set_nodelay(int fd);
/* Grow fd's send buffer so that it takes about n bytes more than it holds
 * now, within what the system allows an unprivileged process (Linux:
 * net.core.wmem_max); never shrinks it.  For last words to a client whose
 * socket is full.  Returns 0 if it grew, -1 otherwise (errno). */
int sock_make_room(int fd, size_t n);
/* Set close-on-exec on fd.  Returns 0 or -1 (errno). */
int sock_set_cloexec(int fd);

/* Send without ever raising SIGPIPE; EINTR is retried.  As send(2). */
ssize_t sock_send(int fd, const void *buf, size_t len);
/* Receive; EINTR is retried.  As recv(2). */
ssize_t sock_recv(int fd, void *buf, size_t len);

/* Raise the soft RLIMIT_NOFILE to the hard limit.  Returns the new soft
 * limit (or the old one if it could not be raised). */
long sock_raise_fd_limit(void);

/* Ignore SIGPIPE for the whole process: a peer that resets while we write
 * gets EPIPE, never kills us. */
void sock_ignore_sigpipe(void);

#endif
