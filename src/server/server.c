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
        struct listener *li = &srv->listeners[i];

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
 * profile, the options); *rest is the address after the scheme. */
static int
door_setup(struct server *srv, struct listener *li, const char *text,
           const char **rest, char err[ERR_LEN])
{
    const struct config *cfg = srv->cfg;

    memset(li, 0, sizeof(*li));
    li->fd = -1;
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

/* Count li in (its fd is open) and watch it. */
static int
listener_start(struct server *srv, struct listener *li, char err[ERR_LEN])
{
    srv->nlisteners++;
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
        struct listener *li = &srv->listeners[srv->nlisteners];

        if (p[i].fd == -1)
            continue;
        log_escape(name, sizeof(name), p[i].name, strlen(p[i].name));
        if (p[i].scheme != NULL && srv->nlisteners < CONFIG_MAX_LISTEN &&
            door_setup(srv, li, p[i].scheme, &rest, why) == 0) {
            adopt(li, &p[i]);
            if (listener_start(srv, li, err) == -1)
                return -1;
            continue;
        }
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
        struct listener *li = &srv->listeners[srv->nlisteners];

        if (door_setup(srv, li, cfg->listen[k], &rest, err) == -1 ||
            addr_get(rest, ADDR_LISTEN, &li->addr, err) == -1)
            goto done;
        got = passed_for(p, n, cfg->listen[k], &li->addr);
        if (got != NULL)
            adopt(li, got);
        else if ((li->fd = sock_listen(&li->addr, SOCK_BACKLOG, err)) == -1)
            goto done;
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

/* Each protocol in use sets up what its doors share, once. */
static void
setup_protocols(struct server *srv)
{
    size_t i, j;

    for (i = 0; i < srv->nlisteners; i++) {
        const struct protocol *p = srv->listeners[i].door.proto;

        for (j = 0; j < i && srv->listeners[j].door.proto != p; j++)
            continue;
        if (j == i && p->setup != NULL)
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
                                        hub_presence, hub_elsewhere};

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
 * keep the running value. */
static void
keep_for_restart(struct config *fresh, const struct config *old)
{
    bool listen = fresh->nlisten != old->nlisten;
    size_t i;

    for (i = 0; !listen && i < old->nlisten; i++)
        listen = !same_text(fresh->listen[i], old->listen[i]);
#define KEEP(cond, what)                                                    \
    do {                                                                    \
        if (cond)                                                           \
            log_warnx("reload: %s changed: that takes a restart", what);  \
    } while (0)
    KEEP(!same_text(fresh->profile, old->profile), "profile");
    KEEP(listen, "listen");
    KEEP(!same_text(fresh->backend, old->backend), "backend");
    KEEP(fresh->framing != old->framing, "framing");
    KEEP(fresh->route != old->route, "route");
    KEEP(fresh->prefix != old->prefix, "prefix");
    KEEP(fresh->max_message != old->max_message, "max-message");
    KEEP((fresh->log == LOGFMT_SINK) != (old->log == LOGFMT_SINK), "log");
#undef KEEP
    fresh->profile = old->profile;
    memcpy(fresh->listen, old->listen, sizeof(old->listen));
    fresh->nlisten = old->nlisten;
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

/* SIGHUP: read the configuration again (the same command line, the
 * --config file anew) and the MOTD, and apply what can change with every
 * client staying: limits, timeouts, flood control, the log level, the
 * MOTD, the IRC names.  A file that fails to load changes nothing. */
static void
reload(struct server *srv)
{
    const struct config *old = srv->cfg;
    struct config *fresh = xmalloc(sizeof(*fresh));
    char err[ERR_LEN];
    size_t i;

    if (config_from_args(fresh, old->argc, old->argv, err) != CONFIG_RUN) {
        log_warnx("reload: %s: the running configuration stays", err);
        config_free(fresh);
        free(fresh);
        return;
    }
    if (load_motd(srv, fresh->motd, err) == -1)
        log_warnx("reload: %s: the old MOTD stays", err);
    if (srv->tls != NULL &&
        tls_ctx_reload(srv->tls, fresh->tls_cert, fresh->tls_key, err) == -1)
        log_warnx("reload: %s: the old certificate and key stay", err);
    else if (srv->tls != NULL)
        log_notice("reload: new TLS clients get %s", fresh->tls_cert);
    keep_for_restart(fresh, old);
    log_set_level(level_of(fresh->log));
    conn_set_limit(&srv->conns, fresh->queue_limit, fresh->pace);
    srv->conns.on_overflow = fresh->on_overflow;
    srv->conns.idle_timeout = fresh->idle_timeout;
    for (i = 0; i < srv->nlisteners; i++)
        if (srv->listeners[i].door.proto->flood) {
            srv->listeners[i].door.flood_burst = fresh->flood_burst;
            srv->listeners[i].door.flood_rate = fresh->flood_rate;
        }
    /* Strings of each config may be lent to the next (the listen
     * addresses kept for a restart): every one lives until the end. */
    srv->retired = xrealloc(srv->retired,
                            (srv->nretired + 1) * sizeof(*srv->retired));
    srv->retired[srv->nretired++] = fresh;
    srv->cfg = fresh;
    log_notice("reloaded the configuration%s%s",
              fresh->config_file != NULL ? " from " : "",
              fresh->config_file != NULL ? fresh->config_file : "");
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
        close(srv->listeners[i].fd);
        if (srv->listeners[i].addr.family == AF_UNIX &&
            !srv->listeners[i].passed)  /* the service manager's file */
            unlink(srv->listeners[i].addr.u.un.sun_path);
    }
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
    hub_init(&srv.hub, &hub_ops, &srv);
    if (open_listeners(&srv, err) == -1) {
        server_fini(&srv);
        return 1;
    }
    setup_protocols(&srv);
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
