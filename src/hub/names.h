/* names.h -- the rules for nicknames and room names, and their casemap.
 *
 * Names are compared ignoring ASCII case only (IRC's CASEMAPPING=ascii):
 * "Alice" and "alice" are one nickname, "#Dev" and "#dev" one room.  Pure
 * functions over bytes. */
#ifndef CHATD_NAMES_H
#define CHATD_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NICK_MAX 30             /* bytes of a nickname */
#define ROOM_MAX 50             /* bytes of a room name, '#' included */

/* A nickname: 1-30 of A-Z a-z 0-9 - _ [ ] \ ` ^ { } |, not starting with a
 * digit or '-'. */
bool nick_is_valid(const char *s, size_t len);
/* A room name: '#' and 1-49 bytes with no space, comma, ':' or control
 * character (bytes below 0x20 and 0x7F); bytes above 0x7F are allowed. */
bool room_is_valid(const char *s, size_t len);
/* Why s is not a valid nickname (a static phrase), or NULL if it is. */
const char *nick_why_invalid(const char *s, size_t len);

/* The ASCII lower case of c. */
static inline unsigned char
name_fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* True if a and b (NUL-terminated) are the same name ignoring ASCII
 * case. */
bool name_eq(const char *a, const char *b);
/* As name_eq, for b given as b[0..blen). */
bool name_eqn(const char *a, const char *b, size_t blen);
/* Orders names ignoring ASCII case (for sorted lists); as strcmp. */
int name_cmp(const char *a, const char *b);
/* A hash of s[0..len) that ignores ASCII case (FNV-1a over folded
 * bytes). */
uint64_t name_hash(const char *s, size_t len);

/* True if s matches the IRC mask (a ban: "nick!user@host"), where '*'
 * stands for any run of bytes and '?' for one, ignoring ASCII case. */
bool mask_match(const char *mask, const char *s);

#endif
