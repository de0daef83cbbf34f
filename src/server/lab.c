/* lab.c -- the exercises' protocol: frame, prefix, route, relay. */
#include "server/lab.h"

#include <string.h>

#include "server/server.h"

static void
route_none(struct conn *from, const struct slice *s)
{
    (void)from;
    (void)s;
}

static void
route_self(struct conn *from, const struct slice *s)
{
    route_to_conn(&from->door->srv->route, from, s);
}

static void
route_others(struct conn *from, const struct slice *s)
{
    route_to_all(&from->door->srv->route, s, from);
}

static void
route_all(struct conn *from, const struct slice *s)
{
    route_to_all(&from->door->srv->route, s, NULL);
}

void
lab_setup(struct server *srv)
{
    static void (*const routes[])(struct conn *, const struct slice *) = {
        [ROUTE_NONE] = route_none, [ROUTE_SELF] = route_self,
        [ROUTE_OTHERS] = route_others, [ROUTE_ALL] = route_all,
    };
    const struct config *cfg = srv->cfg;

    srv->lab.route = routes[cfg->route];
    srv->lab.prefix = cfg->prefix;
    srv->lab.tail = cfg->framing == FRAMING_LINE   ? "\n"
                    : cfg->framing == FRAMING_CRLF ? "\r\n"
                                                   : "";
    srv->lab.taillen = strlen(srv->lab.tail);
    srv->lab.hdrlen = 0;
}

void
lab_open(struct conn *c)
{
    const struct config *cfg = c->door->srv->cfg;
    char line[CONFIG_GREETING_MAX + 1];
    size_t len;

    c->flags |= CONN_F_MEMBER;
    if (cfg->greeting == NULL || cfg->greeting[0] == '\0')
        return;
    len = strlen(cfg->greeting);
    memcpy(line, cfg->greeting, len);
    line[len] = '\n';
    route_copy_to_conn(&c->door->srv->route, c, line, len + 1);
}

void
lab_deliver(struct conn *c, const char *payload, size_t len)
{
    const struct lab *lab = &c->door->srv->lab;
    const char *who = "";
    size_t wlen = 0, off = 0;
    struct slice s;
    char *p;

    c->set->console->message(c, payload, len);
    if (lab->prefix == PREFIX_ADDR) {
        who = c->peer + c->hostoff;
        wlen = c->hostlen;
    } else if (lab->prefix == PREFIX_NICK) {
        who = c->name != NULL ? c->name : c->peer;
        wlen = strlen(who);
    }
    if (lab->prefix != PREFIX_NONE)
        wlen += 2;
    p = route_reserve(&c->door->srv->route, WIRE_LAB,
                      lab->hdrlen + wlen + len + lab->taillen, &s);
    if (lab->hdrlen > 0) {
        packet_header(p, PACKET_CHAT, wlen + len);
        p += lab->hdrlen;
    }
    if (lab->prefix != PREFIX_NONE) {
        memcpy(p, who, wlen - 2);
        memcpy(p + wlen - 2, ": ", 2);
        off = wlen;
    }
    memcpy(p + off, payload, len);
    memcpy(p + off + len, lab->tail, lab->taillen);
    lab->route(c, &s);
}

int
lab_frame(struct conn *c, const struct frame *f)
{
    lab_deliver(c, f->data, f->len);
    return 0;
}

void
lab_bad(struct conn *c, const char *why)
{
    log_event("error for %s: %s", c->peer, why);
    conn_close_after_flush(c, "protocol error");
}

void
lab_gone(struct conn *c, const char *why)
{
    (void)c;
    (void)why;
}

int
lab_wire(const struct conn *c, const struct room *r)
{
    (void)c;
    (void)r;
    return WIRE_LAB;
}

static void
lab_setup_proto(struct server *srv)
{
    lab_setup(srv);
}

const struct protocol proto_lab = {
    .name = "lab",
    .setup = lab_setup_proto,
    .open = lab_open,
    .frame = lab_frame,
    .bad = lab_bad,
    .gone = lab_gone,
    .read_failed = conn_read_failed,
    .write_failed = conn_write_failed,
    .flush = conn_flush,
    .wire = lab_wire,
};

static void
serial_open(struct conn *c)
{
    lab_open(c);
    server_pause_listeners(c->door->srv, 1);
}

static void
serial_gone(struct conn *c, const char *why)
{
    (void)why;
    if (c->set->n == 0)
        server_pause_listeners(c->door->srv, 0);
}

static void
serial_setup(struct server *srv)
{
    lab_setup(srv);
    srv->one_at_a_time = 1;
}

const struct protocol proto_serial = {
    .name = "serial",
    .setup = serial_setup,
    .open = serial_open,
    .frame = lab_frame,
    .bad = lab_bad,
    .gone = serial_gone,
    .read_failed = conn_read_failed,
    .write_failed = conn_write_failed,
    .flush = conn_flush,
    .wire = lab_wire,
};
