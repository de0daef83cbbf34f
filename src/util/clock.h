/* clock.h -- the monotonic clock in milliseconds and nanoseconds. */
#ifndef CHATD_CLOCK_H
#define CHATD_CLOCK_H

#include <stdint.h>

uint64_t clock_ms(void);
uint64_t clock_ns(void);

#endif
