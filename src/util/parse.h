/* parse.h -- strict parsers for command-line values.
 *
 * Each returns 0 and stores the value, or -1 and leaves *out untouched.
 * Nothing is accepted partly: "12x", "", " 3", "-1" for an unsigned are
 * all errors. */
#ifndef CHATD_PARSE_H
#define CHATD_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* A decimal integer in [min, max]. */
int parse_long(const char *s, long min, long max, long *out);
/* A byte count with an optional K, M or G suffix (binary: K = 1024),
 * in [min, max]. */
int parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Index of s in the NULL-terminated names[], or -1. */
int parse_enum(const char *s, const char *const names[]);
/* Write the NULL-terminated names[] into dst (size dstlen, always
 * NUL-terminated, truncated if need be) as "a, b or c", for the message
 * that rejects a value parse_enum() did not know. */
void parse_enum_list(char *dst, size_t dstlen, const char *const names[]);

#endif
