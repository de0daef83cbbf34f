/* io.c -- whole writes on any descriptor. */
#include "util/io.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

int
io_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n == -1) {
            struct pollfd pfd = { fd, POLLOUT, 0 };

            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return -1;
            /* Full for now: sleep until it drains, not in a spin. */
            if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
                return -1;
            continue;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
