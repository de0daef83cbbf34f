/* os.h -- what chatbench needs from the kernel beyond POSIX and src/net:
 * a source address per socket, a reset instead of a close, whether a peer
 * hung up, and the CPU time and memory of another process.
 *
 * This is chatbench's one file with #ifdefs (its backend, as STYLE.md §9
 * has it): the engine sees only these calls. */
#ifndef CHATD_BENCH_OS_H
#define CHATD_BENCH_OS_H

#include <stdint.h>
#include <sys/types.h>

/* Bind the IPv4 socket fd to source address 127.0.0.<host> with no port
 * yet, so the port is picked at connect() against the whole 4-tuple and
 * more than one address's worth of ephemeral ports can be used.  Returns
 * 0 or -1 with errno. */
int os_bind_loopback(int fd, unsigned host);

/* Close fd at once with a reset: no FIN handshake, no TIME_WAIT left
 * behind, so that tens of thousands of closes do not poison the next run. */
void os_close_reset(int fd);

/* Has the peer of connected socket fd closed or reset the connection
 * (whatever it sent before may still be unread)?  Asks without waiting
 * and without reading. */
int os_peer_closed(int fd);

/* 64 unpredictable bits from /dev/urandom or, failing that, the clock
 * and the process id: the seed of a run's WebSocket keys and masks. */
uint64_t os_random_seed(void);

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
