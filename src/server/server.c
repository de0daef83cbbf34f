/* server.c -- listeners, shedding at EMFILE, the end of each pass, and
 * server_run().
 *
 * Each listener is a door: clients accepted on it speak its protocol
 * (conn.c runs their lives).  Once per pass, before the loop sleeps, the
 * route hands out what was gathered for groups, every client with new
 * output is flushed, and the clients closed during the pass are freed. */
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/sock.h"
#include "net/tls.h"
#include "proto/utf8.h"
#include "util/compat.h"
#include "util/listen_env.h"
#include "util/xmalloc.h"

#define ACCEPTS_PER_PASS 64         /* a connect storm cannot starve clients */
#define RESUME_ACCEPT_MS 100        /* out of descriptors with no spare */
#define MOTD_MAX         (16 * 1024)

static void on_accept(struct loop *l, int fd, int mask, void *arg);
static int read_motd(const char *path, char **out, size_t *outlen,
                     char err[ERR_LEN]);
static void reload(struct server *srv);

void
server_pause_listeners(struct server *srv, int pause)
{
    size_t i;

    for (i = 0; i < srv->nlisteners; i++) {
        struct listener *li = srv->listeners[i];

        if (pause && !li->paused)
            loop_del(&srv->loop, li->fd, LOOP_READ);
        else if (!pause && li->paused &&
                 loop_add(&srv->loop, li->fd, LOOP_READ, on_accept, li) == -1)
            continue;
        li->paused = pause;
    }
}

static void
on_resume(struct loop *l, void *arg)
{
    struct server *srv = arg;

    (void)l;
    if (srv->spare_fd < 0)
        srv->spare_fd = sock_spare_open();
    if (!srv->one_at_a_time || srv->conns.n == 0)
        server_pause_listeners(srv, 0);
}

/* Out of descriptors: say so (once a second), and if not even the spare
 * could shed the waiting client, stop listening for a moment. */
static void
short_of_fds(struct server *srv)
{
    srv->shed++;
    metrics_count(&srv->metrics, METRIC_REFUSED_FDS, 1);
    if (log_limit_allow(&srv->emfile_warn, loop_now(&srv->loop), 1000))
        log_warnx("out of file descriptors (%s): shedding new connections "
                  "(%llu so far)", strerror(errno),
                  (unsigned long long)srv->shed);
    if (srv->spare_fd >= 0)
        return;
    server_pause_listeners(srv, 1);
    loop_timer_start(&srv->loop, &srv->resume, RESUME_ACCEPT_MS, 0, on_resume,
                     srv);
}

static void
on_accept(struct loop *l, int lfd, int mask, void *arg)
{
    struct listener *li = arg;
    struct server *srv = li->srv;
    char peer[CONN_PEER_LEN];
    int i, fd;

    (void)l;
    (void)mask;
    for (i = 0; i < ACCEPTS_PER_PASS && !li->paused; i++) {
        fd = sock_accept_or_shed(lfd, &srv->spare_fd, peer, sizeof(peer));
        if (fd == -1) {
            if (sock_is_shortage(errno)) {
                short_of_fds(srv);
                continue;
            }
            if (errno == ECONNABORTED || errno == EPROTO || errno == EPERM)
                continue;       /* that one gave up; try the next */
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                log_warn("accept on %s", li->addr.text);
            return;
        }
        if (srv->cfg->max_clients > 0 &&
            srv->conns.n >= srv->cfg->max_clients) {
            log_warnx("refused %s: server full (%u clients)", peer,
                      srv->cfg->max_clients);
            metrics_count(&srv->metrics, METRIC_REFUSED_FULL, 1);
            close(fd);
            continue;
        }
        if (li->addr.family != AF_UNIX)
            sock_set_nodelay(fd);   /* chat lines are small: no Nagle */
        conn_new(&srv->conns, &li->door, fd, peer);
    }
}

/* Once per pass, before sleeping: hand out what the route gathered, flush
 * every client with new output, then free the clients that were closed
 * (whose leaving may tell others, so round again until nothing is left). */
static void
before_wait(struct loop *l, void *arg)
{
    struct server *srv = arg;
    struct timespec ts;
    uint64_t ms;

    if (srv->cluster != NULL)
        cluster_settle(srv->cluster);
    do {
        route_settle(&srv->route);
        conn_set_flush(&srv->conns);
    } while (conn_set_reap(&srv->conns) > 0);
    /* Blocks nobody holds a slice of go, so an idle server holds none. */
    route_trim(&srv->route);
    log_flush();
    /* The pass began when the loop woke (its clock was read then). */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    srv->metrics.v[METRIC_LOOP_PASSES]++;
    if (ms > loop_now(l) && (ms - loop_now(l)) * 1000 >
                                srv->metrics.longest_pass_us)
        srv->metrics.longest_pass_us = (ms - loop_now(l)) * 1000;
}

static void
on_signal(struct loop *l, int signo, void *arg)
{
    if (signo == SIGINT || signo == SIGTERM) {
        log_debug("signal %d: stopping", signo);
        loop_stop(l);
    } else if (signo == SIGHUP) {
        reload(arg);
    } else {
        log_debug("signal %d ignored", signo);
    }
}

static const struct framing *
framing_of(enum framing_kind f)
{
    static const struct framing *const framings[] = {
        [FRAMING_RAW] = &framing_raw, [FRAMING_LINE] = &framing_line,
        [FRAMING_CRLF] = &framing_crlf, [FRAMING_PACKET] = &framing_packet,
    };

    return framings[f];
}

/* What clients of li speak, from listen address text (its scheme, the
 * profile, the options of cfg); *rest is the address after the scheme. */
static int
door_setup(struct server *srv, const struct config *cfg, struct listener *li,
           const char *text, const char **rest, char err[ERR_LEN])
{
    memset(li, 0, sizeof(*li));
    li->fd = -1;
    li->text = text;
    li->door.proto = config_door(cfg, text, rest, err);
    if (li->door.proto == NULL)
        return -1;
    li->srv = srv;
    li->door.srv = srv;
    li->door.framing = li->door.proto->framing != NULL
                           ? li->door.proto->framing
                           : framing_of(cfg->framing);
    li->door.max_message = li->door.proto->max_message != 0
                               ? li->door.proto->max_message
                               : cfg->max_message;
    if (li->door.proto->flood) {
        li->door.flood_burst = cfg->flood_burst;
        li->door.flood_rate = cfg->flood_rate;
    }
    if (config_door_is_tls(text)) {
        if (cfg->tls_cert == NULL || cfg->tls_key == NULL) {
            errf(err, "%s needs --tls-cert and --tls-key", text);
            return -1;
        }
        if (srv->tls == NULL &&
            (srv->tls = tls_ctx_new(cfg->tls_cert, cfg->tls_key, err)) ==
                NULL)
            return -1;
        li->door.tls = srv->tls;
    }
    return 0;
}

/* Count li in (its fd is open; srv owns it now) and watch it. */
static int
listener_start(struct server *srv, struct listener *li, char err[ERR_LEN])
{
    srv->listeners[srv->nlisteners++] = li;
    if (loop_add(&srv->loop, li->fd, LOOP_READ, on_accept, li) == -1) {
        errf(err, "cannot watch %s: %s", li->addr.text, strerror(errno));
        return -1;
    }
    log_notice("listening on %s (profile %s, backend %s%s%s)", li->addr.text,
               srv->cfg->profile, loop_backend_name(&srv->loop),
               li->door.tls != NULL ? ", TLS" : "",
               li->passed ? ", passed by the service manager" : "");
    return 0;
}

/* A listening socket passed in LISTEN_FDS (socket activation). */
struct passed {
    int         fd;             /* -1 once a door took it or it closed */
    char        name[LISTEN_ENV_NAME_MAX + 1];
    const char *scheme;         /* the door its name names, or NULL */
    struct addr addr;           /* where it is bound */
};

/* Take the sockets passed to this process: LISTEN_* parsed, then unset
 * (as sd_listen_fds(1) does: children must not take them), each checked
 * and made non-blocking and close-on-exec.  Returns how many are in
 * p[0..n), or -1 with err (those already in p are open). */
static int
take_passed(struct passed p[LISTEN_ENV_MAX], int *n, char err[ERR_LEN])
{
    struct listen_env_fd env[LISTEN_ENV_MAX];
    char why[ERR_LEN];
    int i, got;

    *n = 0;
    got = listen_env_parse(getenv("LISTEN_PID"), getenv("LISTEN_FDS"),
                           getenv("LISTEN_FDNAMES"), (long)getpid(), env,
                           LISTEN_ENV_MAX, why);
    for (i = 0; i < got; i++) {
        p[i].fd = env[i].fd;
        memcpy(p[i].name, env[i].name, env[i].namelen);
        p[i].name[env[i].namelen] = '\0';
        p[i].scheme = config_fdname_scheme(env[i].name, env[i].namelen);
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    if (got == -1) {
        errf(err, "socket activation: %s", why);
        return -1;
    }
    *n = got;
    for (i = 0; i < got; i++)
        if (sock_take_listener(p[i].fd, &p[i].addr, why) == -1) {
            errf(err, "socket activation: %s%s%s%s", why,
                 p[i].name[0] != '\0' ? " (FileDescriptorName=" : "",
                 p[i].name, p[i].name[0] != '\0' ? ")" : "");
            return -1;
        }
    return got;
}

/* The passed socket that stands for listen address text (a, parsed):
 * one named for its door, the one bound at a if several are; else one
 * with no door's name bound at a.  NULL if none. */
static struct passed *
passed_for(struct passed p[], int n, const char *text, const struct addr *a)
{
    struct passed *named = NULL;
    int i;

    for (i = 0; i < n; i++)
        if (p[i].fd != -1 && p[i].scheme != NULL &&
            config_listen_is(text, p[i].scheme)) {
            if (a->resolved && addr_same(&p[i].addr, a))
                return &p[i];
            if (named == NULL)
                named = &p[i];
        }
    if (named != NULL)
        return named;
    for (i = 0; i < n; i++)
        if (p[i].fd != -1 && p[i].scheme == NULL && a->resolved &&
            addr_same(&p[i].addr, a))
            return &p[i];
    return NULL;
}

static void
adopt(struct listener *li, struct passed *p)
{
    li->fd = p->fd;
    li->addr = p->addr;
    li->passed = 1;
    p->fd = -1;
}

/* Passed sockets no configured address took: one named for a door this
 * profile has becomes that door (the units are configuration too); any
 * other is closed with a warning. */
static int
adopt_the_rest(struct server *srv, struct passed p[], int n,
               char err[ERR_LEN])
{
    char why[ERR_LEN], name[2 * LISTEN_ENV_NAME_MAX];
    const char *rest;
    int i;

    for (i = 0; i < n; i++) {
        struct listener *li;

        if (p[i].fd == -1)
            continue;
        log_escape(name, sizeof(name), p[i].name, strlen(p[i].name));
        li = xmalloc(sizeof(*li));
        if (p[i].scheme != NULL && srv->nlisteners < CONFIG_MAX_LISTEN &&
            door_setup(srv, srv->cfg, li, p[i].scheme, &rest, why) == 0) {
            adopt(li, &p[i]);
            if (listener_start(srv, li, err) == -1)
                return -1;
            continue;
        }
        free(li);
        if (p[i].scheme == NULL)
            snprintf(why, sizeof(why), "%s", name[0] != '\0'
                     ? "no door has that name, nor is one configured there"
                     : "no door is configured there");
        else if (srv->nlisteners == CONFIG_MAX_LISTEN)
            snprintf(why, sizeof(why), "more than %d doors",
                     CONFIG_MAX_LISTEN);
        close(p[i].fd);         /* before saying so */
        log_warnx("socket activation: descriptor %d (%s) on %s not used: "
                  "%s; closed", p[i].fd, name[0] != '\0' ? name : "unnamed",
                  p[i].addr.text, why);
        p[i].fd = -1;
    }
    return 0;
}

/* Every door: a socket the service manager passed for it, or one we open;
 * then the passed sockets that nothing configured asked for. */
static int
open_listeners(struct server *srv, char err[ERR_LEN])
{
    const struct config *cfg = srv->cfg;
    struct passed *p = xcalloc(LISTEN_ENV_MAX, sizeof(*p));
    struct passed *got;
    const char *rest;
    int n, i, rc = -1;
    size_t k;

    if (take_passed(p, &n, err) == -1)
        goto done;
    for (k = 0; k < cfg->nlisten; k++) {
        struct listener *li = xmalloc(sizeof(*li));

        if (door_setup(srv, cfg, li, cfg->listen[k], &rest, err) == -1 ||
            addr_get(rest, ADDR_LISTEN, &li->addr, err) == -1) {
            free(li);
            goto done;
        }
        got = passed_for(p, n, cfg->listen[k], &li->addr);
        if (got != NULL)
            adopt(li, got);
        else if ((li->fd = sock_listen(&li->addr, SOCK_BACKLOG, err)) == -1) {
            free(li);
            goto done;
        }
        if (listener_start(srv, li, err) == -1)
            goto done;
    }
    rc = adopt_the_rest(srv, p, n, err);
done:
    for (i = 0; i < n; i++)
        if (p[i].fd != -1)
            close(p[i].fd);
    free(p);
    return rc;
}

/* True if one of li[0..n) speaks p. */
static bool
spoken(struct listener *const li[], size_t n, const struct protocol *p)
{
    size_t i;

    for (i = 0; i < n && li[i]->door.proto != p; i++)
        continue;
    return i < n;
}

/* Each protocol in use sets up what its doors share, once: those that
 * none of before[0..nbefore) speaks (the doors before a reload; none at
 * the start). */
static void
setup_protocols(struct server *srv, struct listener *const before[],
                size_t nbefore)
{
    size_t i;

    for (i = 0; i < srv->nlisteners; i++) {
        const struct protocol *p = srv->listeners[i]->door.proto;

        if (!spoken(before, nbefore, p) && !spoken(srv->listeners, i, p) &&
            p->setup != NULL)
            p->setup(srv);
    }
}

/* Read the message of the day: its lines cleaned as chat text is (no
 * control characters, valid UTF-8), joined by LF, in place of the old one
 * (path NULL: none).  Returns 0, or -1 with a reason in err and the old
 * one kept. */
static int
load_motd(struct server *srv, const char *path, char err[ERR_LEN])
{
    char *motd;
    size_t len;

    if (path == NULL) {
        free(srv->motd);
        srv->motd = NULL;
        srv->motdlen = 0;
        return 0;
    }
    if (read_motd(path, &motd, &len, err) == -1)
        return -1;
    free(srv->motd);
    srv->motd = motd;
    srv->motdlen = len;
    return 0;
}

static int
read_motd(const char *path, char **out, size_t *outlen, char err[ERR_LEN])
{
    char *raw = xmalloc(MOTD_MAX), *line, *end;
    size_t n = 0, len;
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        errf(err, "cannot read the MOTD %s: %s", path, strerror(errno));
        free(raw);
        return -1;
    }
    n = fread(raw, 1, MOTD_MAX - 1, f);
    fclose(f);
    raw[n] = '\0';
    *out = xmalloc(3 * n + 1);
    *outlen = 0;
    for (line = raw; line < raw + n; line = end + 1) {
        end = memchr(line, '\n', (size_t)(raw + n - line));
        if (end == NULL)
            end = raw + n;
        len = text_clean(*out + *outlen, 3 * (size_t)(end - line), line,
                         (size_t)(end - line), 0);
        *outlen += len;
        (*out)[(*outlen)++] = '\n';
    }
    free(raw);
    return 0;
}

/* What the cluster hands back for local clients. */
static void
local_to_room(void *ctx, const struct hub_event *ev, const struct user *except)
{
    struct server *srv = ctx;

    route_to_room(&srv->route, ev, except);
}

static void
local_to_user(void *ctx, struct user *u, const struct hub_event *ev)
{
    struct server *srv = ctx;

    route_to_user(&srv->route, u, ev);
}

static const struct cluster_ops cluster_ops = {local_to_room, local_to_user};

/* In a cluster, the cluster sees each event first (cluster.h). */
static void
hub_to_room(void *ctx, const struct hub_event *ev, const struct user *except)
{
    struct server *srv = ctx;

    if (srv->cluster == NULL ||
        !cluster_room_event(srv->cluster, ev, except))
        route_to_room(&srv->route, ev, except);
}

static void
hub_to_user(void *ctx, struct user *u, const struct hub_event *ev)
{
    struct server *srv = ctx;

    if (srv->cluster == NULL || !cluster_user_event(srv->cluster, u, ev))
        route_to_user(&srv->route, u, ev);
}

static void
hub_presence(void *ctx, struct user *u, bool online)
{
    struct server *srv = ctx;

    if (srv->cluster != NULL)
        cluster_presence(srv->cluster, u, online);
}

static void
hub_settle(void *ctx)
{
    struct server *srv = ctx;

    route_settle(&srv->route);
}

static bool
hub_elsewhere(void *ctx, const struct hub_event *ev)
{
    struct server *srv = ctx;

    return srv->cluster != NULL && cluster_tell(srv->cluster, ev);
}

static const struct hub_ops hub_ops = {hub_to_room, hub_to_user, hub_settle,
                                        hub_presence, NULL};
/* In a cluster, a nickname not known here may be another node's. */
static const struct hub_ops cluster_hub_ops = {
    hub_to_room, hub_to_user, hub_settle, hub_presence, hub_elsewhere};

static enum log_level
level_of(enum logfmt f)
{
    return f == LOGFMT_QUIET ? LOG_QUIET : f == LOGFMT_TRACE ? LOG_TRACE
                                                            : LOG_EVENTS;
}

static bool
same_text(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* What a reload cannot change while clients are connected: say so, and
 * keep the running value.  (The listeners can change: see plan_make().) */
static void
keep_for_restart(struct config *fresh, const struct config *old)
{
#define KEEP(cond, what)                                                    \
    do {                                                                    \
        if (cond)                                                           \
            log_warnx("reload: %s changed: that takes a restart", what);  \
    } while (0)
    KEEP(!same_text(fresh->profile, old->profile), "profile");
    KEEP(!same_text(fresh->backend, old->backend), "backend");
    KEEP(fresh->framing != old->framing, "framing");
    KEEP(fresh->route != old->route, "route");
    KEEP(fresh->prefix != old->prefix, "prefix");
    KEEP(fresh->max_message != old->max_message, "max-message");
    KEEP((fresh->log == LOGFMT_SINK) != (old->log == LOGFMT_SINK), "log");
#undef KEEP
    fresh->profile = old->profile;
    fresh->backend = old->backend;
    fresh->framing = old->framing;
    fresh->route = old->route;
    fresh->prefix = old->prefix;
    fresh->max_message = old->max_message;
    fresh->proto = old->proto;
    fresh->console = old->console;
    fresh->pace = old->pace;
    if ((fresh->log == LOGFMT_SINK) != (old->log == LOGFMT_SINK))
        fresh->log = old->log;
}

/* --- listeners at a reload ------------------------------------------- */

/* The clients still open that came through li. */
static size_t
clients_of(const struct server *srv, const struct listener *li)
{
    const struct conn *c;
    size_t n = 0;

    for (c = srv->conns.all; c != NULL; c = c->next)
        n += c->door == &li->door && c->state != CONN_CLOSED;
    return n;
}

/* Stop accepting on li (which srv->listeners no longer holds): its
 * socket closed, unless a new door took it (handed), and its Unix socket
 * file removed if we made it.  Its door lives on in srv->closed while a
 * client that came through it does. */
static void
listener_retire(struct server *srv, struct listener *li, int handed)
{
    if (!handed) {
        if (!li->paused)
            loop_del(&srv->loop, li->fd, LOOP_READ);
        close(li->fd);
        if (li->addr.family == AF_UNIX && !li->passed)
            unlink(li->addr.u.un.sun_path);
    }
    li->fd = -1;
    srv->closed = xrealloc(srv->closed,
                           (srv->nclosed + 1) * sizeof(*srv->closed));
    srv->closed[srv->nclosed++] = li;
}

/* Free the closed listeners whose last client has gone. */
static void
prune_closed(struct server *srv)
{
    const struct conn *c;
    size_t i, n = 0;

    for (i = 0; i < srv->nclosed; i++) {
        for (c = srv->conns.all; c != NULL; c = c->next)
            if (c->door == &srv->closed[i]->door)
                break;
        if (c == NULL)
            free(srv->closed[i]);
        else
            srv->closed[n++] = srv->closed[i];
    }
    srv->nclosed = n;
}

/* The address part of listen address text (after its scheme). */
static const char *
place_of(const char *text)
{
    const char *sep = strstr(text, "://");

    return sep != NULL ? sep + 3 : text;
}

/* True if listen address texts a and b name the same door kind ("3100"
 * is "tcp://3100"). */
static bool
same_scheme(const char *a, const char *b)
{
    const char *sa = strstr(a, "://"), *sb = strstr(b, "://");

    if (sa == NULL || sb == NULL)
        return config_listen_is(sa == NULL ? b : a, "tcp://");
    return sa - a == sb - b && strncmp(a, b, (size_t)(sa - a)) == 0;
}

/* True if text names the line of old config cfg (the very string). */
static bool
was_configured(const struct config *cfg, const char *text)
{
    size_t i;

    for (i = 0; i < cfg->nlisten && cfg->listen[i] != text; i++)
        continue;
    return i < cfg->nlisten;
}

/* What becomes of a listener at a reload. */
enum { PLAN_GONE, PLAN_KEPT, PLAN_HANDED, PLAN_OPENED };

/* A reload's listeners, in their new order: next[k] serves the fresh
 * config's line k (then come the passed sockets no line asks for); how[k]
 * says whether it is an old one (PLAN_KEPT), a new door on the socket an
 * old one handed over (PLAN_HANDED), or a new door on a socket just
 * opened (PLAN_OPENED).  was[i] says what becomes of old listener i:
 * PLAN_KEPT, PLAN_HANDED, or PLAN_GONE (closed). */
struct plan {
    struct listener *next[CONFIG_MAX_LISTEN];
    int              how[CONFIG_MAX_LISTEN];
    int              was[CONFIG_MAX_LISTEN];
    size_t           n;
    struct tls_ctx  *tls_before;        /* srv->tls before the reload */
};

/* The old listener not yet taken whose line is text itself, but for
 * "tcp://" or not (no lookup); or -1. */
static int
old_by_text(const struct server *srv, const struct plan *pl,
            const char *text)
{
    const struct listener *li;
    size_t i;

    for (i = 0; i < srv->nlisteners; i++) {
        li = srv->listeners[i];
        if (pl->was[i] == PLAN_GONE && same_scheme(li->text, text) &&
            strcmp(place_of(li->text), place_of(text)) == 0)
            return (int)i;
    }
    return -1;
}

/* The old listener not yet taken that is bound at a; or -1. */
static int
old_at(const struct server *srv, const struct plan *pl, const struct addr *a)
{
    size_t i;

    for (i = 0; i < srv->nlisteners && a->resolved; i++)
        if (pl->was[i] == PLAN_GONE &&
            addr_same(&srv->listeners[i]->addr, a))
            return (int)i;
    return -1;
}

/* Undo plan pl (made in part): close what it opened, free what it made. */
static void
plan_undo(struct server *srv, struct plan *pl)
{
    struct listener *li;
    size_t k;

    for (k = 0; k < pl->n; k++) {
        li = pl->next[k];
        if (li == NULL || pl->how[k] == PLAN_KEPT)
            continue;
        if (pl->how[k] == PLAN_OPENED) {
            if (!li->paused)
                loop_del(&srv->loop, li->fd, LOOP_READ);
            close(li->fd);
            if (li->addr.family == AF_UNIX)
                unlink(li->addr.u.un.sun_path);
        }
        free(li);
    }
    if (pl->tls_before == NULL && srv->tls != NULL) {
        tls_ctx_free(srv->tls);         /* made for a new TLS door */
        srv->tls = NULL;
    }
}

/* A listener for fresh line k, which no old one serves by its very text:
 * the old one bound at the same address if its door is of the same kind
 * (kept), or its socket under the new door (handed over: there is no
 * moment without a listener there), or a socket opened and watched now.
 * Returns 0, or -1 with err. */
static int
plan_line(struct server *srv, struct plan *pl, size_t k,
          const struct config *fresh, char err[ERR_LEN])
{
    const char *text = fresh->listen[k], *rest;
    struct listener *li = xmalloc(sizeof(*li)), *old;
    int i;

    if (door_setup(srv, fresh, li, text, &rest, err) == -1 ||
        addr_get(rest, ADDR_LISTEN, &li->addr, err) == -1)
        goto fail;
    i = old_at(srv, pl, &li->addr);
    old = i >= 0 ? srv->listeners[i] : NULL;
    if (old != NULL && same_scheme(old->text, text)) {
        pl->was[i] = pl->how[k] = PLAN_KEPT;
        pl->next[k] = old;
        free(li);
        return 0;
    }
    if (old != NULL && old->passed) {
        errf(err, "%s: the service manager passed the socket at %s for "
             "another door; changing that takes a restart of the socket "
             "unit", text, old->addr.text);
        goto fail;
    }
    li->paused = srv->nlisteners > 0 && srv->listeners[0]->paused;
    if (old != NULL) {
        pl->was[i] = pl->how[k] = PLAN_HANDED;
        li->fd = old->fd;
        li->addr = old->addr;
        pl->next[k] = li;
        return 0;
    }
    if ((li->fd = sock_listen(&li->addr, SOCK_BACKLOG, err)) == -1)
        goto fail;
    if (!li->paused &&
        loop_add(&srv->loop, li->fd, LOOP_READ, on_accept, li) == -1) {
        errf(err, "cannot watch %s: %s", li->addr.text, strerror(errno));
        close(li->fd);
        if (li->addr.family == AF_UNIX)
            unlink(li->addr.u.un.sun_path);
        goto fail;
    }
    pl->how[k] = PLAN_OPENED;
    pl->next[k] = li;
    return 0;
fail:
    free(li);
    return -1;
}

/* Match each line of fresh to a listener: first to an old one with the
 * same line as written (no lookup, no system call: the usual reload),
 * then each other line as plan_line() does.  The passed sockets no line
 * asks for stay, after them.  Returns 0, or -1 with err and everything
 * as it was. */
static int
plan_make(struct server *srv, struct plan *pl, const struct config *fresh,
          char err[ERR_LEN])
{
    size_t k, i;
    int old;

    memset(pl, 0, sizeof(*pl));
    pl->tls_before = srv->tls;
    pl->n = fresh->nlisten;
    for (k = 0; k < fresh->nlisten; k++)
        if ((old = old_by_text(srv, pl, fresh->listen[k])) != -1) {
            pl->was[old] = pl->how[k] = PLAN_KEPT;
            pl->next[k] = srv->listeners[old];
        }
    for (k = 0; k < fresh->nlisten; k++)
        if (pl->next[k] == NULL && plan_line(srv, pl, k, fresh, err) == -1)
            goto fail;
    for (i = 0; i < srv->nlisteners; i++) {
        if (pl->was[i] != PLAN_GONE || !srv->listeners[i]->passed)
            continue;
        if (pl->n == CONFIG_MAX_LISTEN) {
            errf(err, "more than %d doors, with the sockets the service "
                 "manager passed", CONFIG_MAX_LISTEN);
            goto fail;
        }
        pl->was[i] = pl->how[pl->n] = PLAN_KEPT;
        pl->next[pl->n++] = srv->listeners[i];
    }
    return 0;
fail:
    plan_undo(srv, pl);
    return -1;
}

/* Carry out plan pl for config fresh: close the old listeners it leaves
 * out (their clients stay), start the new ones, each logged. */
static void
plan_apply(struct server *srv, struct plan *pl, const struct config *fresh)
{
    struct listener *before[CONFIG_MAX_LISTEN], *li;
    size_t nbefore = srv->nlisteners, i, k;

    memcpy(before, srv->listeners, sizeof(before));
    for (i = 0; i < nbefore; i++) {
        li = before[i];
        if (pl->was[i] == PLAN_KEPT)
            continue;
        log_notice("reload: %s %s (%s); its clients stay (%zu now)",
                   pl->was[i] == PLAN_HANDED ? "a new door takes over"
                                             : "closed",
                   li->addr.text, li->text, clients_of(srv, li));
        listener_retire(srv, li, pl->was[i] == PLAN_HANDED);
    }
    for (k = 0; k < pl->n; k++) {
        li = pl->next[k];
        if (k < fresh->nlisten)
            li->text = fresh->listen[k];
        else if (was_configured(srv->cfg, li->text))
            log_warnx("reload: %s (%s) was passed by the service manager: "
                      "it stays open; closing it takes a restart of the "
                      "socket unit", li->addr.text, li->text);
        if (pl->how[k] == PLAN_HANDED && !li->paused &&
            loop_add(&srv->loop, li->fd, LOOP_READ, on_accept, li) == -1) {
            log_warn("reload: cannot watch %s", li->addr.text);
            loop_del(&srv->loop, li->fd, LOOP_READ);
            li->paused = 1;             /* on_resume() tries again */
        }
        if (pl->how[k] != PLAN_KEPT)
            log_notice("reload: listening on %s (%s%s)", li->addr.text,
                       li->text, li->door.tls != NULL ? ", TLS" : "");
    }
    memcpy(srv->listeners, pl->next, pl->n * sizeof(*pl->next));
    srv->nlisteners = pl->n;
    setup_protocols(srv, before, nbefore);
}

/* SIGHUP: read the configuration again (the same command line, the
 * --config file anew) and the MOTD, and apply what can change with every
 * client staying: the listeners, limits, timeouts, flood control, the log
 * level, the MOTD, the IRC names.  A file that fails to load changes
 * nothing, and so does one with a listener that cannot be opened (as
 * nginx refuses a reload whose bind fails): new sockets are opened
 * first, old ones closed only once all of them are. */
static void
reload(struct server *srv)
{
    const struct config *old = srv->cfg;
    struct config *fresh = xmalloc(sizeof(*fresh));
    struct plan *pl = xmalloc(sizeof(*pl));
    char err[ERR_LEN];
    size_t i;

    prune_closed(srv);
    if (config_from_args(fresh, old->argc, old->argv, err) != CONFIG_RUN)
        goto refuse;
    keep_for_restart(fresh, old);
    if (plan_make(srv, pl, fresh, err) == -1)
        goto refuse;
    if (fresh->listen_flags && fresh->file_listen > 0)
        log_notice("reload: the listen lines of %s are not used: --listen "
                   "on the command line wins", fresh->config_file);
    plan_apply(srv, pl, fresh);
    if (load_motd(srv, fresh->motd, err) == -1)
        log_warnx("reload: %s: the old MOTD stays", err);
    /* No pair configured: no TLS door is left (config_from_args checks),
     * nothing to read. */
    if (srv->tls != NULL && fresh->tls_cert != NULL &&
        fresh->tls_key != NULL) {
        if (pl->tls_before != NULL &&
            tls_ctx_reload(srv->tls, fresh->tls_cert, fresh->tls_key,
                           err) == -1)
            log_warnx("reload: %s: the old certificate and key stay", err);
        else
            log_notice("reload: new TLS clients get %s", fresh->tls_cert);
    }
    free(pl);
    log_set_level(level_of(fresh->log));
    conn_set_limit(&srv->conns, fresh->queue_limit, fresh->pace);
    srv->conns.on_overflow = fresh->on_overflow;
    srv->conns.idle_timeout = fresh->idle_timeout;
    for (i = 0; i < srv->nlisteners; i++)
        if (srv->listeners[i]->door.proto->flood) {
            srv->listeners[i]->door.flood_burst = fresh->flood_burst;
            srv->listeners[i]->door.flood_rate = fresh->flood_rate;
        }
    /* Strings of each config may be lent to the next (the values kept
     * for a restart) and to listeners (their lines): every one lives
     * until the end. */
    srv->retired = xrealloc(srv->retired,
                            (srv->nretired + 1) * sizeof(*srv->retired));
    srv->retired[srv->nretired++] = fresh;
    srv->cfg = fresh;
    log_notice("reloaded the configuration%s%s",
              fresh->config_file != NULL ? " from " : "",
              fresh->config_file != NULL ? fresh->config_file : "");
    return;
refuse:
    log_warnx("reload: %s: the running configuration stays", err);
    config_free(fresh);
    free(fresh);
    free(pl);
}

static void
server_fini(struct server *srv)
{
    size_t i;

    conn_set_fini(&srv->conns);
    cluster_free(srv->cluster);
    route_fini(&srv->route);
    hub_fini(&srv->hub);
    for (i = 0; i < srv->nlisteners; i++) {
        close(srv->listeners[i]->fd);
        if (srv->listeners[i]->addr.family == AF_UNIX &&
            !srv->listeners[i]->passed)  /* the service manager's file */
            unlink(srv->listeners[i]->addr.u.un.sun_path);
        free(srv->listeners[i]);
    }
    for (i = 0; i < srv->nclosed; i++)
        free(srv->closed[i]);
    free(srv->closed);
    if (srv->spare_fd >= 0)
        close(srv->spare_fd);
    loop_timer_stop(&srv->loop, &srv->resume);
    loop_fini(&srv->loop);
    tls_ctx_free(srv->tls);
    free(srv->motd);
    for (i = 0; i < srv->nretired; i++) {
        config_free(srv->retired[i]);
        free(srv->retired[i]);
    }
    free(srv->retired);
    log_flush();
}

/* --cluster: this node's name (--node-name, or host name and pid), and
 * guest names that other nodes are unlikely to hand out too. */
static int
join_cluster(struct server *srv, char err[ERR_LEN])
{
    struct cluster_config cc = {srv->cfg->cluster_host, srv->cfg->cluster_port,
                                srv->cfg->node_name, srv->cfg->cluster_expiry};
    char name[64 + 16], host[64] = "chatd";

    if (cc.node == NULL) {
        gethostname(host, sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        host[strcspn(host, ". \t:")] = '\0';
        snprintf(name, sizeof(name), "%.40s-%ld", host, (long)getpid());
        cc.node = name;
    }
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    srv->hub.guests = (uint64_t)(rand() % 9000 + 1000) * 100;
    srv->cluster = cluster_new(&srv->loop, &srv->hub, &cc, &cluster_ops, srv,
                               err);
    return srv->cluster != NULL ? 0 : -1;
}

int
server_run(const struct config *cfg, char err[ERR_LEN])
{
    static const int caught[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
    struct server srv;
    int rc = 0;
    size_t i;

    memset(&srv, 0, sizeof(srv));
    srv.cfg = cfg;
    srv.spare_fd = -1;
    loop_timer_init(&srv.resume);
    sock_ignore_sigpipe();
    sock_raise_fd_limit();
    log_set_level(level_of(cfg->log));
    log_set_words(cfg->words);
    if (cfg->motd != NULL && load_motd(&srv, cfg->motd, err) == -1)
        return 1;
    if (loop_init(&srv.loop, cfg->backend, err) == -1) {
        free(srv.motd);
        return 1;
    }
    for (i = 0; i < ARRAY_LEN(caught); i++)
        if (loop_catch_signal(&srv.loop, caught[i]) == -1) {
            errf(err, "cannot catch signal %d: %s", caught[i],
                 strerror(errno));
            loop_fini(&srv.loop);
            free(srv.motd);
            return 1;
        }
    loop_on_signal(&srv.loop, on_signal, &srv);
    loop_before_wait(&srv.loop, before_wait, &srv);
    console_choose(&srv.console, cfg->console, cfg->log == LOGFMT_SINK);
    conn_set_init(&srv.conns, &srv.loop, &srv.console);
    srv.conns.metrics = &srv.metrics;
    conn_set_limit(&srv.conns, cfg->queue_limit, cfg->pace);
    srv.conns.on_overflow = cfg->on_overflow;
    srv.conns.idle_timeout = cfg->idle_timeout;
    route_init(&srv.route, &srv.conns);
    hub_init(&srv.hub, cfg->cluster != NULL ? &cluster_hub_ops : &hub_ops,
             &srv);
    if (open_listeners(&srv, err) == -1) {
        server_fini(&srv);
        return 1;
    }
    setup_protocols(&srv, NULL, 0);
    if (cfg->cluster != NULL && join_cluster(&srv, err) == -1) {
        server_fini(&srv);
        return 1;
    }
    srv.spare_fd = sock_spare_open();
    log_set_buffered(1);
    if (loop_run(&srv.loop) == -1) {
        errf(err, "%s failed: %s", loop_backend_name(&srv.loop),
             strerror(errno));
        rc = 1;
    }
    log_set_buffered(0);
    server_fini(&srv);
    return rc;
}
