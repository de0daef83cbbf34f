/* parse.c -- strict parsers for command-line values. */
#include "util/parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    /* Digits only, with a minus sign where negatives are allowed. */
    if (s == NULL || !(isdigit((unsigned char)*s) || (*s == '-' && min < 0)))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int
parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    unsigned long long v;
    uint64_t mult = 1;
    char *end;

    if (s == NULL || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': mult = 1ull << 10; end++; break;
    case 'm': case 'M': mult = 1ull << 20; end++; break;
    case 'g': case 'G': mult = 1ull << 30; end++; break;
    default: return -1;
    }
    if ((*end == 'b' || *end == 'B') && mult != 1)
        end++;                  /* "64KB", "1MB" */
    if (*end != '\0' || v > UINT64_MAX / mult)
        return -1;
    v *= mult;
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int
parse_enum(const char *s, const char *const names[])
{
    int i;

    for (i = 0; names[i] != NULL; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void
parse_enum_list(char *dst, size_t dstlen, const char *const names[])
{
    size_t i, off = 0;

    if (dstlen == 0)
        return;
    dst[0] = '\0';
    for (i = 0; names[i] != NULL && off < dstlen; i++) {
        const char *sep = i == 0 ? "" : names[i + 1] == NULL ? " or " : ", ";
        int n = snprintf(dst + off, dstlen - off, "%s%s", sep, names[i]);

        if (n < 0)
            break;
        off += (size_t)n;
    }
}
