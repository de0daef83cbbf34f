/* os.c -- chatbench's kernel-specific parts: see os.h.  Linux lets a
 * crowd of clients share a source address, port by port, once connected
 * (IP_BIND_ADDRESS_NO_PORT), and says when a peer sent its FIN
 * (POLLRDHUP); elsewhere the plain calls do. */
#include "bench/os.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#ifdef POLLRDHUP
#define OS_POLLRDHUP POLLRDHUP
#else
#define OS_POLLRDHUP 0
#endif

int
os_bind_loopback(int fd, unsigned host)
{
    struct sockaddr_in sin;
#ifdef IP_BIND_ADDRESS_NO_PORT
    int one = 1;

    (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                     sizeof(one));
#endif
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x7f000000u | (host & 0xffffffu));
    return bind(fd, (struct sockaddr *)&sin, sizeof(sin));
}

uint64_t
os_random_seed(void)
{
    struct timespec ts;
    uint64_t v = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    if (fd != -1) {
        ssize_t n = read(fd, &v, sizeof(v));

        close(fd);
        if (n == (ssize_t)sizeof(v))
            return v;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
           (uint64_t)getpid() << 32;
}

void
os_close_reset(int fd)
{
    struct linger lg;

    lg.l_onoff = 1;
    lg.l_linger = 0;
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

int
os_peer_closed(int fd)
{
    struct pollfd p;

    p.fd = fd;
    p.events = OS_POLLRDHUP;    /* the peer's FIN, where the kernel says */
    p.revents = 0;
    return poll(&p, 1, 0) == 1 &&
           (p.revents & (POLLHUP | POLLERR | OS_POLLRDHUP)) != 0;
}

/* The number after key in a /proc/PID/status text ("VmRSS:\t 1234 kB"),
 * or -1. */
static long
status_field(const char *text, const char *key)
{
    const char *p = strstr(text, key);

    if (p == NULL)
        return -1;
    return strtol(p + strlen(key), NULL, 10);
}

int
os_proc_read(pid_t pid, struct os_proc *out)
{
    char path[64], buf[4096], *p;
    unsigned long long ut, st;
    long hz = sysconf(_SC_CLK_TCK);
    ssize_t n;
    int fd, i;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: skip to the last
     * ')', then fields 3 (state) to 13; utime and stime are 14 and 15. */
    if ((p = strrchr(buf, ')')) == NULL)
        return -1;
    p++;
    for (i = 0; i < 11 && p != NULL; i++)
        p = strchr(p + 1, ' ');
    if (p == NULL || sscanf(p, " %llu %llu", &ut, &st) != 2)
        return -1;
    out->cpu_s = (double)(ut + st) / (double)(hz > 0 ? hz : 100);

    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    out->rss_kib = status_field(buf, "VmRSS:");
    out->hwm_kib = status_field(buf, "VmHWM:");
    return 0;
}
