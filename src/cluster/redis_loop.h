/* redis_loop.h -- a hiredis async context driven by chatd's own loop.
 *
 * hiredis 0.14 asks its host loop, through five hooks (addRead, delRead,
 * addWrite, delWrite, cleanup), to watch its socket; a link maps them to
 * loop_add/loop_del, as hiredis's adapters/ae.h does for Redis's loop.
 * hiredis 0.14 has no timeouts of its own (redisAsyncSetTimeout came in
 * 1.0), so a link keeps one loop timer: while a command waits for its
 * reply (or the owner waits for something, redis_link_expect) and nothing
 * at all has been read for the deadline, the link is stalled and on_stall
 * is called; the owner then closes it.  No threads.
 *
 * A link calls on_up once its connection is made (ok != 0) or failed
 * (ok == 0), and on_down once an established connection ends, whatever the
 * cause, redis_link_close included.  After on_down or a failed on_up,
 * rl->ac is NULL and the link may be opened again. */
#ifndef CHATD_REDIS_LOOP_H
#define CHATD_REDIS_LOOP_H

#include <stdarg.h>
#include <stdint.h>

#include <hiredis/async.h>

#include "loop/loop.h"
#include "util/err.h"

struct redis_link;
typedef void redis_link_up_fn(struct redis_link *rl, int ok, void *arg);
typedef void redis_link_fn(struct redis_link *rl, void *arg);

struct redis_link {
    struct loop       *loop;        /* borrowed */
    redisAsyncContext *ac;          /* hiredis's; NULL while down */
    int                fd;
    int                mask;        /* what the loop watches for it */
    int                up;          /* connected */
    uint64_t           deadline_ms; /* stalled after this long unanswered */
    uint64_t           busy_since;  /* last read, or first wait after idle */
    int                expecting;   /* the owner waits for an answer */
    struct loop_timer  timer;       /* the deadline */
    redis_link_up_fn  *on_up;
    redis_link_fn     *on_down;
    redis_link_fn     *on_stall;
    void              *arg;         /* borrowed: the callbacks' argument */
    const char        *name;        /* static: for the log ("publisher") */
};

/* Set up rl (down) on loop l: the callbacks and their argument, and the
 * deadline of a command in milliseconds. */
void redis_link_init(struct redis_link *rl, struct loop *l, const char *name,
                     uint64_t deadline_ms, redis_link_up_fn *on_up,
                     redis_link_fn *on_down, redis_link_fn *on_stall,
                     void *arg);
/* Start connecting to host:port (non-blocking).  Returns 0 (on_up follows),
 * or -1 with a reason in err (rl stays down, no callback). */
int redis_link_open(struct redis_link *rl, const char *host, int port,
                    char err[ERR_LEN]);
/* Send a command (hiredis format); fn(ac, reply, priv) gets its reply, or
 * NULL if the link goes down first.  Returns 0, or -1 if rl is down or
 * hiredis refused (then fn is never called). */
int redis_link_command(struct redis_link *rl, redisCallbackFn *fn,
                       void *priv, const char *fmt, ...);
/* The same with arguments as argc strings of the given lengths. */
int redis_link_argv(struct redis_link *rl, redisCallbackFn *fn, void *priv,
                    int argc, const char **argv, const size_t *argvlen);
/* The owner now waits for an answer hiredis does not track (a message on
 * a subscribed link): on != 0 starts the deadline if none runs, 0 ends it
 * (answers that hiredis tracks keep theirs). */
void redis_link_expect(struct redis_link *rl, int on);
/* Drop the connection (on_down follows if it was up).  Safe when down and
 * from inside a reply callback. */
void redis_link_close(struct redis_link *rl);
/* The same, and forget the loop timer: before freeing rl. */
void redis_link_fini(struct redis_link *rl);

#endif
