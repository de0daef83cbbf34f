/* err.c -- the one-line error buffer. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>

void
errf(char *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, ERR_LEN, fmt, ap);
    va_end(ap);
}
