/* err.h -- the one-line error buffer that setup functions fill.
 *
 * A function that can fail for a reason the user must read takes
 * `char err[ERR_LEN]`, writes one line into it with errf() and returns -1.
 * The caller that owns the exit (main) prints it once. */
#ifndef CHATD_ERR_H
#define CHATD_ERR_H

#define ERR_LEN 256

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* Format one line into err (ERR_LEN bytes), truncating if needed. */
void errf(char *err, const char *fmt, ...) PRINTF_LIKE(2, 3);

#endif
