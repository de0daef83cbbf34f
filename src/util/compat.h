/* compat.h -- the few portability shims chatd needs, in one place.
 *
 * Everything that differs between Linux and the BSDs and is not a whole
 * backend or a socket-call variant lives here, so that no other file needs
 * an #ifdef of its own. */
#ifndef CHATD_COMPAT_H
#define CHATD_COMPAT_H

#include <sys/socket.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0          /* BSD/macOS: SIGPIPE is ignored at start-up */
#endif

#if defined(__linux__)
#define HAVE_EPOLL 1
#define HAVE_PPOLL 1
#endif
#if defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || \
    defined(__APPLE__) || defined(__DragonFly__)
#define HAVE_KQUEUE 1
#endif
#if defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || \
    defined(__DragonFly__)
#define HAVE_PPOLL 1
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
