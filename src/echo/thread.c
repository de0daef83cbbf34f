/* thread.c -- one detached thread per connection.
 *
 * The main thread accepts; each connection gets a detached thread that
 * echoes with blocking I/O.  The main thread is an event loop (src/loop/)
 * with one descriptor, the listener.  SIGINT and SIGTERM stay blocked in
 * every thread (they inherit the main thread's mask) and are let in only
 * inside the loop's wait, so a stop is never delivered to a worker.
 *
 * To stop, the main thread shuts down every live client socket, which wakes
 * the workers' blocked reads and writes, and waits for the live count to
 * reach zero.  A worker leaves the registry before it closes its socket, so
 * the main thread never shuts down a descriptor number that was reused. */
#include "echo/model.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "echo/worker.h"
#include "loop/loop.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define STOP_WAIT_S 5

struct tconn {
    struct worker_conn c;
    struct tconn      *prev, *next;     /* in the registry */
};

/* The registry of live connections, and how many threads still run. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  all_gone = PTHREAD_COND_INITIALIZER;
static struct tconn   *live;
static size_t          nthreads;

/* With lock held. */
static void
unlink_conn(struct tconn *t)
{
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        live = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
}

static void *
serve(void *arg)
{
    struct tconn *t = arg;

    worker_echo(&t->c);
    pthread_mutex_lock(&lock);
    unlink_conn(t);
    pthread_mutex_unlock(&lock);
    close(t->c.fd);
    free(t);
    /* Last: once the count drops, the main thread may return and exit. */
    pthread_mutex_lock(&lock);
    if (--nthreads == 0)
        pthread_cond_signal(&all_gone);
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* Start a thread for fd; if that fails, close the client and go on. */
static void
start(const pthread_attr_t *attr, int fd, const char *peer,
      unsigned long seq)
{
    struct tconn *t = xcalloc(1, sizeof(*t));
    pthread_t tid;
    int rc;

    t->c.fd = fd;
    snprintf(t->c.peer, sizeof(t->c.peer), "%s", peer);
    snprintf(t->c.who, sizeof(t->c.who), "thread %lu", seq);
    pthread_mutex_lock(&lock);
    t->next = live;
    if (live != NULL)
        live->prev = t;
    live = t;
    nthreads++;
    pthread_mutex_unlock(&lock);
    rc = pthread_create(&tid, attr, serve, t);
    if (rc == 0)
        return;
    pthread_mutex_lock(&lock);
    unlink_conn(t);
    nthreads--;
    pthread_mutex_unlock(&lock);
    log_warnx("cannot start a thread for %s: %s: closing it", peer,
              strerror(rc));
    close(fd);
    free(t);
}

/* Wake every worker and wait (bounded) until all have finished. */
static void
stop_threads(void)
{
    struct timespec deadline;
    struct tconn *t;
    int rc = 0;

    worker_stop();
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += STOP_WAIT_S;
    pthread_mutex_lock(&lock);
    for (t = live; t != NULL; t = t->next)
        (void)shutdown(t->c.fd, SHUT_RDWR);
    while (nthreads > 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&all_gone, &lock, &deadline);
    if (nthreads > 0)
        log_warnx("%zu threads still running after %d s: exiting anyway",
                  nthreads, STOP_WAIT_S);
    pthread_mutex_unlock(&lock);
}

static void
on_accept(struct loop *l, int lfd, int mask, void *arg)
{
    static unsigned long seq;
    char peer[ADDR_TEXT_LEN];
    int fd;

    (void)l;
    (void)mask;
    fd = worker_accept(lfd, peer, sizeof(peer));
    if (fd != -1)
        start(arg, fd, peer, ++seq);
}

int
thread_serve(const struct echo_env *e, char err[ERR_LEN])
{
    pthread_attr_t attr;
    struct loop l;
    int rc;

    if ((rc = pthread_attr_init(&attr)) != 0 ||
        (rc = pthread_attr_setdetachstate(&attr,
                                          PTHREAD_CREATE_DETACHED)) != 0) {
        errf(err, "cannot set up threads: %s", strerror(rc));
        return -1;
    }
    if (loop_init(&l, NULL, err) == -1) {
        pthread_attr_destroy(&attr);
        return -1;
    }
    /* Before the first thread starts, so that every thread inherits the
     * mask that blocks them. */
    if (worker_init() == -1 || worker_catch_stop(&l) == -1 ||
        loop_add(&l, e->lfd, LOOP_READ, on_accept, &attr) == -1) {
        errf(err, "cannot set up the loop: %s", strerror(errno));
        rc = -1;
        goto out;
    }
    echo_ready(e);
    if (loop_run(&l) == -1) {
        errf(err, "cannot wait for connections: %s", strerror(errno));
        rc = -1;
    }
    stop_threads();
    worker_report();
out:
    loop_fini(&l);
    pthread_attr_destroy(&attr);
    worker_fini();
    return rc;
}
