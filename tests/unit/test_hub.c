/* test_hub.c -- users, rooms, membership and the events they make
 * (src/hub/hub.c).
 *
 * The hub talks to the server only through struct hub_ops, so the tests
 * give it fake ops that record every event as the server would see it at
 * that moment: its kind, who it is from, the room, the text, and who it
 * reaches (for a room event, the members but `except` at delivery time).
 * settle() records a signature of who is where, so a test can check that
 * the hub settled before, not after, changing it.  Run under `make
 * sanitize`, LeakSanitizer checks that quit and hub_fini free everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hub/hub.h"
#include "proto/utf8.h"
#include "util/log.h"

#define RCPT_MAX 512

/* One delivery, copied: the hub's users may be gone when it is checked. */
struct rec {
    enum hub_kind kind;
    bool          room_wide;            /* to_room, else to_user */
    bool          client_null;          /* to_user: u->client was NULL */
    char          from[NICK_MAX + 1];
    char          room[ROOM_MAX + 1];   /* "" when ev->room is NULL */
    char          to[NICK_MAX + 1];     /* ev->to's nick, or "" */
    char          old[NICK_MAX + 1];    /* HUB_NICK */
    char          rcpt[RCPT_MAX];       /* ",a,b," : who it reaches */
    char         *text;                 /* owned copy of ev->text */
    size_t        len;
    size_t        settles;              /* settle() calls before it */
};

struct fake {
    struct hub  hub;
    struct rec *recs;
    size_t      n, cap;
    bool        quiet;                  /* count deliveries, keep nothing */
    size_t      deliveries;
    uint64_t   *sigs;                   /* state signature at each settle */
    size_t      settles, sigs_cap;
};

static char clients[8];                 /* stand-ins for connections */

/* --- the state signature: who is called what, who is where ------------- */

static uint64_t
mix(uint64_t h, const char *s)
{
    do {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    } while (*s++ != '\0');
    return h;
}

static uint64_t
state_sig(const struct hub *h)
{
    uint64_t sig = h->nusers * 1000003u + h->nrooms;
    const struct room *r;
    const struct member *m;
    size_t i;

    /* Sums, so the order of the tables does not count. */
    for (i = 0; i < h->users_cap; i++) {
        const struct user *u;

        for (u = h->users[i]; u != NULL; u = u->hnext)
            sig += mix(14695981039346656037ull, u->nick);
    }
    for (r = h->room_list; r != NULL; r = r->next) {
        uint64_t x = mix(14695981039346656037ull, r->name);

        for (m = r->members; m != NULL; m = m->rnext)
            x = mix(x, m->user->nick);
        sig += x * 31;
    }
    return sig;
}

/* --- the fake ops ------------------------------------------------------- */

static struct rec *
record(struct fake *fk, const struct hub_event *ev, bool room_wide)
{
    struct rec *r;

    fk->deliveries++;
    if (fk->quiet)
        return NULL;
    if (fk->n == fk->cap) {
        fk->cap = fk->cap ? 2 * fk->cap : 64;
        fk->recs = realloc(fk->recs, fk->cap * sizeof(*fk->recs));
        assert_non_null(fk->recs);
    }
    r = &fk->recs[fk->n++];
    memset(r, 0, sizeof(*r));
    r->kind = ev->kind;
    r->room_wide = room_wide;
    r->settles = fk->settles;
    assert_non_null(ev->from);
    strcpy(r->from, ev->from->nick);
    if (ev->room != NULL)
        strcpy(r->room, ev->room->name);
    if (ev->to != NULL)
        strcpy(r->to, ev->to->nick);
    if (ev->old != NULL)
        strcpy(r->old, ev->old);
    r->len = ev->len;
    r->text = malloc(ev->len + 1);
    assert_non_null(r->text);
    if (ev->len > 0)
        memcpy(r->text, ev->text, ev->len);
    r->text[ev->len] = '\0';
    strcpy(r->rcpt, ",");
    return r;
}

static void
add_rcpt(struct rec *r, const char *nick)
{
    assert_true(strlen(r->rcpt) + strlen(nick) + 2 <= sizeof(r->rcpt));
    strcat(r->rcpt, nick);
    strcat(r->rcpt, ",");
}

static void
fake_to_room(void *ctx, const struct hub_event *ev, const struct user *except)
{
    struct rec *r = record(ctx, ev, true);
    const struct member *m;

    assert_non_null(ev->room);
    if (r == NULL)
        return;
    for (m = ev->room->members; m != NULL; m = m->rnext)
        if (m->user != except)
            add_rcpt(r, m->user->nick);
}

static void
fake_to_user(void *ctx, struct user *u, const struct hub_event *ev)
{
    struct rec *r = record(ctx, ev, false);

    if (r == NULL)
        return;
    add_rcpt(r, u->nick);
    r->client_null = u->client == NULL;
}

static void
fake_settle(void *ctx)
{
    struct fake *fk = ctx;

    if (fk->settles == fk->sigs_cap) {
        fk->sigs_cap = fk->sigs_cap ? 2 * fk->sigs_cap : 64;
        fk->sigs = realloc(fk->sigs, fk->sigs_cap * sizeof(*fk->sigs));
        assert_non_null(fk->sigs);
    }
    fk->sigs[fk->settles++] = fk->quiet ? 0 : state_sig(&fk->hub);
}

static const struct hub_ops fake_ops = {fake_to_room, fake_to_user,
                                        fake_settle, NULL, NULL};

/* elsewhere: as a cluster whose link is up (far_up) or down. */
static bool far_up = true;

static bool
fake_elsewhere(void *ctx, const struct hub_event *ev)
{
    struct rec *r;

    if (!far_up)
        return false;
    r = record(ctx, ev, false);
    if (r != NULL)
        add_rcpt(r, ev->to->nick);
    return true;
}

static const struct hub_ops far_ops = {fake_to_room, fake_to_user,
                                       fake_settle, NULL, fake_elsewhere};

static void
forget(struct fake *fk)
{
    size_t i;

    for (i = 0; i < fk->n; i++)
        free(fk->recs[i].text);
    fk->n = 0;
}

static int
setup(void **state)
{
    struct fake *fk = calloc(1, sizeof(*fk));

    if (fk == NULL)
        return -1;
    hub_init(&fk->hub, &fake_ops, fk);
    *state = fk;
    return 0;
}

static int
teardown(void **state)
{
    struct fake *fk = *state;

    hub_fini(&fk->hub);
    assert_null(fk->hub.users);
    assert_null(fk->hub.rooms);
    forget(fk);
    free(fk->recs);
    free(fk->sigs);
    free(fk);
    return 0;
}

/* --- helpers ------------------------------------------------------------ */

static struct user *
user(struct fake *fk, const char *nick)
{
    enum hub_err err = HUB_ERR_NO_TEXT;
    struct user *u = hub_user_new(&fk->hub, nick, strlen(nick), "host", 4,
                                  &clients[0], &err);

    assert_non_null(u);
    assert_int_equal(err, HUB_OK);
    assert_string_equal(u->nick, nick);
    return u;
}

static struct room *
join(struct fake *fk, struct user *u, const char *name)
{
    struct room *r = NULL;
    bool joined;

    assert_int_equal(
        hub_join(&fk->hub, u, name, strlen(name), NULL, &r, &joined), HUB_OK);
    assert_non_null(r);
    assert_ptr_equal(u->current, r);
    assert_non_null(hub_member(u, r));
    return r;
}

static enum hub_err
nick(struct fake *fk, struct user *u, const char *s)
{
    return hub_nick(&fk->hub, u, s, strlen(s));
}

/* How many recorded deliveries of kind reach the user called nick. */
static size_t
reached(const struct fake *fk, enum hub_kind kind, const char *who)
{
    char key[NICK_MAX + 3];
    size_t i, k = 0;

    snprintf(key, sizeof(key), ",%s,", who);
    for (i = 0; i < fk->n; i++)
        if (fk->recs[i].kind == kind && strstr(fk->recs[i].rcpt, key))
            k++;
    return k;
}

/* Remember the state and the settle count before an operation... */
struct before {
    uint64_t sig;
    size_t   settles;
    size_t   n;                 /* deliveries recorded */
};

static struct before
before(const struct fake *fk)
{
    struct before b = {state_sig(&fk->hub), fk->settles, fk->n};

    return b;
}

/* ...then: it settled at least once, every settle saw the state as it was
 * (so nothing gathered before could reach the new membership), every event
 * it made came after a settle, and the state did change. */
static void
settled_first(const struct fake *fk, struct before b)
{
    size_t i;

    assert_true(fk->settles > b.settles);
    for (i = b.settles; i < fk->settles; i++)
        assert_true(fk->sigs[i] == b.sig);
    for (i = b.n; i < fk->n; i++)
        assert_true(fk->recs[i].settles > b.settles);
    assert_true(state_sig(&fk->hub) != b.sig);
}

/* Users alice and bob in #x and #y, carol in #y, dave alone in #z, erin
 * in no room; the events of the setting up are forgotten. */
struct five {
    struct user *a, *b, *c, *d, *e;
    struct room *x, *y, *z;
};

static struct five
five(struct fake *fk)
{
    struct five f;

    f.a = user(fk, "alice");
    f.b = user(fk, "bob");
    f.c = user(fk, "carol");
    f.d = user(fk, "dave");
    f.e = user(fk, "erin");
    f.x = join(fk, f.a, "#x");
    f.y = join(fk, f.a, "#y");
    join(fk, f.b, "#x");
    join(fk, f.b, "#y");
    join(fk, f.c, "#y");
    f.z = join(fk, f.d, "#z");
    forget(fk);
    return f;
}

/* --- users -------------------------------------------------------------- */

static void
test_guest_nicks(void **state)
{
    struct fake *fk = *state;
    char buf[NICK_MAX + 1];

    user(fk, "guest1");
    user(fk, "GUEST2");         /* taken whatever its case */
    user(fk, "guest4");
    hub_guest_nick(&fk->hub, buf);
    assert_string_equal(buf, "guest3");
    user(fk, buf);
    hub_guest_nick(&fk->hub, buf);
    assert_string_equal(buf, "guest5");
    assert_true(nick_is_valid(buf, strlen(buf)));
    hub_guest_nick(&fk->hub, buf);
    assert_string_equal(buf, "guest6");     /* never handed out twice */
}

static void
test_user_new_refuses(void **state)
{
    struct fake *fk = *state;
    static const char *bad[] = {"", "9lives", "-x", "a b", "caf\xc3\xa9",
                                "abcdefghijklmnopqrstuvwxyzabcde"};
    enum hub_err err;
    struct user *a = user(fk, "Alice");
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = HUB_OK;
        assert_null(hub_user_new(&fk->hub, bad[i], strlen(bad[i]), "h", 1,
                                 NULL, &err));
        assert_int_equal(err, HUB_ERR_NICK_INVALID);
    }
    assert_null(hub_user_new(&fk->hub, "ab\0c", 4, "h", 1, NULL, &err));
    assert_int_equal(err, HUB_ERR_NICK_INVALID);
    err = HUB_OK;
    assert_null(hub_user_new(&fk->hub, "alice", 5, "h", 1, NULL, &err));
    assert_int_equal(err, HUB_ERR_NICK_TAKEN);
    err = HUB_OK;
    assert_null(hub_user_new(&fk->hub, "ALICE", 5, "h", 1, NULL, &err));
    assert_int_equal(err, HUB_ERR_NICK_TAKEN);
    assert_int_equal(fk->hub.nusers, 1);
    /* Found ignoring case, and only by its whole name. */
    assert_ptr_equal(hub_user_find(&fk->hub, "aLiCe", 5), a);
    assert_ptr_equal(hub_user_find(&fk->hub, "alicex", 5), a);
    assert_null(hub_user_find(&fk->hub, "alic", 4));
    assert_null(hub_user_find(&fk->hub, "alicex", 6));
    assert_int_equal(fk->n, 0);
}

static void
test_user_new_fields(void **state)
{
    struct fake *fk = *state;
    char host[200];
    enum hub_err err;
    struct user *u;

    memset(host, 'h', sizeof(host));
    /* The nickname is taken from nick[0..len) alone. */
    u = hub_user_new(&fk->hub, "bobby", 3, host, sizeof(host), &clients[1],
                     &err);
    assert_non_null(u);
    assert_string_equal(u->nick, "bob");
    assert_ptr_equal(u->client, &clients[1]);
    /* A long host is cut, and stays a string. */
    assert_int_equal(strlen(u->host), HUB_HOST_LEN - 1);
    assert_null(u->rooms);
    assert_null(u->current);
}

/* --- rooms -------------------------------------------------------------- */

static void
test_join_creates_room(void **state)
{
    struct fake *fk = *state;
    struct user *a = user(fk, "alice"), *b = user(fk, "bob");
    struct room *r, *r2, *o;
    struct before bf = before(fk);
    bool joined = false;

    assert_int_equal(hub_join(&fk->hub, a, "#Dev", 4, NULL, &r, &joined),
                     HUB_OK);
    settled_first(fk, bf);
    assert_true(joined);
    assert_string_equal(r->name, "#Dev");
    assert_ptr_equal(hub_room_find(&fk->hub, "#dEV", 4), r);
    assert_int_equal(fk->hub.nrooms, 1);
    assert_int_equal(r->nmembers, 1);
    assert_ptr_equal(a->current, r);
    assert_true(hub_member(a, r)->modes & MEMBER_OP);
    assert_int_equal(fk->n, 1);
    assert_int_equal(fk->recs[0].kind, HUB_JOIN);
    assert_true(fk->recs[0].room_wide);
    assert_string_equal(fk->recs[0].from, "alice");
    assert_string_equal(fk->recs[0].room, "#Dev");
    assert_string_equal(fk->recs[0].rcpt, ",alice,");

    /* The second member is not an operator; the room is told, newcomer
     * included. */
    bf = before(fk);
    assert_int_equal(hub_join(&fk->hub, b, "#DEV", 4, NULL, &r2, &joined),
                     HUB_OK);
    settled_first(fk, bf);
    assert_true(joined);
    assert_ptr_equal(r2, r);
    assert_string_equal(r->name, "#Dev");       /* as first spelled */
    assert_int_equal(r->nmembers, 2);
    assert_false(hub_member(b, r)->modes & MEMBER_OP);
    assert_ptr_equal(r->members->user, a);      /* joining order */
    assert_ptr_equal(r->last->user, b);
    assert_int_equal(fk->n, 2);
    assert_string_equal(fk->recs[1].rcpt, ",alice,bob,");
    assert_string_equal(fk->recs[1].from, "bob");

    /* Joining again only makes it current. */
    o = join(fk, a, "#other");
    assert_ptr_equal(a->current, o);
    forget(fk);
    joined = true;
    assert_int_equal(hub_join(&fk->hub, a, "#dev", 4, NULL, &r2, &joined),
                     HUB_OK);
    assert_false(joined);
    assert_ptr_equal(r2, r);
    assert_ptr_equal(a->current, r);
    assert_int_equal(r->nmembers, 2);
    assert_int_equal(fk->hub.nrooms, 2);
    assert_int_equal(fk->n, 0);
}

static void
test_join_refuses_invalid(void **state)
{
    struct fake *fk = *state;
    static const char *bad[] = {"dev", "#", "", "#a b", "#a,b", "#a:b",
                                "#\x07"};
    struct user *a = user(fk, "alice");
    struct room *r = NULL;
    bool joined = true;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(hub_join(&fk->hub, a, bad[i], strlen(bad[i]), NULL,
                                  &r, &joined),
                         HUB_ERR_ROOM_INVALID);
        assert_false(joined);
    }
    assert_int_equal(fk->hub.nrooms, 0);
    assert_null(a->current);
    assert_int_equal(fk->n, 0);
}

static void
test_part_moves_current(void **state)
{
    struct fake *fk = *state;
    struct user *a = user(fk, "alice");
    struct room *ra = join(fk, a, "#a"), *rb = join(fk, a, "#b"),
                *rc = join(fk, a, "#c");
    struct before bf;

    join(fk, a, "#a");          /* current again, still the oldest */
    assert_ptr_equal(a->current, ra);
    forget(fk);
    bf = before(fk);
    assert_int_equal(hub_part(&fk->hub, a, ra, "bye", 3), HUB_OK);
    settled_first(fk, bf);
    assert_ptr_equal(a->current, rc);           /* the newest other room */
    assert_int_equal(fk->n, 1);
    assert_int_equal(fk->recs[0].kind, HUB_PART);
    assert_string_equal(fk->recs[0].room, "#a");
    assert_string_equal(fk->recs[0].rcpt, ",alice,");   /* u included */
    assert_string_equal(fk->recs[0].text, "bye");
    assert_int_equal(hub_part(&fk->hub, a, ra, "", 0), HUB_ERR_NOT_MEMBER);
    assert_int_equal(hub_part(&fk->hub, a, rb, "", 0), HUB_OK);
    assert_ptr_equal(a->current, rc);           /* it was not current */
    assert_int_equal(hub_part(&fk->hub, a, rc, "", 0), HUB_OK);
    assert_null(a->current);
    assert_null(a->rooms);
    assert_int_equal(fk->hub.nrooms, 0);
}

static void
test_empty_room_goes(void **state)
{
    struct fake *fk = *state;
    struct user *a = user(fk, "alice"), *b = user(fk, "bob");
    struct room *r = join(fk, a, "#x");

    join(fk, b, "#x");
    assert_int_equal(hub_topic(&fk->hub, a, r, "old news", 8), HUB_OK);
    forget(fk);
    assert_int_equal(hub_part(&fk->hub, a, r, "", 0), HUB_OK);
    assert_ptr_equal(hub_room_find(&fk->hub, "#x", 2), r);
    assert_int_equal(r->nmembers, 1);
    assert_ptr_equal(r->members->user, b);
    assert_ptr_equal(r->last->user, b);
    assert_int_equal(fk->recs[0].kind, HUB_PART);
    assert_string_equal(fk->recs[0].rcpt, ",alice,bob,");
    assert_int_equal(hub_part(&fk->hub, b, r, "", 0), HUB_OK);
    assert_null(hub_room_find(&fk->hub, "#x", 2));
    assert_int_equal(fk->hub.nrooms, 0);
    assert_null(fk->hub.room_list);
    /* Made anew, it is a new room: new operator, no topic. */
    r = join(fk, b, "#X");
    assert_string_equal(r->name, "#X");
    assert_null(r->topic);
    assert_true(hub_member(b, r)->modes & MEMBER_OP);
    assert_int_equal(fk->hub.nrooms, 1);
}

static void
count_sharer(struct user *u, void *arg)
{
    size_t *seen = arg;

    seen[u->nick[0] - 'a']++;
}

static void
test_each_sharer_once(void **state)
{
    struct fake *fk = *state;
    struct five f = five(fk);
    static const struct {
        const char *who;
        size_t      want[5];        /* alice bob carol dave erin */
    } cases[] = {
        {"alice", {1, 1, 1, 0, 0}},     /* bob in two rooms: once */
        {"bob", {1, 1, 1, 0, 0}},
        {"carol", {1, 1, 1, 0, 0}},
        {"dave", {0, 0, 0, 1, 0}},      /* alone in #z: itself */
        {"erin", {0, 0, 0, 0, 1}},      /* in no room: itself */
    };
    size_t i, k;

    (void)f;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t seen[5] = {0};
        struct user *u = hub_user_find(&fk->hub, cases[i].who,
                                       strlen(cases[i].who));

        hub_each_sharer(&fk->hub, u, count_sharer, seen);
        for (k = 0; k < 5; k++)
            assert_int_equal(seen[k], cases[i].want[k]);
    }
}

/* --- renames ------------------------------------------------------------ */

static void
test_nick_tells_sharers_once(void **state)
{
    struct fake *fk = *state;
    struct five f = five(fk);
    struct before bf = before(fk);
    size_t i;

    assert_int_equal(nick(fk, f.a, "Anna"), HUB_OK);
    settled_first(fk, bf);
    assert_string_equal(f.a->nick, "Anna");
    /* alice shares #x and #y with bob, #y with carol: one each. */
    assert_int_equal(reached(fk, HUB_NICK, "Anna"), 1);
    assert_int_equal(reached(fk, HUB_NICK, "bob"), 1);
    assert_int_equal(reached(fk, HUB_NICK, "carol"), 1);
    assert_int_equal(reached(fk, HUB_NICK, "dave"), 0);
    assert_int_equal(reached(fk, HUB_NICK, "erin"), 0);
    assert_int_equal(fk->n, 3);
    for (i = 0; i < fk->n; i++) {
        assert_int_equal(fk->recs[i].kind, HUB_NICK);
        assert_false(fk->recs[i].room_wide);
        assert_string_equal(fk->recs[i].from, "Anna");
        assert_string_equal(fk->recs[i].old, "alice");
    }
    assert_null(hub_user_find(&fk->hub, "alice", 5));
    assert_ptr_equal(hub_user_find(&fk->hub, "ANNA", 4), f.a);
    assert_int_equal(fk->hub.nusers, 5);

    /* A user in no room is told alone. */
    forget(fk);
    assert_int_equal(nick(fk, f.e, "eve"), HUB_OK);
    assert_int_equal(fk->n, 1);
    assert_string_equal(fk->recs[0].rcpt, ",eve,");
    assert_string_equal(fk->recs[0].old, "erin");
}

static void
test_nick_case_only_and_refusals(void **state)
{
    struct fake *fk = *state;
    struct five f = five(fk);
    struct before bf = before(fk);

    /* Another case of one's own name is allowed... */
    assert_int_equal(nick(fk, f.a, "ALICE"), HUB_OK);
    settled_first(fk, bf);
    assert_string_equal(f.a->nick, "ALICE");
    assert_ptr_equal(hub_user_find(&fk->hub, "alice", 5), f.a);
    assert_int_equal(reached(fk, HUB_NICK, "bob"), 1);
    assert_string_equal(fk->recs[0].old, "alice");
    /* ...the very same name changes nothing and tells no one... */
    forget(fk);
    bf = before(fk);
    assert_int_equal(nick(fk, f.a, "ALICE"), HUB_OK);
    assert_int_equal(fk->n, 0);
    /* ...another's name, in any case, is taken... */
    assert_int_equal(nick(fk, f.a, "bob"), HUB_ERR_NICK_TAKEN);
    assert_int_equal(nick(fk, f.a, "BoB"), HUB_ERR_NICK_TAKEN);
    assert_int_equal(nick(fk, f.a, "Erin"), HUB_ERR_NICK_TAKEN);
    /* ...and an invalid one refused. */
    assert_int_equal(nick(fk, f.a, "9"), HUB_ERR_NICK_INVALID);
    assert_int_equal(nick(fk, f.a, ""), HUB_ERR_NICK_INVALID);
    assert_int_equal(hub_nick(&fk->hub, f.a, "ab\0", 3),
                     HUB_ERR_NICK_INVALID);
    assert_string_equal(f.a->nick, "ALICE");
    assert_int_equal(fk->n, 0);
    assert_true(state_sig(&fk->hub) == bf.sig);
    assert_int_equal(fk->hub.nusers, 5);
}

/* --- quitting ----------------------------------------------------------- */

static void
test_quit_tells_sharers_once(void **state)
{
    struct fake *fk = *state;
    struct five f = five(fk);
    struct before bf = before(fk);
    size_t i;

    f.a->client = &clients[2];
    hub_user_quit(&fk->hub, f.a, "gone fishing");
    settled_first(fk, bf);
    assert_int_equal(reached(fk, HUB_QUIT, "bob"), 1);
    assert_int_equal(reached(fk, HUB_QUIT, "carol"), 1);
    assert_int_equal(reached(fk, HUB_QUIT, "dave"), 0);
    assert_int_equal(reached(fk, HUB_QUIT, "erin"), 0);
    /* The quitter's own connection is going: if the hub hands it the
     * event at all, it is without a client, which the server skips. */
    assert_true(reached(fk, HUB_QUIT, "alice") <= 1);
    for (i = 0; i < fk->n; i++) {
        const struct rec *r = &fk->recs[i];

        assert_int_equal(r->kind, HUB_QUIT);
        assert_string_equal(r->from, "alice");
        assert_string_equal(r->text, "gone fishing");
        assert_int_equal(r->client_null, strcmp(r->rcpt, ",alice,") == 0);
        assert_true(r->settles > bf.settles);
    }
    assert_null(hub_user_find(&fk->hub, "alice", 5));
    assert_int_equal(fk->hub.nusers, 4);
    assert_int_equal(f.x->nmembers, 1);
    assert_ptr_equal(f.x->members->user, f.b);
    assert_int_equal(f.y->nmembers, 2);
    assert_ptr_equal(f.y->members->user, f.b);
    assert_ptr_equal(f.y->last->user, f.c);

    /* Nobody shares a room with erin. */
    forget(fk);
    hub_user_quit(&fk->hub, f.e, "");
    assert_int_equal(fk->n, 0);
    assert_int_equal(fk->hub.nusers, 3);

    /* The last ones out take the rooms with them. */
    hub_user_quit(&fk->hub, f.b, "x");
    hub_user_quit(&fk->hub, f.c, "y");
    hub_user_quit(&fk->hub, f.d, "z");
    assert_int_equal(fk->hub.nusers, 0);
    assert_int_equal(fk->hub.nrooms, 0);
    assert_null(fk->hub.room_list);
}

/* --- messages ----------------------------------------------------------- */

static void
test_say(void **state)
{
    struct fake *fk = *state;
    struct five f = five(fk);
    size_t settles = fk->settles;

    /* Outsiders: a new room is +n. */
    assert_int_equal(hub_say(&fk->hub, f.d, f.x, HUB_SAY, "hi", 2),
                     HUB_ERR_CANNOT_SEND);
    assert_int_equal(hub_say(&fk->hub, f.e, f.x, HUB_SAY, "hi", 2),
                     HUB_ERR_CANNOT_SEND);
    assert_int_equal(hub_say(&fk->hub, f.a, f.x, HUB_SAY, "", 0),
                     HUB_ERR_NO_TEXT);
    assert_int_equal(fk->n, 0);
    assert_int_equal(hub_say(&fk->hub, f.c, f.y, HUB_SAY, "hello", 5),
                     HUB_OK);
    assert_int_equal(hub_say(&fk->hub, f.b, f.x, HUB_ACTION, "waves", 5),
                     HUB_OK);
    assert_int_equal(fk->n, 2);
    assert_int_equal(fk->recs[0].kind, HUB_SAY);
    assert_true(fk->recs[0].room_wide);
    assert_string_equal(fk->recs[0].from, "carol");
    assert_string_equal(fk->recs[0].room, "#y");
    assert_string_equal(fk->recs[0].text, "hello");
    assert_string_equal(fk->recs[0].rcpt, ",alice,bob,carol,");
    assert_int_equal(fk->recs[1].kind, HUB_ACTION);
    assert_string_equal(fk->recs[1].rcpt, ",alice,bob,");
    /* Saying something changes nobody's place. */
    assert_int_equal(fk->settles, settles);
}

/* The len bytes of a mixed text: ASCII, 2-, 3- and 4-byte characters. */
static size_t
mixed_text(char *buf, size_t len)
{
    static const char *chars[] = {"a", "\xc3\xa9", "\xe2\x82\xac",
                                  "\xf0\x9f\x98\x80", " "};
    size_t n = 0, i = 0;

    for (;;) {
        const char *c = chars[i++ % 5];
        size_t k = strlen(c);

        if (n + k > len)
            return n;
        memcpy(buf + n, c, k);
        n += k;
    }
}

/* The recorded deliveries are pieces of text[0..len), in order, each at
 * most max bytes and whole characters, and together the whole text. */
static void
check_pieces(const struct fake *fk, const char *text, size_t len,
             size_t max)
{
    size_t i, off = 0;

    assert_true(fk->n > 1);
    for (i = 0; i < fk->n; i++) {
        const struct rec *r = &fk->recs[i];

        assert_true(r->len > 0 && r->len <= max);
        /* Cut as late as a character boundary allows. */
        if (i + 1 < fk->n)
            assert_true(r->len > max - 4);
        assert_true(utf8_is_valid(r->text, r->len));
        assert_true(off + r->len <= len);
        assert_memory_equal(r->text, text + off, r->len);
        off += r->len;
    }
    assert_int_equal(off, len);
}

static void
test_say_long_text_in_pieces(void **state)
{
    struct fake *fk = *state;
    static char text[5000];
    char line[1024], room[ROOM_MAX + 1];
    size_t len = mixed_text(text, sizeof(text)), max, i;
    struct user *u;
    struct room *r;
    enum hub_err err;

    assert_true(utf8_is_valid(text, len));
    /* The longest prefix an IRC line can carry for the longest names. */
    memset(room, 'r', ROOM_MAX);
    room[0] = '#';
    room[ROOM_MAX] = '\0';
    u = hub_user_new(&fk->hub, "abcdefghijklmnopqrstuvwxyzabcd", NICK_MAX,
                     "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
                     "hhhhhhhhhhhhhh", 68, NULL, &err);
    assert_non_null(u);
    r = join(fk, u, room);
    forget(fk);
    max = hub_text_room(u, r);
    assert_int_equal(hub_say(&fk->hub, u, r, HUB_SAY, text, len), HUB_OK);
    check_pieces(fk, text, len, max);
    /* Every piece fits one IRC line. */
    for (i = 0; i < fk->n; i++) {
        int n = snprintf(line, sizeof(line), ":%s!%s@%s PRIVMSG %s :%s\r\n",
                         u->nick, u->nick, u->host, r->name,
                         fk->recs[i].text);

        assert_true(n > 0 && n <= 512);
        if (i == 0)
            assert_true(n >= 512 - 3);
    }
    /* Short names leave room for more. */
    {
        struct user *a = user(fk, "al");
        struct room *x = join(fk, a, "#x");

        assert_true(hub_text_room(a, x) > max);
        assert_int_equal(hub_text_room(a, x),
                         512 - strlen(":al!al@host PRIVMSG #x :\r\n"));
    }
}

static void
test_tell(void **state)
{
    struct fake *fk = *state;
    struct five f = five(fk);
    static char text[3000];
    size_t len = mixed_text(text, sizeof(text)), i;
    struct user *to = NULL;
    size_t max;

    /* Nicknames are found ignoring case; no room needs to be shared. */
    assert_int_equal(hub_tell(&fk->hub, f.a, "DAVE", 4, HUB_PRIVATE, "psst",
                              4, &to), HUB_OK);
    assert_ptr_equal(to, f.d);
    assert_int_equal(fk->n, 1);
    assert_false(fk->recs[0].room_wide);
    assert_int_equal(fk->recs[0].kind, HUB_PRIVATE);
    assert_string_equal(fk->recs[0].rcpt, ",dave,");
    assert_string_equal(fk->recs[0].to, "dave");
    assert_string_equal(fk->recs[0].from, "alice");
    assert_string_equal(fk->recs[0].text, "psst");
    assert_string_equal(fk->recs[0].room, "");
    assert_int_equal(hub_tell(&fk->hub, f.a, "eRIN", 4, HUB_NOTICE, "n", 1,
                              &to), HUB_OK);
    assert_ptr_equal(to, f.e);
    assert_int_equal(fk->recs[1].kind, HUB_NOTICE);
    assert_int_equal(hub_tell(&fk->hub, f.a, "frank", 5, HUB_PRIVATE, "x",
                              1, &to), HUB_ERR_NO_SUCH_NICK);
    assert_int_equal(hub_tell(&fk->hub, f.a, "dav", 3, HUB_PRIVATE, "x", 1,
                              &to), HUB_ERR_NO_SUCH_NICK);
    assert_int_equal(hub_tell(&fk->hub, f.a, "dave", 4, HUB_PRIVATE, "", 0,
                              &to), HUB_ERR_NO_TEXT);
    assert_int_equal(fk->n, 2);

    /* A long text comes in pieces that each fit one IRC line. */
    forget(fk);
    assert_int_equal(hub_tell(&fk->hub, f.a, "bob", 3, HUB_PRIVATE, text,
                              len, &to), HUB_OK);
    max = 512 - strlen(":alice!alice@host PRIVMSG bob :\r\n");
    check_pieces(fk, text, len, max);
    for (i = 0; i < fk->n; i++)
        assert_string_equal(fk->recs[i].rcpt, ",bob,");
}

static void
test_tell_elsewhere(void **state)
{
    struct fake *fk = *state;
    struct five f;
    static char text[3000];
    size_t len = mixed_text(text, sizeof(text));
    struct user *to = NULL;

    fk->hub.ops = &far_ops;
    f = five(fk);
    /* A nickname known here is told here. */
    forget(fk);
    assert_int_equal(hub_tell(&fk->hub, f.a, "dave", 4, HUB_PRIVATE, "psst",
                              4, &to), HUB_OK);
    assert_ptr_equal(to, f.d);
    assert_string_equal(fk->recs[0].rcpt, ",dave,");
    /* One not known here goes elsewhere, in IRC-line pieces; to is NULL. */
    forget(fk);
    assert_int_equal(hub_tell(&fk->hub, f.a, "zed", 3, HUB_PRIVATE, text,
                              len, &to), HUB_OK);
    assert_null(to);
    check_pieces(fk, text, len,
                 512 - strlen(":alice!alice@host PRIVMSG zed :\r\n"));
    assert_string_equal(fk->recs[0].rcpt, ",zed,");
    assert_string_equal(fk->recs[0].to, "zed");
    /* Nowhere else to go, a bad nickname, no text: refused, nothing sent. */
    forget(fk);
    far_up = false;
    assert_int_equal(hub_tell(&fk->hub, f.a, "zed", 3, HUB_PRIVATE, "x", 1,
                              &to), HUB_ERR_NO_SUCH_NICK);
    far_up = true;
    assert_int_equal(hub_tell(&fk->hub, f.a, "z d", 3, HUB_PRIVATE, "x", 1,
                              &to), HUB_ERR_NO_SUCH_NICK);
    assert_int_equal(hub_tell(&fk->hub, f.a, "zed", 3, HUB_PRIVATE, "", 0,
                              &to), HUB_ERR_NO_SUCH_NICK);
    assert_int_equal(fk->n, 0);

    /* An invitation too, by a member (an operator if +i), with its room. */
    assert_int_equal(hub_invite_elsewhere(&fk->hub, f.d, f.x, "zed", 3),
                     HUB_ERR_NOT_MEMBER);
    assert_int_equal(hub_invite_elsewhere(&fk->hub, f.b, f.x, "zed", 3),
                     HUB_OK);
    assert_int_equal(fk->n, 1);
    assert_int_equal(fk->recs[0].kind, HUB_INVITE);
    assert_string_equal(fk->recs[0].room, "#x");
    assert_string_equal(fk->recs[0].rcpt, ",zed,");
    assert_int_equal(hub_mode(&fk->hub, f.a, f.x, 'i', true, NULL), HUB_OK);
    assert_int_equal(hub_invite_elsewhere(&fk->hub, f.b, f.x, "zed", 3),
                     HUB_ERR_NOT_OPERATOR);
    far_up = false;
    assert_int_equal(hub_invite_elsewhere(&fk->hub, f.a, f.x, "zed", 3),
                     HUB_ERR_NO_SUCH_NICK);
    far_up = true;
}

static void
test_rooms_listed(void **state)
{
    struct fake *fk = *state;
    struct five f = five(fk);
    struct far_room *far = calloc(2, sizeof(*far));
    struct room_info *all;
    size_t n;

    assert_non_null(far);
    strcpy(far[0].name, "#w");
    far[0].members = 5;
    far[0].topic = strdup("far away");
    strcpy(far[1].name, "#X");              /* ours too: ours is shown */
    far[1].members = 9;
    hub_set_far_rooms(&fk->hub, far, 2);
    assert_int_equal(hub_mode(&fk->hub, f.d, f.z, 's', true, NULL), HUB_OK);
    n = hub_rooms_listed(&fk->hub, f.a, &all);
    assert_int_equal(n, 3);                 /* not the secret #z */
    assert_string_equal(all[0].name, "#w");
    assert_int_equal(all[0].members, 5);
    assert_string_equal(all[0].topic, "far away");
    assert_string_equal(all[1].name, "#x");
    assert_int_equal(all[1].members, 2);
    assert_null(all[1].topic);
    assert_string_equal(all[2].name, "#y");
    free(all);
    n = hub_rooms_listed(&fk->hub, f.d, &all);
    assert_int_equal(n, 4);                 /* its member sees #z */
    assert_string_equal(all[3].name, "#z");
    free(all);
    hub_set_far_rooms(&fk->hub, NULL, 0);
    n = hub_rooms_listed(&fk->hub, f.a, &all);
    assert_int_equal(n, 2);
    free(all);
}

/* Joining a room only other nodes have: their +i, +k, +l hold here. */
static void
test_join_far_room(void **state)
{
    struct fake *fk = *state;
    struct five f = five(fk);
    struct far_room *far = calloc(3, sizeof(*far));
    struct room *r;
    bool joined;

    assert_non_null(far);
    strcpy(far[0].name, "#club");
    far[0].modes = ROOM_INVITE_ONLY;
    strcpy(far[1].name, "#vault");
    strcpy(far[1].key, "sesame");
    strcpy(far[2].name, "#full");
    far[2].members = 2;
    far[2].limit = 2;
    hub_set_far_rooms(&fk->hub, far, 3);
    assert_int_equal(hub_join(&fk->hub, f.a, "#CLUB", 5, NULL, &r, &joined),
                     HUB_ERR_INVITE_ONLY);
    assert_false(joined);
    assert_string_equal(r->name, "#CLUB");      /* for the refusal */
    assert_null(hub_room_find(&fk->hub, "#club", 5));
    hub_invite_far(&fk->hub, f.a, "#club");
    assert_int_equal(hub_join(&fk->hub, f.b, "#club", 5, NULL, &r, &joined),
                     HUB_ERR_INVITE_ONLY);      /* alice's, not bob's */
    assert_int_equal(hub_join(&fk->hub, f.a, "#club", 5, NULL, &r, &joined),
                     HUB_OK);
    assert_true(joined);
    assert_int_equal(hub_part(&fk->hub, f.a, r, "", 0), HUB_OK);
    assert_int_equal(hub_join(&fk->hub, f.a, "#club", 5, NULL, &r, &joined),
                     HUB_ERR_INVITE_ONLY);      /* used up */
    assert_int_equal(hub_join(&fk->hub, f.a, "#vault", 6, "nope", &r,
                              &joined), HUB_ERR_BAD_KEY);
    assert_int_equal(hub_join(&fk->hub, f.a, "#vault", 6, "sesame", &r,
                              &joined), HUB_OK);
    assert_int_equal(hub_join(&fk->hub, f.a, "#full", 5, NULL, &r, &joined),
                     HUB_ERR_FULL);
    assert_int_equal(hub_join(&fk->hub, f.a, "#other", 6, NULL, &r,
                              &joined), HUB_OK);
}

static void
test_topic(void **state)
{
    struct fake *fk = *state;
    struct five f = five(fk);
    static char text[1000];
    size_t i;

    assert_int_equal(hub_topic(&fk->hub, f.d, f.x, "mine", 4),
                     HUB_ERR_NOT_MEMBER);
    assert_null(f.x->topic);
    assert_int_equal(fk->n, 0);
    /* Any member may set it (no operator check yet); the room is told. */
    assert_int_equal(hub_topic(&fk->hub, f.b, f.x, "plans", 5), HUB_OK);
    assert_string_equal(f.x->topic, "plans");
    assert_int_equal(fk->n, 1);
    assert_int_equal(fk->recs[0].kind, HUB_TOPIC);
    assert_string_equal(fk->recs[0].text, "plans");
    assert_string_equal(fk->recs[0].room, "#x");
    assert_string_equal(fk->recs[0].rcpt, ",alice,bob,");
    /* A long topic is cut on a character boundary. */
    for (i = 0; i + 4 <= sizeof(text); i += 4)
        memcpy(text + i, "\xf0\x9f\x98\x80", 4);
    assert_int_equal(hub_topic(&fk->hub, f.a, f.x, text, sizeof(text)),
                     HUB_OK);
    assert_int_equal(strlen(f.x->topic), HUB_TOPIC_MAX / 4 * 4);
    assert_true(utf8_is_valid(f.x->topic, strlen(f.x->topic)));
    assert_int_equal(fk->recs[1].len, HUB_TOPIC_MAX / 4 * 4);
    /* Length 0 clears it. */
    assert_int_equal(hub_topic(&fk->hub, f.a, f.x, "", 0), HUB_OK);
    assert_null(f.x->topic);
    assert_int_equal(fk->recs[2].kind, HUB_TOPIC);
    assert_int_equal(fk->recs[2].len, 0);
    assert_string_equal(fk->recs[2].text, "");
}

/* --- settle ------------------------------------------------------------- */

static void
test_settle_before_every_change(void **state)
{
    struct fake *fk = *state;
    struct five f = five(fk);
    struct before bf;
    struct room *r;
    bool joined;

    bf = before(fk);                            /* a new room */
    join(fk, f.e, "#new");
    settled_first(fk, bf);
    bf = before(fk);                            /* a room with members */
    join(fk, f.e, "#y");
    settled_first(fk, bf);
    bf = before(fk);
    assert_int_equal(hub_part(&fk->hub, f.e, f.y, "", 0), HUB_OK);
    settled_first(fk, bf);
    bf = before(fk);                            /* a room goes */
    assert_int_equal(hub_part(&fk->hub, f.e, hub_room_find(&fk->hub, "#new",
                                                           4), "", 0),
                     HUB_OK);
    settled_first(fk, bf);
    bf = before(fk);
    assert_int_equal(nick(fk, f.b, "bobby"), HUB_OK);
    settled_first(fk, bf);
    bf = before(fk);
    hub_user_quit(&fk->hub, f.c, "bye");
    settled_first(fk, bf);
    /* A join that only makes a room current changes nobody's place. */
    bf = before(fk);
    assert_int_equal(hub_join(&fk->hub, f.a, "#x", 2, NULL, &r, &joined),
                     HUB_OK);
    assert_false(joined);
    assert_true(state_sig(&fk->hub) == bf.sig);
}

/* --- many users, many rooms --------------------------------------------- */

#define MANY_USERS 5000
#define MANY_ROOMS 500

static void
test_many_users_and_rooms(void **state)
{
    struct fake *fk = *state;
    static struct user *u[MANY_USERS];
    char name[32];
    enum hub_err err;
    struct room *r;
    size_t i, n, members;

    fk->quiet = true;
    for (i = 0; i < MANY_USERS; i++) {
        snprintf(name, sizeof(name), "u%zu", i);
        u[i] = hub_user_new(&fk->hub, name, strlen(name), "h", 1,
                            &clients[0], &err);
        assert_non_null(u[i]);
        snprintf(name, sizeof(name), "#r%zu", i % MANY_ROOMS);
        join(fk, u[i], name);
        snprintf(name, sizeof(name), "#s%zu", i % 37);
        join(fk, u[i], name);
    }
    assert_int_equal(fk->hub.nusers, MANY_USERS);
    assert_int_equal(fk->hub.nrooms, MANY_ROOMS + 37);
    assert_true(fk->hub.users_cap >= MANY_USERS);
    assert_int_equal(fk->hub.users_cap & (fk->hub.users_cap - 1), 0);
    assert_true(fk->hub.rooms_cap >= MANY_ROOMS + 37);
    assert_int_equal(fk->hub.rooms_cap & (fk->hub.rooms_cap - 1), 0);
    for (i = 0; i < MANY_USERS; i++) {
        snprintf(name, sizeof(name), "U%zu", i);
        assert_ptr_equal(hub_user_find(&fk->hub, name, strlen(name)), u[i]);
    }
    for (i = 0; i < MANY_ROOMS; i++) {
        snprintf(name, sizeof(name), "#R%zu", i);
        r = hub_room_find(&fk->hub, name, strlen(name));
        assert_non_null(r);
        assert_int_equal(r->nmembers, MANY_USERS / MANY_ROOMS);
        assert_ptr_equal(r->members->user, u[i]);
        assert_true(r->members->modes & MEMBER_OP);
    }
    n = 0;
    for (r = fk->hub.room_list; r != NULL; r = r->next)
        n++;
    assert_int_equal(n, MANY_ROOMS + 37);

    /* Everyone renamed: the table is emptied and refilled. */
    for (i = 0; i < MANY_USERS; i++) {
        snprintf(name, sizeof(name), "v%zu", i);
        assert_int_equal(nick(fk, u[i], name), HUB_OK);
    }
    for (i = 0; i < MANY_USERS; i += 7) {
        snprintf(name, sizeof(name), "u%zu", i);
        assert_null(hub_user_find(&fk->hub, name, strlen(name)));
        snprintf(name, sizeof(name), "V%zu", i);
        assert_ptr_equal(hub_user_find(&fk->hub, name, strlen(name)), u[i]);
    }
    /* u0 shares #r0 with 9 others and #s0 with 135: 145 with itself. */
    members = fk->deliveries;
    assert_int_equal(nick(fk, u[0], "zero"), HUB_OK);
    assert_int_equal(fk->deliveries - members,
                     MANY_USERS / MANY_ROOMS + (MANY_USERS + 36) / 37 - 1);

    /* Half of them leave; the rest stay for hub_fini to free. */
    for (i = 0; i < MANY_USERS; i += 2)
        hub_user_quit(&fk->hub, u[i], "");
    assert_int_equal(fk->hub.nusers, MANY_USERS / 2);
    /* #rN of even N had only even-numbered members. */
    assert_int_equal(fk->hub.nrooms, MANY_ROOMS / 2 + 37);
    snprintf(name, sizeof(name), "#r%d", 1);
    r = hub_room_find(&fk->hub, name, strlen(name));
    assert_int_equal(r->nmembers, MANY_USERS / MANY_ROOMS);
    snprintf(name, sizeof(name), "#r%d", 2);
    r = hub_room_find(&fk->hub, name, strlen(name));
    assert_null(r);     /* all of #r2's members had even numbers */
}

/* --- modes, kicks, invitations, WHOWAS ----------------------------------- */

static enum hub_err
mode(struct fake *fk, struct user *u, struct room *r, const char *change,
     const char *arg)
{
    return hub_mode(&fk->hub, u, r, change[1], change[0] == '+', arg);
}

static enum hub_err
try_join(struct fake *fk, struct user *u, const char *name, const char *key)
{
    struct room *r;
    bool joined;

    return hub_join(&fk->hub, u, name, strlen(name), key, &r, &joined);
}

static void
test_modes_need_an_operator(void **state)
{
    struct fake *fk = *state;
    struct user *a = user(fk, "alice"), *b = user(fk, "bob"),
                *c = user(fk, "carol");
    struct room *r = join(fk, a, "#m");

    join(fk, b, "#m");
    assert_int_equal(r->modes, ROOM_MODES_NEW);
    assert_int_equal(mode(fk, b, r, "+t", NULL), HUB_ERR_NOT_OPERATOR);
    assert_int_equal(mode(fk, c, r, "+t", NULL), HUB_ERR_NOT_MEMBER);
    assert_int_equal(mode(fk, a, r, "+x", NULL), HUB_ERR_UNKNOWN_MODE);
    assert_int_equal(mode(fk, a, r, "+o", "carol"), HUB_ERR_NOT_IN_ROOM);
    assert_int_equal(mode(fk, a, r, "+o", "nobody"), HUB_ERR_NO_SUCH_NICK);
    assert_int_equal(mode(fk, a, r, "+o", NULL), HUB_ERR_BAD_PARAM);
    forget(fk);
    assert_int_equal(mode(fk, a, r, "+v", "BOB"), HUB_OK);
    assert_true(hub_member(b, r)->modes & MEMBER_VOICE);
    assert_int_equal(fk->n, 1);
    assert_int_equal(fk->recs[0].kind, HUB_MODE);
    assert_string_equal(fk->recs[0].text, "+v bob");
    /* A change that changes nothing tells nobody. */
    assert_int_equal(mode(fk, a, r, "+v", "bob"), HUB_OK);
    assert_int_equal(mode(fk, a, r, "-s", NULL), HUB_OK);
    assert_int_equal(fk->n, 1);
    assert_int_equal(mode(fk, a, r, "+s", NULL), HUB_OK);
    assert_true(r->modes & ROOM_SECRET);
    assert_string_equal(fk->recs[1].text, "+s");
}

static void
test_key_and_limit(void **state)
{
    struct fake *fk = *state;
    struct user *a = user(fk, "alice"), *b = user(fk, "bob"),
                *c = user(fk, "carol");
    struct room *r = join(fk, a, "#k");

    assert_int_equal(mode(fk, a, r, "+k", "with space"), HUB_ERR_BAD_PARAM);
    assert_int_equal(mode(fk, a, r, "+k", ""), HUB_ERR_BAD_PARAM);
    assert_int_equal(mode(fk, a, r, "+k", "012345678901234567890123"),
                     HUB_ERR_BAD_PARAM);
    assert_int_equal(mode(fk, a, r, "+k", "beer"), HUB_OK);
    assert_int_equal(try_join(fk, b, "#k", NULL), HUB_ERR_BAD_KEY);
    assert_int_equal(try_join(fk, b, "#k", "bees"), HUB_ERR_BAD_KEY);
    assert_int_equal(try_join(fk, b, "#k", "beer"), HUB_OK);
    assert_int_equal(mode(fk, a, r, "-k", NULL), HUB_OK);
    assert_string_equal(r->key, "");
    assert_int_equal(mode(fk, a, r, "+l", "0"), HUB_ERR_BAD_PARAM);
    assert_int_equal(mode(fk, a, r, "+l", "2x"), HUB_ERR_BAD_PARAM);
    assert_int_equal(mode(fk, a, r, "+l", "2"), HUB_OK);
    assert_int_equal(try_join(fk, c, "#k", NULL), HUB_ERR_FULL);
    assert_int_equal(mode(fk, a, r, "-l", NULL), HUB_OK);
    assert_int_equal(try_join(fk, c, "#k", NULL), HUB_OK);
}

static void
test_bans_and_speaking(void **state)
{
    struct fake *fk = *state;
    struct user *a = user(fk, "alice"), *b = user(fk, "Bob"),
                *c = user(fk, "carol");
    struct room *r = join(fk, a, "#b");
    size_t n;

    assert_int_equal(mode(fk, a, r, "+b", "bob"), HUB_OK);
    assert_string_equal(r->bans[0].mask, "bob!*@*");
    assert_string_equal(r->bans[0].by, "alice");
    assert_int_equal(mode(fk, a, r, "+b", "BOB!*@*"), HUB_OK);    /* same */
    assert_int_equal(r->nbans, 1);
    assert_int_equal(try_join(fk, b, "#b", NULL), HUB_ERR_BANNED);
    assert_int_equal(mode(fk, a, r, "+b", "*!*@host"), HUB_OK);
    assert_int_equal(try_join(fk, c, "#b", NULL), HUB_ERR_BANNED);
    assert_int_equal(mode(fk, a, r, "-b", "*!*@host"), HUB_OK);
    assert_int_equal(mode(fk, a, r, "-b", "bob"), HUB_OK);
    assert_int_equal(r->nbans, 0);
    join(fk, b, "#b");
    join(fk, c, "#b");
    /* A member banned later is kept quiet; voice lifts that. */
    assert_int_equal(mode(fk, a, r, "+b", "b*"), HUB_OK);
    assert_int_equal(hub_may_speak(b, r), HUB_ERR_CANNOT_SEND);
    assert_int_equal(hub_say(&fk->hub, b, r, HUB_SAY, "hi", 2),
                     HUB_ERR_CANNOT_SEND);
    assert_int_equal(mode(fk, a, r, "+v", "bob"), HUB_OK);
    assert_int_equal(hub_may_speak(b, r), HUB_OK);
    /* +m: only operators and the voiced. */
    assert_int_equal(mode(fk, a, r, "+m", NULL), HUB_OK);
    assert_int_equal(hub_may_speak(c, r), HUB_ERR_CANNOT_SEND);
    assert_int_equal(hub_may_speak(a, r), HUB_OK);
    assert_int_equal(hub_may_speak(b, r), HUB_OK);
    /* +n (a new room's default) keeps outsiders out; -n lets them in. */
    hub_part(&fk->hub, c, r, "", 0);
    assert_int_equal(mode(fk, a, r, "-m", NULL), HUB_OK);
    assert_int_equal(hub_may_speak(c, r), HUB_ERR_CANNOT_SEND);
    assert_int_equal(mode(fk, a, r, "-n", NULL), HUB_OK);
    forget(fk);
    assert_int_equal(hub_say(&fk->hub, c, r, HUB_SAY, "hi", 2), HUB_OK);
    n = reached(fk, HUB_SAY, "alice");
    assert_int_equal(n, 1);
}

static void
test_kick(void **state)
{
    struct fake *fk = *state;
    struct user *a = user(fk, "alice"), *b = user(fk, "bob");
    struct room *r = join(fk, a, "#x");

    join(fk, b, "#x");
    assert_int_equal(hub_kick(&fk->hub, b, r, a, "", 0),
                     HUB_ERR_NOT_OPERATOR);
    forget(fk);
    assert_int_equal(hub_kick(&fk->hub, a, r, b, "", 0), HUB_OK);
    assert_int_equal(fk->n, 1);
    assert_int_equal(fk->recs[0].kind, HUB_KICK);
    assert_string_equal(fk->recs[0].to, "bob");
    assert_string_equal(fk->recs[0].text, "alice");    /* the default */
    assert_int_equal(reached(fk, HUB_KICK, "bob"), 1);  /* told, then out */
    assert_null(hub_member(b, r));
    assert_null(b->current);
    assert_int_equal(hub_kick(&fk->hub, a, r, b, "again", 5),
                     HUB_ERR_NOT_IN_ROOM);
}

static void
test_invite(void **state)
{
    struct fake *fk = *state;
    struct user *a = user(fk, "alice"), *b = user(fk, "bob"),
                *c = user(fk, "carol");
    struct room *r = join(fk, a, "#i");

    assert_int_equal(mode(fk, a, r, "+i", NULL), HUB_OK);
    assert_int_equal(try_join(fk, b, "#i", NULL), HUB_ERR_INVITE_ONLY);
    assert_int_equal(hub_invite(&fk->hub, c, r, b), HUB_ERR_NOT_MEMBER);
    forget(fk);
    assert_int_equal(hub_invite(&fk->hub, a, r, b), HUB_OK);
    assert_int_equal(reached(fk, HUB_INVITE, "bob"), 1);
    assert_int_equal(fk->n, 1);
    assert_int_equal(r->ninvited, 1);
    assert_int_equal(try_join(fk, b, "#i", NULL), HUB_OK);
    assert_int_equal(r->ninvited, 0);                   /* used up */
    assert_int_equal(hub_invite(&fk->hub, a, r, b), HUB_ERR_IN_ROOM);
    /* In a +i room only operators invite. */
    assert_int_equal(hub_invite(&fk->hub, b, r, c), HUB_ERR_NOT_OPERATOR);
    /* An invitation passes a ban too. */
    assert_int_equal(mode(fk, a, r, "+b", "carol"), HUB_OK);
    assert_int_equal(hub_invite(&fk->hub, a, r, c), HUB_OK);
    assert_int_equal(try_join(fk, c, "#i", NULL), HUB_OK);
}

static void
test_whowas(void **state)
{
    struct fake *fk = *state;
    struct user *a = user(fk, "alice"), *b;
    const struct hub_gone *g;
    size_t i;

    hub_user_describe(a, "al", 2, "Alice A.", 8);
    assert_string_equal(hub_ident(a), "al");
    assert_int_equal(nick(fk, a, "ALICE"), HUB_OK);  /* case only: no entry */
    assert_null(hub_whowas(&fk->hub, "alice", 5, 0));
    assert_int_equal(nick(fk, a, "alicia"), HUB_OK);
    hub_user_quit(&fk->hub, a, "bye");
    b = user(fk, "alice");
    hub_user_quit(&fk->hub, b, "bye");
    g = hub_whowas(&fk->hub, "Alice", 5, 0);        /* the newest first */
    assert_non_null(g);
    assert_string_equal(g->ident, "alice");         /* b had no user name */
    assert_null(g->real);
    g = hub_whowas(&fk->hub, "alice", 5, 1);
    assert_non_null(g);
    assert_string_equal(g->nick, "ALICE");
    assert_string_equal(g->ident, "al");
    assert_string_equal(g->real, "Alice A.");
    assert_null(hub_whowas(&fk->hub, "alice", 5, 2));
    assert_non_null(hub_whowas(&fk->hub, "alicia", 6, 0));
    /* The ring keeps the newest HUB_WHOWAS_MAX. */
    for (i = 0; i < HUB_WHOWAS_MAX; i++) {
        b = user(fk, "someone");
        hub_user_quit(&fk->hub, b, "");
    }
    assert_null(hub_whowas(&fk->hub, "alice", 5, 0));
    assert_non_null(hub_whowas(&fk->hub, "someone", 7, HUB_WHOWAS_MAX - 1));
    assert_null(hub_whowas(&fk->hub, "someone", 7, HUB_WHOWAS_MAX));
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_guest_nicks),
        T(test_user_new_refuses),
        T(test_user_new_fields),
        T(test_join_creates_room),
        T(test_join_refuses_invalid),
        T(test_part_moves_current),
        T(test_empty_room_goes),
        T(test_each_sharer_once),
        T(test_nick_tells_sharers_once),
        T(test_nick_case_only_and_refusals),
        T(test_quit_tells_sharers_once),
        T(test_say),
        T(test_say_long_text_in_pieces),
        T(test_tell),
        T(test_tell_elsewhere),
        T(test_rooms_listed),
        T(test_join_far_room),
        T(test_topic),
        T(test_settle_before_every_change),
        T(test_many_users_and_rooms),
        T(test_modes_need_an_operator),
        T(test_key_and_limit),
        T(test_bans_and_speaking),
        T(test_kick),
        T(test_invite),
        T(test_whowas),
    };

    log_set_level(LOG_QUIET);   /* the hub logs every event */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
