/* redis_loop.c -- hiredis's five event hooks on chatd's loop, and the
 * deadline hiredis 0.14 lacks. */
#include "cluster/redis_loop.h"

#include <errno.h>
#include <string.h>

#include "util/log.h"

static void
on_fd(struct loop *l, int fd, int mask, void *arg)
{
    struct redis_link *rl = arg;

    if ((mask & LOOP_READ) && rl->ac != NULL) {
        rl->busy_since = loop_now(l);   /* any byte is a sign of life */
        redisAsyncHandleRead(rl->ac);
    }
    /* Reading may have ended the link, or stopped the writing. */
    if ((mask & LOOP_WRITE) && rl->ac != NULL && rl->fd == fd &&
        (loop_mask(l, fd) & LOOP_WRITE))
        redisAsyncHandleWrite(rl->ac);
}

static void
watch(struct redis_link *rl, int mask)
{
    if ((rl->mask & mask) == mask)
        return;
    if (loop_add(rl->loop, rl->fd, mask, on_fd, rl) == -1) {
        log_warn("cluster: cannot watch the %s link", rl->name);
        return;
    }
    rl->mask |= mask;
}

static void
unwatch(struct redis_link *rl, int mask)
{
    if ((rl->mask & mask) == 0)
        return;
    loop_del(rl->loop, rl->fd, mask);
    rl->mask &= ~mask;
}

static void add_read(void *p) { watch(p, LOOP_READ); }
static void del_read(void *p) { unwatch(p, LOOP_READ); }
static void add_write(void *p) { watch(p, LOOP_WRITE); }
static void del_write(void *p) { unwatch(p, LOOP_WRITE); }
static void cleanup(void *p) { unwatch(p, LOOP_READ | LOOP_WRITE); }

/* Is somebody waiting for Redis on rl? */
static int
waiting(const struct redis_link *rl)
{
    return rl->ac != NULL &&
           (!rl->up || rl->expecting || rl->ac->replies.head != NULL);
}

static void
on_deadline(struct loop *l, void *arg)
{
    struct redis_link *rl = arg;
    uint64_t now = loop_now(l), due = rl->busy_since + rl->deadline_ms;

    if (!waiting(rl))
        return;
    if (now < due) {
        loop_timer_start(l, &rl->timer, due - now, 0, on_deadline, rl);
        return;
    }
    log_warnx("cluster: the %s link is stalled (no answer in %llu ms)",
              rl->name, (unsigned long long)(now - rl->busy_since));
    rl->on_stall(rl, rl->arg);
}

/* Somebody starts waiting: the deadline runs from now if nobody was. */
static void
start_wait(struct redis_link *rl)
{
    if (!waiting(rl))
        rl->busy_since = loop_now(rl->loop);
    if (!loop_timer_is_armed(&rl->timer))
        loop_timer_start(rl->loop, &rl->timer, rl->deadline_ms, 0,
                         on_deadline, rl);
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
    struct redis_link *rl = ac->data;

    if (status != REDIS_OK) {
        /* hiredis frees the context when this returns. */
        rl->ac = NULL;
        rl->up = 0;
        loop_timer_stop(rl->loop, &rl->timer);
        rl->on_up(rl, 0, rl->arg);
        return;
    }
    rl->up = 1;
    rl->busy_since = loop_now(rl->loop);
    rl->on_up(rl, 1, rl->arg);
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis_link *rl = ac->data;

    (void)status;
    rl->ac = NULL;
    rl->up = 0;
    rl->expecting = 0;
    loop_timer_stop(rl->loop, &rl->timer);
    if (rl->on_down != NULL)
        rl->on_down(rl, rl->arg);
}

void
redis_link_init(struct redis_link *rl, struct loop *l, const char *name,
                uint64_t deadline_ms, redis_link_up_fn *on_up,
                redis_link_fn *on_down, redis_link_fn *on_stall, void *arg)
{
    memset(rl, 0, sizeof(*rl));
    rl->loop = l;
    rl->name = name;
    rl->fd = -1;
    rl->deadline_ms = deadline_ms;
    rl->on_up = on_up;
    rl->on_down = on_down;
    rl->on_stall = on_stall;
    rl->arg = arg;
    loop_timer_init(&rl->timer);
}

int
redis_link_open(struct redis_link *rl, const char *host, int port,
                char err[ERR_LEN])
{
    redisAsyncContext *ac;

    if (rl->ac != NULL) {
        errf(err, "the %s link is open already", rl->name);
        return -1;
    }
    ac = redisAsyncConnect(host, port);
    if (ac == NULL || ac->err) {
        errf(err, "cannot connect to Redis at %s:%d: %s", host, port,
             ac != NULL ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        return -1;
    }
    rl->ac = ac;
    rl->fd = ac->c.fd;
    rl->mask = 0;
    rl->up = 0;
    rl->expecting = 0;
    ac->data = rl;
    ac->ev.data = rl;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    /* A non-blocking connect completes when the socket turns writable. */
    add_write(rl);
    start_wait(rl);
    return 0;
}

int
redis_link_command(struct redis_link *rl, redisCallbackFn *fn, void *priv,
                   const char *fmt, ...)
{
    va_list ap;
    int rc;

    if (rl->ac == NULL || !rl->up)
        return -1;
    start_wait(rl);
    va_start(ap, fmt);
    rc = redisvAsyncCommand(rl->ac, fn, priv, fmt, ap);
    va_end(ap);
    return rc == REDIS_OK ? 0 : -1;
}

int
redis_link_argv(struct redis_link *rl, redisCallbackFn *fn, void *priv,
                int argc, const char **argv, const size_t *argvlen)
{
    if (rl->ac == NULL || !rl->up)
        return -1;
    start_wait(rl);
    return redisAsyncCommandArgv(rl->ac, fn, priv, argc, argv, argvlen) ==
                   REDIS_OK
               ? 0
               : -1;
}

void
redis_link_expect(struct redis_link *rl, int on)
{
    if (on && !rl->expecting) {
        start_wait(rl);
        rl->expecting = 1;
    } else if (!on) {
        rl->expecting = 0;
    }
}

void
redis_link_close(struct redis_link *rl)
{
    redisAsyncContext *ac = rl->ac;
    int connected, deferred;

    if (ac == NULL)
        return;
    connected = (ac->c.flags & REDIS_CONNECTED) != 0;
    deferred = (ac->c.flags & REDIS_IN_CALLBACK) != 0;
    /* Pending callbacks get NULL; on_disconnect follows if connected
     * (now, or when the running callback returns). */
    redisAsyncFree(ac);
    if (!connected && !deferred) {
        rl->ac = NULL;
        rl->up = 0;
        loop_timer_stop(rl->loop, &rl->timer);
    }
}

void
redis_link_fini(struct redis_link *rl)
{
    rl->on_down = NULL;
    redis_link_close(rl);
    loop_timer_stop(rl->loop, &rl->timer);
}
