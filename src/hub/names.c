/* names.c -- nickname and room name rules, ASCII casemapping. */
#include "hub/names.h"

#include <string.h>

/* Characters a nickname may hold anywhere ("special" in RFC 2812). */
static bool
nick_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || strchr("_[]\\`^{}|", c);
}

const char *
nick_why_invalid(const char *s, size_t len)
{
    size_t i;

    if (len == 0)
        return "a nickname cannot be empty";
    if (len > NICK_MAX)
        return "a nickname has at most 30 characters";
    if ((s[0] >= '0' && s[0] <= '9') || s[0] == '-')
        return "a nickname cannot start with a digit or '-'";
    for (i = 0; i < len; i++)
        if (s[i] == '\0' || !nick_char((unsigned char)s[i]))
            return "a nickname has only letters, digits and - _ [ ] \\ ` "
                   "^ { } |";
    return NULL;
}

bool
nick_is_valid(const char *s, size_t len)
{
    return nick_why_invalid(s, len) == NULL;
}

bool
room_is_valid(const char *s, size_t len)
{
    size_t i;

    if (len < 2 || len > ROOM_MAX || s[0] != '#')
        return false;
    for (i = 1; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f || c == ' ' || c == ',' || c == ':')
            return false;
    }
    return true;
}

bool
name_eq(const char *a, const char *b)
{
    return name_cmp(a, b) == 0;
}

bool
name_eqn(const char *a, const char *b, size_t blen)
{
    size_t i;

    for (i = 0; i < blen; i++)
        if (a[i] == '\0' || name_fold((unsigned char)a[i]) !=
                                name_fold((unsigned char)b[i]))
            return false;
    return a[blen] == '\0';
}

int
name_cmp(const char *a, const char *b)
{
    unsigned char x, y;

    do {
        x = name_fold((unsigned char)*a++);
        y = name_fold((unsigned char)*b++);
    } while (x != '\0' && x == y);
    return (int)x - (int)y;
}

uint64_t
name_hash(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= name_fold((unsigned char)s[i]);
        h *= 1099511628211ull;
    }
    return h;
}

bool
mask_match(const char *mask, const char *s)
{
    const char *star = NULL, *resume = NULL;

    /* Greedy with one step of backtracking: on a mismatch after a '*',
     * let that star take one more byte of s and try again. */
    while (*s != '\0') {
        if (*mask == '*') {
            star = ++mask;
            resume = s;
        } else if (*mask == '?' ||
                   (*mask != '\0' && name_fold((unsigned char)*mask) ==
                                         name_fold((unsigned char)*s))) {
            mask++;
            s++;
        } else if (star != NULL) {
            mask = star;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*mask == '*')
        mask++;
    return *mask == '\0';
}
