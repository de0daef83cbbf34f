/* guard.h -- test inputs that end against an unreadable page.
 *
 * A parser that reads one byte past the end of its input crashes at once
 * instead of reading whatever follows in memory (after picohttpparser's
 * tests).  Shared by every unit test. */
#ifndef CHATD_TEST_GUARD_H
#define CHATD_TEST_GUARD_H

#include <stddef.h>

/* A read-only copy of data[0..len) whose last byte is the last readable
 * byte before a PROT_NONE page: reading buf[len] faults (SIGSEGV).  len may
 * be 0 (then the returned pointer itself is not readable).  The copy stays
 * valid until T_GUARD_SLOTS further calls; all of them are unmapped at
 * exit.  Aborts if the mapping cannot be made. */
const char *t_guarded(const void *data, size_t len);

/* As t_guarded(), but the copy is writable, for code that works in place
 * (WebSocket payloads are unmasked in place): reading or writing buf[len]
 * still faults.  Shares t_guarded()'s slots. */
void *t_guarded_rw(const void *data, size_t len);

/* How many results of t_guarded() are valid at once. */
#define T_GUARD_SLOTS 8

#endif
