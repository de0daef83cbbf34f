/* sink.c -- the sink console's source-change decision, as a pure function. */
#include "server/sink.h"

#include <stdio.h>
#include <string.h>

void
sink_init(struct sink *st)
{
    memset(st, 0, sizeof(*st));
}

size_t
sink_lead(struct sink *st, uint64_t src, const char *name, uint64_t lines,
          size_t len, char *out, size_t outlen)
{
    int change = st->src == 0 || st->src != src || st->lines != lines;
    int n = 0;

    if (outlen > 0)
        out[0] = '\0';
    if (len == 0)
        return 0;
    if (change && outlen > 0) {
        n = snprintf(out, outlen, "%s: ", name);
        if (n < 0)
            n = 0;
        if ((size_t)n >= outlen)
            n = (int)(outlen - 1);
    }
    st->src = src;
    st->lines = lines;
    return (size_t)n;
}
