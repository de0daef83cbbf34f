/* guard.c -- copies of test inputs that end against a PROT_NONE page.
 *
 * Each slot is one mapping: data pages, then one guard page.  The copy is
 * placed so that it ends exactly where the guard page begins, and the data
 * pages are made read-only, so a parser that reads past its input, or
 * writes into it, faults.  Slots are reused round-robin (a mapping is
 * kept while it is big enough) and all of them are unmapped at exit, so
 * ASan and valgrind see nothing left behind. */
#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct slot {
    char  *base;        /* the mapping, or NULL */
    size_t data;        /* bytes of data pages before the guard page */
};

static struct slot slots[T_GUARD_SLOTS];
static unsigned    next_slot;
static int         registered;

static void
unmap_all(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned i;

    for (i = 0; i < T_GUARD_SLOTS; i++) {
        if (slots[i].base != NULL)
            munmap(slots[i].base, slots[i].data + page);
        slots[i].base = NULL;
        slots[i].data = 0;
    }
}

static void
die(const char *what)
{
    perror(what);
    abort();
}

/* Make s hold at least need bytes of data pages, writable. */
static void
prepare(struct slot *s, size_t need, size_t page)
{
    size_t data = (need + page - 1) / page * page;
    void *p;

    if (data == 0)
        data = page;
    if (s->base != NULL && s->data == data) {
        if (mprotect(s->base, s->data, PROT_READ | PROT_WRITE) == -1)
            die("t_guarded: mprotect");
        return;
    }
    if (s->base != NULL && munmap(s->base, s->data + page) == -1)
        die("t_guarded: munmap");
    s->base = NULL;
    p = mmap(NULL, data + page, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("t_guarded: mmap");
    s->base = p;
    s->data = data;
    if (mprotect(s->base + data, page, PROT_NONE) == -1)
        die("t_guarded: mprotect");
}

/* A copy of data[0..len) ending at the guard page, its pages left with
 * protection prot. */
static char *
guarded(const void *data, size_t len, int prot)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    struct slot *s = &slots[next_slot++ % T_GUARD_SLOTS];
    char *dst;

    if (!registered) {
        if (atexit(unmap_all) != 0)
            die("t_guarded: atexit");
        registered = 1;
    }
    prepare(s, len, page);
    dst = s->base + s->data - len;
    if (len > 0)
        memcpy(dst, data, len);
    if (mprotect(s->base, s->data, prot) == -1)
        die("t_guarded: mprotect");
    return dst;
}

const char *
t_guarded(const void *data, size_t len)
{
    return guarded(data, len, PROT_READ);
}

void *
t_guarded_rw(const void *data, size_t len)
{
    return guarded(data, len, PROT_READ | PROT_WRITE);
}
