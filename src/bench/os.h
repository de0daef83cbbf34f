/* os.h -- what chatbench needs from the kernel beyond POSIX: a readiness
 * poller (epoll on Linux, poll elsewhere), a source address per socket,
 * and the CPU time and memory of another process.
 *
 * This is chatbench's one file with #ifdefs (its backend, as STYLE.md §9
 * has it): the engine sees only these calls. */
#ifndef CHATD_BENCH_OS_H
#define CHATD_BENCH_OS_H

#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

#define POLLER_IN   0x1
#define POLLER_OUT  0x2
#define POLLER_HUP  0x4         /* peer closed or error; always reported */

struct poller;

struct poller_event {
    void *ptr;                  /* as given to poller_add() */
    int   mask;                 /* POLLER_* that fired */
};

/* A new poller for up to about hint descriptors.  Returns it (caller owns,
 * poller_free()), or NULL with a reason in err. */
struct poller *poller_new(int hint, char err[ERR_LEN]);
void poller_free(struct poller *p);

/* Watch fd for mask (POLLER_IN, POLLER_OUT; 0 watches for a hang-up only),
 * reporting ptr.  poller_mod() changes the mask; poller_del() stops.
 * Each returns 0 or -1 with errno. */
int poller_add(struct poller *p, int fd, int mask, void *ptr);
int poller_mod(struct poller *p, int fd, int mask, void *ptr);
int poller_del(struct poller *p, int fd);

/* Wait up to timeout_ms (-1: no limit) and fill up to max events.
 * Returns how many, 0 on time-out or EINTR, -1 with errno. */
int poller_wait(struct poller *p, struct poller_event *ev, int max,
                int timeout_ms);

/* Bind the IPv4 socket fd to source address 127.0.0.<host> with no port
 * yet, so the port is picked at connect() against the whole 4-tuple and
 * more than one address's worth of ephemeral ports can be used.  Returns
 * 0 or -1 with errno. */
int os_bind_loopback(int fd, unsigned host);

/* Close fd at once with a reset: no FIN handshake, no TIME_WAIT left
 * behind, so that tens of thousands of closes do not poison the next run. */
void os_close_reset(int fd);

/* Raise RLIMIT_NOFILE (soft, and the hard limit if we may) to at least
 * want.  Returns the soft limit now in force. */
long os_raise_fd_limit(long want);

/* Another process's CPU time and memory, from /proc. */
struct os_proc {
    double cpu_s;               /* user + system, all threads, seconds */
    long   rss_kib;             /* VmRSS */
    long   hwm_kib;             /* VmHWM: the peak RSS since it started */
};

/* Read pid's figures.  Returns 0, or -1 if they cannot be read (no such
 * process, or no /proc). */
int os_proc_read(pid_t pid, struct os_proc *out);

#endif
