/* cmsg.c -- the cluster's messages: parse and write (see cmsg.h). */
#include "proto/cmsg.h"

#include <stdio.h>
#include <string.h>

const char *const cmsg_kind_names[CMSG_NKINDS] = {
    "say", "action", "notice", "private", "join", "part", "quit", "nick",
    "topic", "mode", "kick", "invite", "hello", "room", "who", "sync", "probe",
};

#define NFIELDS 13

/* A field other than the text: short, no tab, no control character. */
static int
field_ok(const char *p, size_t len)
{
    size_t i;

    if (len > CMSG_FIELD_MAX)
        return 0;
    for (i = 0; i < len; i++)
        if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] == 0x7f)
            return 0;
    return 1;
}

/* A decimal number of at most 20 digits that fits 64 bits. */
static int
number(const struct cmsg_field *f, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (f->len == 0 || f->len > 20)
        return -1;
    for (i = 0; i < f->len; i++) {
        unsigned d = (unsigned char)f->p[i] - '0';

        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int
kind_of(const struct cmsg_field *f)
{
    int k;

    for (k = 0; k < CMSG_NKINDS; k++)
        if (strlen(cmsg_kind_names[k]) == f->len &&
            memcmp(cmsg_kind_names[k], f->p, f->len) == 0)
            return k;
    return -1;
}

int
cmsg_parse(const char *buf, size_t len, struct cmsg *m, const char **why)
{
    struct cmsg_field f[NFIELDS];
    const char *p = buf, *end = buf + len, *tab;
    uint64_t flags;
    int i, k;

    if (len > CMSG_MAX) {
        *why = "too long";
        return -1;
    }
    for (i = 0; i < NFIELDS - 1; i++) {
        tab = memchr(p, '\t', (size_t)(end - p));
        if (tab == NULL) {
            *why = "too few fields";
            return -1;
        }
        f[i].p = p;
        f[i].len = (size_t)(tab - p);
        if (!field_ok(f[i].p, f[i].len)) {
            *why = "bad field";
            return -1;
        }
        p = tab + 1;
    }
    f[i].p = p;
    f[i].len = (size_t)(end - p);
    if (f[i].len > CMSG_TEXT_MAX) {
        *why = "text too long";
        return -1;
    }
    if (f[0].len != 2 || memcmp(f[0].p, "C2", 2) != 0) {
        *why = "not version C2";
        return -1;
    }
    if (f[1].len == 0 || number(&f[2], &m->seq) == -1 ||
        (k = kind_of(&f[3])) < 0 || number(&f[4], &flags) == -1 ||
        flags > 0xffff || number(&f[5], &m->uid) == -1) {
        *why = "bad node, sequence, kind, flags or uid";
        return -1;
    }
    m->node = f[1];
    m->kind = (enum cmsg_kind)k;
    m->flags = (unsigned)flags;
    m->nick = f[6];
    m->ident = f[7];
    m->host = f[8];
    m->room = f[9];
    m->to = f[10];
    m->old = f[11];
    m->text = f[12];
    return 0;
}

/* Append f and a tab at *at; 0 if it does not fit. */
static int
put(char *buf, size_t cap, size_t *at, const char *p, size_t len, int tab)
{
    if (*at + len + (size_t)tab > cap)
        return 0;
    if (len > 0)
        memcpy(buf + *at, p, len);
    *at += len;
    if (tab)
        buf[(*at)++] = '\t';
    return 1;
}

size_t
cmsg_encode(char *buf, size_t cap, const struct cmsg *m)
{
    const struct cmsg_field *f[] = {&m->node, &m->nick, &m->ident, &m->host,
                                    &m->room, &m->to,   &m->old};
    char num[80];
    size_t at = 0, i, n;

    for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (!field_ok(f[i]->p, f[i]->len))
            return 0;
    if (m->node.len == 0 || m->kind >= CMSG_NKINDS ||
        m->text.len > CMSG_TEXT_MAX)
        return 0;
    n = (size_t)snprintf(num, sizeof(num), "%llu\t%s\t%u\t%llu",
                         (unsigned long long)m->seq,
                         cmsg_kind_names[m->kind], m->flags & 0xffff,
                         (unsigned long long)m->uid);
    if (!put(buf, cap, &at, "C2", 2, 1) ||
        !put(buf, cap, &at, m->node.p, m->node.len, 1) ||
        !put(buf, cap, &at, num, n, 1))
        return 0;
    for (i = 1; i < sizeof(f) / sizeof(f[0]); i++)
        if (!put(buf, cap, &at, f[i]->p, f[i]->len, 1))
            return 0;
    if (!put(buf, cap, &at, m->text.p, m->text.len, 0))
        return 0;
    return at;
}
