/* route.c -- queueing messages for their recipients, a range at a time. */
#include "server/route.h"

#include <string.h>

#define PEND_MAX (32 * 1024)    /* settle a group past this many bytes */

void
route_init(struct route *rt, struct conn_set *set)
{
    memset(rt, 0, sizeof(*rt));
    rt->set = set;
    rt->pend_max = PEND_MAX;
    /* A range is dropped whole when it does not fit a slow reader's queue:
     * keep it well under the limit so dropping stays fine-grained. */
    if (set->queue_limit / 4 < rt->pend_max)
        rt->pend_max = set->queue_limit / 4 ? set->queue_limit / 4 : 1;
}

void
route_fini(struct route *rt)
{
    int w;

    route_settle(rt);
    for (w = 0; w < WIRE_MAX; w++)
        arena_fini(&rt->arena[w]);
    arena_fini(&rt->direct);
}

char *
route_reserve(struct route *rt, int w, size_t n, struct slice *s)
{
    return arena_reserve(&rt->arena[w], n, s);
}

void
route_trim(struct route *rt)
{
    int w;

    for (w = 0; w < WIRE_MAX; w++)
        arena_trim(&rt->arena[w]);
    arena_trim(&rt->direct);
}

/* --- the pending group ------------------------------------------------- */

static size_t
settle_all(struct route *rt)
{
    const struct slice *s = &rt->pend[WIRE_LAB];
    struct conn *c;
    size_t n = 0;

    for (c = rt->set->all; c != NULL; c = c->next)
        if (c->id < rt->id_end && c->state == CONN_OPEN &&
            (c->flags & CONN_F_MEMBER) && c != rt->except) {
            conn_send(c, s);
            n++;
        }
    return n;
}

static size_t
settle_room(struct route *rt, const struct room *r)
{
    const struct member *m;
    size_t n = 0;

    for (m = r->members; m != NULL; m = m->rnext) {
        struct conn *c = m->user->client;

        if (c == NULL || c->state != CONN_OPEN || m->user == rt->except)
            continue;
        conn_send(c, &rt->pend[c->proto->wire(c, r)]);
        n++;
    }
    return n;
}

void
route_settle(struct route *rt)
{
    const void *g = rt->group;
    int w;

    if (g == NULL)
        return;
    rt->group = NULL;
    metrics_count(rt->set->metrics, METRIC_DELIVERIES,
                  rt->msgs * (g == rt->set ? settle_all(rt)
                                           : settle_room(rt, g)));
    rt->msgs = 0;
    for (w = 0; w < WIRE_MAX; w++) {
        if (rt->pend[w].len > 0)
            block_unref(rt->pend[w].b);
        memset(&rt->pend[w], 0, sizeof(rt->pend[w]));
    }
    rt->wires = 0;
}

static size_t
pending(const struct route *rt)
{
    size_t n = 0;
    int w;

    for (w = 0; w < WIRE_MAX; w++)
        n += rt->pend[w].len;
    return n;
}

/* Make (group, except) the pending group, settling any other first. */
static void
gather(struct route *rt, const void *group, const void *except, size_t add)
{
    if (rt->group == group && rt->except == except &&
        pending(rt) + add <= rt->pend_max)
        return;
    route_settle(rt);
    rt->group = group;
    rt->except = except;
    rt->id_end = rt->set->next_id + 1;
}

/* Do the fresh slices continue the pending ranges? */
static int
contiguous(const struct route *rt, const struct slice *fresh)
{
    int w;

    for (w = 0; w < WIRE_MAX; w++) {
        const struct slice *p = &rt->pend[w];

        if (fresh[w].len > 0 && p->len > 0 &&
            (p->b != fresh[w].b || p->off + p->len != fresh[w].off))
            return 0;
    }
    return 1;
}

/* Add the fresh slices (just written, after everything pending) to the
 * group; when a format's arena moved on to a new block, what is pending
 * goes out first and the group starts again from the fresh slices. */
static void
extend(struct route *rt, const struct slice *fresh)
{
    int w;

    if (!contiguous(rt, fresh)) {
        const void *g = rt->group, *except = rt->except;
        unsigned wires = rt->wires;

        route_settle(rt);
        rt->group = g;
        rt->except = except;
        rt->wires = wires;
        rt->id_end = rt->set->next_id + 1;
    }
    for (w = 0; w < WIRE_MAX; w++) {
        if (fresh[w].len == 0)
            continue;
        if (rt->pend[w].len == 0) {
            rt->pend[w] = fresh[w];
            block_ref(fresh[w].b);
        } else {
            rt->pend[w].len += fresh[w].len;
        }
    }
}

void
route_to_all(struct route *rt, const struct slice *s,
             const struct conn *except)
{
    struct slice fresh[WIRE_MAX];

    gather(rt, rt->set, except, s->len);
    memset(fresh, 0, sizeof(fresh));
    fresh[WIRE_LAB] = *s;
    extend(rt, fresh);
    rt->msgs++;
}

/* The formats r's members (but except) read in. */
static unsigned
room_wires(const struct room *r, const struct user *except)
{
    const struct member *m;
    unsigned wires = 0;

    for (m = r->members; m != NULL; m = m->rnext) {
        const struct conn *c = m->user->client;

        if (c != NULL && m->user != except)
            wires |= 1u << c->proto->wire(c, r);
    }
    return wires;
}

void
route_to_room(struct route *rt, const struct hub_event *ev,
              const struct user *except)
{
    struct slice fresh[WIRE_MAX];
    char buf[ROUTE_ENCODE_MAX];
    int w;

    if (rt->group != ev->room || rt->except != except) {
        gather(rt, ev->room, except, 0);
        rt->wires = room_wires(ev->room, except);
    } else if (pending(rt) > rt->pend_max) {
        unsigned wires = rt->wires;

        gather(rt, ev->room, except, rt->pend_max);
        rt->wires = wires;
    }
    memset(fresh, 0, sizeof(fresh));
    for (w = 0; w < WIRE_MAX; w++) {
        size_t n;

        if (!(rt->wires & (1u << w)) || rt->encode[w] == NULL)
            continue;
        n = rt->encode[w](ev, w, buf, sizeof(buf));
        if (n > 0)
            memcpy(route_reserve(rt, w, n, &fresh[w]), buf, n);
    }
    extend(rt, fresh);
    rt->msgs++;
}

void
route_to_conn(struct route *rt, struct conn *c, const struct slice *s)
{
    route_settle(rt);
    conn_send(c, s);
}

void
route_copy_to_conn(struct route *rt, struct conn *c, const void *buf,
                   size_t len)
{
    struct slice s;
    size_t n;

    if (c->proto->wrap == NULL) {
        route_copy_bytes(rt, c, buf, len);
        return;
    }
    if (c->state == CONN_CLOSED || len == 0)
        return;
    route_settle(rt);
    n = c->proto->wrap(NULL, buf, len);     /* a frame around each line */
    c->proto->wrap(arena_reserve(&rt->direct, n, &s), buf, len);
    conn_send(c, &s);
}

void
route_to_user(struct route *rt, struct user *u, const struct hub_event *ev)
{
    struct conn *c = u->client;
    char buf[ROUTE_ENCODE_MAX];
    size_t n;
    int w;

    if (c == NULL || c->state != CONN_OPEN)
        return;
    w = c->proto->wire(c, NULL);
    if (rt->encode[w] == NULL)
        return;
    n = rt->encode[w](ev, w, buf, sizeof(buf));
    route_copy_bytes(rt, c, buf, n);
    metrics_count(rt->set->metrics, METRIC_DELIVERIES, 1);
}

void
route_copy_bytes(struct route *rt, struct conn *c, const void *buf,
                 size_t len)
{
    struct slice s;

    if (c->state == CONN_CLOSED || len == 0)
        return;
    route_settle(rt);
    memcpy(arena_reserve(&rt->direct, len, &s), buf, len);
    conn_send(c, &s);
}
