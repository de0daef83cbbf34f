/* xmalloc.h -- allocation that cannot return NULL.
 *
 * Every buffer chatd keeps is bounded, so running out of memory means the
 * machine is out of memory: these print one line and abort. */
#ifndef CHATD_XMALLOC_H
#define CHATD_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow an array of *cap elements of size `size` to hold at least `need`. */
void *xgrow(void *p, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);

#endif
