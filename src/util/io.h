/* io.h -- whole writes on any descriptor.
 *
 * write(2) may take part of a buffer, be interrupted, or (on a
 * non-blocking descriptor) refuse for now.  io_write_all() hides all
 * three, for the places that must send everything before going on: the
 * console, echod's blocking workers, the client's terminal. */
#ifndef CHATD_IO_H
#define CHATD_IO_H

#include <stddef.h>

/* Write all len bytes of buf to fd with write(2), resuming short writes
 * and retrying EINTR; on EAGAIN (a non-blocking descriptor that is full)
 * it waits with poll() until fd takes more.  Returns 0, or -1 with errno
 * (EPIPE: the reader is gone; as for write(2), that raises SIGPIPE unless
 * the process ignores or handles it).  On -1, an unknown part of buf may
 * have been written. */
int io_write_all(int fd, const void *buf, size_t len);

#endif
