/* xmalloc.c -- allocation that aborts on failure. */
#include "util/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
oom(size_t n)
{
    fprintf(stderr, "out of memory allocating %zu bytes\n", n);
    abort();
}

void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        oom(n);
    return p;
}

void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL)
        oom(n * size);
    return p;
}

void *
xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL)
        oom(n);
    return q;
}

void *
xgrow(void *p, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap ? *cap : 8;

    if (need <= *cap)
        return p;
    while (n < need)
        n *= 2;
    if (n > (size_t)-1 / size)
        oom((size_t)-1);
    p = xrealloc(p, n * size);
    *cap = n;
    return p;
}

char *
xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(xmalloc(n), s, n);
}
