/* worker.h -- what every echod model shares: counters, signals, accept,
 * and the blocking echo loop of the fork, thread and prefork workers.
 *
 * The counters belong to the process: a forked child starts again from
 * zero (worker_forget_stats), so each process reports its own on exit.
 * They are bumped by threads and by the SIGPIPE handler at the same time,
 * so they are lock-free C11 atomics: a plain sig_atomic_t makes one load or
 * one store safe, not an increment racing another thread's. */
#ifndef CHATD_ECHO_WORKER_H
#define CHATD_ECHO_WORKER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loop/loop.h"
#include "net/addr.h"
#include "util/err.h"

#define WORKER_WHO_LEN 32

/* One connection served by a blocking worker. */
struct worker_conn {
    int  fd;                        /* blocking or not: worker_echo sets it */
    char peer[ADDR_TEXT_LEN];       /* "127.0.0.1:5555" */
    char who[WORKER_WHO_LEN];       /* "pid 123" or "thread 4" */
};

/* Prepare the process: install the SIGPIPE handler that counts broken
 * connections (a write to a reset peer raises SIGPIPE: counted, and the
 * write fails with EPIPE instead of killing us) and keep a spare descriptor
 * for shedding connections when descriptors run out.  Returns 0, or -1
 * with errno. */
int worker_init(void);
/* Release the spare descriptor. */
void worker_fini(void);

/* In a freshly forked child: counters back to zero, so that the child's
 * exit report counts only its own connections. */
void worker_forget_stats(void);

/* Mark this process as stopping: connections ending from now on are
 * logged as "server stopping", not broken.  Async-signal-safe. */
void worker_stop(void);
int  worker_is_stopping(void);

/* Make SIGINT and SIGTERM stop l: caught by the loop (loop_catch_signal),
 * each marks the process as stopping (worker_stop) and ends loop_run().
 * Replaces l's signal callback.  Returns 0, or -1 with errno. */
int worker_catch_stop(struct loop *l);

/* Serve c with worker_echo() so that a stop request can end it at once:
 * SIGINT and SIGTERM are handled by marking the process as stopping
 * (worker_stop) and shutting c->fd down, which ends a blocked read or
 * write, and the signal mask is waitmask while serving (which must let
 * them in).  Afterwards the old mask is back, the handlers stay: a caller
 * that goes on waiting installs its own again.  Returns 0, or -1 with
 * errno if the signals could not be set up (then nothing was served). */
int worker_serve_stoppable(const struct worker_conn *c,
                           const sigset_t *waitmask);

/* Accept one connection on the non-blocking listener lfd (as
 * sock_accept()).  Out of descriptors, it accepts and closes one pending
 * connection with the spare descriptor, so the listener does not stay
 * readable for nothing, and logs that (at most once a second).  Returns the
 * fd, or -1 with errno (EAGAIN: nothing to serve now). */
int worker_accept(int lfd, char *peer, size_t peerlen);

/* Serve c with blocking I/O until the client closes or the connection
 * breaks: log "New connection from PEER (WHO)", echo every byte (EINTR is
 * retried, short writes completed), then log how it ended.  Writes go
 * through write(2), not MSG_NOSIGNAL, so a broken pipe is seen by the
 * SIGPIPE handler.  The caller keeps c->fd and closes it. */
void worker_echo(const struct worker_conn *c);

/* Count a new connection (event model; worker_echo counts its own). */
void worker_count_conn(void);
/* Log the end of a connection: error is 0 for an orderly close, or the
 * errno that broke it, which counts it as broken. */
void worker_log_end(const char *peer, const char *who, int error,
                    uint64_t bytes);

/* Ask the child processes in pids[0..n) (entries <= 0 are skipped) to
 * stop with SIGTERM, wait for them, and SIGKILL those still running after
 * wait_ms.  Every child is reaped and its entry set to 0.  Call with
 * SIGCHLD blocked or handled elsewhere than in a reaper of its own. */
void worker_stop_children(pid_t *pids, size_t n, unsigned wait_ms);

/* Log this process's totals: "pid N exiting: C connections, B broken,
 * S SIGPIPE". */
void worker_report(void);

#endif
