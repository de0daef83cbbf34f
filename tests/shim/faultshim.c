/* faultshim.c -- an LD_PRELOAD shim that makes socket I/O misbehave the
 * way the kernel is allowed to.
 *
 * read, write, writev, send, recv and accept4 on a socket sometimes return
 * a short count, EINTR, or (on a non-blocking socket only) EAGAIN, at
 * random from a seed, before the real call would have done anything, so
 * every injected result is one the real call could have given.  A program
 * that handles partial I/O and transient errors correctly behaves exactly
 * as it does without the shim; one that does not loses or repeats bytes.
 * Descriptors that are not sockets (the console, files) are left alone.
 *
 *   LD_PRELOAD=build/faultshim.so FAULTSHIM_SEED=42 FAULTSHIM_RATE=0.2 cmd
 *
 * FAULTSHIM_RATE is the probability that a call is disturbed (default 0.1;
 * 0 turns the shim off).  With FAULTSHIM_STATS=PATH, one line of counts is
 * appended to PATH at exit, so a test can tell that faults were injected.
 * Each injected short count is at least one byte: a zero would mean EOF. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define SHIM_IOV_MAX 1024

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t threshold;          /* disturb when next32() < threshold */
static int enabled;
static unsigned long n_calls, n_eintr, n_eagain, n_short;

static uint64_t
next64(void)
{
    /* xorshift64*: small, seedable, good enough to pick faults */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dULL;
}

static uint32_t
next32(void)
{
    return (uint32_t)(next64() >> 32);
}

static void *
must_sym(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);

    if (p == NULL) {
        fprintf(stderr, "faultshim: no %s: %s\n", name, dlerror());
        abort();
    }
    return p;
}

__attribute__((constructor)) static void
shim_init(void)
{
    const char *seed = getenv("FAULTSHIM_SEED");
    const char *rate = getenv("FAULTSHIM_RATE");
    double r = rate != NULL ? strtod(rate, NULL) : 0.1;

    real_read = must_sym("read");
    real_write = must_sym("write");
    real_writev = must_sym("writev");
    real_send = must_sym("send");
    real_recv = must_sym("recv");
    real_accept4 = must_sym("accept4");
    if (seed != NULL)
        rng ^= strtoull(seed, NULL, 0) * 0x9e3779b97f4a7c15ULL;
    if (rng == 0)
        rng = 1;
    if (r > 1.0)
        r = 1.0;
    enabled = r > 0.0;
    threshold = (uint32_t)(r * 4294967295.0);
}

__attribute__((destructor)) static void
shim_fini(void)
{
    const char *path = getenv("FAULTSHIM_STATS");
    char line[160];
    int fd, n;

    if (path == NULL)
        return;
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd == -1)
        return;
    n = snprintf(line, sizeof(line),
                 "calls=%lu eintr=%lu eagain=%lu short=%lu\n", n_calls,
                 n_eintr, n_eagain, n_short);
    (void)real_write(fd, line, (size_t)n);
    close(fd);
}

enum fault { F_NONE, F_EINTR, F_EAGAIN, F_SHORT };

/* What to do to this call of len bytes on fd; dontwait: MSG_DONTWAIT was
 * given.  EAGAIN only where the real call could return it. */
static enum fault
pick(int fd, int dontwait, size_t len)
{
    struct stat st;
    int nonblock;
    uint32_t kind;

    if (!enabled || fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode))
        return F_NONE;
    n_calls++;
    if (next32() >= threshold)
        return F_NONE;
    nonblock = dontwait || (fcntl(fd, F_GETFL) & O_NONBLOCK);
    kind = next32() % 3;
    if (kind == 2 && len > 1)
        return F_SHORT;
    if (kind == 1 && nonblock)
        return F_EAGAIN;
    return F_EINTR;
}

/* A length in [1, len - 1] (len > 1). */
static size_t
shorter(size_t len)
{
    n_short++;
    return 1 + (size_t)(next64() % (len - 1));
}

static ssize_t
fail(enum fault f)
{
    if (f == F_EAGAIN) {
        n_eagain++;
        errno = EAGAIN;
    } else {
        n_eintr++;
        errno = EINTR;
    }
    return -1;
}

ssize_t
read(int fd, void *buf, size_t len)
{
    enum fault f = pick(fd, 0, len);

    if (f == F_SHORT)
        len = shorter(len);
    else if (f != F_NONE)
        return fail(f);
    return real_read(fd, buf, len);
}

ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
    enum fault f = pick(fd, flags & MSG_DONTWAIT, len);

    if (f == F_SHORT)
        len = shorter(len);
    else if (f != F_NONE)
        return fail(f);
    return real_recv(fd, buf, len, flags);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
    enum fault f = pick(fd, 0, len);

    if (f == F_SHORT)
        len = shorter(len);
    else if (f != F_NONE)
        return fail(f);
    return real_write(fd, buf, len);
}

ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
    enum fault f = pick(fd, flags & MSG_DONTWAIT, len);

    if (f == F_SHORT)
        len = shorter(len);
    else if (f != F_NONE)
        return fail(f);
    return real_send(fd, buf, len, flags);
}

ssize_t
writev(int fd, const struct iovec *iov, int iovcnt)
{
    struct iovec cut[SHIM_IOV_MAX];
    size_t total = 0, want;
    enum fault f;
    int i;

    for (i = 0; i < iovcnt && i < SHIM_IOV_MAX; i++)
        total += iov[i].iov_len;
    f = pick(fd, 0, iovcnt <= SHIM_IOV_MAX ? total : 0);
    if (f == F_NONE)
        return real_writev(fd, iov, iovcnt);
    if (f != F_SHORT)
        return fail(f);
    /* The same pieces, cut after `want` bytes. */
    want = shorter(total);
    for (i = 0; want > 0; i++) {
        cut[i] = iov[i];
        if (cut[i].iov_len > want)
            cut[i].iov_len = want;
        want -= cut[i].iov_len;
    }
    return real_writev(fd, cut, i);
}

int
accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
    enum fault f = pick(fd, 0, 0);

    if (f != F_NONE)
        return fail(f);
    return real_accept4(fd, sa, len, flags);
}
