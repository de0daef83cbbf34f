/* fuzz_cmsg.c -- libFuzzer harness for cmsg_parse and cmsg_encode.
 *
 * Checked, beyond "no crash": parsing is deterministic; on success every
 * view lies inside the input, no field but the text holds a tab or a
 * control character or passes CMSG_FIELD_MAX, and the message written out
 * again parses to the same fields; on failure there is a reason. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/cmsg.h"

#include "fuzz_util.h"

static void
inside(const struct cmsg_field *f, const char *buf, size_t len)
{
    if (f->len > 0 && (f->p < buf || f->p + f->len > buf + len))
        CHECK(0);
}

static void
same(const struct cmsg_field *a, const struct cmsg_field *b)
{
    if (a->len != b->len || (a->len > 0 && memcmp(a->p, b->p, a->len) != 0))
        CHECK(0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[CMSG_MAX];
    const char *buf = (const char *)data, *why = NULL, *why2 = NULL;
    struct cmsg m, m2, back;
    size_t n;
    int r = cmsg_parse(buf, size, &m, &why), r2;

    r2 = cmsg_parse(buf, size, &m2, &why2);
    if (r != r2 || (r == -1 && (why == NULL || why != why2)))
        CHECK(0);
    if (r == -1)
        return 0;
    inside(&m.node, buf, size);
    inside(&m.nick, buf, size);
    inside(&m.room, buf, size);
    inside(&m.text, buf, size);
    if (m.nick.len > CMSG_FIELD_MAX || memchr(m.room.p, '\t', m.room.len))
        CHECK(0);
    n = cmsg_encode(out, sizeof(out), &m);
    if (n == 0)
        CHECK(0);
    if (cmsg_parse(out, n, &back, &why) != 0)
        CHECK(0);
    same(&m.node, &back.node);
    same(&m.nick, &back.nick);
    same(&m.ident, &back.ident);
    same(&m.host, &back.host);
    same(&m.room, &back.room);
    same(&m.to, &back.to);
    same(&m.old, &back.old);
    same(&m.text, &back.text);
    if (m.seq != back.seq || m.kind != back.kind || m.flags != back.flags ||
        m.uid != back.uid)
        CHECK(0);
    return 0;
}
